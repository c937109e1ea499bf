package dev.outbox.jdbc;

import dev.outbox.Event;
import dev.outbox.RelayListener;
import dev.outbox.RelayResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells what became of a batch: the listener hears each written outcome, the log the retries and dead events, and
 * the caller a {@link RelayResult} that says whether more is probably waiting.
 */
final class BatchReport {

    private static final Logger log = LoggerFactory.getLogger(BatchReport.class);
    private static final Function<ClaimedBatch.Row, String> AGGREGATE = DeliveryPlan.keys(Ordering.PER_AGGREGATE);

    private final RelayListener listener;
    private final String ownerId;
    private final int batchSize;
    private final long maxBatchBytes;
    private final int perAggregate;

    /** @param perAggregate most events of one aggregate a claim takes; a batch holding that many may have left more */
    BatchReport(RelayListener listener, String ownerId, int batchSize, long maxBatchBytes, int perAggregate) {
        this.listener = listener;
        this.ownerId = ownerId;
        this.batchSize = batchSize;
        this.maxBatchBytes = maxBatchBytes;
        this.perAggregate = perAggregate;
    }

    /** @param claimAgain whether the caller knows more may be claimable at once, whatever the batch looked like */
    RelayResult report(ClaimedBatch batch, BatchDelivery.Result delivered, boolean claimAgain) {
        Set<Long> recorded = delivered.recorded();
        List<Event> published = new ArrayList<>();
        int retried = 0;
        int dead = 0;
        for (Settlement s : delivered.settlements()) {
            if (!recorded.contains(s.row().position())) {
                continue;
            }
            Event event = s.row().event();
            if (event == null) {
                dead++;
                listener.unreadable(s.row().eventId(), s.error());
                continue;
            }
            switch (s.kind()) {
                case PUBLISHED -> {
                    published.add(event);
                    listener.publishedAfter(event, Duration.ofNanos(s.row().ageAtClaimMicros() * 1000
                            + Math.max(0, s.settledAtNanos() - batch.claimedAtNanos())));
                }
                case RETRY -> {
                    retried++;
                    log.debug("relay {}: event {} attempt {} failed, retry in {} ms: {}", ownerId, event.id(),
                            s.row().attempts(), s.delayMillis(), s.error());
                    listener.retryScheduled(event, s.row().attempts(), Duration.ofMillis(s.delayMillis()), s.error());
                }
                case RELEASED -> retried++;
                case THROTTLED -> {
                    retried++;
                    listener.throttled(event, Duration.ofMillis(s.delayMillis()), s.error());
                }
                case DEAD -> {
                    dead++;
                    log.warn("relay {}: event {} ({}/{} {}) is dead after {} attempts: {}", ownerId, event.id(),
                            event.aggregateType(), event.aggregateId(), event.type(), s.row().attempts(), s.error());
                    listener.dead(event, s.row().attempts(), s.error());
                }
                case REJECTED -> {
                    dead++;
                    log.warn("relay {}: event {} ({}/{} {}) is dead, {}", ownerId, event.id(), event.aggregateType(),
                            event.aggregateId(), event.type(), s.error());
                    listener.rejected(event, s.row().attempts(), s.error());
                }
            }
        }
        if (!published.isEmpty()) {
            listener.published(published);
        }
        long bytes = 0;
        for (ClaimedBatch.Row row : batch.rows()) {
            bytes += row.readable() ? row.event().payloadBytes() : 0;
        }
        // A batch that used half its byte budget may have been cut short by it: claim again at once. So may one that
        // gave events back or released events held behind the published ones.
        // So may one that took an aggregate's whole share: the aggregate's later events were left for the next claim.
        boolean more = batch.size() >= batchSize || delivered.released() > 0 || delivered.releasedHeld() > 0
                || bytes >= maxBatchBytes / 2 || claimAgain || tookAWholeShare(batch);
        return new RelayResult(batch.size(), published.size(), retried, dead, more);
    }

    private boolean tookAWholeShare(ClaimedBatch batch) {
        if (batch.size() < perAggregate) {
            return false;
        }
        Map<String, Integer> counts = new HashMap<>();
        for (ClaimedBatch.Row row : batch.rows()) {
            if (counts.merge(AGGREGATE.apply(row), 1, Integer::sum) >= perAggregate) {
                return true;
            }
        }
        return false;
    }
}
