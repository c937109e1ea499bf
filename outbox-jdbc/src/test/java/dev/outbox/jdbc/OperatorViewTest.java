package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.OutboxException;
import dev.outbox.testing.RecordingPublisher;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What the operator sees is true exactly when it matters: dead rows the relay could not read are listed, the oldest
 * pending age sees an event waiting behind events delayed into the future, and a relay driven by {@code runOnce}
 * reports its own health.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class OperatorViewTest extends EachDatabase {

    OutboxTable table;
    JdbcOutbox outbox;
    OutboxOperations ops;

    OperatorViewTest(TestDb tdb) {
        super(tdb);
    }

    @BeforeEach
    void freshOutbox() {
        table = tdb.newTable();
        outbox = JdbcOutbox.create(table);
        ops = new OutboxOperations(db, table);
    }

    @Test
    void aDeadRowTheRelayCouldNotReadIsListedWithItsRawTextAndWhy() {
        Event readable = Event.of("order", "o1", "placed", "{\"n\":1}");
        commit(db, c -> outbox.append(c, readable));
        tdb.execute("INSERT INTO " + tdb.q(table) + " (id, aggregate_type, aggregate_id, event_type, payload, headers,"
                + " occurred_at) VALUES ('6b1f2d3c-0000-4000-8000-000000000001', 'order', 'o2', 'migrated',"
                + " '{\"n\":2}', '{\"retries\": 1}', " + tdb.now() + ")");
        RecordingPublisher publisher = new RecordingPublisher(e -> dev.outbox.spi.PublishOutcome.rejected("no"));
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).build()) {
            relay.runOnce();
        }
        List<DeadEvent> dead = ops.listDead(100);
        assertEquals(2, dead.size(), "both dead rows listed, the unreadable one too: " + dead);
        DeadEvent first = dead.get(0);
        assertTrue(first.readable());
        assertEquals(readable, first.event());
        DeadEvent unreadable = dead.get(1);
        assertFalse(unreadable.readable());
        assertNull(unreadable.event());
        assertEquals("6b1f2d3c-0000-4000-8000-000000000001", unreadable.id().toString());
        assertEquals("o2", unreadable.aggregateId());
        assertEquals("migrated", unreadable.type());
        assertEquals("{\"n\":2}", unreadable.payload());
        assertTrue(unreadable.headers().contains("\"retries\""), unreadable.headers());
        assertTrue(unreadable.unreadable().contains("retries"), unreadable.unreadable());
        assertTrue(unreadable.lastError().startsWith("unreadable row"), unreadable.lastError());
        assertEquals(1, ops.discardDead(List.of(unreadable.id())), "and can be discarded by its id");
    }

    @Test
    void theOldestPendingAgeSeesAnEventWaitingBehindEventsDelayedByADay() {
        for (int i = 0; i < 100; i++) {
            Event later = Event.of("reminder", "r" + i, "due", "{}");
            commit(db, c -> outbox.append(c, later, Duration.ofDays(1)));
        }
        Event waiting = Event.of("order", "o1", "placed", "{}");
        commit(db, c -> outbox.append(c, waiting));
        // It has waited 3 s, with no relay running.
        tdb.execute("UPDATE " + tdb.q(table) + " SET created_at = " + tdb.nowPlusSeconds(-3) + " WHERE id = '"
                + waiting.id() + "'");
        Duration age = ops.stats().oldestPendingAge();
        assertTrue(age.compareTo(Duration.ofSeconds(3)) >= 0 && age.compareTo(Duration.ofSeconds(10)) < 0,
                "the ordinary event's 3 s, not the delayed ones' nothing: " + age);
        assertEquals(101, ops.stats().pending());
    }

    @Test
    void aDelayedEventCountsFromWhenItIsDue() {
        Event soon = Event.of("reminder", "r", "due", "{}");
        commit(db, c -> outbox.append(c, soon, Duration.ofMillis(200)));
        assertEquals(Duration.ZERO, ops.stats().oldestPendingAge(), "not due yet: waiting for nothing");
        LeaseWitness.sleep(1_300);
        Duration age = ops.stats().oldestPendingAge();
        assertTrue(age.compareTo(Duration.ofMillis(900)) >= 0 && age.compareTo(Duration.ofSeconds(3)) < 0,
                "about 1.1 s since it was due: " + age);
    }

    @Test
    void aRelayDrivenByRunOnceReportsItsOwnHealth() {
        OutboxTable missing = OutboxTable.named("no_such_outbox_" + System.nanoTime());
        OutboxTable checked = table;
        try (JdbcRelay healthy = JdbcRelay.builder(db, new RecordingPublisher()).table(checked).build();
             JdbcRelay broken = JdbcRelay.builder(db, new RecordingPublisher()).table(missing).build()) {
            OutboxHealth good = OutboxHealth.builder(healthy, ops).maxSinceLastSuccess(Duration.ofSeconds(1)).build();
            OutboxHealth bad = OutboxHealth.builder(broken, ops).maxSinceLastSuccess(Duration.ofSeconds(1)).build();
            healthy.runOnce();
            assertEquals(OutboxHealth.Status.UP, good.check().status(), good.check().reasons().toString());
            assertThrows(OutboxException.class, broken::runOnce);
            OutboxHealth.Report failing = bad.check();
            assertEquals(OutboxHealth.Status.DEGRADED, failing.status(), failing.reasons().toString());
            assertTrue(failing.reasons().get(0).contains("runOnce or drain passes failed"), failing.reasons().get(0));
            LeaseWitness.sleep(1_100);
            assertThrows(OutboxException.class, broken::runOnce);
            OutboxHealth.Report down = bad.check();
            assertEquals(OutboxHealth.Status.DOWN, down.status(), down.reasons().toString());
            assertTrue(down.reasons().get(0).contains("no runOnce or drain has succeeded"), down.reasons().get(0));
            assertEquals(2, broken.runs().consecutiveFailures());
            LeaseWitness.sleep(1_100);
            assertEquals(OutboxHealth.Status.DOWN, good.check().status(), "no pass for longer than allowed");
            healthy.drain(Duration.ofSeconds(1));
            assertEquals(OutboxHealth.Status.UP, good.check().status(), "a drain is a pass");
        }
    }

    @Test
    void countsAboveTheExactLimitFollowAPublishAtOnce() {
        // 20,000 appended, 5,000 of them published: the count is read fresh, not from statistics of the table's last
        // vacuum (which said 98,340 for 90,000 right after such a drain).
        for (int tx = 0; tx < 20; tx++) {
            List<Event> batch = new java.util.ArrayList<>();
            for (int i = 0; i < 1_000; i++) {
                batch.add(Event.of("order", "o" + (tx * 1_000 + i), "placed", "{}"));
            }
            commit(db, c -> outbox.appendAll(c, batch));
        }
        try (JdbcRelay relay = JdbcRelay.builder(db, new RecordingPublisher()).table(table).batchSize(500).build()) {
            for (int i = 0; i < 10; i++) {
                assertEquals(500, relay.runOnce().published());
            }
        }
        OutboxStats stats = ops.stats();
        assertFalse(stats.exact());
        assertTrue(Math.abs(stats.pending() - 15_000) <= 750, "within 5 % of the 15,000 pending: " + stats);
    }

    @Test
    void deadAndReadyCountsAboveTheLimitAreEstimatedEachFromItsOwnSample() {
        // 3,000 dead events, then 3,000 ready ones: both counts pass the exact limit in the same call, and each
        // sample lies in a range holding only its kind, so that each estimate is the truth and a sample read for the
        // other kind would be far off.
        for (String kind : List.of("d", "r")) {
            for (int tx = 0; tx < 3; tx++) {
                List<Event> batch = new java.util.ArrayList<>();
                for (int i = 0; i < 1_000; i++) {
                    batch.add(Event.of("order", kind + (tx * 1_000 + i), "placed", "{}"));
                }
                commit(db, c -> outbox.appendAll(c, batch));
            }
            if (kind.equals("d")) {
                tdb.execute("UPDATE " + tdb.q(table) + " SET dead_at = " + tdb.now() + ", attempts = 1");
            }
        }
        OutboxStats stats = ops.stats();
        assertFalse(stats.exact(), stats.toString());
        assertTrue(Math.abs(stats.pending() - 3_000) <= 150, "within 5 % of the 3,000 pending: " + stats);
        assertTrue(Math.abs(stats.dead() - 3_000) <= 150, "within 5 % of the 3,000 dead: " + stats);
    }
}
