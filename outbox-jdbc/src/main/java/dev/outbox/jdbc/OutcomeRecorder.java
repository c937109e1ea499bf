package dev.outbox.jdbc;

import dev.outbox.Event;
import dev.outbox.RelayListener;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes outcomes, only where the claim's lease token is still in place, so that a relay whose lease was taken over
 * cannot overwrite the new owner's result. A failed write is tried {@value #TRIES} times, pausing between; after that
 * the events are left to their lease and published again once it expires.
 */
final class OutcomeRecorder {

    private static final Logger log = LoggerFactory.getLogger(OutcomeRecorder.class);
    static final int TRIES = 3;

    private final RelayStore store;
    private final OutboxTable table;
    private final String ownerId;
    private final RelayListener listener;

    OutcomeRecorder(RelayStore store, OutboxTable table, String ownerId, RelayListener listener) {
        this.store = store;
        this.table = table;
        this.ownerId = ownerId;
        this.listener = listener;
    }

    /**
     * @param releasedHeld counts the events that publishing released from behind the published ones
     * @return the positions whose outcome was written; a missing one had lost its lease
     * @throws dev.outbox.OutboxException when the outcomes could not be written
     */
    Set<Long> record(UUID token, List<Settlement> settlements, AtomicInteger releasedHeld) {
        if (settlements.isEmpty()) {
            return Set.of();
        }
        SQLException last = null;
        long started = System.nanoTime();
        for (int attempt = 1; attempt <= TRIES; attempt++) {
            try {
                Set<Long> recorded = store.record(token, settlements, releasedHeld);
                listener.recorded(settlements.size(), Duration.ofNanos(System.nanoTime() - started));
                if (recorded.size() < settlements.size()) {
                    log.warn("relay {}: lease expired for {} of {} events before their outcome was recorded;"
                            + " another relay owns them now", ownerId, settlements.size() - recorded.size(),
                            settlements.size());
                }
                return recorded;
            } catch (SQLException e) {
                last = e;
                log.warn("relay {}: recording outcomes failed (try {} of {}): {}", ownerId, attempt, TRIES,
                        e.getMessage());
                pause(100L << attempt);
            }
        }
        List<Event> events = settlements.stream().map(s -> s.row().event()).filter(Objects::nonNull).toList();
        log.error("relay {}: outcomes of {} events could not be recorded; they will be published again after their"
                + " lease expires: {}", ownerId, settlements.size(), events.stream().map(Event::id).toList(), last);
        listener.recordFailed(events, last);
        throw RelayStore.failure("recording outcomes of " + settlements.size() + " events", table, last);
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
