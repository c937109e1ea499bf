package dev.outbox.spi;

import dev.outbox.InvalidConfigurationException;
import java.time.Duration;

/**
 * What one {@link Publisher#publish} call may be handed, as the publisher declares it. The relay shapes every call
 * to fit, so a publisher never has to keep an aggregate's order itself.
 *
 * @param maxEvents most events in one call, at least 1; the relay splits larger batches into several calls, one
 *        after another
 * @param eventsPerAggregate most events of one aggregate in one call, at least 1. With 1 (the default) the relay
 *        never hands one call two events of the same aggregate, so a publisher that sends a call's events in any
 *        order, or concurrently, still keeps each aggregate's order. Declare more only if one call delivers an
 *        aggregate's events in the order given and never delivers a later one after an earlier one of them
 *        failed, as SQS FIFO does within one {@code SendMessageBatch}.
 * @param callTimeout the longest one {@link Publisher#publish} call can take, all its broker calls together, as the
 *        publisher bounds it (for example each SDK call given what is left of it), or null when it declares none; the
 *        relay starts a call, culprit searches' calls included, only while this much of the batch's lease is left,
 *        and a third of the lease when null. The relay refuses a lease shorter than twice this.
 */
public record CallLimits(int maxEvents, int eventsPerAggregate, Duration callTimeout) {

    /** Any number of events per call, one event per aggregate, no declared timeout. */
    public static final CallLimits DEFAULT = new CallLimits(Integer.MAX_VALUE, 1, null);

    /**
     * Checks the limits.
     *
     * @param maxEvents most events in one call
     * @param eventsPerAggregate most events of one aggregate in one call
     * @param callTimeout the longest one call can take, or null
     * @throws InvalidConfigurationException naming a value out of range
     */
    public CallLimits {
        if (maxEvents < 1) {
            throw new InvalidConfigurationException("maxEvents must be at least 1, was " + maxEvents);
        }
        if (eventsPerAggregate < 1 || eventsPerAggregate > maxEvents) {
            throw new InvalidConfigurationException("eventsPerAggregate must be from 1 to maxEvents (" + maxEvents
                    + "), was " + eventsPerAggregate);
        }
        if (callTimeout != null && (callTimeout.isNegative() || callTimeout.isZero())) {
            throw new InvalidConfigurationException("callTimeout must be positive or null, was " + callTimeout);
        }
    }
}
