package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The looks a waiting loop takes at the transactions it saw running as it began to wait. */
class WakeUpWaiterTest {

    /** Answers the looks from a script of still-running sets, the last one repeated; counts the looks. */
    static final class Script implements WakeUpWaiter.StillRunning {
        final List<long[]> answers;
        final List<long[]> asked = new ArrayList<>();

        Script(long[]... answers) {
            this.answers = List.of(answers);
        }

        @Override
        public synchronized long[] of(long[] transactions) {
            asked.add(transactions);
            return answers.get(Math.min(asked.size(), answers.size()) - 1);
        }

        synchronized int looks() {
            return asked.size();
        }
    }

    static boolean eventually(java.util.function.BooleanSupplier condition) {
        return WakeOnCommitTest.eventually(Duration.ofSeconds(5), condition);
    }

    @Test
    void wakesTheLoopEachTimeSomeEndAndStopsLookingOnceAllHave() {
        WakeUpWaiter waiter = new WakeUpWaiter(Duration.ofSeconds(1));
        AtomicInteger wakeUps = new AtomicInteger();
        Script script = new Script(new long[] {7, 9}, new long[] {7, 9}, new long[] {});
        waiter.waiting(new long[] {5, 7, 9});
        waiter.scheduleRecheck(script, wakeUps::incrementAndGet);

        assertTrue(eventually(() -> wakeUps.get() == 2), "woken when 5 ended and when 7 and 9 ended");
        assertTrue(waiter.takeRecheck(), "a wake-up for a look, which keeps the loop waiting");
        assertArrayEquals(new long[] {}, waiter.racing());
        int looks = script.looks();
        assertEquals(3, looks);
        WakeOnCommitTest.sleep(300);
        assertEquals(looks, script.looks(), "nothing left to wait for: no more looks");
        assertEquals(2, wakeUps.get());
        assertArrayEquals(new long[] {5, 7, 9}, script.asked.get(0));
        assertArrayEquals(new long[] {7, 9}, script.asked.get(1), "each look asks about those still running only");
    }

    @Test
    void aLoopThatStopsWaitingOrWaitsAgainEndsTheLooksOfItsEarlierWait() {
        WakeUpWaiter waiter = new WakeUpWaiter(Duration.ofSeconds(1));
        AtomicInteger wakeUps = new AtomicInteger();
        Script stuck = new Script(new long[] {5});
        waiter.waiting(new long[] {5});
        waiter.scheduleRecheck(stuck, wakeUps::incrementAndGet);
        assertTrue(eventually(() -> stuck.looks() >= 2), "looks again while 5 runs");

        Script next = new Script(new long[] {});
        waiter.waiting(new long[] {8});
        waiter.scheduleRecheck(next, wakeUps::incrementAndGet);
        int stuckLooks = stuck.looks();
        assertTrue(eventually(() -> wakeUps.get() == 1), "the new wait's look woke the loop");
        WakeOnCommitTest.sleep(300);
        assertTrue(stuck.looks() <= stuckLooks + 1, "the earlier wait's looks stopped: " + stuck.looks());

        waiter.listening = false; // woken by a notification: it claims and no longer waits
        Script ignored = new Script(new long[] {});
        waiter.scheduleRecheck(ignored, wakeUps::incrementAndGet);
        WakeOnCommitTest.sleep(100);
        assertEquals(0, ignored.looks(), "a loop that does not wait takes no looks");
    }

    @Test
    void aLookThatFailsWakesTheLoopToClaimAndEndsTheLooks() {
        WakeUpWaiter waiter = new WakeUpWaiter(Duration.ofSeconds(1));
        AtomicInteger wakeUps = new AtomicInteger();
        AtomicInteger looks = new AtomicInteger();
        waiter.waiting(new long[] {3, 4});
        waiter.scheduleRecheck(transactions -> {
            looks.incrementAndGet();
            throw new java.sql.SQLException("connection refused");
        }, wakeUps::incrementAndGet);
        assertTrue(eventually(() -> wakeUps.get() == 1));
        WakeOnCommitTest.sleep(200);
        assertEquals(1, looks.get());
        assertFalse(waiter.racing().length > 0);
    }

    @Test
    void nothingRunningMeansNoLooksAtAll() {
        WakeUpWaiter waiter = new WakeUpWaiter(Duration.ofSeconds(1));
        Script script = new Script(new long[] {});
        waiter.waiting(new long[0]);
        waiter.scheduleRecheck(script, () -> { });
        WakeOnCommitTest.sleep(50);
        assertEquals(0, script.looks());
        assertFalse(waiter.takeRecheck());
    }
}
