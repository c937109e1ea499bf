package dev.outbox.benchmarks;

import com.zaxxer.hikari.HikariDataSource;
import dev.outbox.Event;
import dev.outbox.RetryPolicy;
import dev.outbox.benchmarks.ClaimPasses.Pass;
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
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Benchmark 10, claim cost: benchmark 8's shapes on MariaDB (or MySQL). What one pass of an ordered relay
 * ({@code runOnce}, batch 500, a publisher that takes everything) costs on the backlogs an outage or a poison event
 * leaves behind, beside the same pass on a healthy backlog of the same size, on a table that keeps {@code published}
 * published rows, measured as benchmark 8 does ({@link ClaimPasses}).
 */
final class MariaDbClaimCost {

    private static final int BATCH = 500;

    private final HikariDataSource pool;
    private final Database database;
    private final int published;
    private final int backlog;
    private final OutboxTable table;
    private final ClaimPasses passes;

    MariaDbClaimCost(HikariDataSource pool, Database database, int published, int backlog) {
        this.pool = pool;
        this.database = database;
        this.published = published;
        this.backlog = backlog;
        this.table = OutboxTable.named("bench_claims_" + Long.toString(System.nanoTime(), 36));
        this.passes = new ClaimPasses(this::relay, () -> {
            try {
                return queryLong("SELECT count(*) FROM " + name() + " WHERE parked_until IS NOT NULL");
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        });
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
            Pass healthy = passes.measure();
            rows.add(row("healthy: " + count(n) + " pending", healthy, healthy, "-"));
            reset();

            append(n, BenchDatabase::event);
            passes.drain(event -> PublishOutcome.retry("broker down"));
            Pass backingOff = passes.measure();
            rows.add(row(count(n) + " pending, all backing off", backingOff, healthy, "empty: <= 10 ms"));
            reset();

            append(1, i -> BenchDatabase.event(-1));
            passes.drain(event -> PublishOutcome.rejected("poison"));
            append(n / 2, i -> BenchDatabase.event(-1));
            append(n, i -> BenchDatabase.event(i % 10_000));
            Pass deadHead = passes.measure();
            rows.add(row("one dead event heading " + count(n / 2) + " followers, " + count(n) + " healthy after",
                    deadHead, healthy, "<= 2x"));
            return rows;
        } finally {
            execute("DROP TABLE " + name());
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
        return new Row("10. " + database + ": claim cost, " + count(published) + " published kept: " + shape,
                ClaimPasses.describe(pass), Format.millis(healthy.millis()) + " healthy, " + healthy.claimed()
                + " claimed", Format.ratio(pass.millis() / healthy.millis()), target);
    }

    private static String count(long n) {
        return ClaimPasses.count(n);
    }
}
