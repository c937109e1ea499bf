package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.spi.PublishOutcome;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** A batch's calls beside each other: handed back as answered, none left running, interrupts passed on. */
class CallsInFlightTest {

    private static List<ClaimedBatch.Row> call(String name) {
        return List.of(ClaimedBatch.Row.of(1, Event.of("order", name, name, "{}"), 1));
    }

    private static List<PublishOutcome> published(List<ClaimedBatch.Row> rows) {
        return new ArrayList<>(Collections.nCopies(rows.size(), PublishOutcome.published()));
    }

    @Test
    void callsAreHandedBackAsTheyAreAnsweredNotAsTheyStarted() throws Exception {
        CallsInFlight calls = new CallsInFlight();
        CountDownLatch slowMayAnswer = new CountDownLatch(1);
        calls.start(call("slow"), rows -> {
            await(slowMayAnswer);
            return published(rows);
        });
        calls.start(call("fast"), CallsInFlightTest::published);
        assertEquals(2, calls.running());

        List<CallsInFlight.Answered> first = calls.await();
        assertEquals(1, first.size());
        assertEquals("fast", first.get(0).call().get(0).aggregateId());
        assertEquals(1, calls.running());
        slowMayAnswer.countDown();
        List<CallsInFlight.Answered> second = calls.await();
        assertEquals("slow", second.get(0).call().get(0).aggregateId());
        assertEquals(0, calls.running());
        assertThrows(IllegalStateException.class, calls::await, "nothing running: awaiting would block forever");
    }

    @Test
    void whatACallThrowsIsHandedBackNotLost() {
        CallsInFlight calls = new CallsInFlight();
        calls.start(call("a"), rows -> {
            throw new StackOverflowError("the client choked");
        });
        CallsInFlight.Answered answer = calls.await().get(0);
        assertNull(answer.answers());
        assertTrue(answer.failure() instanceof StackOverflowError, String.valueOf(answer.failure()));
    }

    @Test
    void anInterruptWhileWaitingReachesTheCallsAndStaysWithTheWaiter() throws Exception {
        CallsInFlight calls = new CallsInFlight();
        AtomicBoolean callInterrupted = new AtomicBoolean();
        CountDownLatch started = new CountDownLatch(1);
        calls.start(call("a"), rows -> {
            started.countDown();
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException e) {
                callInterrupted.set(true);
            }
            return published(rows);
        });
        assertTrue(started.await(5, TimeUnit.SECONDS));
        Thread.currentThread().interrupt();
        try {
            long t0 = System.nanoTime();
            calls.awaitAll();
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "the call ended on the interrupt");
            assertTrue(callInterrupted.get(), "the call's thread was interrupted");
            assertTrue(Thread.currentThread().isInterrupted(), "the waiter keeps its interrupt");
            assertEquals(0, calls.running());
        } finally {
            Thread.interrupted();
        }
        assertFalse(Thread.currentThread().isInterrupted());
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(10, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
