package dev.outbox.benchmarks;

import dev.outbox.Event;
import dev.outbox.RetryPolicy;
import dev.outbox.benchmarks.ClaimPasses.Pass;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxOperations;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Benchmark 8: what one relay pass ({@code runOnce}: claim, publish to a publisher that takes everything at once,
 * record) costs on the backlogs an outage or a poison event leaves behind, beside the same pass on a healthy backlog
 * of the same size, all on a table that keeps {@code published} published rows. Each shape is made by the relay
 * itself, with a publisher that fails as the shape needs; then a few passes run until the claim has parked what it
 * cannot take, and the median of the next {@value #MEASURED} passes is reported. Also the operator queries
 * ({@code stats()}, {@code listDead(100)}) on the largest shape, against the full-scan statement {@code stats()} ran
 * before, in the same run.
 */
final class ClaimCost {

    private static final int MEASURED = ClaimPasses.MEASURED;
    private static final int BATCH = 500;
    private static final int QUERY_WARMUP = 10;
    private static final int QUERY_CALLS = 101;

    private final BenchDatabase db;
    private final int published;
    private final int backlog;
    private OutboxTable table;
    private final ClaimPasses passes = new ClaimPasses(this::relay,
            () -> queryLong("SELECT count(*) FROM " + table.qualifiedName() + " WHERE parked_until IS NOT NULL"));

    ClaimCost(BenchDatabase db, int published, int backlog) {
        this.db = db;
        this.published = published;
        this.backlog = backlog;
    }

    List<Row> run() throws Exception {
        table = db.newOutboxTable();
        append(published, i -> BenchDatabase.event(i % 10_000));
        BenchDatabase.execute(db.pool(), "UPDATE " + table.qualifiedName() + " SET published_at = now()");
        vacuum();
        List<Row> rows = new ArrayList<>();
        int n = backlog;
        int tenth = n / 10;

        // Healthy: n pending events over 10,000 aggregates.
        append(n, i -> BenchDatabase.event(i % 10_000));
        Pass healthy = passes.measure();
        rows.add(row("healthy: " + count(n) + " pending", healthy, healthy, "-"));
        reset();

        // n pending, all backing off after an outage.
        append(n, i -> BenchDatabase.event(i));
        passes.drain(outcome -> PublishOutcome.retry("broker down"));
        Pass backingOff = passes.measure();
        rows.add(row(count(n) + " pending, all backing off", backingOff, healthy, "empty: a few ms"));
        reset();

        // 90 % backing off, 10 % blocked behind them (appended to the same aggregates afterwards).
        append(n - tenth, i -> BenchDatabase.event(i));
        passes.drain(outcome -> PublishOutcome.retry("broker down"));
        append(tenth, i -> BenchDatabase.event(i));
        Pass blockedBehindBackoff = passes.measure();
        rows.add(row(count(n - tenth) + " backing off, " + count(tenth) + " blocked behind them",
                blockedBehindBackoff, healthy, "empty: a few ms"));
        reset();

        // One dead event heading an aggregate with n/2 followers, and n healthy events after them.
        append(1, i -> BenchDatabase.event(-1));
        passes.drain(outcome -> PublishOutcome.rejected("poison"));
        append(n / 2, i -> BenchDatabase.event(-1));
        append(n, i -> BenchDatabase.event(i % 10_000));
        Pass deadHead = passes.measure();
        rows.add(row("one dead event heading " + count(n / 2) + " followers, " + count(n) + " healthy after",
                deadHead, healthy, "<= 2x"));
        reset();

        // 20 % dead heads, 80 % blocked behind them; then the same with n healthy events after them.
        int heads = n / 5;
        append(heads, i -> BenchDatabase.event(i));
        passes.drain(outcome -> PublishOutcome.rejected("poison"));
        append(n - heads, i -> BenchDatabase.event(i % heads));
        Pass blockedBehindDead = passes.measure();
        rows.add(row(count(n - heads) + " blocked behind " + count(heads) + " dead, nothing else",
                blockedBehindDead, healthy, "empty: a few ms"));
        append(n, i -> BenchDatabase.event(heads + i % 10_000));
        Pass blockedBehindDeadThenHealthy = passes.measure();
        rows.add(row(count(n - heads) + " blocked behind " + count(heads) + " dead, " + count(n) + " healthy after",
                blockedBehindDeadThenHealthy, healthy, "<= 2x"));

        rows.addAll(operatorQueries());
        db.drop(table);
        return rows;
    }

    /** stats() and listDead(100) against the statement stats() ran before (a scan of every unpublished row). */
    private List<Row> operatorQueries() {
        // Events delayed by a day, appended before the measurement: the oldest pending age must see past them.
        appendDelayed(10_000, Duration.ofDays(1));
        OutboxOperations ops = new OutboxOperations(db.pool(), table);
        long total = queryLong("SELECT count(*) FROM " + table.qualifiedName());
        long unpublished = queryLong("SELECT count(*) FROM " + table.qualifiedName() + " WHERE published_at IS NULL");
        String shape = count(total) + " rows, " + count(unpublished) + " unpublished, 10k of them delayed a day";
        String oldStats = """
                SELECT count(*) FILTER (WHERE dead_at IS NULL AND (lease_until IS NULL OR lease_until < now())),
                       count(*) FILTER (WHERE dead_at IS NULL AND lease_until >= now()),
                       count(*) FILTER (WHERE dead_at IS NOT NULL),
                       extract(epoch FROM now() - min(CASE WHEN attempts = 0 THEN greatest(created_at, next_attempt_at)
                                                      ELSE created_at END) FILTER (WHERE dead_at IS NULL)) * 1000
                FROM %s WHERE published_at IS NULL""".formatted(table.qualifiedName());
        double statsMillis = median(() -> ops.stats(), QUERY_WARMUP, QUERY_CALLS);
        double listDeadMillis = median(() -> ops.listDead(100), QUERY_WARMUP, QUERY_CALLS);
        double oldMillis = median(() -> queryLong(oldStats), 1, MEASURED);
        return List.of(
                new Row("8. operator queries, " + shape + ": stats()", Format.millis(statsMillis),
                        Format.millis(oldMillis) + " full-scan stats", Format.ratio(oldMillis / statsMillis) + " faster",
                        "<= 5 ms"),
                new Row("8. operator queries, " + shape + ": listDead(100)", Format.millis(listDeadMillis),
                        Format.millis(oldMillis) + " full-scan stats", Format.ratio(oldMillis / listDeadMillis)
                        + " faster", "<= 5 ms"));
    }

    private interface Call {
        void run() throws Exception;
    }

    /**
     * The median of {@code calls} calls after {@code warmup} unmeasured ones. The operator queries are measured as
     * a health check calling every few seconds finds them: {@value #QUERY_CALLS} calls after {@value #QUERY_WARMUP},
     * so that their statements are prepared on the server (pgjdbc does so from a statement's fifth run on a
     * connection) and the median is steady.
     */
    private static double median(Call call, int warmup, int calls) {
        double[] millis = new double[calls];
        try {
            for (int i = 0; i < warmup; i++) {
                call.run();
            }
            for (int i = 0; i < calls; i++) {
                long start = System.nanoTime();
                call.run();
                millis[i] = (System.nanoTime() - start) / 1e6;
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        Arrays.sort(millis);
        return millis[calls / 2];
    }

    private JdbcRelay relay(Publisher publisher, RetryPolicy retryPolicy) {
        return JdbcRelay.builder(db.pool(), publisher).table(table).batchSize(BATCH).wakeOnCommit(false)
                .retryPolicy(retryPolicy).build();
    }

    private void append(int count, IntFunction<Event> event) {
        db.fill(table, count, event);
    }

    /** Appends {@code count} events due only after {@code delay}, 1,000 per transaction. */
    private void appendDelayed(int count, Duration delay) {
        dev.outbox.jdbc.JdbcOutbox outbox = dev.outbox.jdbc.JdbcOutbox.builder().table(table).notifyOnCommit(false)
                .build();
        try (Connection c = db.pool().getConnection()) {
            c.setAutoCommit(false);
            for (int i = 0; i < count; i++) {
                outbox.append(c, BenchDatabase.event(900_000 + i), delay);
                if (i % 1_000 == 999) {
                    c.commit();
                }
            }
            c.commit();
            c.setAutoCommit(true);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Removes the shape's unpublished events, keeping the published ones. */
    private void reset() {
        BenchDatabase.execute(db.pool(), "DELETE FROM " + table.qualifiedName() + " WHERE published_at IS NULL");
        vacuum();
    }

    private void vacuum() {
        BenchDatabase.execute(db.pool(), "VACUUM ANALYZE " + table.qualifiedName());
    }

    private long queryLong(String sql) {
        try (Connection c = db.pool().getConnection(); PreparedStatement s = c.prepareStatement(sql);
             ResultSet rs = s.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private Row row(String shape, Pass pass, Pass healthy, String target) {
        return new Row("8. claim cost, " + count(published) + " published kept: " + shape, ClaimPasses.describe(pass),
                Format.millis(healthy.millis()) + " healthy, " + healthy.claimed() + " claimed",
                Format.ratio(pass.millis() / healthy.millis()), target);
    }

    private static String count(long n) {
        return ClaimPasses.count(n);
    }
}
