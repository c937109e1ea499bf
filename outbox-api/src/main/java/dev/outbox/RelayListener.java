package dev.outbox;

import java.time.Duration;
import java.util.List;

/**
 * Hears what a {@link Relay} does, for logs and metrics. Every method has an empty default; implement what
 * you need.
 *
 * <p>Called on the relay's thread, after the outcome is recorded in the database: keep it quick. An
 * exception thrown here is logged and otherwise ignored; it never changes an outcome.
 */
public interface RelayListener {

    /** A listener that does nothing. */
    RelayListener NONE = new RelayListener() { };

    /**
     * These events reached the broker and are marked published.
     *
     * @param events the published events, in batch order
     */
    default void published(List<Event> events) {
    }

    /**
     * An attempt failed and another is scheduled.
     *
     * @param attempts attempts made so far
     * @param delay how long until the next attempt
     * @param reason why the attempt failed
     * @param event the event that failed
     */
    default void retryScheduled(Event event, int attempts, Duration delay, String reason) {
    }

    /**
     * The event is dead: rejected for good, or out of attempts. It holds back later events of its aggregate
     * until it is requeued or discarded.
     *
     * @param event the dead event
     * @param attempts attempts made
     * @param reason why it is dead, as kept in the table
     */
    default void dead(Event event, int attempts, String reason) {
    }

    /**
     * A claimed row could not be read as an event (written by plain SQL with headers that are not a JSON object of
     * strings, a payload over the limit, a missing column): it is dead, alone, and holds back its aggregate.
     *
     * @param eventId the row's id column
     * @param reason why it could not be read
     */
    default void unreadable(String eventId, String reason) {
    }

    /**
     * A batch failed: claiming it (database unreachable, statement timeout) or something unexpected while publishing
     * it. The relay tries again; claimed events are left to their lease.
     *
     * @param error what was thrown
     */
    default void claimFailed(Exception error) {
    }

    /**
     * Publishing happened but its outcome could not be recorded; the claims will expire and these events will
     * be published again (at-least-once).
     *
     * @param events the events whose outcome is unrecorded
     * @param error what recording threw last
     */
    default void recordFailed(List<Event> events, Exception error) {
    }

    /**
     * One claimed batch is finished, after the outcomes above.
     *
     * @param result what the batch did
     * @param elapsed from the claim to the recorded outcomes
     */
    default void batchCompleted(RelayResult result, Duration elapsed) {
    }
}
