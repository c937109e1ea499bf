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
import org.slf4j.MDC;

/**
 * Publishes one claimed batch: the relay, not the publisher, keeps each aggregate's order, and nothing is handed to
 * the publisher after the batch's lease could have run out.
 *
 * <p>The batch goes out in rounds. Round {@code k} holds the {@code k}-th group of each aggregate's events, a group
 * being as many consecutive events as the publisher takes of one aggregate in one call
 * ({@link CallLimits#eventsPerAggregate()}, usually 1); a round is split into calls of at most
 * {@link CallLimits#maxEvents()} events, one after another. An aggregate whose event failed takes no further part:
 * its later events are released unattempted. When a round ends, another follows, and the batch has run 50 ms since
 * its claim or its last record (a slow broker, a hot aggregate), what is settled is recorded at once, so a hot
 * aggregate's later rounds never hold back what the batch already published; fast rounds are recorded together. An aggregate takes at most
 * {@code maxCallsPerAggregate} rounds per batch; the rest of its events are released for the next claim.
 *
 * <p>Before each call the lease is checked: once half of it is gone, the lease of every event whose outcome is not
 * recorded yet is renewed; a call is
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

    /** Hears how long each publisher call took. */
    interface CallTimer {
        void called(int events, long nanos);
    }

    /**
     * What became of a batch.
     *
     * @param settlements every outcome decided, in the order decided
     * @param recorded the positions whose outcome is written
     * @param released how many events went back unattempted (held back, capped, out of time or broker unavailable)
     * @param unavailable why the broker could take nothing, when it said so; null otherwise
     */
    record Result(List<Settlement> settlements, Set<Long> recorded, int released, String unavailable) {
    }

    private static final Logger log = LoggerFactory.getLogger(BatchDelivery.class);
    /** A batch records settled rounds early once it has run this long since its claim or its last record. */
    private static final long EARLY_RECORD_AFTER_NANOS = 50_000_000L;

    private final Publisher publisher;
    private final CallLimits limits;
    private final Ordering ordering;
    private final RetryPolicy retryPolicy;
    private final int maxCallsPerAggregate;
    private final long leaseNanos;
    private final long marginNanos;
    private final String ownerId;
    private final CallTimer callTimer;

    BatchDelivery(Publisher publisher, CallLimits limits, Ordering ordering, RetryPolicy retryPolicy,
                  int maxCallsPerAggregate, Duration lease, String ownerId, CallTimer callTimer) {
        this.publisher = publisher;
        this.limits = limits;
        this.ordering = ordering;
        this.retryPolicy = retryPolicy;
        this.maxCallsPerAggregate = maxCallsPerAggregate;
        this.leaseNanos = lease.toNanos();
        this.marginNanos = margin(limits, lease).toNanos();
        this.ownerId = ownerId;
        this.callTimer = callTimer;
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
        Set<String> deadAhead = new HashSet<>();
        for (ClaimedBatch.Row row : batch.rows()) {
            String reason = deadOnArrival(row);
            if (reason != null) {
                log.warn("relay {}: event {} ({}/{}) is dead: {}", ownerId, row.eventId(), row.aggregateType(),
                        row.aggregateId(), reason);
                unrecorded.add(new Settlement(row, Settlement.Kind.DEAD, 0, reason));
                deadAhead.add(key(row));
                continue;
            }
            if (deadAhead.contains(key(row))) {
                unrecorded.add(new Settlement(row, Settlement.Kind.RELEASED, 0, null));
                released++;
                continue;
            }
            ArrayDeque<ClaimedBatch.Row> queue = waiting.computeIfAbsent(key(row), k -> new ArrayDeque<>());
            if (queue.size() < perBatch) {
                queue.add(row);
            } else {
                unrecorded.add(new Settlement(row, Settlement.Kind.RELEASED, 0, null));
                released++;
            }
        }
        Set<Long> recorded = new HashSet<>();
        String[] unavailable = {null};
        long leaseEnd = claimedAtNanos + leaseNanos;
        long lastRecord = claimedAtNanos;
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
                    leaseEnd = renew(renewal, batch, recorded, call, waiting, leaseEnd);
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
                List<PublishOutcome> outcomes = publishFindingCulprits(call);
                released += settle(call, outcomes, failed, unrecorded, unavailable);
                if (unavailable[0] != null) {
                    outOfTime = true; // the broker takes nothing now: stop the batch, give the rest back
                }
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
            if (!waiting.isEmpty() && !outOfTime && System.nanoTime() - lastRecord >= EARLY_RECORD_AFTER_NANOS) {
                // A later round follows and the batch has run a while (a slow broker, a hot aggregate): record what is
                // settled now, so its aggregates are free for other relays. Fast rounds are recorded together at the
                // end, in one statement; the lease renewal covers them meanwhile.
                lastRecord = System.nanoTime();
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
            if (unavailable[0] == null) {
                log.warn("relay {}: stopped publishing a batch of {} events before its lease could run out; {} events"
                        + " released unsent for the next claim", ownerId, batch.size(), released);
            }
        }
        if (!unrecorded.isEmpty()) {
            recorded.addAll(recorder.record(unrecorded));
            settlements.addAll(unrecorded);
        }
        return new Result(settlements, recorded, released, unavailable[0]);
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

    /**
     * Renews the lease of every row of the batch whose outcome is not recorded yet: those still to send, and those
     * settled but not yet written, whose lease must not lapse before their outcome is recorded.
     */
    private long renew(LeaseRenewal renewal, ClaimedBatch batch, Set<Long> recorded, List<ClaimedBatch.Row> call,
                       Map<String, ArrayDeque<ClaimedBatch.Row>> waiting, long leaseEnd) {
        List<Long> positions = new ArrayList<>();
        for (ClaimedBatch.Row row : batch.rows()) {
            if (!recorded.contains(row.position())) {
                positions.add(row.position());
            }
        }
        long asked = System.nanoTime();
        try {
            Set<Long> held = renewal.renew(positions);
            if (held.size() < positions.size()) {
                // Lost rows belong to another relay now: publishing them here could reorder their aggregate.
                log.warn("relay {}: {} of {} unrecorded events lost their lease mid-batch; leaving them to their new"
                        + " owner", ownerId, positions.size() - held.size(), positions.size());
                call.removeIf(r -> !held.contains(r.position()));
                waiting.values().forEach(q -> q.removeIf(r -> !held.contains(r.position())));
            }
            log.debug("relay {}: renewed the lease of {} unrecorded events", ownerId, held.size());
            return asked + leaseNanos;
        } catch (SQLException e) {
            log.warn("relay {}: renewing the lease failed; the batch stops before its lease ends: {}", ownerId,
                    e.getMessage());
            return leaseEnd;
        }
    }

    /**
     * Calls the publisher. When a call of several aggregates' events throws, nothing is known about them: the call is
     * split in two (never splitting one aggregate's events) and each half sent again, until the events that make it
     * throw stand alone; only they are charged an attempt. When the call spanned several aggregates and every one of
     * its events threw, the publisher is failing as a whole (an outage, a bug of its own), and no event is charged:
     * they all come back unavailable. A call of one aggregate's events that throws cannot be split further, and is
     * charged.
     */
    private List<PublishOutcome> publishFindingCulprits(List<ClaimedBatch.Row> call) {
        Set<Long> threw = new HashSet<>();
        List<PublishOutcome> outcomes = publishOrSplit(call, threw);
        if (threw.size() == call.size() && distinctAggregates(call) > 1) {
            List<PublishOutcome> unavailable = new ArrayList<>(outcomes.size());
            for (PublishOutcome o : outcomes) {
                unavailable.add(PublishOutcome.unavailable("every event threw alone: " + o.reason()));
            }
            return unavailable;
        }
        return outcomes;
    }

    /** @param threw collects the positions of the events whose call threw with nothing left to split */
    private List<PublishOutcome> publishOrSplit(List<ClaimedBatch.Row> call, Set<Long> threw) {
        List<Event> events = new ArrayList<>(call.size());
        call.forEach(r -> events.add(r.event()));
        Throwable thrown;
        StringBuilder ids = new StringBuilder();
        for (Event e : events) {
            ids.append(ids.length() == 0 ? "" : ",").append(e.id());
        }
        try (MDC.MDCCloseable relay = MDC.putCloseable(JdbcRelay.MDC_RELAY, ownerId);
             MDC.MDCCloseable eventIds = MDC.putCloseable(JdbcRelay.MDC_EVENT_IDS, ids.toString())) {
            List<PublishOutcome> outcomes = timedPublish(events);
            boolean hasNull = outcomes != null && outcomes.stream().anyMatch(Objects::isNull);
            if (outcomes != null && outcomes.size() == events.size() && !hasNull) {
                return outcomes;
            }
            String failure = outcomes == null ? "publisher returned null instead of outcomes"
                    : outcomes.size() != events.size()
                            ? "publisher returned " + outcomes.size() + " outcomes for " + events.size() + " events"
                            : "publisher returned a null outcome";
            log.error("relay {}: {} (a publisher bug); retrying the call, first event {}", ownerId, failure,
                    events.get(0).id());
            return nCopies(events.size(), PublishOutcome.retry(failure));
        } catch (Throwable t) { // an Error from a publisher is one event's poison, not the relay's death
            thrown = t;
        }
        if (distinctAggregates(call) == 1) {
            call.forEach(r -> threw.add(r.position()));
            log.warn("relay {}: publisher threw for event {} ({}/{}): {}", ownerId, events.get(0).id(),
                    events.get(0).aggregateType(), events.get(0).aggregateId(), thrown.toString(), thrown);
            return nCopies(events.size(), PublishOutcome.retry("publisher threw " + thrown));
        }
        log.info("relay {}: publisher threw for a call of {} events ({}); sending them again in halves to find the"
                + " event responsible", ownerId, call.size(), thrown.toString());
        Map<Long, PublishOutcome> byPosition = new java.util.HashMap<>();
        for (List<ClaimedBatch.Row> half : halves(call)) {
            List<PublishOutcome> outcomes = publishOrSplit(half, threw);
            for (int i = 0; i < half.size(); i++) {
                byPosition.put(half.get(i).position(), outcomes.get(i));
            }
        }
        List<PublishOutcome> merged = new ArrayList<>(call.size());
        for (ClaimedBatch.Row row : call) {
            merged.add(byPosition.get(row.position())); // back in the call's order
        }
        return merged;
    }

    private List<PublishOutcome> timedPublish(List<Event> events) {
        long started = System.nanoTime();
        try {
            return publisher.publish(List.copyOf(events));
        } finally {
            callTimer.called(events.size(), System.nanoTime() - started);
        }
    }

    /** Splits a call in two by aggregate, so that one aggregate's events stay together and in order. */
    private List<List<ClaimedBatch.Row>> halves(List<ClaimedBatch.Row> call) {
        List<String> aggregates = call.stream().map(this::key).distinct().toList();
        Set<String> firstHalf = new HashSet<>(aggregates.subList(0, aggregates.size() / 2));
        List<ClaimedBatch.Row> first = new ArrayList<>();
        List<ClaimedBatch.Row> second = new ArrayList<>();
        for (ClaimedBatch.Row row : call) {
            (firstHalf.contains(key(row)) ? first : second).add(row);
        }
        return List.of(first, second);
    }

    private long distinctAggregates(List<ClaimedBatch.Row> call) {
        return call.stream().map(this::key).distinct().count();
    }

    private static List<PublishOutcome> nCopies(int n, PublishOutcome outcome) {
        return new ArrayList<>(java.util.Collections.nCopies(n, outcome));
    }

    /**
     * @return why a claimed row goes dead before any call: it cannot be read as an event, or it was claimed more
     *         often than the retry policy allows attempts, every claim ending without an outcome; null otherwise
     */
    private String deadOnArrival(ClaimedBatch.Row row) {
        if (!row.readable()) {
            return "unreadable row: " + row.unreadable();
        }
        if (row.attempts() > retryPolicy.maxAttempts()) {
            return "claimed " + row.attempts() + " times without an outcome (the relay died, or the publisher threw"
                    + " an Error, while it was in flight); more than the " + retryPolicy.maxAttempts()
                    + " attempts allowed";
        }
        return null;
    }

    /** Turns one call's outcomes into settlements; returns how many were released unattempted. */
    private int settle(List<ClaimedBatch.Row> call, List<PublishOutcome> outcomes, Set<String> failed,
                       List<Settlement> into, String[] unavailable) {
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
                    into.add(new Settlement(row, Settlement.Kind.REJECTED, 0, "rejected: " + outcome.reason()));
                }
                case UNAVAILABLE -> {
                    failed.add(aggregate);
                    unavailable[0] = outcome.reason();
                    into.add(new Settlement(row, Settlement.Kind.RELEASED, 0, null));
                    released++;
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
        return row.aggregateType() + '\0' + row.aggregateId();
    }
}
