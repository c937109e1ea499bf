package dev.outbox.jdbc;

import dev.outbox.Event;
import dev.outbox.RetryPolicy;
import dev.outbox.spi.CallLimits;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes one claimed batch: the relay, not the publisher, keeps each aggregate's order, and nothing is handed to
 * the publisher after the batch's lease could have run out.
 *
 * <p>The batch goes out in rounds. Round {@code k} holds the {@code k}-th group of each aggregate's events, a group
 * being as many consecutive events as the publisher takes of one aggregate in one call
 * ({@link CallLimits#eventsPerAggregate()}, usually 1); a round is split into calls of at most
 * {@link CallLimits#maxEvents()} events, one after another. An aggregate whose event failed takes no further part:
 * its later events are released unattempted. Each round's outcomes are recorded when it ends, so a hot aggregate's
 * later rounds never hold back what the batch already published. An aggregate takes at most
 * {@code maxCallsPerAggregate} rounds per batch; the rest of its events are released for the next claim.
 *
 * <p>Before each call the lease is checked: once half of it is gone, the unsettled events' lease is renewed; a call is
 * started only while at least the publisher's {@link CallLimits#callTimeout()} (a third of the lease when it declares
 * none) remains, so a call that ends by its timeout ends within the lease. Events not sent by then are released.
 */
final class BatchDelivery {

    /** Extends the lease of claimed rows; returns the positions still held. */
    interface LeaseRenewal {
        Set<Long> renew(List<Long> positions) throws SQLException;
    }

    /** Records settled outcomes; returns the positions written (a missing one had lost its lease). */
    interface Recorder {
        Set<Long> record(List<Settlement> settlements);
    }

    /**
     * What became of a batch.
     *
     * @param settlements every outcome decided, in the order decided
     * @param recorded the positions whose outcome is written
     * @param released how many events went back unattempted (held back, capped or out of time)
     */
    record Result(List<Settlement> settlements, Set<Long> recorded, int released) {
    }

    private static final Logger log = LoggerFactory.getLogger(BatchDelivery.class);

    private final Publisher publisher;
    private final CallLimits limits;
    private final Ordering ordering;
    private final RetryPolicy retryPolicy;
    private final int maxCallsPerAggregate;
    private final long leaseNanos;
    private final long marginNanos;
    private final String ownerId;

    BatchDelivery(Publisher publisher, CallLimits limits, Ordering ordering, RetryPolicy retryPolicy,
                  int maxCallsPerAggregate, Duration lease, String ownerId) {
        this.publisher = publisher;
        this.limits = limits;
        this.ordering = ordering;
        this.retryPolicy = retryPolicy;
        this.maxCallsPerAggregate = maxCallsPerAggregate;
        this.leaseNanos = lease.toNanos();
        this.marginNanos = limits.callTimeout() != null ? limits.callTimeout().toNanos() : lease.toNanos() / 3;
        this.ownerId = ownerId;
    }

    /** @return the margin kept before a lease ends: no call starts later than this before it */
    static Duration margin(CallLimits limits, Duration lease) {
        return limits.callTimeout() != null ? limits.callTimeout() : lease.dividedBy(3);
    }

    Result deliver(ClaimedBatch batch, long claimedAtNanos, LeaseRenewal renewal, Recorder recorder) {
        int perCall = ordering == Ordering.PER_AGGREGATE ? limits.eventsPerAggregate() : limits.maxEvents();
        int perBatch = ordering == Ordering.PER_AGGREGATE ? perCall * maxCallsPerAggregate : Integer.MAX_VALUE;
        Map<String, ArrayDeque<ClaimedBatch.Row>> waiting = new LinkedHashMap<>();
        List<Settlement> settlements = new ArrayList<>(batch.size());
        List<Settlement> unrecorded = new ArrayList<>();
        int released = 0;
        for (ClaimedBatch.Row row : batch.rows()) {
            ArrayDeque<ClaimedBatch.Row> queue = waiting.computeIfAbsent(key(row), k -> new ArrayDeque<>());
            if (queue.size() < perBatch) {
                queue.add(row);
            } else {
                unrecorded.add(new Settlement(row, Settlement.Kind.RELEASED, 0, null));
                released++;
            }
        }
        Set<Long> recorded = new HashSet<>();
        long leaseEnd = claimedAtNanos + leaseNanos;
        boolean outOfTime = false;
        while (!waiting.isEmpty() && !outOfTime) {
            List<ClaimedBatch.Row> round = new ArrayList<>();
            for (ArrayDeque<ClaimedBatch.Row> queue : waiting.values()) {
                for (int i = 0; i < perCall && !queue.isEmpty(); i++) {
                    round.add(queue.poll());
                }
            }
            waiting.values().removeIf(ArrayDeque::isEmpty);
            round.sort(Comparator.comparingLong(ClaimedBatch.Row::position));
            Set<String> failed = new HashSet<>();
            for (List<ClaimedBatch.Row> call : calls(round)) {
                if (System.nanoTime() > leaseEnd - leaseNanos / 2) {
                    leaseEnd = renew(renewal, call, waiting, leaseEnd, settlements.size());
                }
                if (System.nanoTime() > leaseEnd - marginNanos) {
                    outOfTime = true;
                }
                if (call.isEmpty()) {
                    continue;
                }
                if (outOfTime) {
                    for (ClaimedBatch.Row row : call) {
                        unrecorded.add(new Settlement(row, Settlement.Kind.RELEASED, 0, null));
                        released++;
                    }
                    continue;
                }
                List<PublishOutcome> outcomes = publish(call);
                released += settle(call, outcomes, failed, unrecorded);
            }
            for (String aggregate : failed) {
                ArrayDeque<ClaimedBatch.Row> rest = waiting.remove(aggregate);
                if (rest != null) {
                    for (ClaimedBatch.Row row : rest) {
                        unrecorded.add(new Settlement(row, Settlement.Kind.RELEASED, 0, null));
                        released++;
                    }
                }
            }
            if (!waiting.isEmpty() && !outOfTime) {
                // A later round follows: record this one now, so its aggregates are free for other relays.
                recorded.addAll(recorder.record(unrecorded));
                settlements.addAll(unrecorded);
                unrecorded = new ArrayList<>();
            }
        }
        if (outOfTime) {
            for (ArrayDeque<ClaimedBatch.Row> rest : waiting.values()) {
                for (ClaimedBatch.Row row : rest) {
                    unrecorded.add(new Settlement(row, Settlement.Kind.RELEASED, 0, null));
                    released++;
                }
            }
            log.warn("relay {}: stopped publishing a batch of {} events before its lease could run out; {} events"
                    + " released unsent for the next claim", ownerId, batch.size(), released);
        }
        if (!unrecorded.isEmpty()) {
            recorded.addAll(recorder.record(unrecorded));
            settlements.addAll(unrecorded);
        }
        return new Result(settlements, recorded, released);
    }

    /** Splits a round into calls of at most maxEvents, never splitting one aggregate's group. */
    private List<List<ClaimedBatch.Row>> calls(List<ClaimedBatch.Row> round) {
        if (round.size() <= limits.maxEvents()) {
            return List.of(round);
        }
        Map<String, List<ClaimedBatch.Row>> groups = new LinkedHashMap<>();
        for (ClaimedBatch.Row row : round) {
            groups.computeIfAbsent(key(row), k -> new ArrayList<>()).add(row);
        }
        List<List<ClaimedBatch.Row>> calls = new ArrayList<>();
        List<ClaimedBatch.Row> current = new ArrayList<>();
        for (List<ClaimedBatch.Row> group : groups.values()) {
            if (!current.isEmpty() && current.size() + group.size() > limits.maxEvents()) {
                calls.add(current);
                current = new ArrayList<>();
            }
            current.addAll(group);
        }
        if (!current.isEmpty()) {
            calls.add(current);
        }
        return calls;
    }

    private long renew(LeaseRenewal renewal, List<ClaimedBatch.Row> call, Map<String, ArrayDeque<ClaimedBatch.Row>> waiting,
                       long leaseEnd, int settled) {
        List<Long> positions = new ArrayList<>();
        call.forEach(r -> positions.add(r.position()));
        waiting.values().forEach(q -> q.forEach(r -> positions.add(r.position())));
        long asked = System.nanoTime();
        try {
            Set<Long> held = renewal.renew(positions);
            if (held.size() < positions.size()) {
                // Lost rows belong to another relay now: publishing them here could reorder their aggregate.
                log.warn("relay {}: {} of {} unsettled events lost their lease mid-batch; leaving them to their new"
                        + " owner", ownerId, positions.size() - held.size(), positions.size());
                call.removeIf(r -> !held.contains(r.position()));
                waiting.values().forEach(q -> q.removeIf(r -> !held.contains(r.position())));
            }
            log.debug("relay {}: renewed the lease of {} events after {} settled", ownerId, held.size(), settled);
            return asked + leaseNanos;
        } catch (SQLException e) {
            log.warn("relay {}: renewing the lease failed; the batch stops before its lease ends: {}", ownerId,
                    e.getMessage());
            return leaseEnd;
        }
    }

    /** Calls the publisher, turning every way it can misbehave into retry outcomes. */
    private List<PublishOutcome> publish(List<ClaimedBatch.Row> call) {
        List<Event> events = new ArrayList<>(call.size());
        call.forEach(r -> events.add(r.event()));
        String failure;
        try {
            List<PublishOutcome> outcomes = publisher.publish(events);
            boolean hasNull = outcomes != null && outcomes.stream().anyMatch(Objects::isNull);
            if (outcomes != null && outcomes.size() == events.size() && !hasNull) {
                return outcomes;
            }
            failure = outcomes == null ? "publisher returned null instead of outcomes"
                    : outcomes.size() != events.size()
                            ? "publisher returned " + outcomes.size() + " outcomes for " + events.size() + " events"
                            : "publisher returned a null outcome";
            log.error("relay {}: {} (a publisher bug); retrying the call, first event {}", ownerId, failure,
                    events.get(0).id());
        } catch (RuntimeException | Error e) {
            if (e instanceof Error && !(e instanceof AssertionError || e instanceof LinkageError)) {
                throw (Error) e;
            }
            failure = "publisher threw " + e;
            log.warn("relay {}: publisher threw for a call of {} events (first {}); they will be retried",
                    ownerId, events.size(), events.get(0).id(), e);
        }
        List<PublishOutcome> retries = new ArrayList<>(events.size());
        for (int i = 0; i < events.size(); i++) {
            retries.add(PublishOutcome.retry(failure));
        }
        return retries;
    }

    /** Turns one call's outcomes into settlements; returns how many were released unattempted. */
    private int settle(List<ClaimedBatch.Row> call, List<PublishOutcome> outcomes, Set<String> failed,
                       List<Settlement> into) {
        int released = 0;
        for (int i = 0; i < call.size(); i++) {
            ClaimedBatch.Row row = call.get(i);
            PublishOutcome outcome = outcomes.get(i);
            String aggregate = key(row);
            boolean heldBack = failed.contains(aggregate);
            Event event = row.event();
            switch (outcome.status()) {
                case PUBLISHED -> {
                    if (heldBack) {
                        log.warn("relay {}: publisher delivered event {} after an earlier event of aggregate {}/{}"
                                + " failed in the same call, although it declared it keeps their order", ownerId,
                                event.id(), event.aggregateType(), event.aggregateId());
                    }
                    into.add(new Settlement(row, Settlement.Kind.PUBLISHED, 0, null));
                }
                case REJECTED -> {
                    failed.add(aggregate);
                    into.add(new Settlement(row, Settlement.Kind.DEAD, 0, "rejected: " + outcome.reason()));
                }
                case RETRY -> {
                    if (heldBack) {
                        into.add(new Settlement(row, Settlement.Kind.RELEASED, 0, null));
                        released++;
                        continue;
                    }
                    failed.add(aggregate);
                    if (retryPolicy.exhausted(row.attempts())) {
                        into.add(new Settlement(row, Settlement.Kind.DEAD, 0,
                                "gave up after " + row.attempts() + " attempts: " + outcome.reason()));
                    } else {
                        Duration delay = retryPolicy.delayAfter(row.attempts(), ThreadLocalRandom.current().nextDouble());
                        into.add(new Settlement(row, Settlement.Kind.RETRY, delay.toMillis(), outcome.reason()));
                    }
                }
            }
        }
        return released;
    }

    private String key(ClaimedBatch.Row row) {
        if (ordering == Ordering.NONE) {
            return Long.toString(row.position());
        }
        Event e = row.event();
        return e.aggregateType() + '\0' + e.aggregateId();
    }
}
