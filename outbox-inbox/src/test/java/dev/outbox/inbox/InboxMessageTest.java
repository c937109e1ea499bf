package dev.outbox.inbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.InvalidConfigurationException;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Messages read from where the bundled publishers put the event's id, type, aggregate and headers. */
class InboxMessageTest {

    final UUID id = UUID.randomUUID();

    @Test
    void anSqsMessageWithSeparateHeaderAttributes() {
        InboxMessage m = InboxMessage.fromSqs("{\"n\":1}", Map.of("outbox-event-id", id.toString(),
                "outbox-event-type", "placed", "outbox-aggregate-type", "order", "outbox-aggregate-id", "o1",
                "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tenant", "acme"));
        assertEquals(id, m.eventId());
        assertEquals("placed", m.eventType());
        assertEquals("o1", m.aggregateId());
        assertEquals("{\"n\":1}", m.payload());
        assertEquals(Map.of("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "tenant", "acme"), m.headers());
    }

    @Test
    void anSqsMessageWithPackedHeaders() {
        InboxMessage m = InboxMessage.fromSqs("{}", Map.of("outbox-event-id", id.toString(),
                "outbox-headers", "{\"a\":\"1\",\"b\":\"\"}", "traceparent", "tp"));
        assertEquals(Map.of("a", "1", "b", "", "traceparent", "tp"), m.headers());
    }

    @Test
    void anSqsMessageWithoutTheEventIdIsRefusedSayingWhy() {
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                () -> InboxMessage.fromSqs("{}", Map.of()));
        assertTrue(e.getMessage().contains("outbox-event-id"), e.getMessage());
        e = assertThrows(InvalidConfigurationException.class,
                () -> InboxMessage.fromSqs("{}", Map.of("outbox-event-id", "42")));
        assertTrue(e.getMessage().contains("'42' is not an event id"), e.getMessage());
    }

    @Test
    void anEventBridgeEventWithTheEnvelopeWholeOrItsDetail() {
        String envelope = "{\"eventId\":\"" + id + "\",\"eventType\":\"placed\",\"aggregateType\":\"order\","
                + "\"aggregateId\":\"o1\",\"occurredAt\":\"2026-01-01T00:00:00Z\",\"headers\":{\"traceparent\":\"tp\"},"
                + "\"payload\":{\"n\":1}}";
        String event = "{\"version\":\"0\",\"id\":\"" + UUID.randomUUID() + "\",\"detail-type\":\"placed\","
                + "\"source\":\"orders\",\"detail\":" + envelope + "}";
        for (String json : new String[] {envelope, event}) {
            InboxMessage m = InboxMessage.fromEventBridge(json);
            assertEquals(id, m.eventId());
            assertEquals("order", m.aggregateType());
            assertEquals("{\"n\":1}", m.payload());
            assertEquals(Map.of("traceparent", "tp"), m.headers());
        }
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                () -> InboxMessage.fromEventBridge("{\"detail\":{\"n\":1}}"));
        assertTrue(e.getMessage().contains("envelope=true"), e.getMessage());
    }
}
