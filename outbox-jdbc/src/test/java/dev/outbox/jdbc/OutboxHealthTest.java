package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.testing.RecordingPublisher;
import dev.outbox.testing.TestDatabase;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class OutboxHealthTest {

    static final DataSource db = TestDatabase.dataSource();

    final OutboxTable table = TestTables.newTable();
    final OutboxOperations ops = new OutboxOperations(db, table);
    final ExecutorService executor = Executors.newCachedThreadPool();

    @AfterEach
    void stop() throws InterruptedException {
        executor.shutdownNow();
        assertTrue(executor.awaitTermination(10, TimeUnit.SECONDS));
    }

    OutboxHealth health(JdbcRelay relay) {
        return OutboxHealth.builder(relay, ops).statsInterval(Duration.ZERO).maxOldestPendingAge(Duration.ofSeconds(1))
                .build();
    }

    @Test
    void aStartedRelayOnAnEmptyOutboxIsUp() {
        try (JdbcRelay relay = JdbcRelay.builder(db, new RecordingPublisher()).table(table).build()) {
            relay.start(executor);
            assertTrue(WakeOnCommitTest.eventually(Duration.ofSeconds(10), relay::isListening));
            OutboxHealth.Report report = health(relay).check();
            assertEquals(OutboxHealth.Status.UP, report.status(), report.reasons().toString());
            assertEquals(List.of(), report.reasons());
        }
    }

    @Test
    void aDeadEventDegradesWithTheCountAndALateEventWithItsAge() throws Exception {
        RecordingPublisher publisher = new RecordingPublisher(e -> PublishOutcome.rejected("bad"));
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).build()) {
            commit(db, c -> JdbcOutbox.create(table).append(c, Event.of("order", "A", "placed", "{}")));
            relay.runOnce();
            OutboxHealth.Report dead = health(relay).check();
            assertEquals(OutboxHealth.Status.DEGRADED, dead.status());
            assertTrue(dead.reasons().get(0).startsWith("1 dead events"), dead.reasons().toString());

            commit(db, c -> JdbcOutbox.create(table).append(c, Event.of("order", "B", "placed", "{}")));
            Thread.sleep(1300);
            OutboxHealth.Report late = health(relay).check();
            assertEquals(OutboxHealth.Status.DEGRADED, late.status());
            assertTrue(late.reasons().stream().anyMatch(r -> r.startsWith("oldest pending event is 1 s old")),
                    late.reasons().toString());
        }
    }

    @Test
    void stoppedLoopsAndAnUnreadableTableAreDown() throws Exception {
        JdbcRelay relay = JdbcRelay.builder(db, new RecordingPublisher()).table(table).build();
        relay.start(executor);
        relay.close();
        OutboxHealth.Report stopped = health(relay).check();
        assertEquals(OutboxHealth.Status.DOWN, stopped.status());
        assertTrue(stopped.reasons().get(0).startsWith("no relay loop is running"), stopped.reasons().toString());

        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE " + table.qualifiedName());
        }
        OutboxHealth.Report gone = health(relay).check();
        assertEquals(OutboxHealth.Status.DOWN, gone.status());
        assertTrue(gone.reasons().stream().anyMatch(r -> r.startsWith("outbox stats unreadable")), gone.reasons().toString());
    }

    @Test
    void statsAreReadOncePerInterval() throws Exception {
        try (JdbcRelay relay = JdbcRelay.builder(db, new RecordingPublisher()).table(table).build()) {
            OutboxHealth health = OutboxHealth.builder(relay, ops).maxDead(5).statsInterval(Duration.ofMinutes(1)).build();
            assertEquals(0, health.check().stats().pending());
            commit(db, c -> JdbcOutbox.create(table).append(c, Event.of("order", "A", "placed", "{}")));
            assertEquals(0, health.check().stats().pending(), "the snapshot is reused within the interval");
        }
    }

    @Test
    void thresholdsAreCheckedAtConstruction() {
        try (JdbcRelay relay = JdbcRelay.builder(db, new RecordingPublisher()).table(table).build()) {
            OutboxHealth.Builder b = OutboxHealth.builder(relay, ops);
            assertThrows(InvalidConfigurationException.class, () -> b.maxDead(-1));
            assertThrows(InvalidConfigurationException.class, () -> b.maxOldestPendingAge(Duration.ZERO));
            assertThrows(InvalidConfigurationException.class, () -> b.statsInterval(Duration.ofHours(1)));
            assertThrows(InvalidConfigurationException.class, () -> OutboxHealth.builder(null, ops));
        }
    }
}
