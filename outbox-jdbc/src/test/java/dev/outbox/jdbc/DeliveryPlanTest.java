package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.outbox.Event;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Rounds and calls of a batch, as the relay lays them out to keep each aggregate's order. */
class DeliveryPlanTest {

    /** Rows named (typed) like "a1": aggregate a, its first event; positions in the order given. */
    static List<ClaimedBatch.Row> rows(String... names) {
        List<ClaimedBatch.Row> rows = new ArrayList<>();
        for (int i = 0; i < names.length; i++) {
            rows.add(ClaimedBatch.Row.of(i + 1, Event.of("order", names[i].substring(0, 1), names[i], "{}"), 1));
        }
        return rows;
    }

    static List<List<String>> names(List<List<ClaimedBatch.Row>> calls) {
        return calls.stream().map(c -> c.stream().map(r -> r.event().type()).toList()).toList();
    }

    static DeliveryPlan plan(List<ClaimedBatch.Row> rows, int perCall, int perBatch, int maxEvents) {
        return new DeliveryPlan(rows, perCall, perBatch, maxEvents, DeliveryPlan.keys(Ordering.PER_AGGREGATE));
    }

    @Test
    void eachRoundTakesOneGroupOfEveryAggregateInPositionOrder() {
        DeliveryPlan plan = plan(rows("a1", "b1", "a2", "c1", "a3", "b2"), 1, 100, 100);
        assertEquals(List.of(List.of("a1", "b1", "c1")), names(plan.nextRound()));
        assertEquals(List.of(List.of("a2", "b2")), names(plan.nextRound()));
        assertEquals(List.of(List.of("a3")), names(plan.nextRound()));
        assertFalse(plan.hasNextRound());
    }

    @Test
    void aRoundIsSplitIntoCallsWithoutSplittingAnAggregatesGroup() {
        DeliveryPlan plan = plan(rows("a1", "a2", "b1", "b2", "c1", "a3"), 2, 100, 3);
        assertEquals(List.of(List.of("a1", "a2"), List.of("b1", "b2", "c1")), names(plan.nextRound()));
        assertEquals(List.of(List.of("a3")), names(plan.nextRound()));
    }

    @Test
    void anAggregateTakesAtMostItsShareOfTheBatch() {
        DeliveryPlan plan = plan(rows("a1", "a2", "a3", "b1"), 1, 2, 100);
        assertEquals(List.of("a3"), plan.capped().stream().map(r -> r.event().type()).toList());
    }

    @Test
    void aDroppedAggregateLeavesThisRoundsCallsAndEveryLaterRound() {
        DeliveryPlan plan = plan(rows("a1", "b1", "a2", "b2"), 1, 100, 1);
        List<List<ClaimedBatch.Row>> round = plan.nextRound();
        assertEquals(List.of(List.of("a1"), List.of("b1")), names(round));
        plan.drop(plan.key(round.get(1).get(0)));
        assertEquals(List.of(), plan.without(round.get(1)), "b's call of this round is not made");
        assertEquals(List.of(List.of("a2")), names(plan.nextRound()), "nor any of b's later events");
        assertFalse(plan.hasNextRound());
    }

    @Test
    void withoutOrderEveryEventIsItsOwnAggregate() {
        DeliveryPlan plan = new DeliveryPlan(rows("a1", "a2", "a3"), 10, Integer.MAX_VALUE, 10,
                DeliveryPlan.keys(Ordering.NONE));
        assertEquals(List.of(List.of("a1", "a2", "a3")), names(plan.nextRound()));
    }

    @Test
    void aThrottledDestinationTakesItsWindowPerRoundAndItsAggregatesTakeTurns() {
        // a, b, c go to a destination with a window of 2 events a round; x to another, without a window.
        DeliveryPlan plan = new DeliveryPlan(rows("a1", "b1", "c1", "x1", "a2", "x2"), 1, 100, 100,
                DeliveryPlan.keys(Ordering.PER_AGGREGATE), r -> r.aggregateId().equals("x") ? "other" : "throttled",
                d -> d.equals("throttled") ? 2 : Integer.MAX_VALUE);
        assertEquals(List.of(List.of("a1", "b1", "x1")), names(plan.nextRound()));
        assertEquals(List.of(List.of("c1", "a2", "x2")), names(plan.nextRound()), "c's turn before a's second");
        assertFalse(plan.hasNextRound());
    }
}
