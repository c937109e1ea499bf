package dev.outbox.jdbc;

import dev.outbox.Event;
import java.time.Instant;
import java.util.UUID;

/**
 * An event the relay gave up on, with what is needed to decide whether to requeue or discard it. Every dead row is
 * one, readable or not: a row that cannot be read as an event (written by plain SQL, a trigger or a migration with
 * headers that are not a flat JSON object of strings, say) has no {@link #event()}, but its ids, type and raw text.
 *
 * @param id the event's id
 * @param aggregateType the row's aggregate type
 * @param aggregateId the row's aggregate id
 * @param type the row's event type
 * @param payload the payload as stored, byte for byte
 * @param headers the headers as stored, as JSON text
 * @param event the event as appended; null when the row cannot be read as one
 * @param unreadable why the row cannot be read as an event; null when it can
 * @param attempts attempts made
 * @param lastError why it died: the publisher's last reason, or why the relay could not read it
 * @param deadAt when it was given up on
 */
public record DeadEvent(UUID id, String aggregateType, String aggregateId, String type, String payload,
                        String headers, Event event, String unreadable, int attempts, String lastError,
                        Instant deadAt) {

    /**
     * A dead event that reads as an event.
     *
     * @param event the event as appended
     * @param attempts attempts made
     * @param lastError the publisher's last reason
     * @param deadAt when it was given up on
     */
    public DeadEvent(Event event, int attempts, String lastError, Instant deadAt) {
        this(event.id(), event.aggregateType(), event.aggregateId(), event.type(), event.payload(),
                HeadersJson.write(event.headers()), event, null, attempts, lastError, deadAt);
    }

    /** @return true when the row reads as an event, so {@link #event()} is not null */
    public boolean readable() {
        return event != null;
    }
}
