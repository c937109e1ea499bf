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
import org.junit.jupiter.api.Test;

/** Finding the events that make a call throw, within what the gate allows. */
class CulpritSearchTest {

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
        List<PublishOutcome> outcomes = search("x5").publish(rows(16), call -> call);
        assertEquals(PublishOutcome.Status.RETRY, outcomes.get(5).status());
        assertEquals(15, count(outcomes, PublishOutcome.Status.PUBLISHED));
        assertEquals(1 + 2 * 4, callSizes.size(), "the call, then two halves at each of four levels");
    }

    @Test
    void everyFurtherCallAsksTheGateFirstAndWhatItHoldsBackIsNotSent() {
        AtomicInteger asked = new AtomicInteger();
        CulpritSearch.Gate twoMore = call -> asked.incrementAndGet() <= 2 ? call : List.of();
        List<PublishOutcome> outcomes = search("x0").publish(rows(16), twoMore);
        assertEquals(3, callSizes.size(), "the first call and the two the gate let through: " + callSizes);
        assertTrue(asked.get() >= 3, "the gate was asked before every further call");
        assertEquals(16, count(outcomes, PublishOutcome.Status.NOT_SENT)
                + count(outcomes, PublishOutcome.Status.PUBLISHED) + count(outcomes, PublishOutcome.Status.RETRY));
        assertTrue(count(outcomes, PublishOutcome.Status.NOT_SENT) > 0, outcomes.toString());
    }

    @Test
    void aGateThatLetsPartOfACallThroughSendsThatPart() {
        CulpritSearch.Gate evenOnly = call -> call.stream().filter(r -> r.position() % 2 == 0).toList();
        List<PublishOutcome> outcomes = search("x0").publish(rows(4), evenOnly);
        // Call 1 (all four) throws for x0; each half is filtered to its even positions before it is sent.
        assertEquals(PublishOutcome.Status.NOT_SENT, outcomes.get(0).status());
        assertEquals(PublishOutcome.Status.PUBLISHED, outcomes.get(1).status());
        assertEquals(PublishOutcome.Status.NOT_SENT, outcomes.get(2).status());
        assertEquals(PublishOutcome.Status.PUBLISHED, outcomes.get(3).status());
    }

    @Test
    void aPublisherThatThrowsForEverythingIsUnavailableNotEveryEventsFault() {
        List<PublishOutcome> outcomes = search("x0", "x1", "x2", "x3").publish(rows(4), call -> call);
        assertEquals(4, count(outcomes, PublishOutcome.Status.UNAVAILABLE), outcomes.toString());
    }

    @Test
    void aCallOfOneAggregateThatThrowsIsChargedAtOnce() {
        List<PublishOutcome> outcomes = search("x0").publish(rows(1), call -> call);
        assertEquals(PublishOutcome.Status.RETRY, outcomes.get(0).status());
        assertEquals(1, callSizes.size());
    }
}
