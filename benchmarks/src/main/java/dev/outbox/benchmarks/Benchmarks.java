package dev.outbox.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Prints one table of the outbox's speed on a real PostgreSQL, each figure beside a baseline measured in the
 * same run: {@code --quick} (about a minute, a smoke test that checks the table is produced, not that targets
 * are met) or {@code --full} (the figures in the README).
 *
 * <p>Database: {@code OUTBOX_BENCH_JDBC_URL}, else {@code jdbc:postgresql://127.0.0.1:5432/test?user=postgres};
 * everything happens in the schema {@value BenchDatabase#SCHEMA}, which is dropped and created anew.
 */
public final class Benchmarks {

    private static String only;

    private Benchmarks() {
    }

    /** The sizes of one run. */
    private record Mode(String name, Duration appendPhase, int appendRounds, int relayEvents, int peerEvents,
                        Duration latencyRun, int sqsEvents, Duration idleWindow, int slowBrokerEvents,
                        int claimPublished, int claimBacklog, Duration horizonFree, Duration horizonPinned,
                        Duration horizonAfter, Duration horizonWindow) {
    }

    private static final Mode QUICK = new Mode("quick", Duration.ofSeconds(2), 2, 10_000, 5_000,
            Duration.ofSeconds(5), 1_000, Duration.ofSeconds(10), 3_000, 20_000, 15_000,
            Duration.ofSeconds(10), Duration.ofSeconds(20), Duration.ofSeconds(10), Duration.ofSeconds(5));
    private static final Mode FULL = new Mode("full", Duration.ofSeconds(1), 20, 100_000, 20_000,
            Duration.ofSeconds(30), 5_000, Duration.ofSeconds(10), 20_000, 1_100_000, 100_000,
            Duration.ofSeconds(40), Duration.ofMinutes(10), Duration.ofSeconds(60), Duration.ofSeconds(20));

    public static void main(String[] args) throws Exception {
        Mode mode = QUICK;
        for (String arg : args) {
            if (arg.equals("--full")) {
                mode = FULL;
            } else if (arg.startsWith("--only=")) {
                only = arg.substring("--only=".length());
            } else if (!arg.equals("--quick")) {
                System.err.println("usage: Benchmarks [--quick | --full] [--only=append|relay|peer|latency|sqs|idle|slowsqs|claims|throttle|failing|inbox|observe|mariadb|horizon|horizon-relays|horizon-rotated|mariadb-horizon]");
                System.exit(2);
            }
        }
        Mode m = mode;
        long started = System.nanoTime();
        List<Row> rows = new ArrayList<>();
        String mariadb = System.getenv("OUTBOX_BENCH_MARIADB_URL");
        try (BenchDatabase db = new BenchDatabase()) {
            System.out.printf(Locale.ROOT, "outbox benchmarks, %s mode, on %s (%s), %d cores, Java %s%n", mode.name,
                    db.url(), db.serverVersion(), Runtime.getRuntime().availableProcessors(),
                    System.getProperty("java.version"));
            rows.addAll(section("append", () -> new AppendOverhead(db, m.appendPhase, m.appendRounds).run()));
            RelayThroughput throughput = new RelayThroughput(db, m.relayEvents);
            rows.addAll(section("relay", throughput::run));
            RelayThroughput peerSized = new RelayThroughput(db, m.peerEvents);
            rows.addAll(section("peer", () -> new PeerComparison(db, m.peerEvents)
                    .run(peerSized.drainWithRelays(1, dev.outbox.jdbc.Ordering.NONE))));
            rows.addAll(section("latency", () -> new CommitLatency(db, m.latencyRun).run()));
            rows.addAll(section("sqs", () -> new SqsBatching(db, m.sqsEvents).run()));
            rows.addAll(section("idle", () -> new IdleCpu(db, m.idleWindow).run()));
            rows.addAll(section("slowsqs", () -> new SlowBroker(db, m.slowBrokerEvents).run()));
            rows.addAll(section("claims", () -> new ClaimCost(db, m.claimPublished, m.claimBacklog).run()));
            rows.addAll(section("throttle", () -> new Throttling(db, m.slowBrokerEvents).run()));
            rows.addAll(section("failing", () -> new FailingDestination(db, m.slowBrokerEvents).run()));
            rows.addAll(section("inbox", () -> new InboxOverhead(db, m.appendPhase, m.appendRounds).run()));
            if (mariadb != null && !mariadb.isBlank()) {
                rows.addAll(section("mariadb", () -> new MariaDbBench(mariadb, m.relayEvents / 2, m.appendPhase,
                        m.appendRounds, Math.min(m.claimPublished, 200_000), m.claimBacklog).run()));
            } else if (only == null || only.equals("mariadb")) {
                System.out.println("skipping mariadb: set OUTBOX_BENCH_MARIADB_URL, such as"
                        + " jdbc:mariadb://127.0.0.1:3306/test?user=root");
            }
            rows.addAll(section("horizon", () -> new PinnedHorizon(PinnedHorizon.postgres(db), m.horizonFree,
                    m.horizonPinned, m.horizonAfter, m.horizonWindow, Duration.ofSeconds(60)).run()));
            if ("horizon-rotated".equals(only)) {
                // Opt-in only (--only=horizon-rotated): benchmark 12 on a rotated table, then on a plain one.
                rows.addAll(new PinnedHorizon(PinnedHorizon.postgres(db, true), m.horizonFree, m.horizonPinned,
                        m.horizonAfter, m.horizonWindow, Duration.ofSeconds(60)).run());
                rows.addAll(new PinnedHorizon(PinnedHorizon.postgres(db), m.horizonFree, m.horizonPinned,
                        m.horizonAfter, m.horizonWindow, Duration.ofSeconds(60)).run());
            }
            if ("horizon-relays".equals(only)) {
                // Opt-in only (--only=horizon-relays): benchmark 12 with two relays and retries, as long again.
                rows.addAll(new PinnedHorizon(PinnedHorizon.postgres(db), m.horizonFree, m.horizonPinned,
                        m.horizonAfter, m.horizonWindow, Duration.ofSeconds(60), 2, 100).run());
            }
            if (mariadb != null && !mariadb.isBlank() && "mariadb-horizon".equals(only)) {
                // Opt-in only (--only=mariadb-horizon): as long as the PostgreSQL run.
                try (com.zaxxer.hikari.HikariDataSource pool = MariaDbBench.pool(mariadb, 16)) {
                    rows.addAll(new PinnedHorizon(PinnedHorizon.mariadb(pool), m.horizonFree, m.horizonPinned,
                            m.horizonAfter, m.horizonWindow, Duration.ofSeconds(60)).run());
                }
            }
            rows.addAll(section("observe", () -> new ObservabilityOverhead(db, m.relayEvents / 2, m.appendPhase,
                    m.appendRounds).run()));
        }
        System.out.println();
        System.out.println("| benchmark | ours | baseline (same run) | ratio | target |");
        System.out.println("|---|---|---|---|---|");
        for (Row row : rows) {
            System.out.printf("| %s | %s | %s | %s | %s |%n", row.benchmark(), row.ours(), row.baseline(), row.ratio(),
                    row.target());
        }
        System.out.printf(Locale.ROOT, "%nbenchmarks done in %.0f s%n", (System.nanoTime() - started) / 1e9);
        System.exit(0); // embedded servers and pools may leave non-daemon threads behind
    }

    @FunctionalInterface
    private interface Section {
        List<Row> run() throws Exception;
    }

    private static List<Row> section(String name, Section section) throws Exception {
        if (only != null && !only.equals(name)) {
            return List.of();
        }
        long start = System.nanoTime();
        System.out.printf(Locale.ROOT, "running %s...%n", name);
        List<Row> rows = section.run();
        System.out.printf(Locale.ROOT, "  %s done in %.1f s%n", name, (System.nanoTime() - start) / 1e9);
        return rows;
    }
}
