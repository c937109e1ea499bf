package dev.outbox.benchmarks;

import dev.outbox.TimeOrderedUuid;
import dev.outbox.inbox.Inbox;
import dev.outbox.inbox.InboxHandler;
import dev.outbox.inbox.InboxMessage;
import dev.outbox.inbox.InboxSchema;
import dev.outbox.jdbc.OutboxTable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Benchmark 11: a consumer's transaction, {@value #CONSUMERS} threads each applying messages one transaction at a
 * time: the handler alone (one UPSERT of a per-aggregate counter and a commit), and the same handler run through the
 * inbox (its record in the same transaction). Every message is new, so the inbox saves no handler run here: it only
 * adds its record. Event ids are time-ordered, as the outbox makes them. The variants take turns in rounds.
 */
final class InboxOverhead {

    static final int CONSUMERS = 4;

    private final BenchDatabase db;
    private final Duration phase;
    private final int rounds;

    InboxOverhead(BenchDatabase db, Duration phase, int rounds) {
        this.db = db;
        this.phase = phase;
        this.rounds = rounds;
    }

    List<Row> run() throws Exception {
        OutboxTable table = new OutboxTable(BenchDatabase.SCHEMA, "bench_inbox");
        BenchDatabase.execute(db.pool(), "DROP TABLE IF EXISTS " + table.qualifiedName());
        InboxSchema.create(db.pool(), table);
        String counters = BenchDatabase.SCHEMA + ".inbox_counters";
        BenchDatabase.execute(db.pool(), "DROP TABLE IF EXISTS " + counters);
        BenchDatabase.execute(db.pool(), "CREATE TABLE " + counters
                + " (aggregate_id text PRIMARY KEY, events bigint NOT NULL)");
        Inbox inbox = Inbox.create(table);
        InboxHandler apply = (connection, message) -> {
            try (PreparedStatement p = connection.prepareStatement("INSERT INTO " + counters + " VALUES (?, 1)"
                    + " ON CONFLICT (aggregate_id) DO UPDATE SET events = " + counters + ".events + 1")) {
                p.setString(1, message.aggregateId());
                p.executeUpdate();
            }
        };
        measure(null, apply, Duration.ofSeconds(1)); // warm-up
        measure(inbox, apply, Duration.ofSeconds(1));
        long[] done = new long[2];
        long[] nanos = new long[2];
        for (int r = 0; r < rounds; r++) {
            for (int v = 0; v < 2; v++) {
                long start = System.nanoTime();
                done[v] += measure(v == 0 ? null : inbox, apply, phase);
                nanos[v] += System.nanoTime() - start;
            }
        }
        BenchDatabase.execute(db.pool(), "DROP TABLE " + table.qualifiedName() + ", " + counters);
        double bare = done[0] * 1e9 / nanos[0];
        double withInbox = done[1] * 1e9 / nanos[1];
        return List.of(new Row("11. consume, " + CONSUMERS + " consumers, one message per transaction: handler"
                + " through the inbox", Format.rate(withInbox, "msg/s"), Format.rate(bare, "msg/s") + " handler alone",
                Format.ratio(bare / withInbox) + " slower", "<= 1.20x"));
    }

    /** @return messages applied by all consumers in {@code duration}; {@code inbox} null for the bare handler */
    private long measure(Inbox inbox, InboxHandler apply, Duration duration) throws Exception {
        ExecutorService consumers = Executors.newFixedThreadPool(CONSUMERS);
        long deadline = System.nanoTime() + duration.toNanos();
        List<Future<Long>> results = new ArrayList<>();
        for (int i = 0; i < CONSUMERS; i++) {
            results.add(consumers.submit(() -> consume(inbox, apply, deadline)));
        }
        long total = 0;
        for (Future<Long> f : results) {
            total += f.get();
        }
        consumers.shutdown();
        return total;
    }

    private long consume(Inbox inbox, InboxHandler apply, long deadline) throws Exception {
        long n = 0;
        try (Connection c = db.pool().getConnection()) {
            c.setAutoCommit(false);
            while (System.nanoTime() < deadline) {
                InboxMessage message = new InboxMessage(TimeOrderedUuid.next(), "placed", "order",
                        "o" + ThreadLocalRandom.current().nextInt(1000), "{}", null);
                if (inbox == null) {
                    apply.handle(c, message);
                } else {
                    inbox.receive(c, message, apply);
                }
                c.commit();
                n++;
            }
            c.setAutoCommit(true);
        }
        return n;
    }
}
