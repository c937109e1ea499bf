package dev.outbox.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.InvalidConfigurationException;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PublishersTest {

    @Test
    void lookupWithNoProviderOnTheClasspathSaysWhatToAdd() {
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                () -> Publishers.find(null, getClass().getClassLoader()));
        assertTrue(e.getMessage().contains("outbox-publisher-sqs"), e.getMessage());
        InvalidConfigurationException named = assertThrows(InvalidConfigurationException.class,
                () -> Publishers.find("kafka", getClass().getClassLoader()));
        assertTrue(named.getMessage().contains("'kafka'") && named.getMessage().contains("[]"), named.getMessage());
    }

    @Test
    void settingsRejectUnknownKeysAndBadValuesNamingThem() {
        InvalidConfigurationException unknown = assertThrows(InvalidConfigurationException.class,
                () -> PublisherSettings.of("sqs", Map.of("queueURL", "x"), Set.of("queueUrl")));
        assertTrue(unknown.getMessage().contains("[queueURL]") && unknown.getMessage().contains("[queueUrl]"));

        PublisherSettings s = PublisherSettings.of("sqs", Map.of("n", "99", "d", "PT2S", "ms", "250", "b", "yes",
                "u", "not a uri"), Set.of("n", "d", "ms", "b", "u", "missing"));
        assertTrue(assertThrows(InvalidConfigurationException.class, () -> s.integer("n", 1, 1, 10))
                .getMessage().contains("'n' = '99' must be from 1 to 10"));
        assertEquals(Duration.ofSeconds(2), s.duration("d", Duration.ZERO, Duration.ZERO, Duration.ofMinutes(1)));
        assertEquals(Duration.ofMillis(250), s.duration("ms", Duration.ZERO, Duration.ZERO, Duration.ofMinutes(1)));
        assertThrows(InvalidConfigurationException.class, () -> s.bool("b", false));
        assertThrows(InvalidConfigurationException.class, () -> s.uri("u"));
        assertTrue(assertThrows(InvalidConfigurationException.class, () -> s.required("missing"))
                .getMessage().contains("'missing' is required"));
    }

    @Test
    void outcomesCarryAReasonExactlyWhenNotPublished() {
        assertThrows(IllegalArgumentException.class, () -> PublishOutcome.retry(" "));
        assertThrows(IllegalArgumentException.class, () -> new PublishOutcome(PublishOutcome.Status.PUBLISHED, "x"));
        assertEquals("throttled", PublishOutcome.retry("throttled").reason());
    }
}
