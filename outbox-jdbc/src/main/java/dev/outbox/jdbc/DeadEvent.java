package dev.outbox.jdbc;

import dev.outbox.Event;
import java.time.Instant;

/**
 * An event the relay gave up on, with what is needed to decide whether to requeue or discard it.
 *
 * @param event the event as appended
 * @param attempts attempts made
 * @param lastError the publisher's last reason
 * @param deadAt when it was given up on
 */
public record DeadEvent(Event event, int attempts, String lastError, Instant deadAt) {
}
