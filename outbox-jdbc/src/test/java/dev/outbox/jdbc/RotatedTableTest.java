package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.testing.RecordingPublisher;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A rotated table: appends go to one partition at a time, and purge empties with TRUNCATE the partitions appends
 * have left once their events were all published longer ago than the retention, giving the space back while a
 * snapshot holds the horizon; and never empties one that holds an unpublished event, or that a transaction could
 * still append to or is reading.
 */
class RotatedTableTest {

    private final TestDb tdb = TestDb.POSTGRESQL_ROTATED;
    private final ExecutorService other = Executors.newCachedThreadPool();
    private DataSource db;
    private OutboxTable table;
    private JdbcOutbox outbox;
    private OutboxOperations ops;
    private RecordingPublisher publisher;
    private JdbcRelay relay;

    @BeforeEach
    void newTable() {
        assumeTrue(tdb.unavailable() == null, tdb::unavailable);
        db = tdb.dataSource();
        table = tdb.newTable();
        outbox = JdbcOutbox.create(table);
        ops = new OutboxOperations(db, table);
        publisher = new RecordingPublisher();
        relay = JdbcRelay.builder(db, publisher).table(table).build();
    }

    @AfterEach
    void stop() {
        if (relay != null) {
            relay.close();
        }
        other.shutdownNow();
    }

    @Test
    void purgeEmptiesWhatAppendsLeftAndGivesTheSpaceBackWhileASnapshotIsHeld() throws Exception {
        try (Connection pin = db.getConnection()) {
            pin.setAutoCommit(false);
            pin.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (Statement s = pin.createStatement()) {
                s.execute("SELECT count(*) FROM pg_class"); // holds the horizon, as a report elsewhere would
            }
            List<Event> first = append("a", 300);
            assertEquals(300, count(0), "appends go to the first partition");
            assertEquals(300, relay.drain(Duration.ofSeconds(30)).published());
            assertEquals(0, ops.purgePublished(Duration.ofHours(1), 1000), "nothing older than the retention");
            assertEquals(1, slot(), "appends move to the next, empty partition");
            List<Event> second = append("a", 200);
            assertEquals(200, count(1));
            assertEquals(200, relay.drain(Duration.ofSeconds(30)).published());
            long before = size(0);
            assertTrue(before > 0);

            assertEquals(500, ops.purgePublished(Duration.ZERO, 1000),
                    "the first partition emptied whole (300), the second row by row (200)");
            assertEquals(0, size(0), "its space is back although the snapshot still holds the horizon");
            assertTrue(size(1) > 0, "the rows deleted from the second stay until vacuum can remove them");
            assertEquals(2, slot(), "appends move to the next empty partition");
            pin.rollback();
            List<Event> all = new ArrayList<>(first);
            all.addAll(second);
            assertEquals(all.stream().map(Event::id).toList(),
                    publisher.deliveries().stream().map(Event::id).toList(), "published once each, in order");
        }
    }

    @Test
    void aPartitionWithAnUnpublishedEventIsKeptUntilItIsPublished() throws Exception {
        publisher.decide(e -> e.payload().contains("\"n\":3") ? PublishOutcome.rejected("poison")
                : PublishOutcome.published());
        List<Event> first = append("a", 10); // n = 3 dies; 4 to 9 wait behind it
        relay.drain(Duration.ofSeconds(30));
        assertEquals(1, ops.stats().dead());
        ops.purgePublished(Duration.ZERO, 1000); // moves to partition 1
        ops.purgePublished(Duration.ZERO, 1000);
        assertEquals(1, slot());
        assertEquals(7, count(0), "the dead event and the six behind it stay, with their partition");
        assertEquals(0, ops.purgePublished(Duration.ZERO, 1000));

        publisher.decide(e -> PublishOutcome.published());
        assertEquals(1, ops.requeueAllDead());
        assertEquals(7, relay.drain(Duration.ofSeconds(30)).published());
        append("b", 1);
        assertEquals(1, relay.drain(Duration.ofSeconds(30)).published());
        ops.purgePublished(Duration.ZERO, 1000);
        assertEquals(0, size(0), "emptied once everything in it is published");
        List<String> delivered = publisher.deliveries().stream().map(Event::aggregateId).toList();
        assertEquals(11, delivered.size());
        assertEquals(first.stream().map(Event::id).filter(id -> !id.equals(first.get(3).id())).limit(3).toList(),
                publisher.deliveries().stream().map(Event::id).limit(3).toList());
    }

    @Test
    void anAppendOpenAcrossTheMoveKeepsItsPartitionUntilItEnds() throws Exception {
        append("a", 5);
        relay.drain(Duration.ofSeconds(30));
        try (Connection late = db.getConnection()) {
            late.setAutoCommit(false);
            Event event = event("late", 0);
            outbox.append(late, event); // in partition 0, not committed
            assertEquals(5, ops.purgePublished(Duration.ZERO, 1000), "the published ones purged row by row");
            assertEquals(1, slot(), "appends moved on");
            long started = System.nanoTime();
            assertEquals(0, ops.purgePublished(Duration.ZERO, 1000));
            assertTrue(size(0) > 0, "not emptied while a transaction that appended to it is open");
            assertTrue(System.nanoTime() - started < PartitionRotation.SETTLE.toNanos() + 3_000_000_000L,
                    "the purge waits a bounded time for it");

            // It commits while the next purge waits for it: that purge sees its event and keeps the partition.
            Future<?> commit = other.submit(() -> {
                Thread.sleep(300);
                late.commit();
                return null;
            });
            ops.purgePublished(Duration.ZERO, 1000);
            commit.get(10, TimeUnit.SECONDS);
            assertTrue(size(0) > 0);
            assertEquals(1, relay.drain(Duration.ofSeconds(30)).published());
            assertEquals(event.id(), publisher.deliveries().get(5).id(), "the late event is published");
            ops.purgePublished(Duration.ZERO, 1000);
            assertEquals(0, size(0), "emptied once it is published");
        }
    }

    @Test
    void aTransactionReadingThePartitionDelaysItsEmptyingNotTheAppends() throws Exception {
        append("a", 20);
        relay.drain(Duration.ofSeconds(30));
        ops.purgePublished(Duration.ofHours(1), 1000); // moves appends to partition 1
        try (Connection reader = db.getConnection()) {
            reader.setAutoCommit(false);
            try (Statement s = reader.createStatement()) {
                s.execute("SELECT count(*) FROM " + table.qualifiedName()); // a report on the outbox table
            }
            Future<?> appending = other.submit(() -> {
                for (int i = 0; i < 20; i++) {
                    append("b", 1);
                }
                return null;
            });
            long started = System.nanoTime();
            assertEquals(20, ops.purgePublished(Duration.ZERO, 1000), "purged row by row meanwhile");
            assertTrue(System.nanoTime() - started < 5_000_000_000L, "the purge does not wait for the reader");
            appending.get(30, TimeUnit.SECONDS);
            assertTrue(size(0) > 0, "not emptied while the reader holds its lock");
            reader.rollback();
        }
        ops.purgePublished(Duration.ZERO, 1000);
        assertEquals(0, size(0), "emptied once the reader is gone");
        assertEquals(20, relay.drain(Duration.ofSeconds(30)).published());
    }

    @Test
    void aPurgeKilledWhileItWaitsForThePartitionLosesNothing() throws Exception {
        append("a", 10);
        relay.drain(Duration.ofSeconds(30));
        ops.purgePublished(Duration.ofHours(1), 1000);
        append("b", 10); // pending, in partition 1
        try (Connection reader = db.getConnection()) {
            reader.setAutoCommit(false);
            try (Statement s = reader.createStatement()) {
                s.execute("SELECT count(*) FROM " + table.qualifiedName());
            }
            Future<Long> purge = other.submit(() -> ops.purgePublished(Duration.ZERO, 1000));
            // Kill the purge's session as soon as it waits for the first partition's lock.
            long deadline = System.nanoTime() + 10_000_000_000L;
            long killed = 0;
            while (killed == 0 && System.nanoTime() < deadline) {
                killed = tdb.queryLong("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        + " WHERE query LIKE 'LOCK TABLE%' AND wait_event_type = 'Lock'");
            }
            assertEquals(1, killed, "the purge was caught waiting for the lock");
            assertThrows(Exception.class, () -> purge.get(10, TimeUnit.SECONDS));
            reader.rollback();
        }
        assertEquals(20, count(0) + count(1), "nothing lost: the ten published and the ten pending");
        assertEquals(10, relay.drain(Duration.ofSeconds(30)).published());
        assertEquals(20, publisher.deliveries().size());
    }

    @Test
    void anIdIsRefusedAgainWithinItsPartitionOnly() throws Exception {
        Event event = event("a", 0);
        commit(db, c -> outbox.append(c, event));
        assertThrows(IllegalStateException.class, () -> commit(db, c -> outbox.append(c, event)));
        assertEquals(1, count(0));
        // Once appends have moved, the partition the id is in is not looked at (as the README says).
        ops.purgePublished(Duration.ofHours(1), 1000);
        commit(db, c -> outbox.append(c, event));
        assertEquals(1, count(1));
    }

    @Test
    void theSchemaIsForPostgreSqlAndPrintsAsItIsCreated() {
        assertTrue(OutboxSchema.postgresRotated(table).contains("PARTITION BY LIST (slot)"));
        assertFalse(OutboxSchema.postgresRotated(table).contains("${"));
        OutboxSchema.createRotated(db, table); // again: harmless
        OutboxSchema.migrate(db, table); // nothing to bring up to date
        assertEquals(4, tdb.queryLong("SELECT count(*) FROM pg_inherits WHERE inhparent = '"
                + table.qualifiedName() + "'::regclass"));
        TestDb mariadb = TestDb.MARIADB;
        if (mariadb.unavailable() == null) {
            assertThrows(InvalidConfigurationException.class,
                    () -> OutboxSchema.createRotated(mariadb.dataSource(), table));
        }
        assertEquals(0, slot());
    }

    @Test
    void itHasThePlainTablesColumnsAndIndexes() {
        OutboxTable plain = OutboxTable.named(dev.outbox.testing.TestDatabase.uniqueName("t"));
        OutboxSchema.create(db, plain); // the rotated resource must not drift from this one
        String columns = "SELECT string_agg(column_name || ' ' || data_type || ' ' || is_nullable || ' '"
                + " || coalesce(column_default, '-'), ', ' ORDER BY ordinal_position) FROM information_schema.columns"
                + " WHERE table_name = '%s' AND column_name <> 'slot'";
        assertEquals(tdb.queryString(columns.formatted(plain.name())),
                tdb.queryString(columns.formatted(table.name())), "the two resources' columns");
        String indexes = "SELECT string_agg(replace(replace(indexdef, '%1$s', 'T'), ' ONLY ', ' '), ' / '"
                + " ORDER BY indexname) FROM pg_indexes"
                + " WHERE tablename = '%1$s' AND indexname NOT LIKE '%%pkey' AND indexname NOT LIKE '%%id_key'";
        String plainIndexes = tdb.queryString(indexes.formatted(plain.name()));
        assertEquals(7, plainIndexes.split(" / ").length, plainIndexes);
        assertEquals(plainIndexes, tdb.queryString(indexes.formatted(table.name())), "the two resources' indexes");
    }

    private List<Event> append(String aggregate, int n) {
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            events.add(event(aggregate, i));
        }
        commit(db, c -> outbox.appendAll(c, events));
        return events;
    }

    private static Event event(String aggregate, int n) {
        return Event.builder().aggregate("thing", aggregate).type("changed").payload("{\"n\":" + n + "}").build();
    }

    private long count(int slot) {
        return tdb.queryLong("SELECT count(*) FROM " + table.partitionQualifiedName(slot));
    }

    private long size(int slot) {
        return tdb.queryLong("SELECT pg_relation_size('" + table.partitionQualifiedName(slot) + "')");
    }

    private long slot() {
        return tdb.queryLong("SELECT coalesce(pg_sequence_last_value('" + table.slotSequenceQualifiedName()
                + "'), 0) % 4");
    }
}
