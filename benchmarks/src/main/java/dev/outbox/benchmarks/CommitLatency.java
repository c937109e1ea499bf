package dev.outbox.benchmarks;

import dev.outbox.Event;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Benchmark 4: commit-to-publish latency at a steady {@value #RATE} events/s (4 writers, one event per
 * transaction), from the moment the writer's commit returns to the moment the publisher holds the event. One
 * relay loop, per-aggregate order, once woken by commits and once polling every {@value #POLL_MILLIS} ms.
 */
final class CommitLatency {

    static final int RATE = 1000;
    static final int WRITERS = 4;
    static final int POLL_MILLIS = 100;

    private final BenchDatabase db;
    private final Duration duration;

    CommitLatency(BenchDatabase db, Duration duration) {
        this.db = db;
        this.duration = duration;
    }

    List<Row> run() throws Exception {
        measure(true, Duration.ofSeconds(2)); // warm-up
        double[] woken = measure(true, duration);
        double[] polled = measure(false, duration);
        return List.of(new Row("4. commit-to-publish latency at " + String.format("%,d", RATE)
                        + " events/s, wake on commit vs polling every " + POLL_MILLIS + " ms",
                "p50 " + Format.millis(woken[0]) + ", p99 " + Format.millis(woken[1]) + ", max " + Format.millis(woken[2]),
                "p50 " + Format.millis(polled[0]) + ", p99 " + Format.millis(polled[1]) + ", max " + Format.millis(polled[2]),
                Format.ratio(polled[1] / woken[1]) + " lower p99", "p50 <= 5 ms, p99 <= 25 ms"));
    }

    /** @return p50, p99 and max in milliseconds */
    double[] measure(boolean wakeOnCommit, Duration length) throws Exception {
        OutboxTable table = db.newOutboxTable();
        Map<UUID, Long> committedAt = new ConcurrentHashMap<>();
        Map<UUID, Long> receivedAt = new ConcurrentHashMap<>();
        Publisher publisher = new Publisher() {
            @Override
            public List<PublishOutcome> publish(List<Event> events) {
                long now = System.nanoTime();
                for (Event e : events) {
                    receivedAt.put(e.id(), now);
                }
                return Collections.nCopies(events.size(), PublishOutcome.published());
            }

            @Override
            public void close() {
            }
        };
        JdbcOutbox outbox = JdbcOutbox.builder().table(table).notifyOnCommit(wakeOnCommit).build();
        ExecutorService relayThread = Executors.newSingleThreadExecutor();
        try (JdbcRelay relay = JdbcRelay.builder(db.pool(), publisher).table(table).wakeOnCommit(wakeOnCommit)
                .pollInterval(wakeOnCommit ? Duration.ofSeconds(1) : Duration.ofMillis(POLL_MILLIS)).build()) {
            relay.start(relayThread);
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (wakeOnCommit && !relay.isListening() && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            ExecutorService writers = Executors.newFixedThreadPool(WRITERS);
            List<Future<?>> done = new ArrayList<>();
            long periodNanos = TimeUnit.SECONDS.toNanos(1) * WRITERS / RATE;
            long end = System.nanoTime() + length.toNanos();
            for (int w = 0; w < WRITERS; w++) {
                done.add(writers.submit(() -> {
                    writeAtRate(db.pool(), outbox, periodNanos, end, id -> committedAt.put(id, System.nanoTime()));
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            writers.shutdown();
            long drainDeadline = System.nanoTime() + 30_000_000_000L;
            while (receivedAt.size() < committedAt.size() && System.nanoTime() < drainDeadline) {
                Thread.sleep(5);
            }
        }
        relayThread.shutdown();
        db.drop(table);
        if (receivedAt.size() < committedAt.size()) {
            throw new IllegalStateException((committedAt.size() - receivedAt.size()) + " events not published within 30 s");
        }
        double[] millis = committedAt.entrySet().stream()
                .mapToDouble(e -> Math.max(0, receivedAt.get(e.getKey()) - e.getValue()) / 1e6)
                .sorted().toArray();
        return new double[] {percentile(millis, 0.50), percentile(millis, 0.99), millis[millis.length - 1]};
    }

    /**
     * Appends one event a transaction every {@code periodNanos} (from a random offset) until {@code end}, telling
     * {@code committed} each event's id as its commit returns.
     */
    static void writeAtRate(javax.sql.DataSource pool, JdbcOutbox outbox, long periodNanos, long end,
                            java.util.function.Consumer<UUID> committed) throws SQLException {
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(false);
            long next = System.nanoTime() + ThreadLocalRandom.current().nextLong(periodNanos);
            while (next < end) {
                LockSupport.parkNanos(next - System.nanoTime());
                Event event = BenchDatabase.event(ThreadLocalRandom.current().nextInt(1000));
                outbox.append(c, event);
                c.commit();
                committed.accept(event.id());
                next += periodNanos;
            }
            c.setAutoCommit(true);
        }
    }

    static double percentile(double[] sorted, double p) {
        int index = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }
}
