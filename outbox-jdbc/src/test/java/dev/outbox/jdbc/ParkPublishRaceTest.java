package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static dev.outbox.testing.Transactions.queryLong;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.outbox.Event;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A claim that parks events behind an event of their aggregate ('infinity') while that event is being published,
 * requeued or discarded leaves nothing parked behind it: whatever the claim parked before the other side could lock
 * the event, the other side's release sees. Each test holds the parking claim's transaction open at the point of the
 * race, has the other side run into the claim's lock, and only then lets the claim commit; on PostgreSQL, where the
 * release used to be part of the statement that waited for the lock and so could not see the park.
 */
class ParkPublishRaceTest {

    private final TestDb tdb = TestDb.POSTGRESQL;
    private final ExecutorService other = Executors.newSingleThreadExecutor();
    private DataSource db;
    private OutboxTable table;
    private JdbcOutbox outbox;
    private PostgresStatements sql;

    @BeforeEach
    void newTable() {
        assumeTrue(tdb.unavailable() == null, tdb::unavailable);
        db = tdb.dataSource();
        table = tdb.newTable();
        outbox = JdbcOutbox.create(table);
        sql = new PostgresStatements(table);
    }

    @AfterEach
    void stop() {
        other.shutdownNow();
    }

    @Test
    void anEventPublishedWhileAClaimParksItsFollowersReleasesThem() throws Exception {
        List<Event> events = append(2);
        PostgresRelayStore relay = store();
        ClaimedBatch first = relay.claim("a", Duration.ofSeconds(30));
        assertEquals(1, first.size());
        relay.record(first.leaseToken(), List.of(settle(first, Settlement.Kind.RETRY, 300)), new AtomicInteger());
        try (Connection claim = db.getConnection()) {
            claim.setAutoCommit(false);
            // The claim's transaction starts while the first event still backs off: its now() stays there, as a
            // claim's does while it runs, and the event holds its follower back to it even once it is published.
            begin(claim);
            Thread.sleep(500);
            ClaimedBatch again = relay.claim("a", Duration.ofSeconds(30)); // due: made ready and claimed
            assertEquals(events.get(0).id(), again.rows().get(0).event().id());
            assertEquals(1, parkingClaim(claim), "the claim parks the follower behind the first event");
            AtomicInteger released = new AtomicInteger();
            Future<Set<Long>> published = other.submit(() -> relay.record(again.leaseToken(),
                    List.of(settle(again, Settlement.Kind.PUBLISHED, 0)), released));
            awaitLockWait(published);
            claim.commit(); // the park commits while the publish waits for the lock the claim took on its event
            assertEquals(Set.of(again.rows().get(0).position()), published.get(10, TimeUnit.SECONDS));
            assertEquals(1, released.get(), "the publish released the follower parked beside it");
        }
        assertEquals(0, count("parked_until IS NOT NULL"), "nothing left parked");
        ClaimedBatch follower = store().claim("a", Duration.ofSeconds(30));
        assertEquals(events.get(1).id(), follower.rows().get(0).event().id(), "the follower is claimable at once");
    }

    @Test
    void aDeadEventRequeuedWhileAClaimParksItsFollowersReleasesThem() throws Exception {
        changeTheDeadEventDuringThePark((operations, id) -> operations.requeueDead(List.of(id)), true);
    }

    @Test
    void aDeadEventDiscardedWhileAClaimParksItsFollowersReleasesThem() throws Exception {
        changeTheDeadEventDuringThePark((operations, id) -> operations.discardDead(List.of(id)), false);
    }

    /**
     * Races a parking claim with {@code change} of the dead event ahead of one follower, then checks that nothing is
     * left parked and that the next claim takes, in order, the dead event if it is {@code kept} and the follower.
     */
    private void changeTheDeadEventDuringThePark(BiFunction<OutboxOperations, UUID, Integer> change, boolean kept)
            throws Exception {
        List<Event> events = deadAheadOfOne();
        OutboxOperations operations = new OutboxOperations(db, table);
        Future<Integer> changed = raceThePark(() -> change.apply(operations, events.get(0).id()));
        assertEquals(1, changed.get(10, TimeUnit.SECONDS));
        assertEquals(0, count("parked_until IS NOT NULL"), "nothing left parked");
        List<UUID> claimable = (kept ? events : events.subList(1, 2)).stream().map(Event::id).toList();
        ClaimedBatch batch = store(10).claim("a", Duration.ofSeconds(30));
        assertEquals(claimable, batch.rows().stream().map(r -> r.event().id()).toList(),
                "claimable at once, in order");
    }

    /** Two events of one aggregate, the first dead; the second ready, not yet parked. */
    private List<Event> deadAheadOfOne() throws SQLException {
        List<Event> events = append(2);
        PostgresRelayStore relay = store();
        ClaimedBatch first = relay.claim("a", Duration.ofSeconds(30));
        relay.record(first.leaseToken(), List.of(settle(first, Settlement.Kind.DEAD, 0)), new AtomicInteger());
        assertEquals(0, count("parked_until IS NOT NULL"));
        return events;
    }

    /**
     * Runs a parking claim that parks the dead event's follower and keeps its transaction open, runs {@code operation}
     * until it waits for the claim's lock on the dead event, then commits the claim.
     */
    private <T> Future<T> raceThePark(Callable<T> operation) throws Exception {
        try (Connection claim = db.getConnection()) {
            claim.setAutoCommit(false);
            assertEquals(1, parkingClaim(claim), "the claim parks the follower behind the dead event");
            Future<T> result = other.submit(operation);
            awaitLockWait(result);
            claim.commit();
            return result;
        }
    }

    private List<Event> append(int count) {
        List<Event> events = new java.util.ArrayList<>();
        for (int i = 0; i < count; i++) {
            events.add(Event.of("order", "A", "step", "{\"n\":" + i + "}"));
        }
        commit(db, c -> outbox.appendAll(c, events));
        return events;
    }

    /** A relay's store that claims one event at a time. */
    private PostgresRelayStore store() {
        return store(1);
    }

    private PostgresRelayStore store(int batchSize) {
        return new PostgresRelayStore(db, table, Ordering.PER_AGGREGATE, batchSize, JdbcRelay.DEFAULT_MAX_BATCH_BYTES,
                10, Duration.ofSeconds(30));
    }

    private static Settlement settle(ClaimedBatch batch, Settlement.Kind kind, long delayMillis) {
        return new Settlement(batch.rows().get(0), kind, delayMillis, kind == Settlement.Kind.PUBLISHED ? null : "no");
    }

    private static void begin(Connection connection) throws SQLException {
        try (Statement s = connection.createStatement()) {
            s.execute("SELECT now()");
        }
    }

    /** Runs the relay's parking claim on {@code connection}, left open. @return how many events are parked 'infinity' */
    private long parkingClaim(Connection connection) throws SQLException {
        try (PreparedStatement claim = connection.prepareStatement(
                sql.parkingClaim(Ordering.PER_AGGREGATE, 100, JdbcRelay.DEFAULT_MAX_BATCH_BYTES))) {
            claim.setArray(1, connection.createArrayOf("bigint", new Long[] {Long.MAX_VALUE})); // from the floor
            claim.setLong(2, 0);
            claim.setString(3, "b");
            claim.setObject(4, UUID.randomUUID());
            claim.setLong(5, 30_000);
            claim.execute();
            claim.getMoreResults(); // past the settings' row
            try (ResultSet rs = claim.getResultSet()) {
                assertTrue(!rs.next(), "the claim takes nothing: the aggregate's first event is not claimable");
            }
        }
        try (Statement s = connection.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM " + table.qualifiedName()
                        + " WHERE parked_until = 'infinity'")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Waits until a statement on the table waits for a lock, while {@code pending} has not ended. */
    private void awaitLockWait(Future<?> pending) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (queryLong(db, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                + " AND query LIKE '%" + table.name() + "%'") == 0) {
            assertTrue(!pending.isDone(), "the other side waits for the claim's lock");
            assertTrue(System.nanoTime() < deadline, "the other side did not reach the claim's lock in 10 s");
            Thread.sleep(20);
        }
    }

    private long count(String condition) {
        return queryLong(db, "SELECT count(*) FROM " + table.qualifiedName() + " WHERE " + condition);
    }
}
