package dev.outbox.jdbc.testing;

import dev.outbox.Event;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A publisher for tests that keeps every delivery in memory, in delivery order, and decides each event's
 * fate with a function. It keeps the publisher contract: once an event of an aggregate fails, the aggregate's
 * later events in the batch are not delivered and are reported as retry.
 */
public final class RecordingPublisher implements Publisher {

    private final ConcurrentLinkedQueue<Event> deliveries = new ConcurrentLinkedQueue<>();
    private final Map<UUID, AtomicInteger> calls = new ConcurrentHashMap<>();
    private final AtomicInteger batches = new AtomicInteger();
    private volatile Function<Event, PublishOutcome> decide;

    /** A publisher that accepts everything. */
    public RecordingPublisher() {
        this(event -> PublishOutcome.published());
    }

    /** @param decide each event's outcome; an event is recorded as delivered only when it returns published */
    public RecordingPublisher(Function<Event, PublishOutcome> decide) {
        this.decide = decide;
    }

    /** Changes how events are decided from now on. */
    public void decide(Function<Event, PublishOutcome> decide) {
        this.decide = decide;
    }

    @Override
    public List<PublishOutcome> publish(List<Event> events) {
        batches.incrementAndGet();
        List<PublishOutcome> outcomes = new ArrayList<>(events.size());
        Set<String> failed = new HashSet<>();
        for (Event event : events) {
            String aggregate = event.aggregateType() + "/" + event.aggregateId();
            if (failed.contains(aggregate)) {
                outcomes.add(PublishOutcome.retry("earlier event of the aggregate failed"));
                continue;
            }
            calls.computeIfAbsent(event.id(), id -> new AtomicInteger()).incrementAndGet();
            PublishOutcome outcome = decide.apply(event);
            if (outcome.isPublished()) {
                deliveries.add(event);
            } else {
                failed.add(aggregate);
            }
            outcomes.add(outcome);
        }
        return List.copyOf(outcomes); // immutable, as most publishers return

    }

    /** @return every delivered event, in delivery order, duplicates included */
    public List<Event> deliveries() {
        return new ArrayList<>(deliveries);
    }

    /** @return how many times the event was handed to the decide function */
    public int attempts(UUID id) {
        AtomicInteger n = calls.get(id);
        return n == null ? 0 : n.get();
    }

    /** @return how many batches were handed to this publisher */
    public int batches() {
        return batches.get();
    }
}
