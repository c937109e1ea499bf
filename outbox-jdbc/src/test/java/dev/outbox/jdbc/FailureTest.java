package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static dev.outbox.testing.Transactions.queryLong;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.OutboxException;
import dev.outbox.RelayListener;
import dev.outbox.RelayLoop;
import dev.outbox.RelayResult;
import dev.outbox.RetryPolicy;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.testing.RecordingPublisher;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLFeatureNotSupportedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/** Failures that used to stop the relay or blame the wrong events: each ends with only the culprit dead. */
@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class FailureTest extends EachDatabase {

    static final RetryPolicy THREE_QUICK_ATTEMPTS = RetryPolicy.builder().initialDelay(Duration.ofMillis(10))
            .maxDelay(Duration.ofMillis(50)).maxAttempts(3).build();

    OutboxTable table;
    JdbcOutbox outbox;
    OutboxOperations ops;

    FailureTest(TestDb tdb) {
        super(tdb);
    }

    @BeforeEach
    void freshOutbox() {
        table = tdb.newTable();
        outbox = JdbcOutbox.create(table);
        ops = new OutboxOperations(db, table);
    }

    Event append(String aggregate, String payload) {
        Event e = Event.of("order", aggregate, "step", payload);
        commit(db, c -> outbox.append(c, e));
        return e;
    }

    String queryText(String sql) {
        try (Connection c = db.getConnection(); var s = c.createStatement(); var rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        } catch (java.sql.SQLException ex) {
            throw new IllegalStateException(sql, ex);
        }
    }

    @Test
    void anErrorFromThePublisherForOneEventKillsNoLoopAndOnlyThatEventGoesDead() throws Exception {
        Event p1 = append("P", "{\"n\":1}");
        Event q1 = append("Q", "{\"n\":1}");
        Event p2 = append("P", "{\"poison\":true}");
        Event q2 = append("Q", "{\"n\":2}");
        Event p3 = append("P", "{\"n\":3}");
        Event q3 = append("Q", "{\"n\":3}");
        RecordingPublisher publisher = new RecordingPublisher(e -> {
            if (e.payload().contains("poison")) {
                throw new StackOverflowError("deep in the serializer");
            }
            return PublishOutcome.published();
        });
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).leaseDuration(Duration.ofSeconds(1))
                .retryPolicy(THREE_QUICK_ATTEMPTS).pollInterval(Duration.ofMillis(20)).build()) {
            RelayLoop a = relay.start(threads);
            RelayLoop b = relay.start(threads);
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (ops.stats().dead() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            Thread.sleep(200);
            assertTrue(a.isRunning() && b.isRunning(), "both loops survive the Error");
            assertNull(a.lastFailure());
        } finally {
            threads.shutdownNow();
        }
        assertEquals(List.of(p1.id(), q1.id(), q2.id(), q3.id()).stream().sorted().toList(),
                publisher.deliveries().stream().map(Event::id).sorted().toList(),
                "the innocent events were delivered, once each; P3 waits behind the dead P2");
        List<DeadEvent> dead = ops.listDead(10);
        assertEquals(1, dead.size());
        assertEquals(p2.id(), dead.get(0).event().id(), "only the culprit is dead");
        assertTrue(dead.get(0).lastError().contains("StackOverflowError"), dead.get(0).lastError());
        assertEquals(3, dead.get(0).attempts(), "no attempt past maxAttempts");
        assertEquals(1, ops.stats().pending(), "P3 waits for P2 to be requeued or discarded");
        assertEquals(0, publisher.attempts(p3.id()));
    }

    @Test
    void aPoisonEventInACallOfOneAggregatesEventsIsChargedNotTakenForAnOutage() {
        // A publisher that, like SQS FIFO, takes an aggregate's consecutive events in one call: the call holds only
        // P's events, so nothing can be split off, and the event that makes it throw must still end dead.
        Event p1 = append("P", "{\"poison\":true}");
        append("P", "{\"n\":2}");
        append("P", "{\"n\":3}");
        dev.outbox.spi.Publisher fifoLike = new dev.outbox.spi.Publisher() {
            @Override
            public List<PublishOutcome> publish(List<Event> events) {
                if (events.stream().anyMatch(e -> e.payload().contains("poison"))) {
                    throw new StackOverflowError("deep in the serializer");
                }
                return java.util.Collections.nCopies(events.size(), PublishOutcome.published());
            }

            @Override
            public dev.outbox.spi.CallLimits callLimits() {
                return new dev.outbox.spi.CallLimits(10, 10, Duration.ofSeconds(1));
            }
        };
        try (JdbcRelay relay = JdbcRelay.builder(db, fifoLike).table(table).retryPolicy(THREE_QUICK_ATTEMPTS).build()) {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (ops.stats().dead() == 0 && System.nanoTime() < deadline) {
                relay.runOnce();
                Thread.sleep(20);
            }
            assertEquals(JdbcRelay.BrokerState.CLOSED, relay.brokerState(), "one event's poison is not an outage");
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        List<DeadEvent> dead = ops.listDead(10);
        assertEquals(List.of(p1.id()), dead.stream().map(d -> d.event().id()).toList());
        assertEquals(2, ops.stats().pending(), "P's later events wait behind it");
    }

    @Test
    void anEventClaimedMoreOftenThanItsAttemptsWithoutAnOutcomeGoesDeadSayingSo() {
        Event e = append("R", "{}");
        Event later = append("R", "{\"later\":1}");
        Event other = append("S", "{}");
        // As if three relays had died with it in flight: each claim counted an attempt, none recorded an outcome.
        tdb.execute("UPDATE " + tdb.q(table) + " SET attempts = 3 WHERE id = '" + e.id() + "'");
        RecordingPublisher publisher = new RecordingPublisher();
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).retryPolicy(THREE_QUICK_ATTEMPTS).build()) {
            RelayResult result = relay.runOnce();
            assertEquals(1, result.dead());
            assertEquals(1, result.published());
        }
        assertEquals(List.of(other.id()), publisher.deliveries().stream().map(Event::id).toList());
        assertEquals(0, publisher.attempts(e.id()), "never handed to the publisher again");
        assertEquals(0, publisher.attempts(later.id()), "its aggregate waits behind it");
        String error = ops.listDead(1).get(0).lastError();
        assertTrue(error.contains("claimed 4 times without an outcome"), error);
    }

    @Test
    void anUnreadableRowGoesDeadAloneAndTheRestIsPublished() {
        String badId = UUID.randomUUID().toString();
        tdb.execute("INSERT INTO " + tdb.q(table)
                + " (id, aggregate_type, aggregate_id, event_type, payload, headers, occurred_at) VALUES ('" + badId
                + "', 'order', 'bad', 'migrated', '{}', '{\"retries\": 1}', " + tdb.now() + ")");
        List<Event> good = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            good.add(append("good" + i, "{}"));
        }
        List<String> unreadable = new CopyOnWriteArrayList<>();
        RecordingPublisher publisher = new RecordingPublisher();
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).listener(new RelayListener() {
            @Override
            public void unreadable(String eventId, String reason) {
                unreadable.add(eventId + " " + reason);
            }
        }).build()) {
            RelayResult result = relay.runOnce();
            assertEquals(6, result.claimed());
            assertEquals(5, result.published());
            assertEquals(1, result.dead());
        }
        assertEquals(5, publisher.deliveries().size());
        OutboxStats stats = ops.stats();
        assertEquals(0, stats.pending());
        assertEquals(0, stats.inFlight(), "nothing left leased");
        assertEquals(1, stats.dead());
        assertEquals(1, unreadable.size());
        assertTrue(unreadable.get(0).startsWith(badId) && unreadable.get(0).contains("headers"), unreadable.toString());
        String error = queryText("SELECT last_error FROM " + tdb.q(table) + " WHERE id = '" + badId + "'");
        assertTrue(error.startsWith("unreadable row"), error);
    }

    @Test
    void aStoredPayloadOverTheLimitIsUnreadableAndDeadNotStuck() {
        String bigId = UUID.randomUUID().toString();
        tdb.execute("INSERT INTO " + tdb.q(table)
                + " (id, aggregate_type, aggregate_id, event_type, payload, occurred_at) VALUES ('" + bigId
                + "', 'order', 'big', 'migrated', " + (tdb.mysqlFamily() ? "JSON_QUOTE(REPEAT('x', 1100000))"
                : "to_jsonb(repeat('x', 1100000))") + ", " + tdb.now() + ")");
        Event fine = append("fine", "{}");
        RecordingPublisher publisher = new RecordingPublisher();
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).build()) {
            assertEquals(1, relay.runOnce().published());
        }
        assertEquals(List.of(fine.id()), publisher.deliveries().stream().map(Event::id).toList());
        assertEquals(1, ops.stats().dead());
    }

    @Test
    void anUnexpectedFailureIsAnOutboxExceptionAndTheListenerHearsIt() {
        List<Exception> heard = new CopyOnWriteArrayList<>();
        DataSource broken = new BrokenDataSource();
        try (JdbcRelay relay = JdbcRelay.builder(broken, new RecordingPublisher()).table(table).wakeOnCommit(false)
                .listener(new RelayListener() {
                    @Override
                    public void claimFailed(Exception error) {
                        heard.add(error);
                    }
                }).build()) {
            OutboxException e = assertThrows(OutboxException.class, relay::runOnce);
            assertTrue(e.getMessage().contains("pool exploded"), e.getMessage());
            assertEquals(1, heard.size());
        }
    }

    @Test
    void aLoopSurvivesAnErrorThrownOutsideThePublisherAndSaysSo() throws Exception {
        AtomicBoolean fail = new AtomicBoolean(true);
        dev.outbox.Relay flaky = new dev.outbox.Relay() {
            @Override
            public RelayResult runOnce() {
                if (fail.get()) {
                    throw new OutOfMemoryError("simulated");
                }
                return RelayResult.EMPTY;
            }

            @Override
            public RelayLoop start(java.util.concurrent.Executor executor) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void close() {
            }
        };
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try {
            RelayLoop loop = RelayLoop.start(flaky, "flaky", Duration.ofMillis(5), thread);
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (loop.consecutiveFailures() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(loop.isRunning(), "an Error does not end the loop");
            assertTrue(loop.lastFailure() instanceof OutOfMemoryError);
            fail.set(false);
            deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (loop.lastFailure() != null && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertNull(loop.lastFailure(), "a batch that succeeds clears it");
            assertEquals(0, loop.consecutiveFailures());
            assertTrue(loop.stop(Duration.ofSeconds(5)));
        } finally {
            thread.shutdownNow();
        }
    }

    @Test
    void aBrokerOutageLongerThanAllRetriesMakesNoEventDeadAndTheBacklogDrainsAfter() throws Exception {
        List<Event> appended = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            appended.add(append("agg" + (i % 5), "{\"i\":" + i + "}"));
        }
        AtomicBoolean down = new AtomicBoolean(true);
        AtomicInteger callsWhileDown = new AtomicInteger();
        RecordingPublisher publisher = new RecordingPublisher(e -> {
            if (down.get()) {
                callsWhileDown.incrementAndGet();
                return PublishOutcome.unavailable("SQS 503 ServiceUnavailable");
            }
            return PublishOutcome.published();
        });
        ExecutorService threads = Executors.newFixedThreadPool(2);
        // Three attempts 10 to 50 ms apart: the retry policy alone would give up within a tenth of a second.
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).retryPolicy(THREE_QUICK_ATTEMPTS)
                .brokerPause(Duration.ofMillis(20), Duration.ofMillis(200)).pollInterval(Duration.ofMillis(10))
                .build()) {
            relay.start(threads);
            relay.start(threads);
            Thread.sleep(1500); // an outage 15 times longer than every retry together
            assertEquals(JdbcRelay.BrokerState.OPEN, relay.brokerState() == JdbcRelay.BrokerState.HALF_OPEN
                    ? JdbcRelay.BrokerState.OPEN : relay.brokerState());
            assertTrue(relay.brokerUnavailableReason().contains("ServiceUnavailable"));
            // Pauses of 20, 40, 80, 160, then 200 ms: about ten probes in 1.5 s, not a call per poll (150).
            assertTrue(publisher.batches() <= 15, "the relay pauses instead of hammering: " + publisher.batches()
                    + " calls");
            assertEquals(0, ops.stats().dead());
            down.set(false);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while ((publisher.deliveries().size() < appended.size()
                    || relay.brokerState() != JdbcRelay.BrokerState.CLOSED) && System.nanoTime() < deadline) {
                Thread.sleep(10); // the relay closes the circuit right after the batch that went through is recorded
            }
            assertEquals(JdbcRelay.BrokerState.CLOSED, relay.brokerState());
        } finally {
            threads.shutdownNow();
        }
        assertEquals(appended.size(), publisher.deliveries().size());
        assertEquals(0, ops.stats().dead());
        assertEquals(0, queryLong(db, "SELECT count(*) FROM " + tdb.q(table) + " WHERE attempts > 1"),
                "an unavailable broker spends no attempt");
    }

    @Test
    void aPublisherThatThrowsForEveryEventIsAnOutageNotAPoisonBatch() {
        for (int i = 0; i < 4; i++) {
            append("agg" + i, "{}");
        }
        RecordingPublisher publisher = new RecordingPublisher(e -> {
            throw new IllegalStateException("connection refused");
        });
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).retryPolicy(THREE_QUICK_ATTEMPTS).build()) {
            RelayResult result = relay.runOnce();
            assertEquals(0, result.dead());
            assertEquals(JdbcRelay.BrokerState.OPEN, relay.brokerState());
        }
        assertEquals(0, queryLong(db, "SELECT count(*) FROM " + tdb.q(table) + " WHERE attempts > 0"),
                "no event charged for the publisher failing as a whole");
    }

    @Test
    void aBatchHoldsNoMorePayloadBytesThanItsBudget() {
        String payload = "{\"blob\":\"" + "x".repeat(600_000) + "\"}";
        List<Event> big = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            big.add(append("big" + i, payload));
        }
        List<Integer> batchSizes = new CopyOnWriteArrayList<>();
        RecordingPublisher publisher = new RecordingPublisher();
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).maxBatchBytes(4L * 1024 * 1024)
                .listener(new RelayListener() {
                    @Override
                    public void batchCompleted(RelayResult result, Duration elapsed) {
                        batchSizes.add(result.claimed());
                    }
                }).build()) {
            RelayResult first = relay.runOnce();
            assertEquals(6, first.claimed(), "4 MiB hold six events of 600 KB");
            assertTrue(first.moreWaiting(), "the budget, not the backlog, ended the batch");
            relay.drain(Duration.ofSeconds(30));
        }
        assertEquals(20, publisher.deliveries().size());
        assertTrue(batchSizes.stream().allMatch(n -> n <= 6), batchSizes.toString());
    }

    @Test
    void anEventLargerThanTheBudgetIsStillClaimedAlone() {
        append("huge", "{\"blob\":\"" + "x".repeat(1_040_000) + "\"}"); // with the next: over 1 MiB
        append("small", "{\"pad\":\"" + "y".repeat(10_000) + "\"}");
        RecordingPublisher publisher = new RecordingPublisher();
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).maxBatchBytes(1024 * 1024).build()) {
            assertEquals(1, relay.runOnce().claimed(), "the first event always fits");
            assertEquals(1, relay.runOnce().claimed());
        }
        assertEquals(2, publisher.deliveries().size());
    }

    /** A data source whose pool throws an unchecked exception, as a misconfigured pool may. */
    static final class BrokenDataSource implements DataSource {
        @Override
        public Connection getConnection() {
            throw new IllegalStateException("pool exploded");
        }

        @Override
        public Connection getConnection(String user, String password) {
            return getConnection();
        }

        @Override
        public PrintWriter getLogWriter() {
            return null;
        }

        @Override
        public void setLogWriter(PrintWriter out) {
        }

        @Override
        public void setLoginTimeout(int seconds) {
        }

        @Override
        public int getLoginTimeout() {
            return 0;
        }

        @Override
        public Logger getParentLogger() throws SQLFeatureNotSupportedException {
            throw new SQLFeatureNotSupportedException();
        }

        @Override
        public <T> T unwrap(Class<T> iface) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean isWrapperFor(Class<?> iface) {
            return false;
        }
    }
}
