package dev.outbox.benchmarks;

import dev.outbox.Event;
import dev.outbox.RelayResult;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.Ordering;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Benchmark 2: how fast 1, 2 and 4 relays drain a backlog into a publisher that does nothing, ordered and
 * unordered, against the floor: the same statements in a bare JDBC loop ({@link BareClaimLoop}) with as many
 * threads. Each run drains a fresh table filled with the same number of events.
 */
final class RelayThroughput {

    static final int BATCH_SIZE = 500;
    static final int AGGREGATES = 1000;

    /** Accepts every event at once: what is left is the relay's own cost. */
    static final Publisher NO_OP = new Publisher() {
        @Override
        public List<PublishOutcome> publish(List<Event> events) {
            return Collections.nCopies(events.size(), PublishOutcome.published());
        }

        @Override
        public void close() {
        }
    };

    private final BenchDatabase db;
    private final int events;

    RelayThroughput(BenchDatabase db, int events) {
        this.db = db;
        this.events = events;
    }

    List<Row> run() throws Exception {
        drainWithRelays(1, Ordering.NONE); // warm-up
        drainBare(1, false);
        List<Row> rows = new ArrayList<>();
        for (Ordering ordering : List.of(Ordering.PER_AGGREGATE, Ordering.NONE)) {
            for (int relays : new int[] {1, 2, 4}) {
                double ours = drainWithRelays(relays, ordering);
                double floor = drainBare(relays, ordering == Ordering.PER_AGGREGATE);
                rows.add(new Row("2. relay throughput, " + relays + (relays == 1 ? " relay, " : " relays, ")
                        + (ordering == Ordering.PER_AGGREGATE ? "ordered" : "unordered") + ", " + events + " events",
                        Format.rate(ours, "events/s"), Format.rate(floor, "events/s") + " bare JDBC floor",
                        Format.ratio(ours / floor) + " of floor", ">= 0.80x"));
            }
        }
        return rows;
    }

    double drainWithRelays(int count, Ordering ordering) throws Exception {
        OutboxTable table = db.newOutboxTable();
        db.fill(table, events, AGGREGATES);
        List<JdbcRelay> relays = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            relays.add(JdbcRelay.builder(db.pool(), NO_OP).table(table).ordering(ordering).batchSize(BATCH_SIZE)
                    .ownerId("bench-relay-" + i).build());
        }
        AtomicLong published = new AtomicLong();
        double rate = timed(count, i -> () -> {
            JdbcRelay relay = relays.get(i);
            while (published.get() < events) {
                RelayResult result = relay.runOnce();
                published.addAndGet(result.published());
                if (result.claimed() == 0) {
                    Thread.onSpinWait();
                }
            }
            return null;
        });
        relays.forEach(JdbcRelay::close);
        db.drop(table);
        return rate;
    }

    double drainBare(int count, boolean ordered) throws Exception {
        OutboxTable table = db.newOutboxTable();
        db.fill(table, events, AGGREGATES);
        BareClaimLoop loop = new BareClaimLoop(db.pool(), table, ordered, BATCH_SIZE);
        AtomicLong published = new AtomicLong();
        double rate = timed(count, i -> () -> {
            while (published.get() < events) {
                published.addAndGet(loop.runOnce("bare-" + i));
            }
            return null;
        });
        db.drop(table);
        return rate;
    }

    /** Runs {@code threads} workers to completion and returns events per second. */
    private double timed(int threads, java.util.function.IntFunction<Callable<Void>> worker) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        long start = System.nanoTime();
        List<Future<Void>> futures = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            futures.add(pool.submit(worker.apply(i)));
        }
        for (Future<Void> f : futures) {
            f.get();
        }
        long nanos = System.nanoTime() - start;
        pool.shutdown();
        return events * 1e9 / nanos;
    }
}
