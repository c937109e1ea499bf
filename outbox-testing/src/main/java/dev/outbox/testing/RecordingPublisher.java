package dev.outbox.testing;

import dev.outbox.Event;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A {@link Publisher} for tests: it keeps every event it delivers in memory, in delivery order, and decides each
 * event's fate with a function you can change while a test runs.
 *
 * <pre>{@code
 * RecordingPublisher publisher = new RecordingPublisher();
 * try (JdbcRelay relay = JdbcRelay.builder(dataSource, publisher).build()) {
 *     relay.runOnce();
 * }
 * assertEquals(List.of("{\"id\":42}"), publisher.payloads());
 * }</pre>
 *
 * <p>Once an event of an aggregate is not published in a batch, that aggregate's later events of the same batch
 * are not handed to the decide function and come back as retry, as a broker that keeps order would do.
 * Thread-safe.
 */
public final class RecordingPublisher implements Publisher {

    private final List<Event> deliveries = new ArrayList<>();
    private final Map<UUID, AtomicInteger> attempts = new ConcurrentHashMap<>();
    private final AtomicInteger batches = new AtomicInteger();
    private volatile Function<Event, PublishOutcome> decide;

    /** A publisher that accepts every event. */
    public RecordingPublisher() {
        this(event -> PublishOutcome.published());
    }

    /**
     * @param decide each event's outcome; an event counts as delivered only when it returns
     *        {@link PublishOutcome#published()}. An exception it throws fails the whole batch, as a broker call that
     *        threw would.
     */
    public RecordingPublisher(Function<Event, PublishOutcome> decide) {
        this.decide = Objects.requireNonNull(decide, "decide");
    }

    /**
     * Changes how events are decided from the next batch on.
     *
     * @param decide each event's outcome
     */
    public void decide(Function<Event, PublishOutcome> decide) {
        this.decide = Objects.requireNonNull(decide, "decide");
    }

    @Override
    public List<PublishOutcome> publish(List<Event> events) {
        batches.incrementAndGet();
        Function<Event, PublishOutcome> rule = decide;
        List<PublishOutcome> outcomes = new ArrayList<>(events.size());
        Set<String> failed = new HashSet<>();
        for (Event event : events) {
            String aggregate = event.aggregateType() + '\0' + event.aggregateId();
            if (failed.contains(aggregate)) {
                outcomes.add(PublishOutcome.retry("held back: an earlier event of the aggregate failed"));
                continue;
            }
            attempts.computeIfAbsent(event.id(), id -> new AtomicInteger()).incrementAndGet();
            PublishOutcome outcome = rule.apply(event);
            if (outcome.isPublished()) {
                synchronized (deliveries) {
                    deliveries.add(event);
                    deliveries.notifyAll();
                }
            } else {
                failed.add(aggregate);
            }
            outcomes.add(outcome);
        }
        return List.copyOf(outcomes);
    }

    /** @return every delivered event, in delivery order, redeliveries included */
    public List<Event> deliveries() {
        synchronized (deliveries) {
            return List.copyOf(deliveries);
        }
    }

    /** @return the payloads of {@link #deliveries()}, in delivery order */
    public List<String> payloads() {
        return deliveries().stream().map(Event::payload).toList();
    }

    /**
     * @param aggregateType the aggregate's type
     * @param aggregateId the aggregate's id
     * @return the deliveries of one aggregate, in delivery order
     */
    public List<Event> deliveriesOf(String aggregateType, String aggregateId) {
        return deliveries().stream()
                .filter(e -> e.aggregateType().equals(aggregateType) && e.aggregateId().equals(aggregateId))
                .toList();
    }

    /**
     * Waits until at least {@code count} deliveries were made, for tests whose relay runs on a loop.
     *
     * @return the deliveries so far
     * @param count deliveries to wait for
     * @param timeout how long to wait at most
     * @throws AssertionError when fewer arrived within {@code timeout}, naming how many did
     */
    public List<Event> awaitDeliveries(int count, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (deliveries) {
            while (deliveries.size() < count) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("expected at least " + count + " deliveries within " + timeout
                            + ", got " + deliveries.size());
                }
                try {
                    deliveries.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("interrupted while waiting for deliveries", e);
                }
            }
            return List.copyOf(deliveries);
        }
    }

    /**
     * @param id the event's id
     * @return how many times the event was handed to the decide function
     */
    public int attempts(UUID id) {
        AtomicInteger n = attempts.get(id);
        return n == null ? 0 : n.get();
    }

    /** @return how many batches were handed to this publisher */
    public int batches() {
        return batches.get();
    }

    /** Forgets every delivery, attempt and batch, keeping the decide function. */
    public void clear() {
        synchronized (deliveries) {
            deliveries.clear();
        }
        attempts.clear();
        batches.set(0);
    }
}
