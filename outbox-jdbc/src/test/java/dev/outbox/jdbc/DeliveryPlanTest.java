package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.outbox.Event;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The calls of a batch, as the relay lays them out to keep each aggregate's order. */
class DeliveryPlanTest {

    /** Rows named (typed) like "a1": aggregate a, its first event; positions in the order given. */
    static List<ClaimedBatch.Row> rows(String... names) {
        List<ClaimedBatch.Row> rows = new ArrayList<>();
        for (int i = 0; i < names.length; i++) {
            rows.add(ClaimedBatch.Row.of(i + 1, Event.of("order", names[i].substring(0, 1), names[i], "{}"), 1));
        }
        return rows;
    }

    static DeliveryPlan plan(List<ClaimedBatch.Row> rows, int perCall, int perBatch, int maxEvents) {
        return new DeliveryPlan(rows, perCall, perBatch, maxEvents, DeliveryPlan.keys(Ordering.PER_AGGREGATE));
    }

    static List<String> names(List<ClaimedBatch.Row> call) {
        return call.stream().map(r -> r.event().type()).toList();
    }

    @Test
    void eachCallTakesOneGroupOfEveryAggregateInPositionOrder() {
        DeliveryPlan plan = plan(rows("a1", "b1", "a2", "c1", "a3", "b2"), 1, 100, 100);
        assertEquals(List.of("a1", "b1", "c1"), names(plan.nextCall()));
        assertEquals(List.of("a2", "b2"), names(plan.nextCall()));
        assertEquals(List.of("a3"), names(plan.nextCall()));
        assertFalse(plan.hasNextCall());
    }

    @Test
    void aCallTakesWholeGroupsAndFillsUpWithSmallerOnes() {
        DeliveryPlan plan = plan(rows("a1", "a2", "b1", "b2", "c1", "a3"), 2, 100, 3);
        // a's first group (a has the most waiting), b's does not fit beside it, c's does.
        assertEquals(List.of("a1", "a2", "c1"), names(plan.nextCall()));
        assertEquals(List.of("b1", "b2", "a3"), names(plan.nextCall()));
        assertFalse(plan.hasNextCall());
    }

    @Test
    void aHotAggregatesNextGroupRidesInEveryCall() {
        // h has 4 events, one per call; 6 others have one each; 3 events a call.
        DeliveryPlan plan = plan(rows("h1", "a1", "b1", "h2", "c1", "d1", "h3", "e1", "f1", "h4"), 1, 100, 3);
        assertEquals(List.of("h1", "a1", "b1"), names(plan.nextCall()));
        assertEquals(List.of("h2", "c1", "d1"), names(plan.nextCall()));
        assertEquals(List.of("h3", "e1", "f1"), names(plan.nextCall()));
        assertEquals(List.of("h4"), names(plan.nextCall()));
        assertFalse(plan.hasNextCall());
    }

    @Test
    void overlappingCallsSkipBusyAggregatesAndKeepChainsApartFromSingleGroups() {
        // h has 3 events, one per call; 5 others have one each; 3 events a call.
        DeliveryPlan plan = plan(rows("h1", "a1", "b1", "h2", "c1", "d1", "h3", "e1"), 1, 100, 3);
        Set<String> busy = new HashSet<>();
        List<ClaimedBatch.Row> first = plan.nextCall(busy, true, false);
        assertEquals(List.of("h1"), names(first), "the chain's call takes no single group");
        first.forEach(r -> busy.add(plan.key(r)));
        List<ClaimedBatch.Row> second = plan.nextCall(busy, true, false);
        assertEquals(List.of("a1", "b1", "c1"), names(second), "h is in flight: single groups, up to maxEvents");
        second.forEach(r -> busy.add(plan.key(r)));
        assertEquals(List.of("d1", "e1"), names(plan.nextCall(busy, true, false)));
        assertFalse(plan.hasNextCall(busy, false), "only h's events wait, and h is in flight");
        first.forEach(r -> busy.remove(plan.key(r)));
        assertEquals(List.of("h2"), names(plan.nextCall(busy, true, false)));
        assertEquals(List.of("h3"), names(plan.nextCall(Set.of(), false, false)));
        assertFalse(plan.hasNextCall());
    }

    @Test
    void aTailIsAFewEventsOfSeveralAggregatesNeedingSeveralCalls() {
        // a has 3 events, b 2, c 1: 6 events, one a call.
        DeliveryPlan plan = plan(rows("a1", "a2", "a3", "b1", "b2", "c1"), 1, 100, 10);
        assertEquals(3, plan.tailRounds(60, 10), "6 of 60 is a tenth: a's 3 calls");
        assertEquals(0, plan.tailRounds(59, 10), "more than a tenth");
        plan.drop("order\0b");
        plan.drop("order\0c");
        assertEquals(0, plan.tailRounds(60, 10), "one aggregate's chain alone");
        DeliveryPlan singles = plan(rows("a1", "b1", "c1"), 1, 100, 10);
        assertEquals(0, singles.tailRounds(60, 10), "one call takes them all");
    }

    @Test
    void aLoneChainIsOneAggregateLeftNeedingCallsOneAfterAnother() {
        // h has 4 events, two a call; b has 1.
        DeliveryPlan plan = plan(rows("h1", "h2", "b1", "h3", "h4"), 2, 100, 10);
        assertEquals(null, plan.loneChain(2), "b is still waiting");
        assertEquals(List.of("h1", "h2", "b1"), names(plan.nextCall()));
        assertEquals("order\0h", plan.loneChain(1));
        assertEquals(null, plan.loneChain(2), "one call carries what is left of h");
        assertEquals(List.of("h3", "h4"), names(plan.nextCall()));
        assertEquals(null, plan.loneChain(1), "nothing left");
        DeliveryPlan hot = plan(rows("h1", "h2", "h3", "h4", "h5"), 2, 100, 10);
        assertEquals("order\0h", hot.loneChain(3));
        assertEquals(null, hot.loneChain(4));
    }

    @Test
    void anAggregateTakesAtMostItsShareOfTheBatch() {
        DeliveryPlan plan = plan(rows("a1", "a2", "a3", "b1"), 1, 2, 100);
        assertEquals(List.of("a3"), plan.capped().stream().map(r -> r.event().type()).toList());
    }

    @Test
    void aDroppedAggregateLeavesThisCallAndEveryLaterOne() {
        DeliveryPlan plan = plan(rows("a1", "b1", "a2", "b2"), 1, 100, 2);
        List<ClaimedBatch.Row> call = plan.nextCall();
        assertEquals(List.of("a1", "b1"), names(call));
        plan.drop(plan.key(call.get(1)));
        assertEquals(List.of("a1"), names(plan.without(call)), "b's event of this call is not sent");
        assertEquals(List.of("a2"), names(plan.nextCall()), "nor any of b's later events");
        assertFalse(plan.hasNextCall());
    }

    @Test
    void withoutOrderEveryEventIsItsOwnAggregate() {
        DeliveryPlan plan = new DeliveryPlan(rows("a1", "a2", "a3"), 10, Integer.MAX_VALUE, 10,
                DeliveryPlan.keys(Ordering.NONE));
        assertEquals(List.of("a1", "a2", "a3"), names(plan.nextCall()));
        assertFalse(plan.hasNextCall());
    }

    @Test
    void aThrottledDestinationTakesItsWindowPerCallAndItsAggregatesTakeTurns() {
        // a, b, c go to a destination with a window of 2 events a call; x to another, without a window.
        DeliveryPlan plan = new DeliveryPlan(rows("a1", "b1", "c1", "x1", "a2", "x2"), 1, 100, 100,
                DeliveryPlan.keys(Ordering.PER_AGGREGATE), r -> r.aggregateId().equals("x") ? "other" : "throttled",
                (d, beside) -> d.equals("throttled") ? 2 : Integer.MAX_VALUE);
        assertEquals(List.of("a1", "b1", "x1"), names(plan.nextCall()));
        assertEquals(List.of("c1", "a2", "x2"), names(plan.nextCall()), "c's turn before a's second");
        assertFalse(plan.hasNextCall());
    }

    @Test
    void aDestinationWithAWindowOfNoneWaitsWhileTheOthersGo() {
        // h (3 events, one a call) and a go to a destination closed for now; b, c, d to another; 3 events a call.
        Set<String> closed = new HashSet<>(Set.of("closed"));
        DeliveryPlan plan = new DeliveryPlan(rows("h1", "a1", "h2", "b1", "h3", "c1", "d1"), 1, 100, 3,
                DeliveryPlan.keys(Ordering.PER_AGGREGATE),
                r -> r.aggregateId().equals("h") || r.aggregateId().equals("a") ? "closed" : "open",
                (d, beside) -> closed.contains(d) ? 0 : Integer.MAX_VALUE);
        assertEquals(List.of("b1", "c1", "d1"), names(plan.nextCall(Set.of(), true, false)),
                "the longest chain's destination is closed: the single groups of the open one go, not an empty call");
        assertFalse(plan.hasNextCall(Set.of(), false), "only the closed destination's events wait");
        closed.clear();
        assertEquals(List.of("h1", "a1"), names(plan.nextCall(Set.of(), false, false)));
        assertEquals(List.of("h2"), names(plan.nextCall(Set.of(), false, false)));
    }
}
