package dev.outbox.spi;

import dev.outbox.Event;
import java.util.List;

/**
 * Sends batches of events to a broker. Implemented once per broker (SQS, EventBridge) and found through a
 * {@link PublisherProvider}.
 *
 * <p>The contract a relay relies on:
 * <ul>
 *   <li>{@link #publish} returns exactly one outcome per event, in the batch's order.</li>
 *   <li>Events of one aggregate appear in the batch in the order they must be delivered. A publisher delivers
 *       them in that order, and once one of them fails it does not send the aggregate's later events of the
 *       batch: it reports them as {@link PublishOutcome#retry retry}. The relay then does not count an attempt
 *       against them.</li>
 *   <li>An exception thrown by {@link #publish} means nothing is known: every event of the batch is retried.</li>
 *   <li>It logs event ids, never payloads, at INFO and above.</li>
 * </ul>
 * A publisher is called by many relay threads at once and must be thread-safe.
 */
public interface Publisher extends AutoCloseable {

    /**
     * Sends a batch.
     *
     * @param events one to many events, never null or empty
     * @return one outcome per event, in the same order
     */
    List<PublishOutcome> publish(List<Event> events);

    /** Releases what the publisher created (its SDK clients), never what it was given. */
    @Override
    default void close() {
    }
}
