package dev.outbox.jdbc;

import dev.outbox.Event;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * One call of the publisher, guarded: the relay's id and the events' ids in the MDC while it runs, its time reported,
 * anything it throws (an {@link Error} included) caught and handed back, answers that break the contract turned into
 * retries, and a call that took longer than the bound the relay counts on logged.
 */
final class PublisherCall {

    /** Hears how long each publisher call took. */
    interface Timer {
        void called(int events, long nanos);
    }

    /**
     * What one call gave back.
     *
     * @param outcomes one per event, in order; null when the call threw
     * @param thrown what the call threw; null when it answered
     */
    record Answer(List<PublishOutcome> outcomes, Throwable thrown) {
    }

    private static final Logger log = LoggerFactory.getLogger(PublisherCall.class);
    private static final long OVERRUN_WARNING_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final Publisher publisher;
    private final String ownerId;
    private final long boundNanos;
    private final Timer timer;
    private volatile long lastOverrunWarning = System.nanoTime() - OVERRUN_WARNING_EVERY_NANOS;

    /** @param boundNanos the longest a call may take, as the publisher declares it or the relay assumes it */
    PublisherCall(Publisher publisher, String ownerId, long boundNanos, Timer timer) {
        this.publisher = publisher;
        this.ownerId = ownerId;
        this.boundNanos = boundNanos;
        this.timer = timer;
    }

    long boundNanos() {
        return boundNanos;
    }

    Answer call(List<ClaimedBatch.Row> rows) {
        List<Event> events = new ArrayList<>(rows.size());
        StringBuilder ids = new StringBuilder();
        for (ClaimedBatch.Row row : rows) {
            events.add(row.event());
            ids.append(ids.length() == 0 ? "" : ",").append(row.eventId());
        }
        long started = System.nanoTime();
        try (MDC.MDCCloseable relay = MDC.putCloseable(JdbcRelay.MDC_RELAY, ownerId);
             MDC.MDCCloseable eventIds = MDC.putCloseable(JdbcRelay.MDC_EVENT_IDS, ids.toString())) {
            List<PublishOutcome> outcomes = publisher.publish(List.copyOf(events));
            String broken = outcomes == null ? "publisher returned null instead of outcomes"
                    : outcomes.size() != events.size()
                            ? "publisher returned " + outcomes.size() + " outcomes for " + events.size() + " events"
                            : outcomes.stream().anyMatch(Objects::isNull) ? "publisher returned a null outcome" : null;
            if (broken == null) {
                return new Answer(outcomes, null);
            }
            log.error("relay {}: {} (a publisher bug); retrying the call, first event {}", ownerId, broken,
                    events.get(0).id());
            return new Answer(new ArrayList<>(Collections.nCopies(events.size(), PublishOutcome.retry(broken))), null);
        } catch (Throwable t) { // an Error from a publisher is one event's poison, not the relay's death
            return new Answer(null, t);
        } finally {
            long elapsed = System.nanoTime() - started;
            timer.called(events.size(), elapsed);
            if (elapsed > boundNanos) {
                overran(events.size(), elapsed);
            }
        }
    }

    private void overran(int events, long elapsed) {
        long now = System.nanoTime();
        if (now - lastOverrunWarning < OVERRUN_WARNING_EVERY_NANOS) {
            return;
        }
        lastOverrunWarning = now;
        log.warn("relay {}: a publisher call of {} events took {} ms, beyond the {} ms the relay counts on (the"
                + " publisher's declared call timeout, or a third of the lease); events whose lease ran out meanwhile"
                + " may be published again by another relay. Bound every publish call as a whole (logged at most once"
                + " a minute)", ownerId, events, TimeUnit.NANOSECONDS.toMillis(elapsed),
                TimeUnit.NANOSECONDS.toMillis(boundNanos));
    }
}
