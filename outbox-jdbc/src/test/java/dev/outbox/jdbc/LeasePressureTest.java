package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.outbox.Event;
import dev.outbox.RetryPolicy;
import dev.outbox.spi.CallLimits;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The relay's promises under lease pressure: three relays of two loops each, a 1 s lease, and a publisher whose calls
 * take 0 to 1.5 s at random (often longer than the lease, far longer than the third of it the relay counts on) and
 * throw for 5 % of calls, publishing 200 aggregates of 20 events. The publisher reads each event's row when it is
 * called ({@link LeaseWitness}): no call on a row the calling relay does not hold under a live lease, none while an
 * earlier event of the aggregate is another relay's or unconfirmed, every aggregate first delivered in order, every
 * event delivered, none dead.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class LeasePressureTest extends EachDatabase {

    static final int AGGREGATES = 200;
    static final int EVENTS_EACH = 20;

    LeasePressureTest(TestDb tdb) {
        super(tdb);
    }

    @Test
    void slowThrowingCallsAgainstAShortLeaseNeverHandOverARowTheRelayDoesNotHold() throws Exception {
        OutboxTable table = tdb.newTable();
        appendSteps(tdb, table, AGGREGATES, EVENTS_EACH);
        int total = AGGREGATES * EVENTS_EACH;
        LeaseWitness witness = new LeaseWitness(tdb, table, CallLimits.DEFAULT, (relay, events) -> {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            LeaseWitness.sleep(random.nextInt(0, 1501));
            if (random.nextDouble() < 0.05) {
                throw new IllegalStateException("connection reset by the broker");
            }
            return LeaseWitness.allPublished(events);
        });
        long started = System.nanoTime();
        runPressed(tdb, table, witness, "r", 3, total, Duration.ofSeconds(240));
        long seconds = (System.nanoTime() - started) / 1_000_000_000;
        System.out.printf("lease pressure on %s: %d events in %d s, %d calls, %d deliveries (%d distinct),"
                + " %d violations%n", tdb, total, seconds, witness.calls.size(), witness.deliveries.size(),
                witness.distinctDelivered(), witness.violations.size());
        assertEquals(List.of(), witness.violations.stream().limit(10).toList(),
                witness.violations.size() + " broken promises");
        assertEquals(steps(AGGREGATES, EVENTS_EACH), witness.firstDeliveries(),
                "every aggregate first delivered whole and in order");
        assertEquals(total, published(tdb, table), "every event published");
        assertEquals(0, tdb.queryLong("SELECT count(*) FROM " + tdb.q(table) + " WHERE dead_at IS NOT NULL"),
                "none dead");
    }

    /** Appends {@code each} events {"step":n} to each of the aggregates o0, o1, ..., one transaction per step. */
    static void appendSteps(TestDb tdb, OutboxTable table, int aggregates, int each) {
        JdbcOutbox outbox = JdbcOutbox.create(table);
        for (int step = 0; step < each; step++) {
            List<Event> tx = new ArrayList<>();
            for (int a = 0; a < aggregates; a++) {
                tx.add(Event.of("order", "o" + a, "step", "{\"step\":" + step + "}"));
            }
            commit(tdb.dataSource(), c -> outbox.appendAll(c, tx));
        }
    }

    /** @return per aggregate of {@link #appendSteps}, its payloads in order */
    static Map<String, List<String>> steps(int aggregates, int each) {
        Map<String, List<String>> expected = new HashMap<>();
        for (int a = 0; a < aggregates; a++) {
            List<String> steps = new ArrayList<>();
            for (int step = 0; step < each; step++) {
                steps.add("{\"step\":" + step + "}");
            }
            expected.put("o" + a, steps);
        }
        return expected;
    }

    /**
     * Runs {@code relays} relays of two loops each, a 1 s lease and quick retries, owners {@code prefix}0, 1, ...,
     * until {@code total} events are published or {@code patience} has passed (then prints the first rows left
     * unpublished); then closes them.
     */
    static void runPressed(TestDb tdb, OutboxTable table, LeaseWitness witness, String prefix, int relays, int total,
                           Duration patience) throws InterruptedException, SQLException {
        ExecutorService threads = Executors.newFixedThreadPool(2 * relays);
        List<JdbcRelay> started = new ArrayList<>();
        try {
            for (int r = 0; r < relays; r++) {
                JdbcRelay relay = JdbcRelay.builder(tdb.dataSource(), witness).table(table).ownerId(prefix + r)
                        .leaseDuration(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(50)).wakeOnCommit(false)
                        .retryPolicy(RetryPolicy.builder().initialDelay(Duration.ofMillis(10))
                                .maxDelay(Duration.ofMillis(200)).maxAttempts(20).build())
                        .build();
                started.add(relay);
                relay.start(threads);
                relay.start(threads);
            }
            long deadline = System.nanoTime() + patience.toNanos();
            while (published(tdb, table) < total && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            if (published(tdb, table) < total) {
                dumpUnpublished(tdb, table);
            }
        } finally {
            started.forEach(JdbcRelay::close);
            threads.shutdownNow();
        }
    }

    /** Prints the first unpublished rows, whole, so that a run that stalls says what holds its events. */
    static void dumpUnpublished(TestDb tdb, OutboxTable table) throws SQLException {
        try (Connection c = tdb.dataSource().getConnection();
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT * FROM " + tdb.q(table)
                     + " WHERE published_at IS NULL ORDER BY position LIMIT 60")) {
            ResultSetMetaData meta = rs.getMetaData();
            while (rs.next()) {
                StringBuilder row = new StringBuilder("unpublished:");
                for (int i = 1; i <= meta.getColumnCount(); i++) {
                    row.append(' ').append(meta.getColumnName(i)).append('=').append(rs.getString(i));
                }
                System.out.println(row);
            }
        }
    }

    static long published(TestDb tdb, OutboxTable table) {
        return tdb.queryLong("SELECT count(*) FROM " + tdb.q(table) + " WHERE published_at IS NOT NULL");
    }
}
