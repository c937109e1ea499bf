package dev.outbox.benchmarks;

import com.zaxxer.hikari.HikariDataSource;
import dev.outbox.Event;
import dev.outbox.RelayResult;
import dev.outbox.RetryPolicy;
import dev.outbox.jdbc.Database;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * Benchmark 10, claim cost: benchmark 8's shapes on MariaDB (or MySQL). What one pass of an ordered relay
 * ({@code runOnce}, batch 500, a publisher that takes everything) costs on the backlogs an outage or a poison event
 * leaves behind, beside the same pass on a healthy backlog of the same size, on a table that keeps {@code published}
 * published rows. Each shape is made by the relay itself; passes run until the claims have parked what they cannot
 * take, then the median of {@value #MEASURED} passes is reported.
 */
final class MariaDbClaimCost {

    private static final int MEASURED = 21;
    private static final int BATCH = 500;

    private final HikariDataSource pool;
    private final Database database;
    private final int published;
    private final int backlog;
    private final OutboxTable table;

    MariaDbClaimCost(HikariDataSource pool, Database database, int published, int backlog) {
        this.pool = pool;
        this.database = database;
        this.published = published;
        this.backlog = backlog;
        this.table = OutboxTable.named("bench_claims_" + Long.toString(System.nanoTime(), 36));
    }

    List<Row> run() throws SQLException {
        OutboxSchema.create(pool, table);
        try {
            append(published, i -> BenchDatabase.event(i % 10_000));
            execute("UPDATE " + name() + " SET published_at = UTC_TIMESTAMP(6)");
            analyze();
            List<Row> rows = new ArrayList<>();
            int n = backlog;

            append(n, i -> BenchDatabase.event(i % 10_000));
            Pass healthy = measure();
            rows.add(row("healthy: " + count(n) + " pending", healthy, healthy, "-"));
            reset();

            append(n, BenchDatabase::event);
            drain(event -> PublishOutcome.retry("broker down"));
            Pass backingOff = measure();
            rows.add(row(count(n) + " pending, all backing off", backingOff, healthy, "empty: <= 10 ms"));
            reset();

            append(1, i -> BenchDatabase.event(-1));
            drain(event -> PublishOutcome.rejected("poison"));
            append(n / 2, i -> BenchDatabase.event(-1));
            append(n, i -> BenchDatabase.event(i % 10_000));
            Pass deadHead = measure();
            rows.add(row("one dead event heading " + count(n / 2) + " followers, " + count(n) + " healthy after",
                    deadHead, healthy, "<= 2x"));
            return rows;
        } finally {
            execute("DROP TABLE " + name());
        }
    }

    private record Pass(double millis, int claimed, double firstMillis) {
    }

    private Pass measure() throws SQLException {
        Publisher takesAll = events -> events.stream().map(e -> PublishOutcome.published()).toList();
        try (JdbcRelay relay = relay(takesAll, RetryPolicy.DEFAULT)) {
            long start = System.nanoTime();
            relay.runOnce();
            double first = (System.nanoTime() - start) / 1e6;
            long parked = -1;
            for (int i = 0; i < 100; i++) { // until the claims park nothing more
                long now = queryLong("SELECT count(*) FROM " + name() + " WHERE parked_until IS NOT NULL");
                if (now == parked) {
                    break;
                }
                parked = now;
                for (int k = 0; k < 8; k++) { // one parking claim in eight
                    relay.runOnce();
                }
            }
            double[] millis = new double[MEASURED];
            int[] claimed = new int[MEASURED];
            for (int i = 0; i < MEASURED; i++) {
                long t = System.nanoTime();
                RelayResult result = relay.runOnce();
                millis[i] = (System.nanoTime() - t) / 1e6;
                claimed[i] = result.claimed();
            }
            Arrays.sort(millis);
            Arrays.sort(claimed);
            return new Pass(millis[MEASURED / 2], claimed[MEASURED / 2], first);
        }
    }

    /** Runs the relay with {@code outcome} until it claims nothing: every event then backs off or is dead. */
    private void drain(Function<Event, PublishOutcome> outcome) {
        Publisher failing = events -> events.stream().map(outcome).toList();
        RetryPolicy hourLong = RetryPolicy.builder().initialDelay(Duration.ofHours(1)).maxDelay(Duration.ofHours(2))
                .build();
        try (JdbcRelay relay = relay(failing, hourLong)) {
            while (relay.runOnce().claimed() > 0) {
                // keep draining
            }
        }
    }

    private JdbcRelay relay(Publisher publisher, RetryPolicy retryPolicy) {
        return JdbcRelay.builder(pool, publisher).table(table).database(database).batchSize(BATCH)
                .retryPolicy(retryPolicy).build();
    }

    private void append(int count, IntFunction<Event> event) throws SQLException {
        JdbcOutbox outbox = JdbcOutbox.builder().table(table).database(database).build();
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(false);
            for (int done = 0; done < count; done += 1000) {
                List<Event> batch = new ArrayList<>(1000);
                for (int i = done; i < Math.min(count, done + 1000); i++) {
                    batch.add(event.apply(i));
                }
                outbox.appendAll(c, batch);
                c.commit();
            }
            c.setAutoCommit(true);
        }
    }

    /** Removes the shape's unpublished events, keeping the published ones. */
    private void reset() throws SQLException {
        execute("DELETE FROM " + name() + " WHERE published_at IS NULL");
        analyze();
    }

    private void analyze() throws SQLException {
        execute("ANALYZE TABLE " + name());
    }

    private String name() {
        return table.qualifiedName(database);
    }

    private void execute(String sql) throws SQLException {
        try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private long queryLong(String sql) throws SQLException {
        try (Connection c = pool.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private Row row(String shape, Pass pass, Pass healthy, String target) {
        String ours = Format.millis(pass.millis) + ", " + pass.claimed + " claimed (first pass "
                + Format.millis(pass.firstMillis) + ")";
        return new Row("10. " + database + ": claim cost, " + count(published) + " published kept: " + shape, ours,
                Format.millis(healthy.millis) + " healthy, " + healthy.claimed + " claimed",
                Format.ratio(pass.millis / healthy.millis), target);
    }

    private static String count(long n) {
        return n >= 1000 && n % 1000 == 0 ? n / 1000 + "k" : Long.toString(n);
    }
}
