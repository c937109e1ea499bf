package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.RelayLoop;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.testing.RecordingPublisher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/** How loops start, report their state and stop, and what closing a relay waits for. */
@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class RelayLifecycleTest extends EachDatabase {

    RelayLifecycleTest(TestDb tdb) {
        super(tdb);
    }

    @Test
    void aLoopQueuedBehindABusyExecutorIsNotReportedRunning() throws Exception {
        OutboxTable table = tdb.newTable();
        ExecutorService oneThread = Executors.newSingleThreadExecutor();
        try (JdbcRelay relay = JdbcRelay.builder(db, new RecordingPublisher()).table(table)
                .wakeOnCommit(false).build()) {
            RelayLoop first = relay.start(oneThread);
            RelayLoop second = relay.start(oneThread);
            waitFor(first::isRunning);
            assertTrue(first.isRunning());
            assertEquals(RelayLoop.State.QUEUED, second.state());
            assertFalse(second.isRunning(), "a loop the executor never ran is not running");

            assertTrue(second.stop(Duration.ofMillis(100)), "a queued loop stops at once");
            assertEquals(RelayLoop.State.STOPPED, second.state());
            assertTrue(first.stop(Duration.ofSeconds(5)));
            assertEquals(RelayLoop.State.STOPPED, first.state());
        } finally {
            oneThread.shutdownNow();
        }
    }

    @Test
    void closeStopsEveryLoopWithinOneTimeoutNotOnePerLoop() throws Exception {
        OutboxTable table = tdb.newTable();
        JdbcOutbox outbox = JdbcOutbox.create(table);
        for (int i = 0; i < 4; i++) {
            Event e = Event.of("order", "o" + i, "order_placed", "{}");
            commit(db, c -> outbox.append(c, e));
        }
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch publishing = new CountDownLatch(4);
        // Batch size 1: each of the four loops takes one event and hangs in the publisher.
        RecordingPublisher stuck = new RecordingPublisher(e -> {
            publishing.countDown();
            await(release);
            return PublishOutcome.published();
        });
        ExecutorService threads = Executors.newFixedThreadPool(4);
        JdbcRelay relay = JdbcRelay.builder(db, stuck).table(table).batchSize(1).wakeOnCommit(false).build();
        try {
            List<RelayLoop> loops = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                loops.add(relay.start(threads));
            }
            assertTrue(publishing.await(10, TimeUnit.SECONDS), "four batches in flight");

            long started = System.nanoTime();
            boolean stopped = relay.close(Duration.ofMillis(600));
            long tookMillis = (System.nanoTime() - started) / 1_000_000;

            assertFalse(stopped, "loops stuck in the publisher cannot stop in time");
            assertTrue(tookMillis < 1_500, "one 600 ms timeout for all four loops, took " + tookMillis + " ms");
            release.countDown();
            for (RelayLoop loop : loops) {
                assertTrue(loop.awaitStopped(Duration.ofSeconds(10)), "each loop exits after its batch");
            }
            assertEquals(4, stuck.deliveries().size());
        } finally {
            release.countDown();
            relay.close();
            threads.shutdownNow();
        }
    }

    @Test
    void closeDoesNotCloseThePublisher() {
        OutboxTable table = tdb.newTable();
        boolean[] closed = {false};
        RecordingPublisher recording = new RecordingPublisher();
        dev.outbox.spi.Publisher publisher = new dev.outbox.spi.Publisher() {
            @Override
            public List<PublishOutcome> publish(List<Event> events) {
                return recording.publish(events);
            }

            @Override
            public void close() {
                closed[0] = true;
            }
        };
        JdbcRelay.builder(db, publisher).table(table).build().close();
        assertFalse(closed[0], "the caller created the publisher and closes it");
    }

    @Test
    void anOutboxNeedsATableAndNamesItsNotificationChoice() {
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                () -> JdbcOutbox.builder().table(null).build());
        assertTrue(e.getMessage().contains("table"), e.getMessage());
        OutboxTable table = tdb.newTable();
        JdbcOutbox silent = JdbcOutbox.builder().table(table).notifyOnCommit(false).build();
        assertEquals(table, silent.table());
        assertFalse(OutboxStatements.postgres(table).append(false).contains("pg_notify"));
        assertTrue(OutboxStatements.postgres(table).append(true).contains("pg_notify"));
    }

    @Test
    void closeRejectsANegativeTimeout() {
        try (JdbcRelay relay = JdbcRelay.builder(db, new RecordingPublisher()).table(tdb.newTable()).build()) {
            assertThrows(InvalidConfigurationException.class, () -> relay.close(Duration.ofSeconds(-1)));
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
