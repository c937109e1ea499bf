package dev.outbox.benchmarks;

import dev.outbox.Event;
import dev.outbox.RelayListener;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxOperations;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Benchmark 12: the relay while another session holds the database's horizon. {@value #WRITERS} writers append
 * {@value #RATE} events/s in all (one event a transaction, 1,000 aggregates); one relay with the defaults publishes to
 * a publisher that takes everything; published events older than the retention are purged every
 * {@value #PURGE_SECONDS} s. After the free phase another connection opens a REPEATABLE READ transaction, takes a
 * snapshot and holds it for the pinned phase; then lets go, and the run goes on for a last free phase. Each window
 * prints commit-to-publish p50/p99, the mean claim (the relay's whole claim: unpark, sighting and claim), and the
 * table's dead tuples and size, after 5 s of warm-up at the same rate. The rows compare the last pinned window with
 * the first free one.
 */
final class PinnedHorizon {

    static final int RATE = 800;
    static final int WRITERS = 4;
    static final int PURGE_SECONDS = 10;

    private final BenchDatabase db;
    private final Duration free;
    private final Duration pinned;
    private final Duration after;
    private final Duration window;
    private final Duration retention;

    PinnedHorizon(BenchDatabase db, Duration free, Duration pinned, Duration after, Duration window,
                  Duration retention) {
        this.db = db;
        this.free = free;
        this.pinned = pinned;
        this.after = after;
        this.window = window;
        this.retention = retention;
    }

    /** One window's figures. */
    private record Window(double p50, double p99, double claimMillis, long claims, long deadTuples, long bytes) {
    }

    /** Latencies and claim times of the window under way. */
    private static final class Meter implements RelayListener {
        final Map<UUID, Long> committedAt = new ConcurrentHashMap<>();
        final List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
        final AtomicLong claims = new AtomicLong();
        final AtomicLong claimNanos = new AtomicLong();

        @Override
        public void claimed(int events, Duration elapsed) {
            claims.incrementAndGet();
            claimNanos.addAndGet(elapsed.toNanos());
        }

        /** A publish heard before its writer's commit returned: its latency counts as 0. */
        private static final long RECEIVED = -1;

        void received(List<Event> events) {
            long now = System.nanoTime();
            for (Event e : events) {
                committedAt.compute(e.id(), (id, committed) -> {
                    if (committed == null) {
                        return RECEIVED;
                    }
                    latencies.add(Math.max(0, now - committed) / 1e6);
                    return null;
                });
            }
        }

        void committed(UUID id) {
            long now = System.nanoTime();
            committedAt.compute(id, (k, received) -> {
                if (received == null) {
                    return now;
                }
                latencies.add(0.0);
                return null;
            });
        }

        /** @return latencies p50, p99, mean claim ms, claims; resets them */
        double[] take() {
            double[] sorted;
            synchronized (latencies) {
                sorted = latencies.stream().mapToDouble(Double::doubleValue).sorted().toArray();
                latencies.clear();
            }
            long n = claims.getAndSet(0);
            long nanos = claimNanos.getAndSet(0);
            return new double[] {
                sorted.length == 0 ? 0 : CommitLatency.percentile(sorted, 0.50),
                sorted.length == 0 ? 0 : CommitLatency.percentile(sorted, 0.99),
                n == 0 ? 0 : nanos / 1e6 / n, n};
        }
    }

    List<Row> run() throws Exception {
        OutboxTable table = db.newOutboxTable();
        Meter meter = new Meter();
        Publisher publisher = new Publisher() {
            @Override
            public List<PublishOutcome> publish(List<Event> events) {
                meter.received(events);
                return Collections.nCopies(events.size(), PublishOutcome.published());
            }

            @Override
            public void close() {
            }
        };
        JdbcOutbox outbox = JdbcOutbox.create(table);
        OutboxOperations operations = new OutboxOperations(db.pool(), table);
        ExecutorService relayThreads = Executors.newCachedThreadPool();
        List<Window> windows = new ArrayList<>();
        List<String> phases = new ArrayList<>();
        try (JdbcRelay relay = JdbcRelay.builder(db.pool(), publisher).table(table).listener(meter).build()) {
            relay.start(relayThreads);
            warmUp(outbox, meter);
            long total = free.plus(pinned).plus(after).toNanos();
            long start = System.nanoTime();
            long end = start + total;
            ExecutorService writers = Executors.newFixedThreadPool(WRITERS + 1);
            List<Future<?>> done = new ArrayList<>();
            long periodNanos = TimeUnit.SECONDS.toNanos(1) * WRITERS / RATE;
            for (int w = 0; w < WRITERS; w++) {
                done.add(writers.submit(() -> {
                    CommitLatency.writeAtRate(db.pool(), outbox, periodNanos, end, meter::committed);
                    return null;
                }));
            }
            done.add(writers.submit(() -> {
                while (System.nanoTime() < end) {
                    Thread.sleep(PURGE_SECONDS * 1000L);
                    operations.purgePublished(retention, 10_000);
                }
                return null;
            }));
            Connection pin = null;
            long pinAt = start + free.toNanos();
            long unpinAt = pinAt + pinned.toNanos();
            try {
                for (long next = start + window.toNanos(); next <= end + 1_000_000; next += window.toNanos()) {
                    LockSupport.parkNanos(next - System.nanoTime());
                    double[] m = meter.take();
                    long dead = BenchDatabase.queryLong(db.pool(), "SELECT n_dead_tup FROM pg_stat_user_tables"
                            + " WHERE relid = '" + table.qualifiedName() + "'::regclass");
                    long bytes = BenchDatabase.queryLong(db.pool(), "SELECT pg_total_relation_size('"
                            + table.qualifiedName() + "'::regclass)");
                    Window w = new Window(m[0], m[1], m[2], (long) m[3], dead, bytes);
                    String phase = pin != null ? "pinned" : next - start <= free.toNanos() ? "free" : "released";
                    windows.add(w);
                    phases.add(phase);
                    System.out.printf(Locale.ROOT, "  %4.0f s %-8s commit->publish p50 %s p99 %s, claim %.2f ms x %d,"
                                    + " dead tuples %,d, table %s%n", (next - start) / 1e9, phase,
                            Format.millis(w.p50()), Format.millis(w.p99()), w.claimMillis(), w.claims(), w.deadTuples(),
                            mib(w.bytes()));
                    if (pin == null && System.nanoTime() >= pinAt && System.nanoTime() < unpinAt) {
                        pin = pin();
                    } else if (pin != null && System.nanoTime() >= unpinAt) {
                        pin.rollback();
                        pin.close();
                        pin = null;
                    }
                }
            } finally {
                if (pin != null) {
                    pin.close();
                }
            }
            for (Future<?> f : done) {
                f.get();
            }
            writers.shutdown();
        } finally {
            relayThreads.shutdown();
            db.drop(table);
        }
        int firstFree = phases.indexOf("free");
        int lastPinned = phases.lastIndexOf("pinned");
        Window base = windows.get(firstFree);
        Window worst = windows.get(lastPinned);
        Window last = windows.get(windows.size() - 1);
        String label = String.format(Locale.ROOT, "12. pinned horizon, %d events/s, %s pinned: ", RATE,
                pinned.toSeconds() + " s");
        return List.of(
                new Row(label + "mean claim, last pinned window vs first free one",
                        String.format(Locale.ROOT, "%.2f ms", worst.claimMillis()),
                        String.format(Locale.ROOT, "%.2f ms", base.claimMillis()),
                        Format.ratio(worst.claimMillis() / base.claimMillis()), "<= 2x"),
                new Row(label + "commit-to-publish p99, last pinned window vs first free one",
                        Format.millis(worst.p99()), Format.millis(base.p99()),
                        Format.ratio(worst.p99() / base.p99()), "<= 2x"),
                new Row(label + "table size and dead tuples, end of the pinned phase vs first free window",
                        mib(worst.bytes()) + ", " + String.format(Locale.ROOT, "%,d dead", worst.deadTuples()),
                        mib(base.bytes()) + ", " + String.format(Locale.ROOT, "%,d dead", base.deadTuples()),
                        Format.ratio((double) worst.bytes() / base.bytes()), "-"),
                new Row(label + "table size and dead tuples, end of the run (horizon free again)",
                        mib(last.bytes()) + ", " + String.format(Locale.ROOT, "%,d dead", last.deadTuples()),
                        mib(worst.bytes()) + " at the end of the pinned phase",
                        Format.ratio((double) last.bytes() / worst.bytes()), "-"));
    }

    /** Writes at the rate for a few seconds, unmeasured, so that the first window is not the JIT's. */
    private void warmUp(JdbcOutbox outbox, Meter meter) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        long periodNanos = TimeUnit.SECONDS.toNanos(1) / RATE;
        CommitLatency.writeAtRate(db.pool(), outbox, periodNanos, end, meter::committed);
        Thread.sleep(500);
        meter.take();
    }

    /** @return a connection whose REPEATABLE READ transaction holds a snapshot, and with it the horizon */
    private Connection pin() throws SQLException {
        Connection pin = DriverManager.getConnection(db.url());
        pin.setAutoCommit(false);
        pin.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
        try (Statement s = pin.createStatement()) {
            s.execute("SELECT count(*) FROM pg_class");
        }
        return pin;
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

}
