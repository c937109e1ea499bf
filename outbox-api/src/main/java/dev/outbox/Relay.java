package dev.outbox;

import java.time.Duration;
import java.util.concurrent.Executor;

/**
 * Moves committed events from the outbox to a publisher.
 *
 * <p>Each {@link #runOnce()} claims a batch of due events with a lease, hands the batch to the publisher with
 * no database connection held, and records one outcome per event. Delivery is at-least-once: an event is
 * marked published only after the publisher confirmed it, so a crash between the two publishes it again
 * once its lease expires.
 *
 * <p>Safe to call from many threads and many processes at once: a claimed event belongs to one relay until
 * its lease expires. The host decides the threads: call {@link #runOnce()} or {@link #drain(Duration)} from a
 * scheduler, a cron job or a function handler, or {@link #start(Executor)} a loop on an executor of yours.
 */
public interface Relay extends AutoCloseable {

    /**
     * Claims up to one batch of due events, publishes them and records the outcomes.
     *
     * @return what happened; {@link RelayResult#EMPTY} when nothing was due
     * @throws OutboxException when the outbox cannot be reached or the relay is closed; claimed events are then
     *         left to their lease and published later
     */
    RelayResult runOnce();

    /**
     * Runs {@link #runOnce()} while more events are waiting and the time limit allows: the shape of a
     * scheduled function that should empty the outbox and return.
     *
     * @param timeLimit no new batch is claimed after this much time
     * @return the sum of the batches' results; {@code moreWaiting} is true when the limit stopped the drain
     * @throws OutboxException as {@link #runOnce()} does, or for a null or negative {@code timeLimit}
     */
    default RelayResult drain(Duration timeLimit) {
        if (timeLimit == null || timeLimit.isNegative()) {
            throw new InvalidConfigurationException("timeLimit must be zero or more, was " + timeLimit);
        }
        long deadline = System.nanoTime() + timeLimit.toNanos();
        int claimed = 0;
        int published = 0;
        int retried = 0;
        int dead = 0;
        RelayResult last;
        do {
            last = runOnce();
            claimed += last.claimed();
            published += last.published();
            retried += last.retried();
            dead += last.dead();
        } while (last.moreWaiting() && System.nanoTime() < deadline);
        return new RelayResult(claimed, published, retried, dead, last.moreWaiting());
    }

    /**
     * Starts a loop on one thread of {@code executor} that drains while there is work and otherwise waits for a
     * wake-up or the poll interval. The loop occupies that thread until it is stopped, so give the executor at
     * least one thread per started loop; a loop the executor cannot run yet stays
     * {@linkplain RelayLoop.State#QUEUED queued}. May be called several times for several batches in flight.
     *
     * @return the running loop, to wake or stop
     * @param executor runs the loop; one of its threads is taken for the loop's whole life
     */
    RelayLoop start(Executor executor);

    /**
     * Stops the loops this relay started, together, waiting a bounded time in total for their current batches,
     * and refuses further {@link #runOnce()} calls. Does not close the publisher, which the caller created and
     * closes after the relay.
     */
    @Override
    void close();
}
