package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static dev.outbox.testing.Transactions.queryLong;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.outbox.Event;
import dev.outbox.RelayLoop;
import dev.outbox.RelayResult;
import dev.outbox.RetryPolicy;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.testing.RecordingPublisher;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Events a claim cannot take (held behind a dead or backing-off event of their aggregate, or not due) are parked out
 * of the claim's walk, and come back exactly when they can move: nothing is lost, nothing is reordered.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class ParkingTest extends EachDatabase {

    ParkingTest(TestDb tdb) {
        super(tdb);
    }

    OutboxTable table;
    JdbcOutbox outbox;
    /** The parked_until of an event held back by an earlier one of its aggregate. */
    String forever;

    @BeforeEach
    void newTable() {
        table = tdb.newTable();
        outbox = JdbcOutbox.create(table);
        forever = tdb.mysqlFamily() ? MySqlStatements.FOREVER : "'infinity'";
    }

    long parked(String condition) {
        return queryLong(db, "SELECT count(*) FROM " + tdb.q(table) + " WHERE "
                + condition.replace("'infinity'", forever));
    }

    List<Event> appendAll(String aggregateId, int count) {
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            events.add(Event.of("order", aggregateId, "step", "{\"n\":" + i + "}"));
        }
        commit(db, c -> outbox.appendAll(c, events));
        return events;
    }

    static List<UUID> ids(List<Event> events) {
        return events.stream().map(Event::id).toList();
    }

    final RecordingPublisher poisonRejecting = new RecordingPublisher(
            e -> e.type().equals("poison") ? PublishOutcome.rejected("bad") : PublishOutcome.published());

    /** Appends an event {@link #poisonRejecting} rejects, so that it goes dead at its first claim. */
    Event appendPoison(String aggregateId) {
        Event poison = Event.of("order", aggregateId, "poison", "{}");
        commit(db, c -> outbox.append(c, poison));
        return poison;
    }

    @Test
    void eventsBehindADeadEventAreParkedOnceAndComeBackInOrderWhenItIsRequeued() {
        Event poison = appendPoison("A");
        try (JdbcRelay relay = JdbcRelay.builder(db, poisonRejecting).table(table).batchSize(100).build()) {
            assertEquals(1, relay.runOnce().dead());
            List<Event> followers = appendAll("A", 1200);
            List<Event> others = appendAll("B", 30);

            RelayResult first = relay.drain(Duration.ofSeconds(10));
            assertEquals(30, first.published(), "B goes; A waits behind its dead event");
            assertEquals(1200, parked("parked_until = 'infinity'"), "every follower of A is parked at once");
            assertEquals(0, parked("published_at IS NULL AND dead_at IS NULL AND parked_until IS NULL"),
                    "nothing is left in the claim's walk");
            assertEquals(RelayResult.EMPTY, relay.runOnce());

            poisonRejecting.decide(e -> PublishOutcome.published());
            assertEquals(1, new OutboxOperations(db, table).requeueDead(List.of(poison.id())));
            assertEquals(0, parked("parked_until IS NOT NULL"), "requeueing releases what it held back");
            relay.drain(Duration.ofSeconds(30));

            List<UUID> expected = new ArrayList<>(List.of(poison.id()));
            expected.addAll(ids(followers));
            assertEquals(expected, ids(poisonRejecting.deliveriesOf("order", "A")));
            assertEquals(ids(others), ids(poisonRejecting.deliveriesOf("order", "B")));
        }
    }

    @Test
    void discardingTheDeadEventReleasesItsFollowers() {
        Event poison = appendPoison("A");
        try (JdbcRelay relay = JdbcRelay.builder(db, poisonRejecting).table(table).build()) {
            relay.runOnce();
            List<Event> followers = appendAll("A", 5);
            relay.runOnce();
            assertEquals(5, parked("parked_until = 'infinity'"));
            assertEquals(1, new OutboxOperations(db, table).discardDead(List.of(poison.id())));
            assertEquals(0, parked("parked_until IS NOT NULL"));
            relay.drain(Duration.ofSeconds(10));
            assertEquals(ids(followers), ids(poisonRejecting.deliveriesOf("order", "A")));
        }
    }

    @Test
    void eventsBehindABackingOffEventMoveRightAfterItIsPublishedAndInOrder() throws Exception {
        List<Event> head = appendAll("A", 1);
        RecordingPublisher publisher = new RecordingPublisher(e -> PublishOutcome.retry("broker hiccup"));
        RetryPolicy quick = RetryPolicy.builder().initialDelay(Duration.ofMillis(300)).jitter(0).build();
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).retryPolicy(quick).build()) {
            assertEquals(1, relay.runOnce().retried());
            assertEquals(1, parked("parked_until IS NOT NULL AND parked_until < 'infinity'"), "parked until its retry");
            List<Event> followers = appendAll("A", 50);
            assertEquals(RelayResult.EMPTY, relay.runOnce());
            assertEquals(50, parked("parked_until = 'infinity'"));

            publisher.decide(e -> PublishOutcome.published());
            Thread.sleep(400);
            RelayResult retry = relay.runOnce();
            assertEquals(1, retry.published(), "only the head is claimed; its followers stay parked until it is out");
            assertTrue(retry.moreWaiting(), "publishing it released its followers, so the relay claims again at once");
            // On PostgreSQL the next share (what a batch sends of one aggregate: 10 here), the rest as those go out.
            assertEquals(tdb.database() == Database.POSTGRESQL ? 40 : 0, parked("parked_until IS NOT NULL"));
            relay.drain(Duration.ofSeconds(10));
            List<UUID> expected = new ArrayList<>(ids(head));
            expected.addAll(ids(followers));
            assertEquals(expected, ids(publisher.deliveriesOf("order", "A")));
        }
    }

    @Test
    void aDelayedEventIsParkedUntilDueAndHoldsBackItsAggregate() throws Exception {
        Event later = Event.of("order", "A", "reminder", "{}");
        commit(db, c -> outbox.append(c, later, Duration.ofMillis(400)));
        assertEquals(1, parked("parked_until IS NOT NULL AND parked_until < 'infinity'"), "parked at append");
        List<Event> after = appendAll("A", 3);
        RecordingPublisher publisher = new RecordingPublisher();
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).build()) {
            assertEquals(RelayResult.EMPTY, relay.runOnce());
            assertEquals(3, parked("parked_until = 'infinity'"));
            Thread.sleep(500);
            relay.drain(Duration.ofSeconds(10));
        }
        List<UUID> expected = new ArrayList<>(List.of(later.id()));
        expected.addAll(ids(after));
        assertEquals(expected, ids(publisher.deliveries()));
    }

    @Test
    void anEventLeftParkedWithNothingHoldingItBackIsReleasedByTheSweep() {
        List<Event> stranded = appendAll("A", 2);
        // What a claim that lost a race with the publishing of the event ahead would leave behind.
        tdb.execute("UPDATE " + tdb.q(table) + " SET parked_until = " + forever);
        RecordingPublisher publisher = new RecordingPublisher();
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).build()) {
            relay.drain(Duration.ofSeconds(10)); // a relay sweeps on its first claim, then every minute
        }
        assertEquals(ids(stranded), ids(publisher.deliveries()));
    }

    @Test
    void anEventLeftParkedWhileTheRelayRunsIsReleasedWithinSecondsOnceTheRelayFindsNothingElse() throws Exception {
        RecordingPublisher publisher = new RecordingPublisher();
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).pollInterval(Duration.ofMillis(50))
                .build()) {
            RelayLoop loop = relay.start(thread); // its first claim sweeps; the next sweep is a minute away
            Thread.sleep(500);
            List<Event> stranded = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                stranded.add(Event.of("order", "A", "step", "{\"n\":" + i + "}"));
            }
            // Appended and left parked in one transaction: what a claim that lost a race with the publishing of the
            // event ahead leaves behind, never ready in between.
            commit(db, c -> {
                outbox.appendAll(c, stranded);
                try (Statement s = c.createStatement()) {
                    s.executeUpdate("UPDATE " + tdb.q(table) + " SET parked_until = " + forever);
                }
            });
            long started = System.nanoTime();
            while (publisher.deliveries().size() < 2 && System.nanoTime() - started < 20_000_000_000L) {
                Thread.sleep(50);
            }
            long seconds = (System.nanoTime() - started) / 1_000_000_000;
            assertTrue(loop.stop(Duration.ofSeconds(10)));
            assertEquals(ids(stranded), ids(publisher.deliveries()), "published in order after " + seconds + " s");
            assertTrue(seconds < 20, "released by the idle relay's look, not the minute sweep: " + seconds + " s");
        } finally {
            thread.shutdownNow();
        }
    }

    @Test
    void statsAreExactUpToTheLimitAndAnEstimateAboveIt() {
        OutboxOperations ops = new OutboxOperations(db, table);
        appendAll("A", 100);
        OutboxStats small = ops.stats();
        assertTrue(small.exact());
        assertEquals(100, small.pending());

        appendAll("B", OutboxOperations.EXACT_COUNT_LIMIT - 100);
        OutboxStats counted = ops.stats();
        assertTrue(counted.exact(), "1,000 ready events are counted: " + counted);
        assertEquals(OutboxOperations.EXACT_COUNT_LIMIT, counted.pending());

        for (int i = 0; i < 5; i++) {
            appendAll("C" + i, 1000);
        }
        // Publish one in three of the newest events, so that the estimate's sample meets a mix.
        tdb.execute("UPDATE " + tdb.q(table) + " SET published_at = " + tdb.now()
                + " WHERE position % 3 = 0 AND aggregate_id LIKE 'C%'");
        long truth = OutboxOperations.EXACT_COUNT_LIMIT + 5000 - 5000 / 3;
        OutboxStats large = ops.stats();
        assertFalse(large.exact(), "past the oldest 1,000 the count is estimated: " + large);
        assertTrue(Math.abs(large.pending() - truth) <= truth / 20, "within 5 % of " + truth + ": " + large);
    }

    @Test
    void anOlderTableIsMigratedInPlaceAndKeepsItsEvents() throws Exception {
        assumeFalse(tdb.mysqlFamily(), "PostgreSQL's migration; MySQL's below");
        String t = table.qualifiedName();
        String n = table.name();
        // The table as the earlier version created it.
        for (String sql : List.of(
                "DROP SEQUENCE " + table.wakeSequenceQualifiedName(),
                "DROP SEQUENCE " + table.reentrySequenceQualifiedName(), "DROP TABLE " + table.reentriesQualifiedName(),
                "DROP INDEX \"" + n + "_set_aside\"",
                "DROP INDEX \"" + n + "_ready\"", "DROP INDEX \"" + n + "_parked\"",
                "DROP INDEX \"" + n + "_pending_since\"", "DROP INDEX \"" + n + "_dead\"",
                "ALTER TABLE " + t + " DROP COLUMN parked_until",
                "CREATE INDEX \"" + n + "_pending\" ON " + t + " (position) WHERE published_at IS NULL AND dead_at IS NULL",
                "INSERT INTO " + t + " (id, aggregate_type, aggregate_id, event_type, payload, occurred_at)"
                        + " VALUES (gen_random_uuid(), 'order', 'A', 'placed', '{\"old\":true}', now())")) {
            tdb.execute(sql);
        }
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(false);
            java.sql.SQLException e = org.junit.jupiter.api.Assertions.assertThrows(java.sql.SQLException.class,
                    () -> outbox.append(c, Event.of("order", "A", "placed", "{}")));
            assertTrue(e.getMessage().contains("OutboxSchema.migrate"), e.getMessage());
            c.rollback();
        }
        OutboxSchema.migrate(db, table);
        OutboxSchema.migrate(db, table); // again: harmless
        try (Connection c = db.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT indexname FROM pg_indexes WHERE tablename = '" + n + "' ORDER BY 1")) {
            List<String> indexes = new ArrayList<>();
            while (rs.next()) {
                indexes.add(rs.getString(1));
            }
            assertEquals(List.of(n + "_dead", n + "_id_key", n + "_parked", n + "_pending_since", n + "_pkey",
                    n + "_published_at", n + "_ready", n + "_set_aside", n + "_unpublished_by_aggregate"), indexes);
        }
        RecordingPublisher publisher = new RecordingPublisher();
        commit(db, c -> outbox.append(c, Event.of("order", "A", "placed", "{\"new\":true}")));
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).build()) {
            relay.drain(Duration.ofSeconds(10));
        }
        assertEquals(List.of("{\"old\":true}", "{\"new\":true}"), publisher.payloads());
    }

    @Test
    void anOlderMySqlTableIsMigratedInPlaceAndKeepsItsEvents() throws Exception {
        assumeTrue(tdb.mysqlFamily(), "MySQL's and MariaDB's migration; PostgreSQL's above");
        String t = tdb.q(table);
        String n = table.name();
        // The table as the earlier version created it, with an event pending.
        for (String sql : List.of(
                "ALTER TABLE " + t + " DROP INDEX " + n + "_ready, DROP INDEX " + n + "_parked,"
                        + " DROP INDEX " + n + "_pending_since, DROP COLUMN parked_until,"
                        + " ADD INDEX " + n + "_pending (published_at, dead_at, position)",
                "INSERT INTO " + t + " (id, aggregate_type, aggregate_id, event_type, payload, occurred_at)"
                        + " VALUES (UUID(), 'order', 'A', 'placed', '{\"old\":true}', UTC_TIMESTAMP(6))")) {
            tdb.execute(sql);
        }
        try (JdbcRelay relay = JdbcRelay.builder(db, new RecordingPublisher()).table(table).build()) {
            dev.outbox.OutboxException e = org.junit.jupiter.api.Assertions.assertThrows(
                    dev.outbox.OutboxException.class, relay::runOnce);
            assertTrue(e.getMessage().contains("OutboxSchema.migrate"), e.getMessage());
        }
        OutboxSchema.migrate(db, table);
        OutboxSchema.migrate(db, table); // again: harmless
        assertEquals(3, OutboxSchema.mysqlParkingMigration(table).size());
        List<String> indexes = new ArrayList<>();
        try (Connection c = db.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS"
                     + " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '" + n + "' ORDER BY 1")) {
            while (rs.next()) {
                indexes.add(rs.getString(1));
            }
        }
        assertEquals(List.of("PRIMARY", n + "_by_aggregate", n + "_dead", n + "_id_key", n + "_parked",
                n + "_pending_since", n + "_ready"), indexes);
        RecordingPublisher publisher = new RecordingPublisher();
        commit(db, c -> outbox.append(c, Event.of("order", "A", "placed", "{\"new\":true}")));
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).build()) {
            relay.drain(Duration.ofSeconds(10));
        }
        assertEquals(List.of("{\"old\":true}", "{\"new\":true}"), publisher.payloads());
    }
}
