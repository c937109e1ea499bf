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
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
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
 * table's dead tuples and size, after 5 s of warm-up at the same rate. On a server whose autovacuum is off, the run
 * vacuums and analyzes the table itself every {@value #MAINTAIN_SECONDS} s (autovacuum's naptime), as autovacuum would
 * with the table's settings, so that the planner has statistics and the free phases are free. The rows compare the last pinned window with
 * the first free one.
 */
final class PinnedHorizon {

    static final int RATE = 800;
    static final int WRITERS = 4;
    static final int PURGE_SECONDS = 10;
    /** How often the run vacuums and analyzes where the server's autovacuum is off: its naptime, 1 min. */
    static final int MAINTAIN_SECONDS = 60;

    /** The database under test: PostgreSQL, or MySQL and MariaDB. */
    interface Target {
        /** @return "PostgreSQL" or "MariaDB" */
        String name();

        javax.sql.DataSource pool();

        OutboxTable newTable();

        void drop(OutboxTable table);

        /** @return the old row versions waiting for vacuum (dead tuples) or for purge (history list length) */
        long oldVersions(OutboxTable table);

        /** @return what the old versions are called */
        String oldVersionsLabel();

        /** @return the table's size with its indexes */
        long bytes(OutboxTable table);

        /** @return a connection whose transaction holds a snapshot, and with it the horizon */
        Connection pin() throws SQLException;

        /** @return how often the relay polls: PostgreSQL's relays wake on commit, MariaDB's poll */
        Duration pollInterval();

        /**
         * Does what the database's own background work would: on a PostgreSQL server whose autovacuum is off (as on
         * the machines this project's CI runs on), {@code VACUUM (ANALYZE)} of the table, which its autovacuum
         * settings would run at every naptime at this rate; nothing elsewhere.
         */
        default void maintain(OutboxTable table) {
        }
    }

    /** @return the benchmark's PostgreSQL as the target */
    static Target postgres(BenchDatabase db) {
        return postgres(db, false);
    }

    /**
     * @param rotated whether the table is a rotated one ({@code OutboxSchema.createRotated})
     * @return the benchmark's PostgreSQL as the target
     */
    static Target postgres(BenchDatabase db, boolean rotated) {
        // The table's own relation, or its partitions: a partitioned table has no storage or statistics of its own.
        String relations = "(SELECT relid FROM pg_partition_tree('%1$s') WHERE isleaf UNION SELECT '%1$s'::regclass)";
        return new Target() {
            public String name() {
                return rotated ? "PostgreSQL, rotated table" : "PostgreSQL";
            }

            public javax.sql.DataSource pool() {
                return db.pool();
            }

            public OutboxTable newTable() {
                return rotated ? db.newRotatedOutboxTable() : db.newOutboxTable();
            }

            public void drop(OutboxTable table) {
                db.drop(table);
            }

            public long oldVersions(OutboxTable table) {
                return BenchDatabase.queryLong(db.pool(), "SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables"
                        + " WHERE relid IN " + relations.formatted(table.qualifiedName()));
            }

            public String oldVersionsLabel() {
                return "dead tuples";
            }

            public long bytes(OutboxTable table) {
                return BenchDatabase.queryLong(db.pool(), "SELECT sum(pg_total_relation_size(r)) FROM "
                        + relations.formatted(table.qualifiedName()) + " x(r)");
            }

            public Connection pin() throws SQLException {
                Connection pin = db.pool().getConnection();
                pin.setAutoCommit(false);
                pin.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                try (Statement s = pin.createStatement()) {
                    s.execute("SELECT count(*) FROM pg_class");
                }
                return pin;
            }

            public Duration pollInterval() {
                return Duration.ofSeconds(1);
            }

            private final boolean autovacuumOff = "off".equals(BenchDatabase.queryString(db.pool(), "SHOW autovacuum"));

            @Override
            public void maintain(OutboxTable table) {
                if (autovacuumOff) {
                    try (Connection c = db.pool().getConnection(); Statement s = c.createStatement()) {
                        // Throttled as autovacuum is by default (a manual VACUUM is not): 2 ms after every 200
                        // cost units.
                        s.execute("SET vacuum_cost_delay = 2");
                        s.execute("SET vacuum_cost_limit = 200");
                        s.execute("VACUUM (ANALYZE) " + table.qualifiedName());
                        s.execute("RESET vacuum_cost_delay");
                        s.execute("RESET vacuum_cost_limit");
                    } catch (SQLException e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
        };
    }

    /** @return a MySQL or MariaDB database (tables made and dropped in it) as the target */
    static Target mariadb(com.zaxxer.hikari.HikariDataSource pool) {
        return new Target() {
            private int tables;

            public String name() {
                return "MariaDB";
            }

            public javax.sql.DataSource pool() {
                return pool;
            }

            public OutboxTable newTable() {
                OutboxTable table = OutboxTable.named("bench_horizon_" + (++tables) + "_" + ProcessHandle.current().pid());
                dev.outbox.jdbc.OutboxSchema.create(pool, table);
                return table;
            }

            public void drop(OutboxTable table) {
                try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
                    s.execute("DROP TABLE IF EXISTS " + table.name());
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            }

            public long oldVersions(OutboxTable table) {
                return BenchDatabase.queryLong(pool, "SELECT `COUNT` FROM information_schema.INNODB_METRICS"
                        + " WHERE NAME = 'trx_rseg_history_len'");
            }

            public String oldVersionsLabel() {
                return "history list";
            }

            public long bytes(OutboxTable table) {
                return BenchDatabase.queryLong(pool, "SELECT data_length + index_length FROM information_schema.TABLES"
                        + " WHERE table_schema = DATABASE() AND table_name = '" + table.name() + "'");
            }

            public Connection pin() throws SQLException {
                Connection pin = pool.getConnection();
                pin.setAutoCommit(false);
                try (Statement s = pin.createStatement()) {
                    s.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT");
                }
                return pin;
            }

            public Duration pollInterval() {
                return Duration.ofMillis(100);
            }
        };
    }

    private final Target db;
    private final Duration free;
    private final Duration pinned;
    private final Duration after;
    private final Duration window;
    private final Duration retention;

    private final int relays;
    private final int retryOneIn;

    PinnedHorizon(Target db, Duration free, Duration pinned, Duration after, Duration window,
                  Duration retention) {
        this(db, free, pinned, after, window, retention, 1, 0);
    }

    /**
     * @param relays how many relays publish, each with the defaults
     * @param retryOneIn the publisher answers retry to one event in this many at its first attempt (0: to none); such
     *        events are left out of the latencies, which would otherwise measure the retry policy's delay
     */
    PinnedHorizon(Target db, Duration free, Duration pinned, Duration after, Duration window,
                  Duration retention, int relays, int retryOneIn) {
        this.relays = relays;
        this.retryOneIn = retryOneIn;
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

        final Set<UUID> retried = ConcurrentHashMap.newKeySet();

        /** An event answered retry: it is left out of the latencies. */
        void retried(UUID id) {
            retried.add(id);
            committedAt.remove(id);
        }

        void received(List<Event> events) {
            long now = System.nanoTime();
            for (Event e : events) {
                if (retried.contains(e.id())) {
                    committedAt.remove(e.id());
                    continue;
                }
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
            if (retried.contains(id)) {
                return;
            }
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
        OutboxTable table = db.newTable();
        Meter meter = new Meter();
        Publisher publisher = new Publisher() {
            @Override
            public List<PublishOutcome> publish(List<Event> events) {
                if (retryOneIn == 0) {
                    meter.received(events);
                    return Collections.nCopies(events.size(), PublishOutcome.published());
                }
                List<PublishOutcome> outcomes = new ArrayList<>(events.size());
                List<Event> published = new ArrayList<>(events.size());
                for (Event e : events) {
                    if (Math.floorMod(e.id().hashCode(), retryOneIn) == 0 && !meter.retried.contains(e.id())) {
                        meter.retried(e.id());
                        outcomes.add(PublishOutcome.retry("one in " + retryOneIn + " is retried once"));
                    } else {
                        published.add(e);
                        outcomes.add(PublishOutcome.published());
                    }
                }
                meter.received(published);
                return outcomes;
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
        List<JdbcRelay> others = new ArrayList<>();
        try (JdbcRelay relay = JdbcRelay.builder(db.pool(), publisher).table(table).listener(meter)
                .pollInterval(db.pollInterval()).build()) {
            relay.start(relayThreads);
            for (int r = 1; r < relays; r++) {
                JdbcRelay other = JdbcRelay.builder(db.pool(), publisher).table(table).listener(meter)
                        .pollInterval(db.pollInterval()).build();
                others.add(other);
                other.start(relayThreads);
            }
            warmUp(outbox, meter);
            db.maintain(table);
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
                long maintained = System.nanoTime();
                while (System.nanoTime() < end) {
                    Thread.sleep(PURGE_SECONDS * 1000L);
                    operations.purgePublished(retention, 10_000);
                    if (System.nanoTime() - maintained >= TimeUnit.SECONDS.toNanos(MAINTAIN_SECONDS)) {
                        db.maintain(table);
                        maintained = System.nanoTime();
                    }
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
                    long dead = db.oldVersions(table);
                    long bytes = db.bytes(table);
                    Window w = new Window(m[0], m[1], m[2], (long) m[3], dead, bytes);
                    String phase = pin != null ? "pinned" : next - start <= free.toNanos() ? "free" : "released";
                    windows.add(w);
                    phases.add(phase);
                    System.out.printf(Locale.ROOT, "  %4.0f s %-8s commit->publish p50 %s p99 %s, claim %.2f ms x %d,"
                                    + " %s %,d, table %s%n", (next - start) / 1e9, phase,
                            Format.millis(w.p50()), Format.millis(w.p99()), w.claimMillis(), w.claims(), db.oldVersionsLabel(),
                            w.deadTuples(),
                            mib(w.bytes()));
                    if (pin == null && System.nanoTime() >= pinAt && System.nanoTime() < unpinAt) {
                        pin = db.pin();
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
            for (JdbcRelay other : others) {
                other.close();
            }
            relayThreads.shutdown();
            db.drop(table);
        }
        int firstFree = phases.indexOf("free");
        int lastPinned = phases.lastIndexOf("pinned");
        Window base = windows.get(firstFree);
        Window worst = windows.get(lastPinned);
        Window last = windows.get(windows.size() - 1);
        int slowestIndex = phases.indexOf("pinned"); // the slowest pinned one, even when the free one was slower
        for (int i = 0; i < windows.size(); i++) {
            if (phases.get(i).equals("pinned") && windows.get(i).p99() > windows.get(slowestIndex).p99()) {
                slowestIndex = i;
            }
        }
        Window slowest = windows.get(slowestIndex);
        long slowestAt = (slowestIndex + 1) * window.toSeconds();
        String label = String.format(Locale.ROOT, "12. pinned horizon, %s, %d events/s, %s pinned%s: ", db.name(), RATE,
                pinned.toSeconds() + " s", relays == 1 && retryOneIn == 0 ? ""
                        : ", " + relays + " relays, one event in " + retryOneIn + " retried once");
        return List.of(
                new Row(label + "mean claim, last pinned window vs first free one",
                        String.format(Locale.ROOT, "%.2f ms", worst.claimMillis()),
                        String.format(Locale.ROOT, "%.2f ms", base.claimMillis()),
                        Format.ratio(worst.claimMillis() / base.claimMillis()), "<= 2x"),
                new Row(label + "commit-to-publish p99, last pinned window vs first free one",
                        Format.millis(worst.p99()), Format.millis(base.p99()),
                        Format.ratio(worst.p99() / base.p99()), "<= 2x"),
                new Row(label + "commit-to-publish p99, slowest pinned window vs first free one",
                        Format.millis(slowest.p99()) + (slowest == base ? "" : " (window ending at " + slowestAt + " s)"),
                        Format.millis(base.p99()), Format.ratio(slowest.p99() / base.p99()), "-"),
                new Row(label + "table size and old versions, end of the pinned phase vs first free window",
                        mib(worst.bytes()) + ", " + String.format(Locale.ROOT, "%,d %s", worst.deadTuples(), db.oldVersionsLabel()),
                        mib(base.bytes()) + ", " + String.format(Locale.ROOT, "%,d %s", base.deadTuples(), db.oldVersionsLabel()),
                        Format.ratio((double) worst.bytes() / base.bytes()), "-"),
                new Row(label + "table size and old versions, end of the run (horizon free again)",
                        mib(last.bytes()) + ", " + String.format(Locale.ROOT, "%,d %s", last.deadTuples(), db.oldVersionsLabel()),
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

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

}
