package dev.outbox.jdbc;

import dev.outbox.spi.CallLimits;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.ArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes one claimed batch: rounds of calls as the {@link DeliveryPlan} lays them out, each call let through by the
 * batch's {@link BatchLease} (renewed when due, and only if the call's whole bound fits before the lease ends), a call
 * that throws searched for its culprits ({@link CulpritSearch}), outcomes decided by {@link OutcomeRules} and written
 * by {@link BatchOutcomes}.
 *
 * <p>An aggregate whose event failed, or whose event another relay took over (found by a renewal or a write), leaves
 * the batch: its remaining events go back unattempted. When a round ends, another follows, and the batch has run
 * 50 ms since its claim or its last write (a slow broker, a hot aggregate), the outcomes so far are written at once,
 * so a hot aggregate's later rounds never hold back what the batch already published; fast rounds are written
 * together at the end. The batch stops early when the broker is unavailable or its lease has no time left for a call;
 * what it did not send goes back unattempted.
 */
final class BatchDelivery {

    /**
     * What became of a batch.
     *
     * @param settlements every outcome decided, in the order decided
     * @param recorded the positions whose outcome is written
     * @param released how many events went back unattempted (held back, capped, out of time or broker unavailable)
     * @param releasedHeld how many events publishing released from behind the published ones
     * @param unavailable why the broker could take nothing, when it said so; null otherwise
     */
    record Result(List<Settlement> settlements, Set<Long> recorded, int released, int releasedHeld,
                  String unavailable) {
    }

    private static final Logger log = LoggerFactory.getLogger(BatchDelivery.class);
    /** A batch writes settled rounds early once it has run this long since its claim or its last write. */
    private static final long EARLY_RECORD_AFTER_NANOS = 50_000_000L;

    private final PublisherCall publisher;
    private final CulpritSearch search;
    private final OutcomeRules rules;
    private final OutcomeRecorder recorder;
    private final BatchLease.Renewal renewal;
    private final Duration leaseDuration;
    private final int perCall;
    private final int perBatch;
    private final int maxEvents;
    private final java.util.function.Function<ClaimedBatch.Row, String> key;
    private final String ownerId;

    BatchDelivery(PublisherCall publisher, CallLimits limits, Ordering ordering, OutcomeRules rules,
                  int maxCallsPerAggregate, Duration leaseDuration, BatchLease.Renewal renewal,
                  OutcomeRecorder recorder, String ownerId) {
        this.publisher = publisher;
        this.key = DeliveryPlan.keys(ordering);
        this.search = new CulpritSearch(publisher, key, ownerId);
        this.rules = rules;
        this.recorder = recorder;
        this.renewal = renewal;
        this.leaseDuration = leaseDuration;
        this.perCall = ordering == Ordering.PER_AGGREGATE ? limits.eventsPerAggregate() : limits.maxEvents();
        this.perBatch = ordering == Ordering.PER_AGGREGATE ? perCall * maxCallsPerAggregate : Integer.MAX_VALUE;
        this.maxEvents = limits.maxEvents();
        this.ownerId = ownerId;
    }

    /**
     * @return the longest one publisher call may take, as the relay counts it: the publisher's declared call timeout,
     *         or a third of the lease when it declares none
     */
    static Duration callBound(CallLimits limits, Duration lease) {
        return limits.callTimeout() != null ? limits.callTimeout() : lease.dividedBy(3);
    }

    /**
     * @throws dev.outbox.OutboxException when outcomes could not be written; the batch's events are then left to
     *         their lease
     */
    Result deliver(ClaimedBatch batch) {
        return new Run(batch).run();
    }

    /** One batch's delivery. */
    private final class Run {
        private final ClaimedBatch batch;
        private final BatchLease lease;
        private final BatchOutcomes outcomes;
        private final Map<Long, ClaimedBatch.Row> byPosition = new HashMap<>();
        private DeliveryPlan plan;
        private boolean stopped;
        private boolean outOfTime;
        private String unavailable;

        Run(ClaimedBatch batch) {
            this.batch = batch;
            this.lease = new BatchLease(batch, leaseDuration, renewal, ownerId);
            this.outcomes = new BatchOutcomes(batch, lease, recorder);
            batch.rows().forEach(r -> byPosition.put(r.position(), r));
        }

        Result run() {
            List<ClaimedBatch.Row> sendable = new ArrayList<>(batch.size());
            Set<String> deadAhead = new HashSet<>();
            for (ClaimedBatch.Row row : batch.rows()) {
                String reason = rules.deadOnArrival(row);
                if (reason != null) {
                    log.warn("relay {}: event {} ({}/{}) is dead: {}", ownerId, row.eventId(), row.aggregateType(),
                            row.aggregateId(), reason);
                    outcomes.add(new Settlement(row, Settlement.Kind.DEAD, 0, reason));
                    deadAhead.add(key.apply(row));
                } else if (!deadAhead.contains(key.apply(row))) {
                    sendable.add(row);
                }
            }
            plan = new DeliveryPlan(sendable, perCall, perBatch, maxEvents, key);
            long lastRecord = batch.claimedAtNanos();
            while (!stopped && plan.hasNextRound()) {
                for (List<ClaimedBatch.Row> planned : plan.nextRound()) {
                    List<ClaimedBatch.Row> call = admit(planned);
                    if (!call.isEmpty()) {
                        settle(call);
                    }
                }
                if (!stopped && plan.hasNextRound() && System.nanoTime() - lastRecord >= EARLY_RECORD_AFTER_NANOS) {
                    // A later round follows and the batch has run a while (a slow broker, a hot aggregate): write
                    // what is settled now, so its aggregates are free for other relays.
                    lastRecord = System.nanoTime();
                    dropAggregatesOf(outcomes.record());
                }
            }
            outcomes.releaseRest();
            if (outOfTime) {
                log.warn("relay {}: stopped publishing a batch of {} events before its lease could run out; {} events"
                        + " released unsent for the next claim", ownerId, batch.size(), outcomes.released());
            }
            outcomes.record();
            return new Result(outcomes.all(), outcomes.recorded(), outcomes.released(), outcomes.releasedHeld(),
                    unavailable);
        }

        private void settle(List<ClaimedBatch.Row> call) {
            OutcomeRules.Settled settled = rules.settle(call, search.publish(call, this::admit));
            outcomes.addAll(settled.settlements());
            settled.failed().forEach(plan::drop);
            if (settled.unavailable() != null) {
                unavailable = settled.unavailable(); // the broker takes nothing now: give the rest back
                stopped = true;
            }
        }

        /**
         * The rows of {@code call} that may go to the publisher now: the lease renewed if due, aggregates that lost
         * an event to another relay dropped, and nothing at all once the lease has no room for the call's bound.
         */
        private List<ClaimedBatch.Row> admit(List<ClaimedBatch.Row> call) {
            if (stopped) {
                return List.of();
            }
            BatchLease.Check check = lease.beforeCall(publisher.boundNanos());
            dropAggregatesOf(check.lost());
            if (!check.mayCall()) {
                stopped = true;
                outOfTime = !lease.ended();
                return List.of();
            }
            return plan.without(call);
        }

        /** Another relay holds these rows now: publishing their aggregates' later events could reorder them. */
        private void dropAggregatesOf(Set<Long> lost) {
            for (long position : lost) {
                plan.drop(key.apply(byPosition.get(position)));
            }
        }
    }
}
