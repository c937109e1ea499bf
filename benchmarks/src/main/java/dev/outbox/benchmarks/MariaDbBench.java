package dev.outbox.benchmarks;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outbox.Event;
import dev.outbox.RelayResult;
import dev.outbox.TimeOrderedUuid;
import dev.outbox.jdbc.Database;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.Ordering;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxStatements;
import dev.outbox.jdbc.OutboxTable;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Benchmark 10: MariaDB (or MySQL), at {@code OUTBOX_BENCH_MARIADB_URL}. Relay throughput against a bare JDBC loop
 * issuing the relay's own statements ({@link OutboxStatements#mysql}: the candidates, the locking read, the aggregate
 * check, the lease,
 * then the lock and the published mark, each claim and each record one READ COMMITTED transaction), and append against
 * a plain-SQL INSERT of the same row, 4 writers each with a business INSERT, as benchmark 1; then the claim cost of
 * benchmark 8's shapes ({@link MariaDbClaimCost}).
 */
final class MariaDbBench {

    private final String url;
    private final int events;
    private final Duration appendPhase;
    private final int rounds;
    private final AtomicInteger tables = new AtomicInteger();

    private final int claimPublished;
    private final int claimBacklog;

    MariaDbBench(String url, int events, Duration appendPhase, int rounds, int claimPublished, int claimBacklog) {
        this.url = url;
        this.events = events;
        this.appendPhase = appendPhase;
        this.rounds = rounds;
        this.claimPublished = claimPublished;
        this.claimBacklog = claimBacklog;
    }

    /** @return a pool of {@code size} connections on the MySQL or MariaDB database at {@code url} */
    static HikariDataSource pool(String url, int size) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setMaximumPoolSize(size);
        config.setPoolName("bench-mariadb");
        return new HikariDataSource(config);
    }

    List<Row> run() throws Exception {
        try (HikariDataSource pool = pool(url, 12)) {
            Database database = Database.of(pool);
            try (Connection c = pool.getConnection(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT version()")) {
                rs.next();
                System.out.println("  on " + database + " " + rs.getString(1));
            }
            List<Row> rows = new ArrayList<>();
            drain(pool, 1, Ordering.PER_AGGREGATE, false); // warm-up
            drain(pool, 1, Ordering.PER_AGGREGATE, true);
            for (Ordering ordering : List.of(Ordering.PER_AGGREGATE, Ordering.NONE)) {
                for (int relays : new int[] {1, 2}) {
                    double ours = 0;
                    double floor = 0;
                    for (int r = 0; r < 2; r++) {
                        ours += drain(pool, relays, ordering, false);
                        floor += drain(pool, relays, ordering, true);
                    }
                    rows.add(new Row("10. " + database + ": relay throughput, " + relays
                            + (relays == 1 ? " relay, " : " relays, ")
                            + (ordering == Ordering.PER_AGGREGATE ? "ordered" : "unordered") + ", " + events + " events",
                            Format.rate(ours / 2, "events/s"), Format.rate(floor / 2, "events/s") + " bare JDBC floor",
                            Format.ratio(ours / floor) + " of floor", ">= 0.80x"));
                }
            }
            rows.addAll(append(pool, database));
            rows.addAll(new MariaDbClaimCost(pool, database, claimPublished, claimBacklog).run());
            return rows;
        }
    }

    private OutboxTable newTable(HikariDataSource pool) {
        OutboxTable table = OutboxTable.named("bench_outbox_" + tables.incrementAndGet() + "_"
                + Long.toString(System.nanoTime(), 36));
        OutboxSchema.create(pool, table);
        return table;
    }

    private static void execute(HikariDataSource pool, String sql) throws SQLException {
        try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private void fill(HikariDataSource pool, OutboxTable table) throws SQLException {
        JdbcOutbox outbox = JdbcOutbox.builder().table(table).database(Database.MARIADB).build();
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(false);
            for (int done = 0; done < events; done += 1000) {
                List<Event> batch = new ArrayList<>(1000);
                for (int i = 0; i < 1000 && done + i < events; i++) {
                    batch.add(BenchDatabase.event(ThreadLocalRandom.current().nextInt(RelayThroughput.AGGREGATES)));
                }
                outbox.appendAll(c, batch);
                c.commit();
            }
            c.setAutoCommit(true);
        }
        execute(pool, "ANALYZE TABLE " + table.qualifiedName(Database.MARIADB));
    }

    /** @return events per second draining a fresh backlog with {@code count} relays or bare loops */
    private double drain(HikariDataSource pool, int count, Ordering ordering, boolean bare) throws Exception {
        OutboxTable table = newTable(pool);
        fill(pool, table);
        AtomicLong published = new AtomicLong();
        ExecutorService threads = Executors.newFixedThreadPool(count);
        List<JdbcRelay> relays = new ArrayList<>();
        List<Future<?>> running = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            int n = i;
            if (bare) {
                Bare loop = new Bare(pool, table, ordering);
                running.add(threads.submit(() -> {
                    while (published.get() < events) {
                        published.addAndGet(loop.runOnce("bare-" + n));
                    }
                    return null;
                }));
            } else {
                JdbcRelay relay = JdbcRelay.builder(pool, RelayThroughput.NO_OP).table(table).ordering(ordering)
                        .batchSize(RelayThroughput.BATCH_SIZE).database(Database.MARIADB).ownerId("bench-" + n).build();
                relays.add(relay);
                running.add(threads.submit(() -> {
                    while (published.get() < events) {
                        RelayResult result = relay.runOnce();
                        published.addAndGet(result.published());
                    }
                    return null;
                }));
            }
        }
        try {
            for (Future<?> f : running) {
                f.get();
            }
        } finally {
            threads.shutdownNow();
        }
        double rate = events * 1e9 / (System.nanoTime() - start);
        relays.forEach(JdbcRelay::close);
        execute(pool, "DROP TABLE " + table.qualifiedName(Database.MARIADB));
        return rate;
    }

    /** The relay's statements with no library code around them: claim, check, lease; lock, mark published. */
    private static final class Bare {
        private final HikariDataSource pool;
        private final OutboxStatements sql;
        private final String claim;
        private final boolean ordered;

        Bare(HikariDataSource pool, OutboxTable table, Ordering ordering) {
            this.pool = pool;
            this.sql = OutboxStatements.mysql(table);
            this.claim = sql.claim(ordering, RelayThroughput.BATCH_SIZE, JdbcRelay.DEFAULT_MAX_BATCH_BYTES);
            this.ordered = ordering == Ordering.PER_AGGREGATE;
        }

        int runOnce(String owner) throws SQLException {
            String token = UUID.randomUUID().toString();
            List<Long> positions = new ArrayList<>();
            try (Connection c = pool.getConnection()) {
                c.setAutoCommit(false);
                try (Statement s = c.createStatement()) {
                    s.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
                }
                Map<String, Long> last = new LinkedHashMap<>();
                Map<Long, String> aggregateOf = new HashMap<>();
                Set<Long> candidates = new HashSet<>();
                long bytes = 0;
                List<Long> found = new ArrayList<>();
                try (PreparedStatement s = c.prepareStatement(claim)) {
                    s.setInt(1, RelayThroughput.BATCH_SIZE * 2);
                    try (ResultSet rs = s.executeQuery()) {
                        while (rs.next()) {
                            found.add(rs.getLong(1));
                        }
                    }
                }
                if (found.isEmpty()) {
                    c.commit();
                    c.setAutoCommit(true);
                    return 0;
                }
                try (PreparedStatement s = c.prepareStatement(sql.lockCandidates(found.size()))) {
                    for (int i = 0; i < found.size(); i++) {
                        s.setLong(i + 1, found.get(i));
                    }
                    s.setInt(found.size() + 1, RelayThroughput.BATCH_SIZE);
                    try (ResultSet rs = s.executeQuery()) {
                        while (rs.next()) {
                            long position = rs.getLong(1);
                            for (int column = 2; column <= 10; column++) {
                                rs.getString(column);
                            }
                            candidates.add(position);
                            bytes += rs.getString(6).getBytes(StandardCharsets.UTF_8).length;
                            if (positions.isEmpty() || bytes <= JdbcRelay.DEFAULT_MAX_BATCH_BYTES) {
                                positions.add(position);
                                String key = rs.getString(3) + '\0' + rs.getString(4);
                                last.put(key, position);
                                aggregateOf.put(position, key);
                            }
                        }
                    }
                }
                if (ordered && !positions.isEmpty()) {
                    Map<String, Long> firstMissing = new HashMap<>();
                    try (PreparedStatement s = c.prepareStatement(sql.aggregateCheck(last.size()))) {
                        int p = 1;
                        for (Map.Entry<String, Long> e : last.entrySet()) {
                            String[] name = e.getKey().split("\0", 2);
                            s.setString(p++, name[0]);
                            s.setString(p++, name[1]);
                            s.setLong(p++, e.getValue());
                        }
                        try (ResultSet rs = s.executeQuery()) {
                            while (rs.next()) {
                                if (!candidates.contains(rs.getLong(1))) {
                                    firstMissing.merge(rs.getString(2) + '\0' + rs.getString(3), rs.getLong(1), Math::min);
                                }
                            }
                        }
                    }
                    positions.removeIf(p -> {
                        Long missing = firstMissing.get(aggregateOf.get(p));
                        return missing != null && p > missing;
                    });
                }
                if (!positions.isEmpty()) {
                    try (PreparedStatement s = c.prepareStatement(sql.lease(positions.size()))) {
                        s.setString(1, owner);
                        s.setString(2, token);
                        s.setLong(3, 30_000_000);
                        for (int i = 0; i < positions.size(); i++) {
                            s.setLong(4 + i, positions.get(i));
                        }
                        s.executeUpdate();
                    }
                }
                c.commit();
                c.setAutoCommit(true);
            }
            if (positions.isEmpty()) {
                return 0;
            }
            try (Connection c = pool.getConnection()) {
                c.setAutoCommit(false);
                try (Statement s = c.createStatement()) {
                    s.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
                }
                List<Long> held = new ArrayList<>();
                try (PreparedStatement s = c.prepareStatement(sql.lockClaimed(positions.size()))) {
                    s.setString(1, token);
                    for (int i = 0; i < positions.size(); i++) {
                        s.setLong(2 + i, positions.get(i));
                    }
                    try (ResultSet rs = s.executeQuery()) {
                        while (rs.next()) {
                            held.add(rs.getLong(1));
                        }
                    }
                }
                try (PreparedStatement s = c.prepareStatement(sql.markPublished(held.size()))) {
                    s.setString(1, token);
                    for (int i = 0; i < held.size(); i++) {
                        s.setLong(2 + i, held.get(i));
                    }
                    s.executeUpdate();
                }
                c.commit();
                c.setAutoCommit(true);
                return held.size();
            }
        }
    }

    private List<Row> append(HikariDataSource pool, Database database) throws Exception {
        OutboxTable table = newTable(pool);
        execute(pool, "CREATE TABLE IF NOT EXISTS bench_account (id BIGINT AUTO_INCREMENT PRIMARY KEY,"
                + " owner VARCHAR(100) NOT NULL, balance BIGINT NOT NULL)");
        JdbcOutbox outbox = JdbcOutbox.builder().table(table).database(database).build();
        String plainRow = OutboxStatements.mysql(table).append(false);
        measure(pool, outbox, null, Duration.ofSeconds(1));
        measure(pool, null, plainRow, Duration.ofSeconds(1));
        long ours = 0;
        long plain = 0;
        long oursNanos = 0;
        long plainNanos = 0;
        for (int r = 0; r < rounds; r++) {
            long start = System.nanoTime();
            plain += measure(pool, null, plainRow, appendPhase);
            plainNanos += System.nanoTime() - start;
            start = System.nanoTime();
            ours += measure(pool, outbox, null, appendPhase);
            oursNanos += System.nanoTime() - start;
        }
        execute(pool, "DROP TABLE " + table.qualifiedName(database));
        execute(pool, "DROP TABLE bench_account");
        double oursRate = ours * 1e9 / oursNanos;
        double plainRate = plain * 1e9 / plainNanos;
        return List.of(new Row("10. " + database + ": append, 4 writers: INSERT + append",
                Format.rate(oursRate, "tx/s"), Format.rate(plainRate, "tx/s") + " INSERT + plain-SQL row",
                Format.ratio(plainRate / oursRate) + " slower", "<= 1.10x"));
    }

    private long measure(HikariDataSource pool, JdbcOutbox outbox, String plainRow, Duration duration) throws Exception {
        ExecutorService writers = Executors.newFixedThreadPool(4);
        long deadline = System.nanoTime() + duration.toNanos();
        List<Future<Long>> done = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
            done.add(writers.submit(() -> {
                long n = 0;
                try (Connection c = pool.getConnection();
                     PreparedStatement insert = c.prepareStatement(
                             "INSERT INTO bench_account (owner, balance) VALUES (?, ?)")) {
                    c.setAutoCommit(false);
                    while (System.nanoTime() < deadline) {
                        int account = ThreadLocalRandom.current().nextInt(1000);
                        insert.setString(1, "owner-" + account);
                        insert.setLong(2, 100);
                        insert.executeUpdate();
                        if (outbox != null) {
                            outbox.append(c, BenchDatabase.event(account));
                        } else {
                            try (PreparedStatement row = c.prepareStatement(plainRow)) {
                                row.setString(1, TimeOrderedUuid.next().toString());
                                row.setString(2, "account");
                                row.setString(3, "acc-" + account);
                                row.setString(4, "funds_deposited");
                                row.setString(5, BenchDatabase.payload(account));
                                row.setString(6, "{}");
                                row.setObject(7, LocalDateTime.now(ZoneOffset.UTC));
                                row.executeUpdate();
                            }
                        }
                        c.commit();
                        n++;
                    }
                    c.setAutoCommit(true);
                }
                return n;
            }));
        }
        long total = 0;
        for (Future<Long> f : done) {
            total += f.get();
        }
        writers.shutdown();
        return total;
    }
}
