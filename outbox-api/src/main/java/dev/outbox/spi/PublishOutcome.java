package dev.outbox.spi;

/**
 * What became of one event handed to a {@link Publisher}.
 *
 * @param status published; retried later, rejected for good, throttled, its destination unavailable, not sent, or
 *        unknown
 * @param reason why it was not published; null exactly when {@code status} is {@link Status#PUBLISHED}
 */
public record PublishOutcome(Status status, String reason) {

    /** The possible fates of an event. */
    public enum Status {
        /** The broker accepted the event. */
        PUBLISHED,
        /**
         * This event failed for a reason that may pass (one entry failed inside a call that otherwise worked, with an
         * error no list knows): it spends one of its attempts and is tried again after the retry policy's delay.
         */
        RETRY,
        /** The broker refuses this event for its content: retrying cannot help, the event goes dead at once. */
        REJECTED,
        /**
         * The event's destination cannot take anything right now, whatever the event: an outage, a timeout, a network
         * failure, or a configuration or permission error (access denied, expired credentials, unknown queue or bus,
         * KMS). Not the event's fault: no attempt is spent. When a call's events for one destination all come back
         * unavailable, the relay pauses that destination, and only that one, with growing pauses until a call goes
         * through again; its events wait meanwhile. When the destination took others of the call, the event is only
         * put back for a moment, as for {@link #THROTTLED}.
         */
        UNAVAILABLE,
        /**
         * The broker throttled this event (a quota reached, too many requests), whether alone or with its whole call.
         * Backpressure, not an outage: no attempt is spent, the event is due again after a short pause, and the relay
         * sends fewer of its destination's events per call for a while, more again as calls go through.
         */
        THROTTLED,
        /**
         * The publisher gave this event back without an answer from the broker: its call's time ran out before the
         * event could be sent (or before the broker answered), or an earlier event of its aggregate in the same call
         * failed. Nothing is known of it and nothing is charged: no attempt is spent, the relay does not pause, and
         * the event is due again at once. Delivery is at least once, so an event given back after it may have
         * reached the broker is simply sent again.
         */
        NOT_SENT,
        /**
         * Nothing is known of this event: the part of the call that carried it failed without an answer, as if
         * {@link Publisher#publish} had thrown for it alone (a publisher that sends to several destinations says so
         * for the destination that threw, and answers for the others). The relay sends these events again, in halves,
         * to find the one responsible, exactly as for a call that throws; when none of them is ever answered, their
         * destination is unavailable.
         */
        UNKNOWN
    }

    private static final PublishOutcome PUBLISHED = new PublishOutcome(Status.PUBLISHED, null);

    /**
     * Checks that a reason is given exactly when the event was not published.
     *
     * @param status what became of the event
     * @param reason why it was not published; null when it was
     */
    public PublishOutcome {
        if (status == null) {
            throw new IllegalArgumentException("status must not be null");
        }
        if (status == Status.PUBLISHED && reason != null) {
            throw new IllegalArgumentException("a published outcome has no reason");
        }
        if (status != Status.PUBLISHED && (reason == null || reason.isBlank())) {
            throw new IllegalArgumentException("a " + status + " outcome needs a reason");
        }
    }

    /** @return the outcome of an event the broker accepted */
    public static PublishOutcome published() {
        return PUBLISHED;
    }

    /**
     * @param reason why, naming the broker's error code where there is one
     * @return the outcome of a transient failure, retried after the relay's backoff
     */
    public static PublishOutcome retry(String reason) {
        return new PublishOutcome(Status.RETRY, reason);
    }

    /**
     * @param reason why, naming the broker's error code where there is one
     * @return the outcome of an event the broker refuses for good; it becomes dead
     */
    public static PublishOutcome rejected(String reason) {
        return new PublishOutcome(Status.REJECTED, reason);
    }

    /**
     * @param reason why the broker cannot take events now, naming its error code where there is one
     * @return the outcome of a call the broker could not take at all; it spends no attempt and pauses the relay
     */
    public static PublishOutcome unavailable(String reason) {
        return new PublishOutcome(Status.UNAVAILABLE, reason);
    }

    /**
     * @param reason why the event was not sent, such as the call's deadline
     * @return the outcome of an event the publisher gives back unsent; it spends nothing and is due again at once
     */
    public static PublishOutcome notSent(String reason) {
        return new PublishOutcome(Status.NOT_SENT, reason);
    }

    /**
     * @param reason why, naming the broker's error code where there is one
     * @return the outcome of an event the broker throttled; it spends nothing and slows calls to its destination
     */
    public static PublishOutcome throttled(String reason) {
        return new PublishOutcome(Status.THROTTLED, reason);
    }

    /**
     * @param reason what failed, such as the exception a route's publisher threw
     * @return the outcome of an event whose call failed without an answer for it
     */
    public static PublishOutcome unknown(String reason) {
        return new PublishOutcome(Status.UNKNOWN, reason);
    }

    /** @return true when the broker accepted the event */
    public boolean isPublished() {
        return status == Status.PUBLISHED;
    }
}
