package dev.outbox.spi;

import dev.outbox.Event;
import java.util.List;

/**
 * Sends events to a broker. Implemented once per broker (SQS, EventBridge, or your own) and found through a
 * {@link PublisherProvider}.
 *
 * <p>The contract, which is all a publisher has to keep:
 * <ul>
 *   <li>{@link #publish} returns exactly one outcome per event, in the order given: {@link PublishOutcome#published()}
 *       once the broker confirmed the event, {@link PublishOutcome#retry retry} for a transient failure,
 *       {@link PublishOutcome#rejected rejected} when the broker will never accept this event.</li>
 *   <li>An exception thrown by {@link #publish} means nothing is known about the call: its events are retried.</li>
 *   <li>One {@link #publish} call, however many broker calls it makes, returns within the
 *       {@link CallLimits#callTimeout() call timeout} it declares, or within a third of the relay's lease when it
 *       declares none: the relay starts a call only when that much of the batch's lease is left. Events it could not
 *       send in that time come back {@link PublishOutcome#notSent not sent}, which spends nothing
 *       ({@link BrokerCalls} does this for publishers built on it).</li>
 *   <li>It is thread-safe: several relay loops call it at once, and a batch that one call cannot carry makes up to
 *       four calls at once. It logs event ids, never payloads, at INFO and above.</li>
 * </ul>
 * A call that takes longer than its bound is waited for (the relay never abandons a call), logged as a warning,
 * and the relay renews its lease before any further call: events another relay took meanwhile, because their lease
 * ran out during the call, leave the batch together with the rest of their aggregate, so no event is handed over
 * while an earlier one of its aggregate is another relay's. The events of the late call itself may then be delivered
 * twice, the second time possibly after later events of their aggregate; consumers that deduplicate by event id see
 * each aggregate in order.
 * Order is the relay's job. Unless {@link #callLimits()} says otherwise, one call never holds two events of the same
 * aggregate, and the relay hands over an aggregate's next event only after the previous one was published; after a
 * failure it holds the aggregate's later events back. A publisher may therefore send a call's events in any order,
 * or all at once.
 */
public interface Publisher extends AutoCloseable {

    /**
     * Sends events.
     *
     * @param events one to {@link CallLimits#maxEvents()} events, never null or empty, with at most
     *        {@link CallLimits#eventsPerAggregate()} events of any one aggregate (in their order)
     * @return one outcome per event, in the same order
     */
    List<PublishOutcome> publish(List<Event> events);

    /**
     * What one {@link #publish} call may be handed. The default, {@link CallLimits#DEFAULT}, suits any publisher:
     * one event per aggregate per call and no declared timeout.
     *
     * @return the limits the relay shapes calls to
     */
    default CallLimits callLimits() {
        return CallLimits.DEFAULT;
    }

    /**
     * Where {@code event} would go, for traces ({@code outbox-opentelemetry} names its spans {@code send <name>}) and
     * logs, and for the relay, which judges each destination by its own answers: a circuit that pauses it when it takes
     * nothing, a send window while it throttles, and its calls overlapping only while its last call published
     * everything, so that one destination's trouble never slows another's events. The default, for a publisher that
     * does not say, is system {@code unknown} and the publisher's class name: all its events one destination.
     *
     * @param event an event this publisher may be handed
     * @return its destination
     */
    default Destination destination(Event event) {
        return new Destination("unknown", getClass().getName());
    }

    /** Releases what the publisher created (its SDK clients), never what it was given. */
    @Override
    default void close() {
    }
}
