package dev.outbox.jdbc;

import dev.outbox.RetryPolicy;
import dev.outbox.spi.PublishOutcome;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the relay records for each event, from what the publisher answered: published; a retry after the policy's
 * backoff, or dead once the attempts are spent; dead at once when the broker rejects it; given back unattempted when
 * its destination was unavailable or throttled it (due again after the delay its destination's state gives), when it
 * was not sent, or when an earlier event of its aggregate failed in the same call. Also which rows go dead before any
 * call: unreadable ones, and ones claimed more often than the policy allows.
 */
final class OutcomeRules {

    /**
     * What one call settled.
     *
     * @param settlements one per event of the call, in its order
     * @param failed the aggregates of the call with an event that was not published: their later events wait
     */
    record Settled(List<Settlement> settlements, Set<String> failed) {
    }

    /** How long an event given back by its destination (unavailable, throttled) waits before it is due again. */
    interface Deferral {
        long millis(ClaimedBatch.Row row, PublishOutcome outcome);
    }

    private static final Logger log = LoggerFactory.getLogger(OutcomeRules.class);

    private final RetryPolicy retryPolicy;
    private final String ownerId;
    private final Function<ClaimedBatch.Row, String> key;

    OutcomeRules(RetryPolicy retryPolicy, String ownerId, Function<ClaimedBatch.Row, String> key) {
        this.retryPolicy = retryPolicy;
        this.ownerId = ownerId;
        this.key = key;
    }

    /**
     * @return why a claimed row goes dead before any call: it cannot be read as an event, or it was claimed more
     *         often than the retry policy allows attempts, every claim ending without an outcome; null otherwise
     */
    String deadOnArrival(ClaimedBatch.Row row) {
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

    /** Turns one call's outcomes into settlements. */
    Settled settle(List<ClaimedBatch.Row> call, List<PublishOutcome> outcomes, Deferral deferral) {
        List<Settlement> settlements = new ArrayList<>(call.size());
        Set<String> failed = new HashSet<>();
        for (int i = 0; i < call.size(); i++) {
            ClaimedBatch.Row row = call.get(i);
            PublishOutcome outcome = outcomes.get(i);
            String aggregate = key.apply(row);
            boolean heldBack = failed.contains(aggregate);
            switch (outcome.status()) {
                case PUBLISHED -> {
                    if (heldBack) {
                        log.warn("relay {}: publisher delivered event {} after an earlier event of aggregate {}/{}"
                                + " failed in the same call, although it declared it keeps their order", ownerId,
                                row.eventId(), row.aggregateType(), row.aggregateId());
                    }
                    settlements.add(new Settlement(row, Settlement.Kind.PUBLISHED, 0, null));
                }
                case REJECTED -> {
                    failed.add(aggregate);
                    settlements.add(new Settlement(row, Settlement.Kind.REJECTED, 0, "rejected: " + outcome.reason()));
                }
                case UNAVAILABLE -> {
                    failed.add(aggregate);
                    settlements.add(new Settlement(row, Settlement.Kind.RELEASED, deferral.millis(row, outcome), null));
                }
                case THROTTLED -> {
                    failed.add(aggregate);
                    settlements.add(new Settlement(row, Settlement.Kind.THROTTLED, deferral.millis(row, outcome),
                            outcome.reason()));
                }
                case NOT_SENT -> {
                    failed.add(aggregate);
                    settlements.add(new Settlement(row, Settlement.Kind.RELEASED, 0, null));
                }
                case RETRY, UNKNOWN -> { // an unknown outcome left after the culprit search is its event's own
                    if (heldBack) {
                        settlements.add(new Settlement(row, Settlement.Kind.RELEASED, 0, null));
                        continue;
                    }
                    failed.add(aggregate);
                    settlements.add(retry(row, outcome.reason()));
                }
            }
        }
        return new Settled(settlements, failed);
    }

    private Settlement retry(ClaimedBatch.Row row, String reason) {
        if (retryPolicy.exhausted(row.attempts())) {
            return new Settlement(row, Settlement.Kind.DEAD, 0, "gave up after " + row.attempts() + " attempts: "
                    + reason);
        }
        Duration delay = retryPolicy.delayAfter(row.attempts(), ThreadLocalRandom.current().nextDouble());
        return new Settlement(row, Settlement.Kind.RETRY, delay.toMillis(), reason);
    }
}
