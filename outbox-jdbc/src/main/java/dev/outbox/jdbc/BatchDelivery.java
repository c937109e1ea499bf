package dev.outbox.jdbc;

import dev.outbox.spi.CallLimits;
import dev.outbox.spi.Destination;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes one claimed batch: calls as the {@link DeliveryPlan} lays them out, each call let through by the
 * batch's {@link BatchLease} (renewed when due, and only if the call's whole bound fits before the lease ends) and by
 * each event's destination ({@link BatchDestinations}: its circuit, its send window while the broker throttles, and
 * whether its calls may overlap), a call that fails without an answer searched for its culprits
 * ({@link CulpritSearch}), outcomes decided by {@link OutcomeRules} and written by {@link BatchOutcomes}.
 *
 * <p>When one call cannot carry the batch, calls overlap, up to {@value #MAX_CALLS_IN_FLIGHT} at once, each with
 * aggregates none of the calls in flight carries, so an aggregate's next call starts when its own previous call is
 * answered, not when every call before it is. A destination's events go beside calls in flight only while the last
 * call answered for it (by this batch, or by another before it) published all its events there, and it is neither
 * probed nor throttled; otherwise they go only in a call made alone, so a destination that fails keeps its own calls
 * one at a time and no other destination's. Calls beside others run on call threads ({@link CallsInFlight}); the
 * batch's thread admits, settles and writes, and makes a call alone itself.
 *
 * <p>An aggregate whose event failed, or whose event another relay took over (found by a renewal or a write), leaves
 * the batch: its remaining events go back unattempted. A destination that takes none of a call's events is paused, and
 * its remaining events go back to wait out the pause, while the other destinations' events go on. When another call
 * follows and the batch has run 50 ms since its claim or its last write (a slow broker, a hot aggregate), the outcomes
 * so far are written while that call is in flight, so a hot aggregate's later calls never hold back what the batch
 * already published, and a later call that outlives the lease loses none of it; fast calls are written together at
 * the end. The batch stops early when its lease has no time left for a call, and when it has run 50 ms and, with no
 * call in flight, at most a tenth of its events are left, of several aggregates, needing more calls one after another
 * than the batch's claim took: that tail, which would hold the loop for a round trip a call while each carries a few
 * events, goes to the next claim beside new events. What it did not send goes back unattempted, due at once. A
 * loop's batch down to one aggregate's chain starts a {@link SparePasses spare pass} beside it, once.
 */
final class BatchDelivery {

    /**
     * What became of a batch.
     *
     * @param settlements every outcome decided, in the order decided
     * @param recorded the positions whose outcome is written
     * @param released how many events went back unattempted (held back, capped, out of time, paused or throttled)
     * @param releasedHeld how many events publishing released from behind the published ones
     */
    record Result(List<Settlement> settlements, Set<Long> recorded, int released, int releasedHeld) {
    }

    private static final Logger log = LoggerFactory.getLogger(BatchDelivery.class);
    /** A batch writes settled calls early once it has run this long since its claim or its last write. */
    private static final long EARLY_RECORD_AFTER_NANOS = 50_000_000L;
    /**
     * A batch that has run 50 ms (a slow broker) ends once nothing is in flight and at most one in this many of its
     * events are left to hand out, of several aggregates, needing more than one call one after another.
     */
    private static final int TAIL_SHARE = 10;
    /** At most this many publisher calls of one batch are in flight at once. */
    static final int MAX_CALLS_IN_FLIGHT = 4;

    private final Publisher publisher;
    private final PublisherCall calls;
    private final CulpritSearch search;
    private final OutcomeRules rules;
    private final OutcomeRecorder recorder;
    private final Destinations destinations;
    private final BatchLease.Renewal renewal;
    private final Duration leaseDuration;
    private final int perCall;
    private final int perBatch;
    private final int maxEvents;
    private final Function<ClaimedBatch.Row, String> key;
    private final String ownerId;
    private final SparePasses spares;

    BatchDelivery(Publisher publisher, PublisherCall calls, CallLimits limits, Ordering ordering, OutcomeRules rules,
                  int maxCallsPerAggregate, Duration leaseDuration, BatchLease.Renewal renewal,
                  OutcomeRecorder recorder, Destinations destinations, String ownerId, SparePasses spares) {
        this.publisher = publisher;
        this.calls = calls;
        this.key = DeliveryPlan.keys(ordering);
        this.search = new CulpritSearch(calls, key, ownerId);
        this.rules = rules;
        this.recorder = recorder;
        this.destinations = destinations;
        this.renewal = renewal;
        this.leaseDuration = leaseDuration;
        this.perCall = ordering == Ordering.PER_AGGREGATE ? limits.eventsPerAggregate() : limits.maxEvents();
        this.perBatch = perBatch(limits, ordering, maxCallsPerAggregate);
        this.maxEvents = limits.maxEvents();
        this.ownerId = ownerId;
        this.spares = spares;
    }

    /** @return the most events of one aggregate a batch sends; unbounded without order */
    static int perBatch(CallLimits limits, Ordering ordering, int maxCallsPerAggregate) {
        return ordering == Ordering.PER_AGGREGATE
                ? (int) Math.min(Integer.MAX_VALUE, (long) limits.eventsPerAggregate() * maxCallsPerAggregate)
                : Integer.MAX_VALUE;
    }

    /**
     * @return the longest one publisher call may take, as the relay counts it: the publisher's declared call timeout,
     *         or a third of the lease when it declares none
     */
    static Duration callBound(CallLimits limits, Duration lease) {
        return limits.callTimeout() != null ? limits.callTimeout() : lease.dividedBy(3);
    }

    /**
     * @param loop whether a loop's thread delivers the batch: only such a batch starts {@link SparePasses spare passes}
     * @throws dev.outbox.OutboxException when outcomes could not be written; the batch's events are then left to
     *         their lease
     */
    Result deliver(ClaimedBatch batch, boolean loop) {
        return new Run(batch, loop).run();
    }

    /** One batch's delivery. */
    private final class Run {
        private final ClaimedBatch batch;
        private final BatchLease lease;
        private final BatchOutcomes outcomes;
        private final Map<Long, ClaimedBatch.Row> byPosition = new HashMap<>();
        private final BatchDestinations to;
        /** Aggregates whose group is in a call not settled yet. */
        private final Set<String> inFlight = new HashSet<>();
        /** The calls started beside others; each is settled on the batch's thread once handed back. */
        private final CallsInFlight calling = new CallsInFlight();
        /** How long the claim of the batch took, as this relay saw it. */
        private final long claimNanos;
        private long lastCallNanos;
        private boolean called;
        private DeliveryPlan plan;
        private boolean stopped;
        private boolean outOfTime;
        /** Whether a loop's thread delivers the batch. */
        private final boolean loop;
        /** The spare pass running beside the batch's lone chain, if one was started. */
        private SparePasses.Cover spare;

        Run(ClaimedBatch batch, boolean loop) {
            this.batch = batch;
            this.loop = loop;
            this.lease = new BatchLease(batch, leaseDuration, renewal, ownerId);
            this.outcomes = new BatchOutcomes(batch, lease, recorder);
            for (ClaimedBatch.Row row : batch.rows()) {
                byPosition.put(row.position(), row);
            }
            this.to = new BatchDestinations(publisher, destinations, batch.rows(), ownerId);
            this.claimNanos = System.nanoTime() - batch.claimedAtNanos();
        }

        Result run() {
            try {
                deliverRounds();
            } finally {
                to.probesEnded();
                if (spare != null) {
                    spare.end();
                }
            }
            outcomes.releaseRest();
            if (outOfTime) {
                log.warn("relay {}: stopped publishing a batch of {} events before its lease could run out; {} events"
                        + " released unsent for the next claim", ownerId, batch.size(), outcomes.released());
            }
            outcomes.record();
            return new Result(outcomes.all(), outcomes.recorded(), outcomes.released(), outcomes.releasedHeld());
        }

        private void deliverRounds() {
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
            plan = new DeliveryPlan(sendable, perCall, perBatch, maxEvents, key, to::of, to::window);
            long lastRecord = batch.claimedAtNanos();
            try {
                while (true) {
                    spareBesideLoneChain();
                    if (onlyTailLeft()) {
                        return;
                    }
                    List<List<ClaimedBatch.Row>> starting = nextCalls();
                    if (starting.isEmpty() && calling.running() == 0) {
                        return;
                    }
                    boolean recordNow = !stopped && System.nanoTime() - lastRecord >= EARLY_RECORD_AFTER_NANOS;
                    if (starting.size() == 1 && calling.running() == 0 && !recordNow) {
                        // The only call that may go now: made on this thread, as every call of a batch whose calls
                        // cannot overlap.
                        List<ClaimedBatch.Row> call = starting.get(0);
                        long started = System.nanoTime();
                        List<PublishOutcome> answers = search.publish(call, this::admitNow, to::of);
                        synchronized (this) {
                            settled(call, answers, System.nanoTime() - started);
                        }
                        continue;
                    }
                    starting.forEach(this::startCall);
                    if (recordNow) {
                        // The batch has run a while (a slow broker, a hot aggregate) and calls are in flight: write
                        // what is settled meanwhile, so its aggregates are free for other relays, and what was
                        // published stays published if a later call outlives the lease.
                        lastRecord = System.nanoTime();
                        synchronized (this) {
                            dropAggregatesOf(outcomes.record());
                        }
                    }
                    awaitAnswers();
                }
            } finally {
                calling.awaitAll();
            }
        }

        /**
         * A slow batch's tail: nothing in flight, the batch has run 50 ms, and at most a tenth of its events are left,
         * of several aggregates, needing calls one after another, each carrying a few of them, which at the last
         * call's pace would take longer than the batch's claim took. They go back due at once and the loop claims
         * again at once: in the next batch they ride beside new events. One aggregate's chain alone (a busy
         * aggregate's share) is sent to its end: claiming it again would not make it faster.
         */
        private boolean onlyTailLeft() {
            if (calling.running() > 0 || !called
                    || System.nanoTime() - batch.claimedAtNanos() < EARLY_RECORD_AFTER_NANOS) {
                return false;
            }
            int rounds = plan.tailRounds(batch.size(), TAIL_SHARE);
            return rounds > 0 && rounds * lastCallNanos > claimNanos;
        }

        /**
         * A loop's batch down to one aggregate's chain, which has run 50 ms and needs two calls more at least: the
         * loop would only wait for the chain's answers, so a spare pass claims and publishes beside it until a claim
         * finds nothing. Once a batch: a busy aggregate draining alone costs one claim a batch, not one a call.
         */
        private synchronized void spareBesideLoneChain() {
            if (!loop || stopped || spare != null
                    || System.nanoTime() - batch.claimedAtNanos() < EARLY_RECORD_AFTER_NANOS) {
                return;
            }
            String chain = plan.loneChain(2);
            if (chain != null && (inFlight.isEmpty() || inFlight.equals(Set.of(chain)))) {
                spare = spares.begin();
            }
        }

        /**
         * The calls that may start now, each admitted: one when no call is in flight, and beside calls in flight as
         * many as fit, of destinations whose calls may overlap.
         */
        private synchronized List<List<ClaimedBatch.Row>> nextCalls() {
            List<List<ClaimedBatch.Row>> starting = new ArrayList<>();
            while (!stopped && calling.running() + starting.size() < MAX_CALLS_IN_FLIGHT) {
                boolean beside = calling.running() + starting.size() > 0;
                if (!plan.hasNextCall(inFlight, beside)) {
                    break;
                }
                List<ClaimedBatch.Row> next = plan.nextCall(inFlight, to.chainsApart(called), beside);
                if (next.isEmpty()) {
                    break;
                }
                List<ClaimedBatch.Row> call = admit(next);
                if (!call.isEmpty()) {
                    called = true;
                    call.forEach(row -> inFlight.add(key.apply(row)));
                    starting.add(call);
                }
            }
            return starting;
        }

        private void startCall(List<ClaimedBatch.Row> call) {
            calling.start(call, rows -> search.publish(rows, this::admitNow, to::of));
        }

        /** Waits for a call in flight to be answered, and settles it and any others answered meanwhile. */
        private void awaitAnswers() {
            Throwable failure = null;
            List<CallsInFlight.Answered> done = calling.await();
            synchronized (this) {
                for (CallsInFlight.Answered a : done) {
                    if (a.failure() != null) {
                        failure = failure == null ? a.failure() : failure;
                        a.call().forEach(row -> inFlight.remove(key.apply(row)));
                    } else {
                        settled(a.call(), a.answers(), a.nanos());
                    }
                }
            }
            if (failure instanceof RuntimeException e) {
                throw e;
            } else if (failure instanceof Error e) {
                throw e;
            } else if (failure != null) {
                throw new IllegalStateException(failure);
            }
        }

        /** {@link #admit} for a call's culprit search, which may run on a call thread. */
        private synchronized List<ClaimedBatch.Row> admitNow(List<ClaimedBatch.Row> call) {
            return admit(call);
        }

        /** Settles an answered call and frees its aggregates for the next call. */
        private void settled(List<ClaimedBatch.Row> call, List<PublishOutcome> answers, long nanos) {
            lastCallNanos = nanos;
            settle(call, answers);
            call.forEach(row -> inFlight.remove(key.apply(row)));
        }

        /** Tells each destination of the call how it answered, then decides each event's outcome. */
        private void settle(List<ClaimedBatch.Row> call, List<PublishOutcome> answers) {
            to.answered(call, answers);
            OutcomeRules.Settled settled = rules.settle(call, answers, (row, outcome) -> to.deferral(row));
            outcomes.addAll(settled.settlements());
            settled.failed().forEach(plan::drop);
        }

        /**
         * The rows of {@code call} that may go to the publisher now: the lease renewed if due, aggregates that lost an
         * event to another relay dropped, rows of paused destinations given back to wait out the pause, and nothing
         * at all once the lease has no room for the call's bound.
         */
        private List<ClaimedBatch.Row> admit(List<ClaimedBatch.Row> call) {
            if (stopped) {
                return List.of();
            }
            BatchLease.Check check = lease.beforeCall(calls.boundNanos());
            dropAggregatesOf(check.lost());
            if (!check.mayCall()) {
                stopped = true;
                outOfTime = !lease.ended();
                return List.of();
            }
            List<ClaimedBatch.Row> admitted = new ArrayList<>(call.size());
            Map<Destination, Boolean> open = new HashMap<>();
            for (ClaimedBatch.Row row : plan.without(call)) {
                Destination d = to.of(row);
                if (open.computeIfAbsent(d, to::mayCall)) {
                    admitted.add(row);
                } else {
                    outcomes.add(new Settlement(row, Settlement.Kind.RELEASED, Math.max(to.pauseLeftMillis(d), 100),
                            null));
                    plan.drop(key.apply(row));
                }
            }
            return admitted;
        }

        /** Another relay holds these rows now: publishing their aggregates' later events could reorder them. */
        private void dropAggregatesOf(Set<Long> lost) {
            for (long position : lost) {
                plan.drop(key.apply(byPosition.get(position)));
            }
        }
    }
}
