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
 * Benchmark 11: a consumer's transactions, {@value #CONSUMERS} threads each taking batches of {@value #BATCH} messages
 * (what one SQS receive gives) and applying them one transaction each on one connection from the pool: the handler
 * alone (one UPSERT of a per-aggregate counter and a commit), the batch through {@link Inbox#processAll} (what the SQS
 * consumer loop and the Lambda handler run), and each message through {@link Inbox#receive} in the consumer's own
 * transaction (record first). Every message is new, so the inbox saves no handler run here: it only adds its work.
 * Event ids are time-ordered, as the outbox makes them. The variants take turns in rounds.
 */
final class InboxOverhead {

    static final int CONSUMERS = 4;
    static final int BATCH = 10;
    private static final int BARE = 0;
    private static final int PROCESS_ALL = 1;
    private static final int RECEIVE = 2;

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
        for (int v = BARE; v <= RECEIVE; v++) {
            measure(v, inbox, apply, Duration.ofSeconds(1)); // warm-up
        }
        long[] done = new long[3];
        long[] nanos = new long[3];
        for (int r = 0; r < rounds; r++) {
            for (int v = BARE; v <= RECEIVE; v++) {
                long start = System.nanoTime();
                done[v] += measure(v, inbox, apply, phase);
                nanos[v] += System.nanoTime() - start;
            }
        }
        BenchDatabase.execute(db.pool(), "DROP TABLE " + table.qualifiedName() + ", " + counters);
        double bare = done[BARE] * 1e9 / nanos[BARE];
        double all = done[PROCESS_ALL] * 1e9 / nanos[PROCESS_ALL];
        double receive = done[RECEIVE] * 1e9 / nanos[RECEIVE];
        String alone = Format.rate(bare, "msg/s") + " handler alone";
        return List.of(new Row("11. consume, " + CONSUMERS + " consumers, batches of " + BATCH + ", one message per"
                        + " transaction: through Inbox.processAll", Format.rate(all, "msg/s"), alone,
                        Format.ratio(bare / all) + " slower", "<= 1.20x"),
                new Row("11. the same, each message through Inbox.receive in the consumer's transaction (record first)",
                        Format.rate(receive, "msg/s"), alone, Format.ratio(bare / receive) + " slower", "-"));
    }

    /** @return messages applied by all consumers in {@code duration} */
    private long measure(int variant, Inbox inbox, InboxHandler apply, Duration duration) throws Exception {
        ExecutorService consumers = Executors.newFixedThreadPool(CONSUMERS);
        long deadline = System.nanoTime() + duration.toNanos();
        List<Future<Long>> results = new ArrayList<>();
        for (int i = 0; i < CONSUMERS; i++) {
            results.add(consumers.submit(() -> consume(variant, inbox, apply, deadline)));
        }
        long total = 0;
        for (Future<Long> f : results) {
            total += f.get();
        }
        consumers.shutdown();
        return total;
    }

    private long consume(int variant, Inbox inbox, InboxHandler apply, long deadline) throws Exception {
        long n = 0;
        while (System.nanoTime() < deadline) {
            List<InboxMessage> batch = new ArrayList<>(BATCH);
            for (int i = 0; i < BATCH; i++) {
                batch.add(new InboxMessage(TimeOrderedUuid.next(), "placed", "order",
                        "o" + ThreadLocalRandom.current().nextInt(1000), "{}", null));
            }
            if (variant == PROCESS_ALL) {
                for (Inbox.Outcome o : inbox.processAll(db.pool(), batch, apply)) {
                    if (o.result() != Inbox.Result.PROCESSED) {
                        throw new IllegalStateException("every message is new, was " + o);
                    }
                }
            } else {
                try (Connection c = db.pool().getConnection()) {
                    c.setAutoCommit(false);
                    for (InboxMessage message : batch) {
                        if (variant == BARE) {
                            apply.handle(c, message);
                        } else {
                            inbox.receive(c, message, apply);
                        }
                        c.commit();
                    }
                    c.setAutoCommit(true);
                }
            }
            n += BATCH;
        }
        return n;
    }
}
