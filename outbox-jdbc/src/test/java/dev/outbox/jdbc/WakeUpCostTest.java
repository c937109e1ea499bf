package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static dev.outbox.testing.Transactions.queryLong;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.testing.RecordingPublisher;
import dev.outbox.testing.TestDatabase;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * Appends notify only while a relay loop waits for a notification, once per wait; a commit that no loop waits for
 * costs its writer nothing, and is still published: found by the busy loop's next claim, its recheck, or at the
 * latest its poll.
 */
class WakeUpCostTest {

    static final DataSource db = TestDatabase.dataSource();

    final OutboxTable table = TestTables.newTable();
    final JdbcOutbox outbox = JdbcOutbox.create(table);
    final ExecutorService executor = Executors.newCachedThreadPool();
    final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        executor.shutdownNow();
        assertTrue(executor.awaitTermination(10, TimeUnit.SECONDS));
    }

    /** How often the relay's loops said that they wait: statements that set the wake sequence back. */
    final AtomicInteger waits = new AtomicInteger();

    /**
     * The test database, counting the statements that set the wake sequence back. The relay's connections are the
     * database's own; only {@code prepareStatement} is looked at on the way.
     */
    final DataSource countingWaits = (DataSource) Proxy.newProxyInstance(getClass().getClassLoader(),
            new Class<?>[] {DataSource.class}, (proxy, method, args) -> {
                Object result = invoke(db, method, args);
                if (!method.getName().equals("getConnection")) {
                    return result;
                }
                Connection connection = (Connection) result;
                return Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Connection.class},
                        (p, m, a) -> {
                            if (m.getName().equals("prepareStatement") && a[0] instanceof String sql
                                    && sql.contains("setval(")) {
                                waits.incrementAndGet();
                            }
                            return invoke(connection, m, a);
                        });
            });

    static Object invoke(Object target, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    JdbcRelay startedRelay(RecordingPublisher publisher, Duration pollInterval) {
        JdbcRelay relay = JdbcRelay.builder(countingWaits, publisher).table(table).pollInterval(pollInterval).build();
        closing.add(relay);
        relay.start(executor);
        assertTrue(WakeOnCommitTest.eventually(Duration.ofSeconds(10), () -> relay.isListening() && waitingLoops() == 1),
                "the loop never went to sleep listening");
        WakeOnCommitTest.sleep(100);
        return relay;
    }

    /** 1 while a loop waits and no append has drawn the wake-up yet, else 0. */
    long waitingLoops() {
        return WakeOnCommitTest.armed(table);
    }

    /** A connection of the test's own that LISTENs on the table's channel and counts what arrives. */
    final class Eavesdropper implements AutoCloseable {
        final Connection connection;

        Eavesdropper() throws SQLException {
            connection = db.getConnection();
            try (Statement s = connection.createStatement()) {
                s.execute("LISTEN \"" + table.channel() + "\"");
            }
            closing.add(0, this);
        }

        /** @return the notifications that arrive within {@code millis} */
        int received(int millis) throws SQLException {
            int n = 0;
            long deadline = System.currentTimeMillis() + millis;
            while (System.currentTimeMillis() < deadline) {
                PGNotification[] got = connection.unwrap(PGConnection.class)
                        .getNotifications((int) Math.max(1, deadline - System.currentTimeMillis()));
                n += got == null ? 0 : got.length;
            }
            return n;
        }

        @Override
        public void close() throws SQLException {
            try (Statement s = connection.createStatement()) {
                s.execute("UNLISTEN *");
            }
            connection.close();
        }
    }

    /** Counted down when the loop's publisher holds the event of aggregate "first". */
    final CountDownLatch busy = new CountDownLatch(1);
    /** Lets the publisher go on past that event. */
    final CountDownLatch release = new CountDownLatch(1);

    /** A publisher that keeps the loop at work on the event of aggregate "first" until {@link #release} opens. */
    RecordingPublisher blockingOnFirst() {
        return new RecordingPublisher(e -> {
            if (e.aggregateId().equals("first")) {
                busy.countDown();
                await(release);
            }
            return PublishOutcome.published();
        });
    }

    Event event(String aggregateId) {
        return Event.of("order", aggregateId, "placed", "{}");
    }

    @Test
    void commitsWhileTheLoopIsBusyNotifyNobodyAndAreStillPublishedWithoutAPoll() throws Exception {
        RecordingPublisher publisher = blockingOnFirst();
        startedRelay(publisher, Duration.ofHours(1));
        Eavesdropper ears = new Eavesdropper();

        commit(db, c -> outbox.append(c, event("first")));
        assertTrue(busy.await(5, TimeUnit.SECONDS), "the waiting loop was not woken by the commit");
        assertEquals(1, ears.received(200), "a loop was waiting: the commit notified");
        assertEquals(0, waitingLoops(), "a loop at work is not waiting");

        for (int i = 0; i < 20; i++) {
            String id = "during-" + i;
            commit(db, c -> outbox.append(c, event(id)));
        }
        assertEquals(0, ears.received(300), "no loop waits, so the 20 commits paid for no notification");

        release.countDown();
        assertTrue(WakeOnCommitTest.eventually(Duration.ofSeconds(5), () -> publisher.deliveries().size() == 21),
                "the loop claims again after its batch and finds what was committed meanwhile, with polling hourly");
        assertTrue(WakeOnCommitTest.eventually(Duration.ofSeconds(5), () -> waitingLoops() == 1),
                "having found nothing more, the loop waits again");
        WakeOnCommitTest.sleep(100);
        commit(db, c -> outbox.append(c, event("after")));
        assertEquals(1, ears.received(300), "a waiting loop: the commit notified");
        assertTrue(WakeOnCommitTest.eventually(Duration.ofSeconds(5), () -> publisher.deliveries().size() == 22));
    }

    @Test
    void anAppendThatRacesTheLoopGoingToSleepIsFoundByItsRecheckNotItsPoll() throws Exception {
        // Appended while the loop works (so it notifies nobody), committed once the loop has gone back to waiting:
        // the loop's claims never saw it and no notification was sent.
        long millis = millisToFindARacingAppend(Duration.ZERO, "the racing append was lost, with polling hourly");
        assertTrue(millis < 1000, "found by the recheck shortly after the loop went to sleep, took " + millis + " ms");
    }

    @Test
    void aRacingTransactionThatCommitsLongAfterTheLoopWentToSleepIsFoundSoonAfterItsCommit() throws Exception {
        // The append (the transaction's first write) reads the wake-up while the loop works; the transaction goes on
        // with other work and commits half a second after the loop went back to waiting, long past its first looks.
        long millis = millisToFindARacingAppend(Duration.ofMillis(500),
                "the slow racing append waited for the poll (hourly)");
        assertTrue(millis < 500, "found once the loop saw its transaction end (looks at most 100 ms apart), took "
                + millis + " ms");
    }

    /**
     * Appends in a transaction while the only loop (polling hourly) works on a batch, lets the loop go back to
     * waiting, keeps the transaction open {@code openAfterWaiting} longer, commits, and checks that the commit sent
     * no notification and the event was published all the same.
     *
     * @return milliseconds from the commit to the event's publishing
     */
    private long millisToFindARacingAppend(Duration openAfterWaiting, String lost) throws Exception {
        RecordingPublisher publisher = blockingOnFirst();
        startedRelay(publisher, Duration.ofHours(1));
        Eavesdropper ears = new Eavesdropper();
        commit(db, c -> outbox.append(c, event("first")));
        assertTrue(busy.await(5, TimeUnit.SECONDS));
        ears.received(100);
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(false);
            outbox.append(c, event("racer"));
            release.countDown();
            assertTrue(WakeOnCommitTest.eventually(Duration.ofSeconds(5), () -> waitingLoops() == 1));
            WakeOnCommitTest.sleep(openAfterWaiting.toMillis());
            c.commit();
        }
        long committed = System.nanoTime();
        assertTrue(WakeOnCommitTest.eventually(Duration.ofSeconds(5), () -> publisher.deliveries().size() == 2), lost);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - committed);
        assertEquals(0, ears.received(100), "the racing commit sent no notification");
        return millis;
    }

    @Test
    void aFloodOfCommitsWithTheListenerKilledMidwayLosesNothingAndWaitsNoLongerThanThePoll() throws Exception {
        Map<UUID, Long> publishedAt = new ConcurrentHashMap<>();
        RecordingPublisher publisher = new RecordingPublisher(e -> {
            publishedAt.putIfAbsent(e.id(), System.nanoTime());
            return PublishOutcome.published();
        });
        Duration poll = Duration.ofSeconds(1);
        startedRelay(publisher, poll);
        Map<UUID, Long> committedAt = new ConcurrentHashMap<>();
        int writers = 4;
        int perWriter = 150;
        List<Future<?>> done = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            int writer = w;
            done.add(executor.submit(() -> {
                for (int i = 0; i < perWriter; i++) {
                    Event e = event("w" + writer + "-" + (i % 7));
                    try (Connection c = db.getConnection()) {
                        c.setAutoCommit(false);
                        outbox.append(c, e);
                        // transactions of every length, so that commits land on every step of the loop's cycle
                        Thread.sleep(ThreadLocalRandom.current().nextInt(4));
                        c.commit();
                        committedAt.put(e.id(), System.nanoTime());
                        Thread.sleep(ThreadLocalRandom.current().nextInt(6));
                    }
                    if (writer == 0 && i == perWriter / 2) {
                        String listening = "FROM pg_stat_activity WHERE query = 'LISTEN \"" + table.channel() + "\"'";
                        assertEquals(1, queryLong(db, "SELECT count(pg_terminate_backend(pid)) " + listening));
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get(60, TimeUnit.SECONDS);
        }
        int total = writers * perWriter;
        assertTrue(WakeOnCommitTest.eventually(Duration.ofSeconds(10), () -> publishedAt.size() == total),
                "published " + publishedAt.size() + " of " + total);
        long[] waits = committedAt.entrySet().stream()
                .mapToLong(e -> TimeUnit.NANOSECONDS.toMillis(Math.max(0, publishedAt.get(e.getKey()) - e.getValue())))
                .sorted().toArray();
        long worst = waits[waits.length - 1];
        // The listener reconnects within its first pause (250 ms); meanwhile the loop polls.
        assertTrue(worst <= poll.toMillis() + 750, "an event waited " + worst + " ms, longer than the poll interval: "
                + Arrays.toString(Arrays.copyOfRange(waits, waits.length - 5, waits.length)));
        assertTrue(waits[waits.length / 2] < 200, "half the events should be woken for, median " + waits[waits.length / 2]);
    }

    static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aRepeatableReadWriterWhoseSnapshotPredatesTheWaitStillWakesTheLoop() throws Exception {
        RecordingPublisher publisher = new RecordingPublisher();
        try (Connection writer = db.getConnection()) {
            writer.setAutoCommit(false);
            writer.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (Statement s = writer.createStatement()) {
                s.execute("SELECT 1"); // the transaction's snapshot: from before the loop says that it waits
            }
            startedRelay(publisher, Duration.ofSeconds(8));
            outbox.append(writer, event("rr"));
            writer.commit();
        }
        long committed = System.nanoTime();
        assertTrue(WakeOnCommitTest.eventually(Duration.ofSeconds(10), () -> publisher.deliveries().size() == 1));
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - committed);
        assertTrue(millis < 1_000, "woken by the commit, not found by the 8 s poll: " + millis + " ms");
    }

    @Test
    void aStreamOfCommitsSendsAtMostOneNotificationPerWaitOfTheLoop() throws Exception {
        RecordingPublisher publisher = new RecordingPublisher();
        startedRelay(publisher, Duration.ofSeconds(1));
        long waitsBefore = waits.get();
        Eavesdropper ears = new Eavesdropper();
        int commits = 1_500;
        Future<?> writing = executor.submit(() -> {
            for (int i = 0; i < commits; i++) {
                String id = "s" + (i % 50);
                commit(db, c -> outbox.append(c, event(id)));
                Thread.sleep(2); // some 400 commits a second: the loop waits between most batches
            }
            return null;
        });
        int notified = 0;
        while (!writing.isDone()) {
            notified += ears.received(100);
        }
        writing.get();
        notified += ears.received(300);
        assertTrue(WakeOnCommitTest.eventually(Duration.ofSeconds(10), () -> publisher.deliveries().size() == commits));
        long waited = waits.get() - waitsBefore;
        System.out.printf("%d commits, %d waits of the loop, %d notifications (%.1f %% of commits)%n", commits, waited,
                notified, 100.0 * notified / commits);
        assertTrue(waited > 0, "the loop waited between batches");
        assertTrue(notified <= waited + 1, "each wait of the loop is ended by one commit's notification, the other"
                + " commits notify nobody: " + notified + " notifications for " + waited + " waits");
        assertTrue(notified < commits / 2, notified + " notifications for " + commits + " commits");
    }

    @Test
    void everyIsolationLevelDrawsTheWakeUpOnceAndTheHostsOwnThreadsNeverAskForOne() throws Exception {
        RecordingPublisher publisher = new RecordingPublisher();
        JdbcRelay relay = startedRelay(publisher, Duration.ofHours(1));
        Eavesdropper ears = new Eavesdropper();
        int[] levels = {Connection.TRANSACTION_SERIALIZABLE, Connection.TRANSACTION_REPEATABLE_READ,
                Connection.TRANSACTION_READ_COMMITTED};
        for (int level : levels) {
            assertTrue(WakeOnCommitTest.eventually(Duration.ofSeconds(5), () -> waitingLoops() == 1),
                    "the loop waits again");
            WakeOnCommitTest.sleep(50);
            int before = publisher.deliveries().size();
            // three writers of one isolation level, open at once: the first to append draws the wake-up
            List<Connection> writers = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Connection c = db.getConnection();
                c.setAutoCommit(false);
                c.setTransactionIsolation(level);
                writers.add(c);
                outbox.append(c, event("iso-" + level + "-" + i));
            }
            assertEquals(0, waitingLoops(), "the first append took the wake-up at isolation " + level);
            for (Connection c : writers) {
                c.commit();
                c.close();
            }
            assertEquals(1, ears.received(300), "one notification for three commits at isolation " + level);
            assertTrue(WakeOnCommitTest.eventually(Duration.ofSeconds(5),
                    () -> publisher.deliveries().size() == before + 3), "woken, not polled (hourly)");
        }

        long waitsBefore = waits.get();
        List<Future<?>> passes = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            passes.add(executor.submit(() -> relay.runOnce())); // a host's own threads: they never wait for commits
        }
        for (Future<?> f : passes) {
            f.get(10, TimeUnit.SECONDS);
        }
        assertEquals(waitsBefore, waits.get(), "runOnce on other threads never says that it waits");
    }

    @Test
    void aRolledBackAppendThatDrewTheWakeUpLeavesLaterCommitsToThePoll() throws Exception {
        RecordingPublisher publisher = new RecordingPublisher();
        Duration poll = Duration.ofMillis(1500);
        startedRelay(publisher, poll);
        Eavesdropper ears = new Eavesdropper();
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(false);
            outbox.append(c, event("rolled-back"));
            c.rollback();
        }
        assertEquals(0, waitingLoops(), "the rolled-back append drew the wake-up");
        commit(db, c -> outbox.append(c, event("later")));
        long committed = System.nanoTime();
        assertEquals(0, ears.received(200), "nobody notified: the wake-up went with the rollback");
        assertTrue(WakeOnCommitTest.eventually(Duration.ofSeconds(5), () -> publisher.deliveries().size() == 1),
                "the later commit is published");
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - committed);
        assertTrue(millis <= poll.toMillis() + 500, "found by the next poll at the latest, took " + millis + " ms");
        assertEquals("later", publisher.deliveries().get(0).aggregateId(), "the rolled-back event was never written");
    }
}
