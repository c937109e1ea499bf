package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.RetryPolicy;
import dev.outbox.spi.PublishOutcome;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What is recorded for each answer of the publisher. */
class OutcomeRulesTest {

    final OutcomeRules rules = new OutcomeRules(RetryPolicy.builder().maxAttempts(3).build(), "r1",
            DeliveryPlan.keys(Ordering.PER_AGGREGATE));

    static ClaimedBatch.Row row(long position, String aggregate, int attempts) {
        return ClaimedBatch.Row.of(position, Event.of("order", aggregate, "placed", "{}"), attempts);
    }

    static List<Settlement.Kind> kinds(OutcomeRules.Settled settled) {
        return settled.settlements().stream().map(Settlement::kind).toList();
    }

    @Test
    void eachAnswerBecomesItsRecord() {
        OutcomeRules.Settled settled = rules.settle(
                List.of(row(1, "a", 1), row(2, "b", 1), row(3, "c", 1), row(4, "d", 1), row(5, "e", 1),
                        row(6, "f", 1)),
                List.of(PublishOutcome.published(), PublishOutcome.retry("5xx"), PublishOutcome.rejected("too big"),
                        PublishOutcome.notSent("deadline"), PublishOutcome.unavailable("403"),
                        PublishOutcome.throttled("ThrottlingException")),
                (row, outcome) -> outcome.status() == PublishOutcome.Status.UNAVAILABLE ? 1000 : 150);
        assertEquals(List.of(Settlement.Kind.PUBLISHED, Settlement.Kind.RETRY, Settlement.Kind.REJECTED,
                Settlement.Kind.RELEASED, Settlement.Kind.RELEASED, Settlement.Kind.THROTTLED), kinds(settled));
        assertEquals(Set.of("order\0b", "order\0c", "order\0d", "order\0e", "order\0f"), settled.failed(),
                "every aggregate whose event was not published waits");
        assertEquals(List.of(0L, 1000L, 150L), settled.settlements().subList(3, 6).stream()
                .map(Settlement::delayMillis).toList(), "not sent: at once; given back by the destination: later");
    }

    @Test
    void theLastAttemptEndsDead() {
        OutcomeRules.Settled settled = rules.settle(List.of(row(1, "a", 3)), List.of(PublishOutcome.retry("5xx")),
                (row, outcome) -> 0);
        assertEquals(List.of(Settlement.Kind.DEAD), kinds(settled));
        assertTrue(settled.settlements().get(0).error().contains("gave up after 3 attempts"));
    }

    @Test
    void aRetryAfterAnEarlierFailureOfItsAggregateInTheSameCallIsGivenBackUncharged() {
        OutcomeRules.Settled settled = rules.settle(List.of(row(1, "a", 1), row(2, "a", 1)),
                List.of(PublishOutcome.retry("5xx"), PublishOutcome.retry("held back")), (row, outcome) -> 0);
        assertEquals(List.of(Settlement.Kind.RETRY, Settlement.Kind.RELEASED), kinds(settled));
    }

    @Test
    void rowsThatCannotBeReadOrWereClaimedTooOftenAreDeadBeforeAnyCall() {
        ClaimedBatch.Row unreadable = new ClaimedBatch.Row(1, null, 1, "order", "a", "id", "bad headers", 0);
        assertTrue(rules.deadOnArrival(unreadable).startsWith("unreadable row"));
        assertTrue(rules.deadOnArrival(row(2, "b", 4)).contains("claimed 4 times without an outcome"));
        assertNull(rules.deadOnArrival(row(3, "c", 3)));
    }
}
