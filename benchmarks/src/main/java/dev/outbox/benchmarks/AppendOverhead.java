package dev.outbox.benchmarks;

import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.OutboxTable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Benchmark 1: a minimal business transaction (one INSERT and a commit) by {@value #WRITERS} writer threads,
 * alone and with an appended event, with and without the commit notification. The variants take turns in
 * several rounds so that drift in the machine hits them alike.
 */
final class AppendOverhead {

    static final int WRITERS = 4;

    private final BenchDatabase db;
    private final Duration phase;
    private final int rounds;

    AppendOverhead(BenchDatabase db, Duration phase, int rounds) {
        this.db = db;
        this.phase = phase;
        this.rounds = rounds;
    }

    List<Row> run() throws Exception {
        OutboxTable table = db.newOutboxTable();
        BenchDatabase.execute(db.pool(), "CREATE TABLE " + BenchDatabase.SCHEMA + ".account ("
                + "id bigserial PRIMARY KEY, owner text NOT NULL, balance bigint NOT NULL,"
                + " created_at timestamptz NOT NULL DEFAULT now())");
        JdbcOutbox notifying = JdbcOutbox.builder().table(table).notifyOnCommit(true).build();
        JdbcOutbox silent = JdbcOutbox.builder().table(table).notifyOnCommit(false).build();
        long[] commits = new long[3];
        long[] nanos = new long[3];
        measure(null, Duration.ofSeconds(1)); // warm-up: connections, JIT, prepared statements
        measure(notifying, Duration.ofSeconds(1));
        for (int r = 0; r < rounds; r++) {
            JdbcOutbox[] variants = {null, notifying, silent};
            for (int v = 0; v < 3; v++) {
                long start = System.nanoTime();
                commits[v] += measure(variants[v], phase);
                nanos[v] += System.nanoTime() - start;
            }
        }
        BenchDatabase.execute(db.pool(), "DROP TABLE " + BenchDatabase.SCHEMA + ".account");
        db.drop(table);
        double bare = perSecond(commits[0], nanos[0]);
        double withNotify = perSecond(commits[1], nanos[1]);
        double withoutNotify = perSecond(commits[2], nanos[2]);
        return List.of(
                new Row("1. append overhead, " + WRITERS + " writers: INSERT + append (notify on)",
                        Format.rate(withNotify, "tx/s"), Format.rate(bare, "tx/s") + " INSERT alone",
                        Format.ratio(bare / withNotify) + " slower", "<= 1.25x"),
                new Row("1. append overhead, " + WRITERS + " writers: INSERT + append (notify off)",
                        Format.rate(withoutNotify, "tx/s"), Format.rate(bare, "tx/s") + " INSERT alone",
                        Format.ratio(bare / withoutNotify) + " slower", "<= 1.25x"));
    }

    /** @return transactions committed by all writers in {@code duration} */
    private long measure(JdbcOutbox outbox, Duration duration) throws Exception {
        ExecutorService writers = Executors.newFixedThreadPool(WRITERS);
        long deadline = System.nanoTime() + duration.toNanos();
        List<Future<Long>> done = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            done.add(writers.submit(() -> write(outbox, deadline)));
        }
        long total = 0;
        for (Future<Long> f : done) {
            total += f.get();
        }
        writers.shutdown();
        return total;
    }

    private long write(JdbcOutbox outbox, long deadline) throws SQLException {
        long n = 0;
        try (Connection c = db.pool().getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement insert = c.prepareStatement(
                    "INSERT INTO " + BenchDatabase.SCHEMA + ".account (owner, balance) VALUES (?, ?)")) {
                while (System.nanoTime() < deadline) {
                    int account = ThreadLocalRandom.current().nextInt(1000);
                    insert.setString(1, "owner-" + account);
                    insert.setLong(2, 100);
                    insert.executeUpdate();
                    if (outbox != null) {
                        outbox.append(c, BenchDatabase.event(account));
                    }
                    c.commit();
                    n++;
                }
            }
            c.setAutoCommit(true);
        }
        return n;
    }

    private static double perSecond(long count, long nanos) {
        return count * 1e9 / nanos;
    }
}
