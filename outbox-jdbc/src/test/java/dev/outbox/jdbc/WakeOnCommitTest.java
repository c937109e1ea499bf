package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static dev.outbox.testing.Transactions.queryLong;
import static dev.outbox.testing.Transactions.rollback;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import dev.outbox.Event;
import dev.outbox.testing.RecordingPublisher;
import dev.outbox.testing.TestDatabase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Loops here poll once an hour, so anything published within seconds was woken by a commit. */
class WakeOnCommitTest {

    static final DataSource db = TestDatabase.dataSource();
    static final Duration NEVER_POLL = Duration.ofHours(1);
    final ExecutorService executor = Executors.newCachedThreadPool();
    final List<JdbcRelay> relays = new ArrayList<>();
    final RecordingPublisher publisher = new RecordingPublisher();
    OutboxTable table;

    @BeforeEach
    void freshTable() {
        table = TestTables.newTable();
    }

    @AfterEach
    void stop() throws InterruptedException {
        relays.forEach(JdbcRelay::close);
        executor.shutdownNow();
        assertTrue(executor.awaitTermination(10, TimeUnit.SECONDS));
    }

    JdbcRelay startedRelay(boolean wakeOnCommit) {
        JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).pollInterval(NEVER_POLL)
                .wakeOnCommit(wakeOnCommit).build();
        relays.add(relay);
        relay.start(executor);
        if (wakeOnCommit) {
            assertTrue(eventually(Duration.ofSeconds(10), relay::isListening), "listener never started");
            assertTrue(eventually(Duration.ofSeconds(10), () -> waitingLoops() == 1), "the loop never went to sleep");
            sleep(100); // past the one recheck a loop makes shortly after it starts waiting
        }
        return relay;
    }

    /** 1 while a loop waits for a notification and no append has taken it yet (the wake sequence is armed), else 0. */
    long waitingLoops() {
        return armed(table);
    }

    /** @return 1 when the table's wake sequence is armed: the next append draws 1 and notifies; else 0 */
    static long armed(OutboxTable table) {
        return queryLong(db, "SELECT count(*) FROM " + table.wakeSequenceQualifiedName() + " WHERE NOT is_called");
    }

    Event event(String aggregateId) {
        return Event.builder().aggregate("order", aggregateId).type("order_placed").payload("{}").build();
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static boolean eventually(Duration limit, BooleanSupplier condition) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return condition.getAsBoolean();
    }

    @Test
    void aCommitWakesAnIdleLoopLongBeforeItsNextPoll() {
        startedRelay(true);
        JdbcOutbox outbox = JdbcOutbox.create(table);
        for (int i = 0; i < 5; i++) {
            Event e = event("o" + i);
            commit(db, c -> outbox.append(c, e));
            int expected = i + 1;
            assertTrue(eventually(Duration.ofSeconds(5), () -> publisher.deliveries().size() == expected),
                    "event " + i + " not published within 5 s of its commit, with polling once an hour");
        }
        commit(db, c -> outbox.appendAll(c, List.of(event("p"), event("p"), event("q"))));
        assertTrue(eventually(Duration.ofSeconds(5), () -> publisher.deliveries().size() == 8));
    }

    @Test
    void aRolledBackAppendNotifiesNobody() throws Exception {
        startedRelay(true);
        JdbcOutbox outbox = JdbcOutbox.create(table);
        int batchesBefore = publisher.batches();
        rollback(db, c -> outbox.append(c, event("gone")));
        Thread.sleep(500);
        assertEquals(batchesBefore, publisher.batches());
        assertEquals(0, publisher.deliveries().size());
    }

    @Test
    void withoutNotificationsALoopWaitsForItsPollOrAnExplicitWakeUp() throws Exception {
        JdbcRelay relay = startedRelay(true);
        JdbcOutbox silent = JdbcOutbox.builder().table(table).notifyOnCommit(false).build();
        commit(db, c -> silent.append(c, event("quiet")));
        Thread.sleep(700);
        assertEquals(0, publisher.deliveries().size(), "a silent append must not wake the loop");
        relay.wakeUp();
        assertTrue(eventually(Duration.ofSeconds(5), () -> publisher.deliveries().size() == 1));
    }

    @Test
    void aRelayWithWakeOnCommitOffHoldsNoListenerAndStillPublishesWhenWoken() {
        JdbcRelay relay = startedRelay(false);
        commit(db, c -> JdbcOutbox.create(table).append(c, event("x")));
        assertFalse(relay.isListening());
        relay.wakeUp();
        assertTrue(eventually(Duration.ofSeconds(5), () -> publisher.deliveries().size() == 1));
    }

    @Test
    void theListenerReconnectsAfterItsConnectionIsKilledAndCommitsWakeTheLoopAgain() {
        JdbcRelay relay = startedRelay(true);
        String listening = "FROM pg_stat_activity WHERE query = 'LISTEN \"" + table.channel() + "\"'";
        long killed = queryLong(db, "SELECT count(pg_terminate_backend(pid)) " + listening);
        assertEquals(1, killed, "exactly one backend should be listening on the table's channel");
        assertTrue(eventually(Duration.ofSeconds(10),
                () -> relay.isListening() && queryLong(db, "SELECT count(*) " + listening) == 1),
                "listener did not reconnect");
        JdbcOutbox outbox = JdbcOutbox.create(table);
        commit(db, c -> outbox.append(c, event("after-kill")));
        assertTrue(eventually(Duration.ofSeconds(5), () -> publisher.deliveries().size() == 1),
                "a commit after the reconnect did not wake the loop");
    }

    @Test
    void closingTheRelayStopsTheListenerAndGivesBackItsConnectionNoLongerListening() {
        HikariPoolMXBean pool = ((HikariDataSource) db).getHikariPoolMXBean();
        int activeBefore = pool.getActiveConnections();
        JdbcRelay relay = startedRelay(true);
        // The loop borrows a connection for the claim it runs when the listener first connects; then only the
        // listener's stays out.
        assertTrue(eventually(Duration.ofSeconds(5), () -> pool.getActiveConnections() == activeBefore + 1),
                "the listener holds one connection, active: " + pool.getActiveConnections());
        String listening = "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN \"" + table.channel() + "\"'";
        assertEquals(1, queryLong(db, listening));
        relay.close();
        assertFalse(relay.isListening());
        assertTrue(Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().equals("outbox-listen-" + relay.ownerId())), "listener thread still alive");
        assertEquals(activeBefore, pool.getActiveConnections(), "the listener's connection was not given back");
        // Its last statement was the UNLISTEN, so the pooled connection will not queue notifications for reuse.
        assertEquals(0, queryLong(db, listening));
    }
}
