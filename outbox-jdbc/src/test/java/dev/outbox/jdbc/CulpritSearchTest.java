package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Finding the events that make a call throw, within what the gate allows. */
class CulpritSearchTest {

    /** Every event to one destination. */
    static final Function<ClaimedBatch.Row, ?> ONE = row -> "queue";

    static List<ClaimedBatch.Row> rows(int aggregates) {
        List<ClaimedBatch.Row> rows = new ArrayList<>();
        for (int i = 0; i < aggregates; i++) {
            rows.add(ClaimedBatch.Row.of(i + 1, Event.of("order", "x" + i, "placed", "{}"), 1));
        }
        return rows;
    }

    final List<Integer> callSizes = Collections.synchronizedList(new ArrayList<>());

    /** A publisher that throws for any call holding one of the given aggregates. */
    CulpritSearch search(String... poison) {
        List<String> poisoned = List.of(poison);
        Publisher publisher = events -> {
            callSizes.add(events.size());
            if (events.stream().anyMatch(e -> poisoned.contains(e.aggregateId()))) {
                throw new StackOverflowError("cannot serialise");
            }
            return Collections.nCopies(events.size(), PublishOutcome.published());
        };
        return new CulpritSearch(new PublisherCall(publisher, "r1", Long.MAX_VALUE, (n, t) -> { }),
                DeliveryPlan.keys(Ordering.PER_AGGREGATE), "r1");
    }

    static long count(List<PublishOutcome> outcomes, PublishOutcome.Status status) {
        return outcomes.stream().filter(o -> o.status() == status).count();
    }

    @Test
    void onlyThePoisonEventIsChargedAndEveryOtherGoesThrough() {
        List<PublishOutcome> outcomes = search("x5").publish(rows(16), call -> call, ONE);
        assertEquals(PublishOutcome.Status.RETRY, outcomes.get(5).status());
        assertEquals(15, count(outcomes, PublishOutcome.Status.PUBLISHED));
        assertEquals(1 + 2 * 4, callSizes.size(), "the call, then two halves at each of four levels");
    }

    @Test
    void everyFurtherCallAsksTheGateFirstAndWhatItHoldsBackIsNotSent() {
        AtomicInteger asked = new AtomicInteger();
        CulpritSearch.Gate twoMore = call -> asked.incrementAndGet() <= 2 ? call : List.of();
        List<PublishOutcome> outcomes = search("x0").publish(rows(16), twoMore, ONE);
        assertEquals(3, callSizes.size(), "the first call and the two the gate let through: " + callSizes);
        assertTrue(asked.get() >= 3, "the gate was asked before every further call");
        assertEquals(16, count(outcomes, PublishOutcome.Status.NOT_SENT)
                + count(outcomes, PublishOutcome.Status.PUBLISHED) + count(outcomes, PublishOutcome.Status.RETRY));
        assertTrue(count(outcomes, PublishOutcome.Status.NOT_SENT) > 0, outcomes.toString());
    }

    @Test
    void aGateThatLetsPartOfACallThroughSendsThatPart() {
        CulpritSearch.Gate evenOnly = call -> call.stream().filter(r -> r.position() % 2 == 0).toList();
        List<PublishOutcome> outcomes = search("x0").publish(rows(4), evenOnly, ONE);
        // Call 1 (all four) throws for x0; each half is filtered to its even positions before it is sent.
        assertEquals(PublishOutcome.Status.NOT_SENT, outcomes.get(0).status());
        assertEquals(PublishOutcome.Status.PUBLISHED, outcomes.get(1).status());
        assertEquals(PublishOutcome.Status.NOT_SENT, outcomes.get(2).status());
        assertEquals(PublishOutcome.Status.PUBLISHED, outcomes.get(3).status());
    }

    @Test
    void aPublisherThatThrowsForEverythingIsUnavailableNotEveryEventsFault() {
        List<PublishOutcome> outcomes = search("x0", "x1", "x2", "x3").publish(rows(4), call -> call, ONE);
        assertEquals(4, count(outcomes, PublishOutcome.Status.UNAVAILABLE), outcomes.toString());
    }

    @Test
    void aCallOfOneAggregateThatThrowsIsChargedAtOnce() {
        List<PublishOutcome> outcomes = search("x0").publish(rows(1), call -> call, ONE);
        assertEquals(PublishOutcome.Status.RETRY, outcomes.get(0).status());
        assertEquals(1, callSizes.size());
    }

    @Test
    void eventsAnsweredUnknownAreSentAgainAloneAndTheAnsweredOnesNever() {
        // A router whose route "b" threw: its events come back unknown, the others published. Route b then throws for
        // every call: its events are found unavailable as a destination, none charged, and route a's never resent.
        List<ClaimedBatch.Row> rows = rows(8);
        Function<ClaimedBatch.Row, ?> route = row -> row.position() % 2 == 0 ? "b" : "a";
        List<List<Long>> calls = new ArrayList<>();
        Publisher router = events -> {
            List<PublishOutcome> outcomes = new ArrayList<>();
            List<Long> positions = new ArrayList<>();
            for (Event e : events) {
                long position = Long.parseLong(e.aggregateId().substring(1)) + 1;
                positions.add(position);
                outcomes.add(position % 2 == 0 ? PublishOutcome.unknown("route b: publisher threw connection refused")
                        : PublishOutcome.published());
            }
            calls.add(positions);
            return outcomes;
        };
        CulpritSearch search = new CulpritSearch(new PublisherCall(router, "r1", Long.MAX_VALUE, (n, t) -> { }),
                DeliveryPlan.keys(Ordering.PER_AGGREGATE), "r1");
        List<PublishOutcome> outcomes = search.publish(rows, call -> call, route);
        for (int i = 0; i < 8; i++) {
            assertEquals(i % 2 == 0 ? PublishOutcome.Status.PUBLISHED : PublishOutcome.Status.UNAVAILABLE,
                    outcomes.get(i).status(), "event " + (i + 1) + ": " + outcomes.get(i));
        }
        long routeASends = calls.stream().flatMap(List::stream).filter(p -> p % 2 == 1).count();
        assertEquals(4, routeASends, "route a's events went once each: " + calls);
    }

    @Test
    void aPoisonEventOnOneRouteIsChargedAloneAndTheRoutesOtherEventsGoThrough() {
        List<ClaimedBatch.Row> rows = rows(8);
        Publisher router = events -> events.stream().map(e -> e.aggregateId().equals("x2")
                ? PublishOutcome.unknown("route b: publisher threw StackOverflowError") : PublishOutcome.published())
                .toList();
        CulpritSearch search = new CulpritSearch(new PublisherCall(router, "r1", Long.MAX_VALUE, (n, t) -> { }),
                DeliveryPlan.keys(Ordering.PER_AGGREGATE), "r1");
        List<PublishOutcome> outcomes = search.publish(rows, call -> call, row -> row.position() % 2 == 0 ? "b" : "a");
        assertEquals(PublishOutcome.Status.RETRY, outcomes.get(2).status(), "charged: it failed alone");
        assertEquals(7, count(outcomes, PublishOutcome.Status.PUBLISHED));
    }

    @Test
    void aThrowingCallIsSplitByDestinationFirst() {
        List<ClaimedBatch.Row> rows = rows(8);
        List<Integer> sizes = new ArrayList<>();
        List<Long> mixed = new ArrayList<>();
        Publisher publisher = events -> {
            sizes.add(events.size());
            mixed.add(events.stream().map(e -> Integer.parseInt(e.aggregateId().substring(1)) < 6).distinct().count());
            if (events.stream().anyMatch(e -> e.aggregateId().equals("x3"))) {
                throw new IllegalStateException("broken pipe");
            }
            return Collections.nCopies(events.size(), PublishOutcome.published());
        };
        CulpritSearch search = new CulpritSearch(new PublisherCall(publisher, "r1", Long.MAX_VALUE, (n, t) -> { }),
                DeliveryPlan.keys(Ordering.PER_AGGREGATE), "r1");
        List<PublishOutcome> outcomes = search.publish(rows, call -> call, row -> row.position() <= 6 ? "a" : "b");
        assertEquals(List.of(8, 6), sizes.subList(0, 2), "the call, then the first destination's part: " + sizes);
        assertTrue(mixed.subList(1, mixed.size()).stream().allMatch(n -> n == 1), "after the first call, no call"
                + " mixes destinations: " + sizes);
        assertEquals(2, sizes.get(sizes.size() - 1), "the second destination's part went once, whole: " + sizes);
        assertEquals(PublishOutcome.Status.RETRY, outcomes.get(3).status());
        assertEquals(7, count(outcomes, PublishOutcome.Status.PUBLISHED));
    }
}
