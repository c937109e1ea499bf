package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static dev.outbox.testing.Transactions.queryLong;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.outbox.Event;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.testing.RecordingPublisher;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A busy aggregate's backlog costs claims little (PostgreSQL): what a claim passes of it beyond the share a batch
 * sends waits parked behind the share it leases, released a share at a time as the aggregate's events are published,
 * and the parking claim's held-back test stops at the first earlier event that holds back or is leased, instead of
 * stepping over the aggregate's other waiting events for each of them, which made its cost grow with the square of
 * the backlog.
 */
class BusyAggregateTest {

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

    private void append(String aggregate, int count) {
        commit(db, c -> {
            for (int i = 0; i < count; i++) {
                outbox.append(c, Event.of("order", aggregate, "step", "{\"n\":" + i + "}"));
            }
        });
    }

    /**
     * Appends {@code count} events of the aggregate "hot" in one transaction, each followed by one of {@code others}
     * other aggregates in turn (none when 0).
     *
     * @return the hot events' ids, in order
     */
    private List<UUID> appendHot(int count, int others) {
        List<UUID> hot = new ArrayList<>();
        commit(db, c -> {
            for (int i = 0; i < count; i++) {
                Event e = Event.of("order", "hot", "step", "{\"n\":" + i + "}");
                hot.add(e.id());
                outbox.append(c, e);
                if (others > 0) {
                    outbox.append(c, Event.of("order", "a" + (i % others), "step", "{\"n\":" + i + "}"));
                }
            }
        });
        return hot;
    }

    @Test
    void followersOfALeasedHeadCostTheParkingClaimALookEach() throws Exception {
        append("hot", 1);
        PostgresRelayStore store = new PostgresRelayStore(db, table, Ordering.PER_AGGREGATE, 100,
                JdbcRelay.DEFAULT_MAX_BATCH_BYTES, Integer.MAX_VALUE, Duration.ofSeconds(30));
        assertEquals(1, store.claim("holder", Duration.ofMinutes(5)).rows().size(), "the head is leased");

        append("hot", 400);
        long few = parkingClaimBuffers();
        append("hot", 1_200);
        long many = parkingClaimBuffers();

        // Linear: about 4x for 4x the followers; a walk of the others for each follower made it about 16x.
        assertTrue(many < few * 7, "400 followers: " + few + " buffers, 1,600 followers: " + many);
        assertEquals(0, queryLong(db, "SELECT count(*) FROM " + table.qualifiedName()
                + " WHERE parked_until IS NOT NULL"),
                "followers held back only by a live lease are left alone");
    }

    @Test
    void aBusyAggregatesBacklogBeyondABatchShareWaitsParkedAndGoesOutInOrder() throws Exception {
        List<UUID> hot = appendHot(300, 30);
        RecordingPublisher publisher = new RecordingPublisher(); // one event of an aggregate a call: 10 a batch
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).batchSize(100).build()) {
            // The first 100 in position order: 50 of each kind; 10 of the busy aggregate go, and the 50 others.
            assertEquals(60, relay.runOnce().published());
            assertEquals(10, publisher.deliveriesOf("order", "hot").size(), "a batch's share of the busy aggregate");
            long parked = queryLong(db, "SELECT count(*) FROM " + table.qualifiedName()
                    + " WHERE aggregate_id = 'hot' AND parked_until = 'infinity'");
            // The rest of its backlog (290) was parked behind them, and each record of some of the 10 released a share.
            assertTrue(parked >= 200 && parked < 290 && parked % 10 == 0,
                    "parked behind the busy aggregate's share: " + parked);
            relay.drain(Duration.ofSeconds(30));
        }
        assertEquals(600, publisher.deliveries().size());
        assertEquals(hot, publisher.deliveriesOf("order", "hot").stream().map(Event::id).toList());
        assertEquals(0, queryLong(db, "SELECT count(*) FROM " + table.qualifiedName() + " WHERE published_at IS NULL"));
    }

    @Test
    void aBusyAggregatesNextShareLeavesRoomInTheBatchForTheOthers() throws Exception {
        append("hot", 1_000); // positions before every other event
        for (int i = 0; i < 90; i++) {
            append("a" + i, 1);
        }
        // One event of an aggregate a call (10 a batch), each call slow enough for the batch to write what it
        // published after each one, as under a slow broker: each of those writes releases no more than it published.
        RecordingPublisher publisher = new RecordingPublisher(e -> {
            sleep(60);
            return PublishOutcome.published();
        });
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).batchSize(100).build()) {
            // The first 100 in position order are all the busy aggregate's: a share of it is all the batch can send.
            assertEquals(10, relay.runOnce().published());
            assertEquals(10, queryLong(db, "SELECT count(*) FROM " + table.qualifiedName()
                    + " WHERE published_at IS NULL AND parked_until IS NULL AND aggregate_id = 'hot'"),
                    "the next share is ready, and no more of the busy aggregate");
            // The next claim takes the next share, and fills the rest of the batch with the others, rather than with
            // the busy aggregate's next 90 events, of which it could send none.
            assertEquals(100, relay.runOnce().published());
            assertEquals(20, publisher.deliveriesOf("order", "hot").size());
            assertEquals(90, publisher.deliveries().size() - 20, "every other aggregate's event in the second batch");
            publisher.decide(e -> PublishOutcome.published());
            relay.drain(Duration.ofSeconds(60));
        }
        assertEquals(1_090, publisher.deliveries().size());
        List<Event> hot = publisher.deliveriesOf("order", "hot");
        for (int i = 0; i < hot.size(); i++) {
            assertEquals("{\"n\":" + i + "}", hot.get(i).payload(), "the busy aggregate in order");
        }
        assertEquals(0, queryLong(db, "SELECT count(*) FROM " + table.qualifiedName() + " WHERE published_at IS NULL"));
    }

    @Test
    void aShareWhoseRelayDiedGoesOutAfterItsLeaseAndTheParkedBacklogFollowsInOrder() throws Exception {
        List<UUID> hot = appendHot(300, 0);
        // A relay leases a share of 10 and parks the rest behind it, then dies before publishing anything.
        PostgresRelayStore dying = new PostgresRelayStore(db, table, Ordering.PER_AGGREGATE, 100,
                JdbcRelay.DEFAULT_MAX_BATCH_BYTES, 10, Duration.ofSeconds(30));
        assertEquals(10, dying.claim("dies", Duration.ofMillis(300)).rows().size());
        assertEquals(290, queryLong(db, "SELECT count(*) FROM " + table.qualifiedName()
                + " WHERE parked_until = 'infinity'"), "the rest waits parked behind the leased share");

        RecordingPublisher publisher = new RecordingPublisher();
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).batchSize(100).build()) {
            assertEquals(0, relay.runOnce().published(), "nothing is claimable while the share's lease is live");
            Thread.sleep(400);
            relay.drain(Duration.ofSeconds(30));
        }
        assertEquals(hot, publisher.deliveriesOf("order", "hot").stream().map(Event::id).toList(),
                "every event once, in order, after the lease ran out");
        assertEquals(0, queryLong(db, "SELECT count(*) FROM " + table.qualifiedName()
                + " WHERE published_at IS NULL OR parked_until IS NOT NULL"));
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * @return the buffers the walk of a parking claim from the first position reads (what the claim passed over and
     *         whether it is held back), by EXPLAIN, its changes rolled back
     */
    private long parkingClaimBuffers() throws SQLException {
        try (Connection c = db.getConnection();
             PreparedStatement analyze = c.prepareStatement("ANALYZE " + table.qualifiedName())) {
            analyze.execute(); // plans as a table with statistics has them (autovacuum analyzes)
        }
        String plan = ClaimPlans.explain(db, new PostgresStatements(table).claim(Ordering.PER_AGGREGATE, 100,
                JdbcRelay.DEFAULT_MAX_BATCH_BYTES, true), 0);
        // The walk of what the claim passed over (a Limit node: no filter text before its counts).
        Matcher walked = Pattern.compile(
                "\"Subplan Name\": \"CTE walked\"[^\\[]*?\"Shared Hit Blocks\": (\\d+)[^\\[]*?"
                        + "\"Shared Read Blocks\": (\\d+)").matcher(plan);
        assertTrue(walked.find(), plan);
        return Long.parseLong(walked.group(1)) + Long.parseLong(walked.group(2));
    }
}
