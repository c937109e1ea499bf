package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.OutboxException;
import dev.outbox.RelayResult;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A spare pass claims batch after batch until a claim finds nothing, it is ended, the spare passes are closed or a
 * pass fails; closing waits for the batch in progress, up to a deadline.
 */
class SparePassesTest {

    private static RelayResult claimed(int events) {
        return new RelayResult(events, events, 0, 0, events > 0);
    }

    private static long in(long millis) {
        return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    }

    @Test
    void passesUntilAClaimFindsNothing() {
        AtomicInteger passes = new AtomicInteger();
        SparePasses spares = new SparePasses("t", () -> claimed(passes.incrementAndGet() < 3 ? 5 : 0));
        spares.begin();
        assertTrue(spares.awaitEnded(in(5_000)), "the spare pass ended by itself");
        assertEquals(3, passes.get());
    }

    @Test
    void anEndedSpareFinishesItsBatchAndStartsNoOther() throws Exception {
        AtomicInteger passes = new AtomicInteger();
        CountDownLatch inBatch = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        SparePasses spares = new SparePasses("t", () -> {
            passes.incrementAndGet();
            inBatch.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return claimed(10);
        });
        SparePasses.Cover spare = spares.begin();
        assertTrue(inBatch.await(5, TimeUnit.SECONDS));
        spare.end();
        assertFalse(spares.awaitEnded(in(100)), "the batch in progress holds the spare");
        release.countDown();
        assertTrue(spares.awaitEnded(in(5_000)));
        assertEquals(1, passes.get());
    }

    @Test
    void closedSparePassesStartNothing() throws Exception {
        AtomicInteger passes = new AtomicInteger();
        SparePasses spares = new SparePasses("t", () -> claimed(passes.incrementAndGet()));
        spares.close();
        spares.begin();
        Thread.sleep(100);
        assertEquals(0, passes.get());
        assertTrue(spares.awaitEnded(System.nanoTime()), "none runs");
    }

    @Test
    void closingStopsARunningSpareAfterItsBatch() throws Exception {
        AtomicInteger passes = new AtomicInteger();
        CountDownLatch closed = new CountDownLatch(1);
        SparePasses spares = new SparePasses("t", () -> {
            if (passes.incrementAndGet() == 2) {
                try {
                    closed.await(5, TimeUnit.SECONDS); // the second batch runs while the spare passes are closed
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return claimed(10);
        });
        spares.begin();
        while (passes.get() < 2) {
            Thread.sleep(1);
        }
        spares.close();
        closed.countDown();
        assertTrue(spares.awaitEnded(in(5_000)));
        assertEquals(2, passes.get());
    }

    @Test
    void aFailedPassEndsItsSpare() {
        AtomicInteger passes = new AtomicInteger();
        SparePasses spares = new SparePasses("t", () -> {
            passes.incrementAndGet();
            throw new OutboxException("claiming events failed: connection refused");
        });
        spares.begin();
        assertTrue(spares.awaitEnded(in(5_000)), "the failed spare pass ended");
        assertEquals(1, passes.get());
        spares.begin(); // a later chain may start another
        assertTrue(spares.awaitEnded(in(5_000)));
        assertEquals(2, passes.get());
    }

    @Test
    void aSparePassWithoutAThreadIsNoneAndLeavesNothingToWaitFor() {
        AtomicInteger passes = new AtomicInteger();
        SparePasses spares = new SparePasses("t", () -> claimed(passes.incrementAndGet()), task -> {
            throw new RejectedExecutionException("no thread to be had");
        });
        spares.begin();
        assertTrue(spares.awaitEnded(System.nanoTime()), "nothing runs");
        assertEquals(0, passes.get());
    }
}
