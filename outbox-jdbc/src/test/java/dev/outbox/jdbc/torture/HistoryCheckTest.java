package dev.outbox.jdbc.torture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.jdbc.torture.HistoryCheck.Committed;
import dev.outbox.jdbc.torture.HistoryCheck.Delivery;
import dev.outbox.jdbc.torture.HistoryCheck.Recorded;
import java.util.ArrayList;
import java.util.List;
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

    /** A history written in order: deliveries and recorded publishes take the next number of one sequence. */
    static final class History {
        final List<Delivery> deliveries = new ArrayList<>();
        final List<Recorded> recorded = new ArrayList<>();
        long seq;

        History delivered(UUID id, String loop) {
            deliveries.add(new Delivery(++seq, id, loop, true));
            return this;
        }

        History timedOut(UUID id, String loop) {
            deliveries.add(new Delivery(++seq, id, loop, false));
            return this;
        }

        History recorded(UUID id, String loop) {
            recorded.add(new Recorded(++seq, id, loop));
            return this;
        }

        /** Delivered and recorded as published by the same loop. */
        History published(UUID id, String loop) {
            return delivered(id, loop).recorded(id, loop);
        }

        HistoryCheck.Report check(List<Committed> committed, Set<String> killed) {
            return HistoryCheck.check(committed, deliveries, killed, recorded);
        }
    }

    @Test
    void aCleanHistoryIsClean() {
        HistoryCheck.Report report = new History().published(a1, "r1").published(b1, "r1").published(a2, "r2")
                .check(committed, Set.of());
        assertTrue(report.clean(), report.toString());
        assertEquals(3, report.delivered());
    }

    @Test
    void lostPhantomAndOutOfOrderDeliveriesAreCounted() {
        UUID phantom = UUID.randomUUID();
        HistoryCheck.Report report = new History().delivered(a2, "r1").delivered(a1, "r1").delivered(phantom, "r1")
                .check(committed, Set.of());
        assertEquals(1, report.lost(), "b1 never arrived");
        assertEquals(1, report.phantom());
        assertEquals(1, report.orderViolations(), "a2 arrived before a1");
        assertFalse(report.clean());
    }

    @Test
    void aRedeliveryIsExplainedOnlyWhenTheEarlierDeliveryCouldHaveBeenUnrecorded() {
        HistoryCheck.Report killed = new History().delivered(a1, "r1").published(a1, "r2").published(b1, "r2")
                .published(a2, "r2").check(committed, Set.of("r1"));
        assertEquals(1, killed.explainedByKill());
        HistoryCheck.Report timedOut = new History().timedOut(a1, "r1").published(a1, "r1").published(b1, "r1")
                .published(a2, "r1").check(committed, Set.of());
        assertEquals(1, timedOut.explainedByTimeout());
        HistoryCheck.Report recordedThenSentAgain = new History().published(a1, "r1").delivered(a1, "r2")
                .delivered(b1, "r2").delivered(a2, "r2").check(committed, Set.of());
        assertEquals(1, recordedThenSentAgain.unexplainedDuplicates(), "a1 was recorded published, then sent again");
        assertFalse(recordedThenSentAgain.clean());
    }

    @Test
    void aRecordAnswersForTheDeliveryItFollowedNotForEarlierOnesOfTheSameLoop() {
        List<Committed> one = List.of(new Committed(a1, "a", 1, false));
        // The loop's outcome statement failed (the database restarting): it claimed the event again after its lease,
        // delivered it again and recorded that delivery. The first delivery stays unrecorded: at-least-once.
        HistoryCheck.Report retried = new History().delivered(a1, "r1/pool-1-thread-1")
                .published(a1, "r1/pool-1-thread-1").check(one, Set.of());
        assertEquals(1, retried.explainedByUnrecorded());
        assertEquals(0, retried.unexplainedDuplicates());
        // Recorded, then delivered and recorded again by the same loop: the outbox published twice.
        HistoryCheck.Report twice = new History().published(a1, "r1/pool-1-thread-1")
                .published(a1, "r1/pool-1-thread-1").check(one, Set.of());
        assertEquals(1, twice.unexplainedDuplicates());
        // A record written after another loop's delivery still answers for the delivery before it.
        HistoryCheck.Report late = new History().delivered(a1, "r1/pool-1-thread-1").delivered(a1, "r2/pool-1-thread-1")
                .recorded(a1, "r1/pool-1-thread-1").check(one, Set.of());
        assertEquals(1, late.unexplainedDuplicates());
    }

    @Test
    void aDeadEventIsReportedNotLost() {
        List<Committed> withDead = List.of(new Committed(a1, "a", 1, true));
        HistoryCheck.Report report = new History().check(withDead, Set.of());
        assertEquals(1, report.dead());
        assertEquals(0, report.lost());
    }

    @Test
    void eachLoopOfAProcessAnswersForItsOwnDeliveries() {
        List<Committed> one = List.of(new Committed(a1, "a", 1, false));
        // Loop 1 delivered but lost its lease before recording; loop 2 of the same process claimed, delivered and
        // recorded: at-least-once, explained by loop 1's unrecorded outcome.
        HistoryCheck.Report siblings = new History().delivered(a1, "r1/pool-1-thread-1")
                .published(a1, "r1/pool-1-thread-2").check(one, Set.of());
        assertEquals(1, siblings.explainedByUnrecorded());
        assertEquals(0, siblings.unexplainedDuplicates());
        // The loop that delivered first had recorded it: sending it again is the outbox's own fault.
        HistoryCheck.Report again = new History().published(a1, "r1/pool-1-thread-1")
                .delivered(a1, "r1/pool-1-thread-2").check(one, Set.of());
        assertEquals(1, again.unexplainedDuplicates());
        // A killed process explains its loops' deliveries.
        HistoryCheck.Report killed = new History().delivered(a1, "r1/pool-1-thread-1")
                .delivered(a1, "r2/pool-1-thread-1").check(one, Set.of("r1"));
        assertEquals(1, killed.explainedByKill());
    }
}
