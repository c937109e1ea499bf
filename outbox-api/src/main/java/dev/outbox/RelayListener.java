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
     * One listener that tells each of {@code listeners}, in order: metrics and your own logging side by side. One
     * that throws is logged and ignored; the others still hear the call.
     *
     * @param listeners the listeners, none null
     * @return a listener calling every one of them
     * @throws InvalidConfigurationException when {@code listeners} or one of them is null
     */
    static RelayListener all(RelayListener... listeners) {
        if (listeners == null) {
            throw new InvalidConfigurationException("listeners must not be null");
        }
        for (int i = 0; i < listeners.length; i++) {
            if (listeners[i] == null) {
                throw new InvalidConfigurationException("listeners[" + i + "] is null");
            }
        }
        return new AllListeners(List.of(listeners));
    }

    /**
     * The broker throttled this event: it spends no attempt and is due again after {@code delay}, and the relay sends
     * fewer of its destination's events at a time for a while.
     *
     * @param event the throttled event
     * @param delay how long until it is due again
     * @param reason the broker's answer
     */
    default void throttled(Event event, Duration delay, String reason) {
    }

    /**
     * These events reached the broker and are marked published.
     *
     * @param events the published events, in batch order
     */
    default void published(List<Event> events) {
    }

    /**
     * One event reached the broker: called for each published event, before {@link #published}, with the time from
     * its row's creation (the database's clock when the appending transaction ran) to the broker's confirmation, the
     * relay's own clock measuring from the claim on. The commit-to-publish latency, give or take the appending
     * transaction's length.
     *
     * @param event the published event
     * @param sinceAppend from the append to the broker's confirmation
     */
    default void publishedAfter(Event event, Duration sinceAppend) {
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
     * The broker rejected the event for good ({@code PublishOutcome.rejected}): it is dead without using up its
     * attempts. The default hands it to {@link #dead}, so a listener that only implements {@code dead} hears of every
     * dead event; override both to tell them apart.
     *
     * @param event the rejected event, now dead
     * @param attempts attempts made
     * @param reason the broker's reason, as kept in the table
     */
    default void rejected(Event event, int attempts, String reason) {
        dead(event, attempts, reason);
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
     * One claim statement ran, whether or not it found events.
     *
     * @param events how many events it claimed, 0 or more
     * @param elapsed from sending the statement to reading its rows
     */
    default void claimed(int events, Duration elapsed) {
    }

    /**
     * One call to the publisher returned or threw. A call that threw for several aggregates is sent again in halves,
     * each heard here too.
     *
     * @param events how many events the call carried
     * @param elapsed how long the publisher took
     */
    default void publisherCalled(int events, Duration elapsed) {
    }

    /**
     * One statement recording outcomes ran (a batch records once, or in several steps when its rounds are slow).
     *
     * @param outcomes how many outcomes it wrote
     * @param elapsed how long it took, retries included
     */
    default void recorded(int outcomes, Duration elapsed) {
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
