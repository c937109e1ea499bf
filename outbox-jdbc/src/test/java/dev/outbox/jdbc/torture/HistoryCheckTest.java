package dev.outbox.jdbc.torture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.jdbc.torture.HistoryCheck.Committed;
import dev.outbox.jdbc.torture.HistoryCheck.Delivery;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The checker must see each kind of damage, or a clean torture run proves nothing. */
class HistoryCheckTest {

    final UUID a1 = UUID.randomUUID();
    final UUID a2 = UUID.randomUUID();
    final UUID b1 = UUID.randomUUID();
    final List<Committed> committed = List.of(
            new Committed(a1, "a", 1, false), new Committed(b1, "b", 2, false), new Committed(a2, "a", 3, false));

    static Delivery by(UUID id, String incarnation) {
        return new Delivery(id, incarnation, true);
    }

    @Test
    void aCleanHistoryIsClean() {
        HistoryCheck.Report report = HistoryCheck.check(committed, List.of(by(a1, "r1"), by(b1, "r1"), by(a2, "r2")),
                Set.of(), Map.of("r1", Set.of(a1, b1), "r2", Set.of(a2)));
        assertTrue(report.clean(), report.toString());
        assertEquals(3, report.delivered());
    }

    @Test
    void lostPhantomAndOutOfOrderDeliveriesAreCounted() {
        UUID phantom = UUID.randomUUID();
        HistoryCheck.Report report = HistoryCheck.check(committed, List.of(by(a2, "r1"), by(a1, "r1"), by(phantom, "r1")),
                Set.of(), Map.of());
        assertEquals(1, report.lost(), "b1 never arrived");
        assertEquals(1, report.phantom());
        assertEquals(1, report.orderViolations(), "a2 arrived before a1");
        assertFalse(report.clean());
    }

    @Test
    void aRedeliveryIsExplainedOnlyWhenTheEarlierDeliveryCouldHaveBeenUnrecorded() {
        HistoryCheck.Report killed = HistoryCheck.check(committed,
                List.of(by(a1, "r1"), by(a1, "r2"), by(b1, "r2"), by(a2, "r2")), Set.of("r1"), Map.of());
        assertEquals(1, killed.explainedByKill());
        HistoryCheck.Report timedOut = HistoryCheck.check(committed,
                List.of(new Delivery(a1, "r1", false), by(a1, "r1"), by(b1, "r1"), by(a2, "r1")), Set.of(),
                Map.of("r1", Set.of(a1, b1, a2)));
        assertEquals(1, timedOut.explainedByTimeout());
        HistoryCheck.Report recordedThenSentAgain = HistoryCheck.check(committed,
                List.of(by(a1, "r1"), by(a1, "r2"), by(b1, "r2"), by(a2, "r2")), Set.of(), Map.of("r1", Set.of(a1)));
        assertEquals(1, recordedThenSentAgain.unexplainedDuplicates(), "a1 was recorded published, then sent again");
        assertFalse(recordedThenSentAgain.clean());
    }

    @Test
    void aDeadEventIsReportedNotLost() {
        List<Committed> withDead = List.of(new Committed(a1, "a", 1, true));
        HistoryCheck.Report report = HistoryCheck.check(withDead, List.of(), Set.of(), Map.of());
        assertEquals(1, report.dead());
        assertEquals(0, report.lost());
    }

    @Test
    void eachLoopOfAProcessAnswersForItsOwnDeliveries() {
        List<Committed> committed = List.of(new Committed(a1, "a", 1, false));
        // Loop 1 delivered but lost its lease before recording; loop 2 of the same process claimed, delivered and
        // recorded: at-least-once, explained by loop 1's unrecorded outcome.
        HistoryCheck.Report siblings = HistoryCheck.check(committed,
                List.of(by(a1, "r1/pool-1-thread-1"), by(a1, "r1/pool-1-thread-2")), Set.of(),
                Map.of("r1/pool-1-thread-2", Set.of(a1)));
        assertEquals(1, siblings.explainedByUnrecorded());
        assertEquals(0, siblings.unexplainedDuplicates());
        // The loop that delivered first had recorded it: sending it again is the outbox's own fault.
        HistoryCheck.Report again = HistoryCheck.check(committed,
                List.of(by(a1, "r1/pool-1-thread-1"), by(a1, "r1/pool-1-thread-2")), Set.of(),
                Map.of("r1/pool-1-thread-1", Set.of(a1)));
        assertEquals(1, again.unexplainedDuplicates());
        // A killed process explains its loops' deliveries.
        HistoryCheck.Report killed = HistoryCheck.check(committed,
                List.of(by(a1, "r1/pool-1-thread-1"), by(a1, "r2/pool-1-thread-1")), Set.of("r1"), Map.of());
        assertEquals(1, killed.explainedByKill());
    }
}
