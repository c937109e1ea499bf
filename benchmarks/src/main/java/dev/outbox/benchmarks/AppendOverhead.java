package dev.outbox.benchmarks;

import dev.outbox.TimeOrderedUuid;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import dev.outbox.jdbc.OutboxTable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Benchmark 1: a minimal business transaction (one INSERT and a commit) by {@value #WRITERS} writer threads,
 * alone, with the same outbox row written in plain SQL, and with an appended event with and without the commit
 * notification, while a relay listens and drains the table. The variants take turns in
 * many short rounds, in alternating order, so that drift in the machine hits them alike.
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
        String plainRow = "INSERT INTO " + table.qualifiedName()
                + " (id, aggregate_type, aggregate_id, event_type, payload, headers, occurred_at)"
                + " VALUES (?, ?, ?, ?, ?::json, ?::jsonb, ?)";
        // A relay listens and drains the table throughout, as in production: it is what notifications are for.
        Publisher takesAll = events -> events.stream().map(e -> PublishOutcome.published()).toList();
        ExecutorService relayThread = Executors.newSingleThreadExecutor();
        JdbcRelay relay = JdbcRelay.builder(db.pool(), takesAll).table(table).build();
        relay.start(relayThread);
        Variant[] variants = {
            new Variant(null, null), new Variant(null, plainRow), new Variant(notifying, null), new Variant(silent, null)};
        long[] commits = new long[variants.length];
        long[] nanos = new long[variants.length];
        measure(variants[0], Duration.ofSeconds(1)); // warm-up: connections, JIT, prepared statements
        measure(variants[1], Duration.ofSeconds(1));
        measure(variants[2], Duration.ofSeconds(1));
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < variants.length; i++) {
                // each round in the other order, so that drift (autovacuum, checkpoints) favours no variant
                int v = r % 2 == 0 ? i : variants.length - 1 - i;
                long start = System.nanoTime();
                commits[v] += measure(variants[v], phase);
                nanos[v] += System.nanoTime() - start;
            }
        }
        relay.close();
        relayThread.shutdown();
        // The same two variants with no relay running: what the notification costs the writer itself. With a relay
        // draining, notify on also keeps the relay at work on the same cores (woken within milliseconds, it claims
        // small batches as they come), where with notify off it sleeps up to its poll interval between drains.
        long[] alone = new long[2];
        long[] aloneNanos = new long[2];
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < 2; i++) {
                int v = r % 2 == 0 ? i : 1 - i;
                long start = System.nanoTime();
                alone[v] += measure(variants[2 + v], phase);
                aloneNanos[v] += System.nanoTime() - start;
            }
        }
        BenchDatabase.execute(db.pool(), "DROP TABLE " + BenchDatabase.SCHEMA + ".account");
        db.drop(table);
        double bare = perSecond(commits[0], nanos[0]);
        double plain = perSecond(commits[1], nanos[1]);
        double withNotify = perSecond(commits[2], nanos[2]);
        double withoutNotify = perSecond(commits[3], nanos[3]);
        double notifyAlone = perSecond(alone[0], aloneNanos[0]);
        double silentAlone = perSecond(alone[1], aloneNanos[1]);
        String prefix = "1. append, " + WRITERS + " writers, a relay draining: ";
        return List.of(
                new Row(prefix + "INSERT + plain-SQL outbox row (same columns and types)",
                        Format.rate(plain, "tx/s"), Format.rate(bare, "tx/s") + " INSERT alone",
                        Format.ratio(bare / plain) + " slower", "-"),
                new Row(prefix + "INSERT + append (notify off)",
                        Format.rate(withoutNotify, "tx/s"), Format.rate(plain, "tx/s") + " INSERT + plain-SQL row",
                        Format.ratio(plain / withoutNotify) + " slower", "<= 1.10x"),
                new Row(prefix + "INSERT + append (notify on)",
                        Format.rate(withNotify, "tx/s"), Format.rate(withoutNotify, "tx/s") + " append, notify off",
                        Format.ratio(withoutNotify / withNotify) + " slower", "<= 1.10x"),
                new Row(prefix + "INSERT + append (notify on)",
                        Format.rate(withNotify, "tx/s"), Format.rate(bare, "tx/s") + " INSERT alone",
                        Format.ratio(bare / withNotify) + " slower", "-"),
                new Row("1. append, " + WRITERS + " writers, no relay running: INSERT + append (notify on)",
                        Format.rate(notifyAlone, "tx/s"), Format.rate(silentAlone, "tx/s") + " append, notify off",
                        Format.ratio(silentAlone / notifyAlone) + " slower", "<= 1.05x"));
    }

    /** What a writer adds to its business INSERT: an append through {@code outbox}, or the plain-SQL row, or nothing. */
    private record Variant(JdbcOutbox outbox, String plainRow) {
    }

    /** @return transactions committed by all writers in {@code duration} */
    private long measure(Variant variant, Duration duration) throws Exception {
        ExecutorService writers = Executors.newFixedThreadPool(WRITERS);
        long deadline = System.nanoTime() + duration.toNanos();
        List<Future<Long>> done = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            done.add(writers.submit(() -> write(variant, deadline)));
        }
        long total = 0;
        for (Future<Long> f : done) {
            total += f.get();
        }
        writers.shutdown();
        return total;
    }

    private long write(Variant variant, long deadline) throws SQLException {
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
                    if (variant.outbox != null) {
                        variant.outbox.append(c, BenchDatabase.event(account));
                    } else if (variant.plainRow != null) {
                        try (PreparedStatement row = c.prepareStatement(variant.plainRow)) {
                            row.setObject(1, TimeOrderedUuid.next());
                            row.setString(2, "account");
                            row.setString(3, "acc-" + account);
                            row.setString(4, "funds_deposited");
                            row.setString(5, BenchDatabase.payload(account));
                            row.setString(6, "{}");
                            row.setObject(7, OffsetDateTime.now(ZoneOffset.UTC));
                            row.executeUpdate();
                        }
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
