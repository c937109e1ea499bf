package dev.outbox.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.InvalidConfigurationException;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CallTimeoutsTest {

    @Test
    void defaultsAreTenSecondsThreeSecondsTwoTries() {
        CallTimeouts t = CallTimeouts.from(PublisherSettings.of("x", Map.of(), CallTimeouts.KEYS));
        assertEquals(CallTimeouts.DEFAULT, t);
        assertEquals(new CallTimeouts(Duration.ofSeconds(10), Duration.ofSeconds(3), 2), t);
    }

    @Test
    void aShortCallTimeoutShortensTheDefaultAttemptTimeout() {
        CallTimeouts t = CallTimeouts.from(PublisherSettings.of("x", Map.of("callTimeout", "PT1S"), CallTimeouts.KEYS));
        assertEquals(Duration.ofSeconds(1), t.attemptTimeout());
    }

    @Test
    void outOfRangeValuesNameTheSetting() {
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class, () -> CallTimeouts.from(
                PublisherSettings.of("sqs", Map.of("attemptTimeout", "PT20S"), Set.copyOf(CallTimeouts.KEYS))));
        assertTrue(e.getMessage().contains("sqs publisher") && e.getMessage().contains("attemptTimeout"), e.getMessage());
        assertThrows(InvalidConfigurationException.class, () -> new CallTimeouts(Duration.ofMillis(10), Duration.ofMillis(10), 1));
        assertThrows(InvalidConfigurationException.class, () -> new CallTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(1), 11));
    }
}
