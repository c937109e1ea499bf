package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static dev.outbox.testing.Transactions.queryLong;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.outbox.Event;
import dev.outbox.OutboxException;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.testing.RecordingPublisher;
import dev.outbox.testing.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL claims walk from a floor (ClaimFloor) instead of the first position, so that the entries published events
 * leave in the ready index until vacuum removes them cost nothing, however long a transaction elsewhere holds the
 * horizon. Nothing may be left below the floor: an append that commits late, an event requeued or released by someone
 * else, an event made ready by hand.
 */
class HorizonTest {

    private final TestDb tdb = TestDb.POSTGRESQL;
    private DataSource db;
    private OutboxTable table;
    private JdbcOutbox outbox;

    @BeforeEach
    void newTable() {
        assumeTrue(tdb.unavailable() == null, tdb::unavailable);
        db = tdb.dataSource();
        table = tdb.newTable();
        outbox = JdbcOutbox.create(table);
    }

    private PostgresRelayStore store() {
        return new PostgresRelayStore(db, table, Ordering.PER_AGGREGATE, 100, JdbcRelay.DEFAULT_MAX_BATCH_BYTES,
                Integer.MAX_VALUE, Duration.ofSeconds(30));
    }

    private void append(String aggregate, int count) {
        commit(db, c -> {
            for (int i = 0; i < count; i++) {
                outbox.append(c, Event.of("order", aggregate, "step", "{\"n\":" + i + "}"));
            }
        });
    }

    /** Claims once and marks what it claimed published. @return the claimed events' aggregate ids, in order */
    private List<String> claimAndPublish(PostgresRelayStore store) throws SQLException {
        ClaimedBatch batch = store.claim("test", Duration.ofSeconds(30));
        List<Settlement> settlements = new ArrayList<>();
        List<String> aggregates = new ArrayList<>();
        for (ClaimedBatch.Row row : batch.rows()) {
            settlements.add(new Settlement(row, Settlement.Kind.PUBLISHED, 0, null));
            aggregates.add(row.aggregateId());
        }
        if (!settlements.isEmpty()) {
            store.record(batch.leaseToken(), settlements, new AtomicInteger());
        }
        return aggregates;
    }

    @Test
    void anAppendThatCommitsLateIsClaimedThoughLaterEventsRaisedTheFloor() throws Exception {
        PostgresRelayStore store = store();
        try (Connection late = db.getConnection()) {
            late.setAutoCommit(false);
            outbox.append(late, Event.of("order", "late", "step", "{}")); // its position is drawn now
            long latePosition;
            try (Statement s = late.createStatement();
                 ResultSet rs = s.executeQuery("SELECT position FROM " + table.qualifiedName())) {
                rs.next();
                latePosition = rs.getLong(1);
            }
            for (int round = 0; round < 6; round++) {
                append("busy-" + round, 5);
                claimAndPublish(store);
            }
            assertTrue(store.floor() <= latePosition,
                    "the floor stays below a writer's event while it writes: " + store.floor());
            late.commit();
        }
        List<String> claimed = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            claimed.addAll(claimAndPublish(store));
        }
        assertEquals(List.of("late"), claimed);
        assertEquals(0, pending());
    }

    @Test
    void theFloorRisesWhileNothingWrites() throws Exception {
        PostgresRelayStore store = store();
        for (int round = 0; round < 6; round++) {
            append("a" + round, 10);
            claimAndPublish(store);
        }
        assertTrue(store.floor() > 10, "the floor rose past published events: " + store.floor());
    }

    @Test
    void anEventRequeuedBelowTheFloorIsClaimedByTheNextClaimInOrderWithItsAggregate() throws Exception {
        RecordingPublisher poisonRejecting = new RecordingPublisher(
                e -> e.type().equals("poison") ? PublishOutcome.rejected("bad") : PublishOutcome.published());
        Event poison = Event.of("order", "A", "poison", "{}");
        Event follower = Event.of("order", "A", "step", "{}");
        commit(db, c -> outbox.appendAll(c, List.of(poison, follower)));
        try (JdbcRelay relay = JdbcRelay.builder(db, poisonRejecting).table(table).build()) {
            relay.drain(Duration.ofSeconds(10));
        }
        assertEquals(1, queryLong(db, "SELECT count(*) FROM " + table.qualifiedName() + " WHERE dead_at IS NOT NULL"));
        PostgresRelayStore store = store();
        for (int round = 0; round < 6; round++) {
            append("b" + round, 10);
            claimAndPublish(store);
        }
        long floor = store.floor();
        assertTrue(floor > queryLong(db, "SELECT max(position) FROM " + table.qualifiedName()
                + " WHERE aggregate_id = 'A'"), "the floor is past aggregate A: " + floor);

        new OutboxOperations(db, table).requeueDead(List.of(poison.id())); // another process, as far as the relay knows
        List<String> next = claimAndPublish(store);
        assertEquals(List.of("A", "A"), next, "the next claim walks from the requeued event and takes both, in order");
        long poisonAt = queryLong(db, "SELECT position FROM " + table.qualifiedName() + " WHERE event_type = 'poison'");
        assertEquals(poisonAt, store.floor(), "down to the position the re-entry log gave, not to the start");
        assertEquals(0, pending());
    }

    @Test
    void anEventMadeReadyAgainByATransactionThatCommitsLateIsClaimedOnceItCommits() throws Exception {
        RecordingPublisher poisonRejecting = new RecordingPublisher(
                e -> e.type().equals("poison") ? PublishOutcome.rejected("bad") : PublishOutcome.published());
        Event poison = Event.of("order", "R", "poison", "{}");
        Event follower = Event.of("order", "R", "step", "{}");
        commit(db, c -> outbox.appendAll(c, List.of(poison, follower)));
        try (JdbcRelay relay = JdbcRelay.builder(db, poisonRejecting).table(table).build()) {
            relay.drain(Duration.ofSeconds(10));
        }
        PostgresRelayStore store = store();
        for (int round = 0; round < 6; round++) {
            append("b" + round, 10);
            claimAndPublish(store);
        }
        long poisonAt = queryLong(db, "SELECT position FROM " + table.qualifiedName() + " WHERE event_type = 'poison'");
        assertTrue(store.floor() > poisonAt + 1, "the floor is past aggregate R: " + store.floor());
        try (Connection requeue = db.getConnection()) {
            // Another process requeues the dead event and releases its follower, drawing from the re-entry sequence,
            // and commits late.
            requeue.setAutoCommit(false);
            PostgresStatements statements = new PostgresStatements(table);
            try (java.sql.PreparedStatement s = requeue.prepareStatement(statements.requeueDeadByType)) {
                s.setString(1, "poison");
                s.executeQuery().close();
            }
            try (java.sql.PreparedStatement s = requeue.prepareStatement(statements.releaseBehind)) {
                s.setArray(1, requeue.createArrayOf("text", new String[] {"order"}));
                s.setArray(2, requeue.createArrayOf("text", new String[] {"R"}));
                s.executeQuery().close();
            }
            // Meanwhile this relay sees the draw and, walking from the start, sights the table again and again.
            for (int round = 0; round < 6; round++) {
                append("c" + round, 3);
                List<String> claimed = claimAndPublish(store);
                assertFalse(claimed.contains("R"), "not committed yet: " + claimed);
            }
            requeue.commit();
        }
        List<String> claimed = claimAndPublish(store);
        assertEquals(List.of("R", "R"), claimed, "both, in order, by the next claim, which reads the draw's row now");
        assertEquals(poisonAt, store.floor(), "the floor went down to where the requeue logged, not to the start");
        assertEquals(0, pending());
    }

    @Test
    void theReentryLogKeepsItsNewestRows() throws Exception {
        String log = table.reentriesQualifiedName();
        long rows = PostgresStatements.REENTRIES_KEPT + 500;
        commit(db, c -> {
            try (Statement s = c.createStatement()) {
                s.execute("INSERT INTO " + log + " (draw, position) SELECT g, g FROM generate_series(1, " + rows + ") g");
            }
        });
        PostgresRelayStore store = store();
        claimAndPublish(store); // the first claim sweeps
        assertEquals(PostgresStatements.REENTRIES_KEPT + 1, queryLong(db, "SELECT count(*) FROM " + log));
        assertEquals(rows - PostgresStatements.REENTRIES_KEPT, queryLong(db, "SELECT min(draw) FROM " + log));
        commit(db, c -> {
            try (Statement s = c.createStatement()) {
                s.execute("INSERT INTO " + log + " (draw, position) SELECT g, g FROM generate_series(" + (rows + 1)
                        + ", " + (rows + 200) + ") g");
            }
        });
        store.sweepAtNextClaim();
        claimAndPublish(store);
        assertEquals(PostgresStatements.REENTRIES_KEPT + 1, queryLong(db, "SELECT count(*) FROM " + log));
        assertEquals(rows + 200 - PostgresStatements.REENTRIES_KEPT, queryLong(db, "SELECT min(draw) FROM " + log));
    }

    @Test
    void anEventMadeReadyByHandIsFoundByTheSweep() throws Exception {
        append("x", 5);
        PostgresRelayStore store = store();
        claimAndPublish(store);
        for (int round = 0; round < 6; round++) {
            append("c" + round, 10);
            claimAndPublish(store);
        }
        // A hand-written update that draws nothing: the relay's sweep (once a minute, and at its first claim) walks
        // from the start.
        commit(db, c -> {
            try (Statement s = c.createStatement()) {
                s.execute("UPDATE " + table.qualifiedName() + " SET published_at = NULL"
                        + " WHERE aggregate_id = 'x'");
            }
        });
        long risen = store.floor();
        assertTrue(risen > 5);
        assertEquals(List.of(), claimAndPublish(store), "below the floor: not seen between sweeps");
        store.sweepAtNextClaim();
        List<String> claimed = claimAndPublish(store);
        assertEquals(5, claimed.stream().filter("x"::equals).count(), "claimed: " + claimed);
        assertTrue(store.floor() <= 5, "the sweep took the floor down to them: " + store.floor());
    }

    @Test
    void aSweepThatFindsNothingBelowTheFloorLeavesIt() throws Exception {
        append("x", 5);
        PostgresRelayStore store = store();
        for (int round = 0; round < 6; round++) {
            append("c" + round, 10);
            claimAndPublish(store);
        }
        long risen = store.floor();
        assertTrue(risen > 5, "risen: " + risen);
        append("d", 3);
        store.sweepAtNextClaim();
        assertEquals(List.of("d", "d", "d"), claimAndPublish(store));
        assertTrue(store.floor() >= risen, "the claims go on from where they were, with no climb back to do: "
                + store.floor() + " < " + risen);
    }

    @Test
    void underAPinnedHorizonTheClaimDoesNotWalkWhatWasPublished() throws Exception {
        PostgresRelayStore store = store();
        try (Connection pin = pinAndPublish(store)) {
            append("last", 1);
            long fromFloor = claimBuffers(store.floor());
            long fromStart = claimBuffers(0);
            assertTrue(fromFloor * 10 < fromStart, "a claim from the floor read " + fromFloor
                    + " buffers, from the start " + fromStart);
            pin.rollback();
        }
    }

    @Test
    void underAPinnedHorizonTheCheckForSetAsideEventsDoesNotWalkTheAggregatesHistory() throws Exception {
        // The index of set-aside events left with many pages for its few rows (60 dead events), as events parked for
        // a retry and unparked leave it, beside few unpublished events: the statistics under which the planner took
        // the index of unpublished events by aggregate for the look at set-aside ones, and walked each aggregate's
        // whole history for each candidate (275,656 buffers against 2,564 when the look matched both indexes).
        String t = table.qualifiedName();
        for (String sql : List.of("INSERT INTO " + t + " (id, aggregate_type, aggregate_id, event_type, payload,"
                        + " occurred_at, parked_until) SELECT gen_random_uuid(), 'order', 'b' || (i % 1000), 'step',"
                        + " '{}', now(), 'infinity' FROM generate_series(1, 30000) i",
                "UPDATE " + t + " SET parked_until = NULL, published_at = now() WHERE position NOT IN"
                        + " (SELECT position FROM " + t + " ORDER BY position LIMIT 60)",
                "UPDATE " + t + " SET parked_until = NULL, dead_at = now() WHERE published_at IS NULL",
                "VACUUM " + t)) {
            tdb.execute(sql); // on a connection of its own, in autocommit (as VACUUM must run)
        }
        PostgresRelayStore store = store();
        try (Connection pin = pinAndPublish(store)) {
            append("p3", 100); // events of an aggregate with 1,400 published under the pinned horizon
            tdb.execute("ANALYZE " + t);
            long withHistory = claimBuffers(store.floor());
            tdb.execute("UPDATE " + t + " SET published_at = now() WHERE aggregate_id = 'p3' AND published_at IS NULL");
            append("fresh", 100); // and of one without
            long without = claimBuffers(store.floor());
            assertTrue(withHistory < without * 3, "a claim of events with their aggregate's history behind them read "
                    + withHistory + " buffers, of events without " + without);
            pin.rollback();
        }
    }

    @Test
    void underAPinnedHorizonARecordLooksForHeldEventsByAggregateInTheSetAsideIndexOnly() throws Exception {
        // Under a held horizon the parked and held indexes keep an entry for every event ever parked 'infinity', of
        // every aggregate. The record's looks for each published aggregate's held events also fitted the parked index
        // (keyed by parked_until), which the planner took in benchmark 12 and read all of those entries for each
        // aggregate.
        String t = table.qualifiedName();
        PostgresRelayStore store = new PostgresRelayStore(db, table, Ordering.PER_AGGREGATE, 100,
                JdbcRelay.DEFAULT_MAX_BATCH_BYTES, 10, Duration.ofSeconds(30));
        try (Connection pin = pin()) {
            tdb.execute("INSERT INTO " + t + " (id, aggregate_type, aggregate_id, event_type, payload, occurred_at,"
                    + " parked_until) SELECT gen_random_uuid(), 'order', 'h' || (i % 1000), 'step', '{}', now(),"
                    + " 'infinity' FROM generate_series(1, 20000) i");
            tdb.execute("UPDATE " + t + " SET parked_until = NULL, published_at = now()");
            for (int a = 0; a < 50; a++) {
                append("h" + a, 1);
            }
            tdb.execute("ANALYZE " + t);
            ClaimedBatch batch = store.claim("test", Duration.ofSeconds(30));
            assertEquals(50, batch.size());
            String plan = ClaimPlans.explainRecord(db, new PostgresStatements(table).recordPublished(10), batch);
            assertFalse(plan.contains(table.name() + "_parked\""), "the record reads " + table.name() + "_parked");
            long read = buffers(plan);
            assertTrue(read < 5_000, "the record of 50 events read " + read + " buffers");
            pin.rollback();
        }
    }

    @Test
    void underAPinnedHorizonTheWalkBelowTheFloorGoesInSlicesAndFindsAnEventMadeReadyByHand() throws Exception {
        PostgresRelayStore store = store();
        try (Connection pin = pinAndPublish(store)) {
            while (store.sweeping()) {
                claimAndPublish(store); // the walk begun at the first claim ends at the floor
            }
            long position = queryLong(db, "SELECT position FROM " + table.qualifiedName()
                    + " ORDER BY position OFFSET 8000 LIMIT 1");
            commit(db, c -> {
                try (Statement s = c.createStatement()) {
                    s.execute("UPDATE " + table.qualifiedName() + " SET published_at = NULL, aggregate_id = 'hand'"
                            + " WHERE position = " + position);
                }
            });
            assertTrue(store.floor() > position, "below the floor: " + store.floor());
            store.sweepAtNextClaim();
            int claims = 0;
            List<String> claimed = List.of();
            while (claimed.isEmpty() && claims < 200) {
                claimed = claimAndPublish(store);
                claims++;
            }
            assertEquals(List.of("hand"), claimed);
            // The span at most doubles from its first 1,024 positions: the walk needs four slices at least to reach
            // position 8,001, one beside each claim.
            assertTrue(claims >= 4, "found by the claim after slice " + claims);
            assertEquals(0, pending());
            for (int i = 0; i < 4; i++) {
                claimAndPublish(store);
            }
            assertTrue(store.floor() > position, "the floor rose again: " + store.floor());
            pin.rollback();
        }
    }

    /**
     * Takes a REPEATABLE READ snapshot on a connection of its own, which holds the database's horizon, then appends and
     * publishes 40 rounds of 250 events (7 aggregates) with {@code store}.
     *
     * @return the pinning connection, its transaction open: the caller rolls it back and closes it
     */
    private Connection pinAndPublish(PostgresRelayStore store) throws SQLException {
        Connection pin = pin();
        try {
            for (int round = 0; round < 40; round++) {
                append("p" + (round % 7), 250);
                while (!claimAndPublish(store).isEmpty()) {
                    // until drained
                }
            }
            return pin;
        } catch (SQLException | RuntimeException e) {
            pin.close();
            throw e;
        }
    }

    /**
     * Takes a REPEATABLE READ snapshot on a connection of its own, which holds the database's horizon.
     *
     * @return the pinning connection, its transaction open: the caller rolls it back and closes it
     */
    private Connection pin() throws SQLException {
        Connection pin = db.getConnection();
        try {
            pin.setAutoCommit(false);
            pin.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (Statement s = pin.createStatement()) {
                s.execute("SELECT count(*) FROM pg_class"); // takes the snapshot and holds the horizon
            }
            return pin;
        } catch (SQLException | RuntimeException e) {
            pin.close();
            throw e;
        }
    }

    /** @return the buffers a claim walking from {@code floor} reads, by EXPLAIN, its lease rolled back */
    private long claimBuffers(long floor) throws SQLException {
        String claim = new PostgresStatements(table).claim(Ordering.PER_AGGREGATE, 100, JdbcRelay.DEFAULT_MAX_BATCH_BYTES,
                false);
        return buffers(ClaimPlans.explain(db, claim, floor));
    }

    /**
     * @return the buffers read by each of the EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) plans in {@code plans} (its top
     *         node's), added up
     */
    private static long buffers(String plans) {
        long sum = 0;
        for (String plan : plans.split("\n(?=\\[)")) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"Shared Hit Blocks\": (\\d+)").matcher(plan);
            long hit = m.find() ? Long.parseLong(m.group(1)) : -1;
            java.util.regex.Matcher r = java.util.regex.Pattern.compile("\"Shared Read Blocks\": (\\d+)").matcher(plan);
            long read = r.find() ? Long.parseLong(r.group(1)) : 0;
            sum += hit + read;
        }
        return sum;
    }

    @Test
    void aTableOfThePreviousVersionIsMigratedWithEventsPending() throws Exception {
        // In a schema of its own, off the search path: the migration drops an old index by its qualified name.
        String schema = TestDatabase.uniqueName("s");
        tdb.execute("CREATE SCHEMA " + schema);
        table = new OutboxTable(schema, table.name());
        OutboxSchema.create(db, table);
        outbox = JdbcOutbox.create(table);
        RecordingPublisher poisonRejecting = new RecordingPublisher(
                e -> e.type().equals("poison") ? PublishOutcome.rejected("bad") : PublishOutcome.published());
        Event poison = Event.of("order", "H", "poison", "{}");
        List<Event> held = new ArrayList<>();
        commit(db, c -> outbox.append(c, poison));
        for (int i = 0; i < 5; i++) {
            held.add(Event.of("order", "H", "step", "{\"n\":" + i + "}"));
        }
        commit(db, c -> outbox.appendAll(c, held));
        try (JdbcRelay relay = JdbcRelay.builder(db, poisonRejecting).table(table).build()) {
            relay.drain(Duration.ofSeconds(10));
        }
        append("ready", 20);
        // The table as the previous version left it: no set-aside index, no re-entry sequence; a dead event, its
        // followers parked behind it, and ready events. With the index an earlier form of the migration built, and the
        // index of held events the parking migration built.
        for (String sql : List.of("DROP INDEX " + table.indexName("set_aside"),
                "CREATE INDEX \"" + table.name() + "_held\" ON " + table.qualifiedName()
                        + " (aggregate_type, aggregate_id) WHERE parked_until = 'infinity'",
                "DROP SEQUENCE " + table.reentrySequenceQualifiedName(), "DROP TABLE " + table.reentriesQualifiedName(),
                "CREATE INDEX \"" + table.name() + "_aside\" ON " + table.qualifiedName()
                        + " (aggregate_type, aggregate_id, position)"
                        + " WHERE published_at IS NULL AND (dead_at IS NOT NULL OR parked_until IS NOT NULL)")) {
            commit(db, c -> c.createStatement().execute(sql));
        }
        try (JdbcRelay relay = JdbcRelay.builder(db, new RecordingPublisher()).table(table).build()) {
            OutboxException e = assertThrows(OutboxException.class, relay::runOnce);
            assertTrue(e.getMessage().contains(OutboxSchema.POSTGRES_HORIZON_MIGRATION), e.getMessage());
        }
        assertEquals(5, OutboxSchema.postgresHorizonMigration(table).size());
        OutboxSchema.migrate(db, table);
        OutboxSchema.migrate(db, table); // again: harmless
        RecordingPublisher publisher = new RecordingPublisher();
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).build()) {
            relay.drain(Duration.ofSeconds(10));
            assertEquals(20, publisher.deliveries().size());
            new OutboxOperations(db, table).requeueDead(List.of(poison.id()));
            relay.drain(Duration.ofSeconds(10));
        }
        List<UUID> expected = new ArrayList<>(List.of(poison.id()));
        held.forEach(e -> expected.add(e.id()));
        List<UUID> h = publisher.deliveries().stream().filter(e -> e.aggregateId().equals("H")).map(Event::id).toList();
        assertEquals(expected, h);
        assertEquals(0, pending());
        String indexes = "SELECT count(*) FROM pg_indexes WHERE schemaname = '" + schema + "' AND indexname = '"
                + table.name();
        assertEquals(1, queryLong(db, indexes + "_set_aside'"));
        assertEquals(0, queryLong(db, indexes + "_aside'"), "the earlier form's index is dropped");
        assertEquals(0, queryLong(db, indexes + "_held'"), "the index of held events is dropped");
    }

    private long pending() {
        return queryLong(db, "SELECT count(*) FROM " + table.qualifiedName() + " WHERE published_at IS NULL");
    }

}
