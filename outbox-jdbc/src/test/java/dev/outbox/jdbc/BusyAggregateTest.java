package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static dev.outbox.testing.Transactions.queryLong;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.outbox.Event;
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
        List<UUID> hot = new ArrayList<>();
        commit(db, c -> {
            for (int i = 0; i < 300; i++) {
                Event e = Event.of("order", "hot", "step", "{\"n\":" + i + "}");
                hot.add(e.id());
                outbox.append(c, e);
                outbox.append(c, Event.of("order", "a" + (i % 30), "step", "{\"n\":" + i + "}"));
            }
        });
        RecordingPublisher publisher = new RecordingPublisher(); // one event of an aggregate a call: 10 a batch
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).batchSize(100).build()) {
            // The first 100 in position order: 50 of each kind; 10 of the busy aggregate go, and the 50 others.
            assertEquals(60, relay.runOnce().published());
            assertEquals(10, publisher.deliveriesOf("order", "hot").size(), "a batch's share of the busy aggregate");
            long parked = queryLong(db, "SELECT count(*) FROM " + table.qualifiedName()
                    + " WHERE aggregate_id = 'hot' AND parked_until = 'infinity'");
            // The other 40 it passed were parked behind them, and each record of some of the 10 released a share.
            assertTrue(parked > 0 && parked < 40 && parked % 10 == 0,
                    "parked behind the busy aggregate's share: " + parked);
            relay.drain(Duration.ofSeconds(30));
        }
        assertEquals(600, publisher.deliveries().size());
        assertEquals(hot, publisher.deliveriesOf("order", "hot").stream().map(Event::id).toList());
        assertEquals(0, queryLong(db, "SELECT count(*) FROM " + table.qualifiedName() + " WHERE published_at IS NULL"));
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
