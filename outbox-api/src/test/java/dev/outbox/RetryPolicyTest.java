package dev.outbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {

    @Test
    void delaysDoubleUpToTheCapWithoutJitter() {
        RetryPolicy p = RetryPolicy.builder().initialDelay(Duration.ofMillis(100)).maxDelay(Duration.ofMillis(700))
                .multiplier(2).jitter(0).maxAttempts(10).build();
        assertEquals(100, p.delayAfter(1, 0.99).toMillis());
        assertEquals(200, p.delayAfter(2, 0.5).toMillis());
        assertEquals(400, p.delayAfter(3, 0.0).toMillis());
        assertEquals(700, p.delayAfter(4, 0.0).toMillis());
        assertEquals(700, p.delayAfter(60, 0.0).toMillis(), "no overflow after many attempts");
    }

    @Test
    void jitterTakesOffAtMostItsFraction() {
        RetryPolicy p = RetryPolicy.builder().initialDelay(Duration.ofSeconds(1)).jitter(0.25).build();
        assertEquals(1000, p.delayAfter(1, 0.0).toMillis());
        assertEquals(750, p.delayAfter(1, 1.0).toMillis());
        long d = p.delayAfter(1, 0.5).toMillis();
        assertTrue(d > 750 && d < 1000, "was " + d);
    }

    @Test
    void exhaustedAfterMaxAttempts() {
        RetryPolicy p = RetryPolicy.builder().maxAttempts(3).build();
        assertFalse(p.exhausted(2));
        assertTrue(p.exhausted(3));
    }

    @Test
    void outOfRangeSettingsNameTheSetting() {
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> RetryPolicy.builder().maxAttempts(0).build()).getMessage().contains("maxAttempts"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> RetryPolicy.builder().jitter(1.5).build()).getMessage().contains("jitter"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> RetryPolicy.builder().multiplier(Double.NaN).build()).getMessage().contains("multiplier"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> RetryPolicy.builder().initialDelay(Duration.ofMinutes(10)).build()).getMessage().contains("maxDelay"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> RetryPolicy.builder().initialDelay(Duration.ZERO).build()).getMessage().contains("initialDelay"));
    }
}
