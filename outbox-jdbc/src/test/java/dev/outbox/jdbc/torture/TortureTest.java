package dev.outbox.jdbc.torture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.zaxxer.hikari.HikariDataSource;
import dev.outbox.Event;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.EachDatabase;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.jdbc.TestDb;
import dev.outbox.testing.TestDatabase;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Breaks everything at once and then checks the history (see {@link HistoryCheck}).
 *
 * <ul>
 *   <li>8 writer threads commit business transactions that append 1 to 5 events to random aggregates (300),
 *       rolling back 10 % on purpose; like a service that locks the aggregate it changes, each serialises its
 *       writes per aggregate, which makes append order the commit order;</li>
 *   <li>4 relays run in separate JVM processes, SIGKILLed at random and restarted; each may also SIGKILL itself
 *       right after a delivery, before its relay records the outcome;</li>
 *   <li>the broker ({@link FlakyRecordingPublisher}) fails 30 % of calls, times out 5 % after delivering, and has
 *       a 10 s full outage;</li>
 *   <li>the database is restarted in the middle: on PostgreSQL an embedded server this test owns; on MySQL and
 *       MariaDB, servers shared with other tests, a database of its own has every connection killed, which aborts
 *       whatever is in flight as a restart would.</li>
 * </ul>
 *
 * <p>It runs on every database available ({@link TestDb}); the delivery log lives on the test PostgreSQL.
 *
 * <p>The committed events are read from the database afterwards, never from the writers' memory. The run lasts
 * {@code OUTBOX_TORTURE_SECONDS} (or {@code -Doutbox.torture.seconds}) of writing, 30 s by default for the first
 * profile and 15 s for the others.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class TortureTest extends EachDatabase {

    TortureTest(TestDb tdb) {
        super(tdb);
    }

    /** The outbox's database, which the run may restart. */
    interface OutboxServer extends AutoCloseable {
        String url();

        void restart() throws Exception;

        @Override
        void close() throws Exception;
    }

    static final int WRITERS = 8;
    static final int RELAYS = 4;
    static final int AGGREGATES = 300;
    static final double SELF_KILL_CHANCE = 0.003;

    final Path work = Path.of("target", "torture", "run-" + System.currentTimeMillis());
    final Path dataDirectory = work.resolve("pgdata");
    final Path outageFile = work.resolve("broker-outage");
    final OutboxTable table = OutboxTable.named("torture_outbox");
    final DeliveryLog log = new DeliveryLog("torture_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12));
    final List<RelayHandle> relays = new ArrayList<>();
    final AtomicInteger incarnations = new AtomicInteger();
    final AtomicInteger harnessKills = new AtomicInteger();
    final AtomicLong commits = new AtomicLong();
    final AtomicLong rollbacks = new AtomicLong();
    final AtomicLong writeFailures = new AtomicLong();
    OutboxServer server;

    /**
     * What the run throws at the relays.
     *
     * @param name used in the report
     * @param secondsByDefault writing time unless the environment sets one
     * @param broker how the broker misbehaves ({@link FlakyRecordingPublisher.Broker}); under lease pressure the
     *        relays' claims also answer late now and then
     * @param hotShare the share of events that go to one hot aggregate
     * @param writerPauseMillis pause between a writer's transactions, from and to
     * @param leaseMillis the relays' lease
     */
    record Profile(String name, long secondsByDefault, FlakyRecordingPublisher.Broker broker, double hotShare,
                   int[] writerPauseMillis, long leaseMillis) {

        boolean slowBroker() {
            return broker != FlakyRecordingPublisher.Broker.FLAKY;
        }
    }

    static final Profile CLASSIC = new Profile("classic", 24, FlakyRecordingPublisher.Broker.FLAKY, 0,
            new int[] {40, 100}, 3000);
    /** The hot aggregate's events go one call at a time: writers slow down so the relays can clear it. */
    static final Profile SLOW_BROKER_HOT_AGGREGATE = new Profile("slow broker, hot aggregate", 15,
            FlakyRecordingPublisher.Broker.SLOW_UNORDERED, 0.3, new int[] {700, 1300}, 1000);
    /**
     * Calls of 50 to 700 ms against a 1 s lease (the relay counts on a third of it), 5 % of calls throwing, so that
     * culprit searches outlast the lease, and one claim in ten answering 0.3 to 0.9 s after the database wrote it.
     */
    static final Profile LEASE_PRESSURE = new Profile("lease pressure", 15, FlakyRecordingPublisher.Broker.LEASE_PRESSURE,
            0, new int[] {300, 700}, 1000);

    Profile profile = CLASSIC;

    /** One relay slot: its current process and incarnation. */
    final class RelayHandle {
        final int slot;
        Process process;
        String incarnation;

        RelayHandle(int slot) {
            this.slot = slot;
        }

        synchronized void start(String outboxUrl, String sinkUrl) throws IOException {
            incarnation = "relay" + slot + "-" + incarnations.incrementAndGet();
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            process = new ProcessBuilder(java, "-Xmx96m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                    "-cp", classpath, RelayProcess.class.getName(), outboxUrl, table.name(), sinkUrl,
                    log.prefix(), incarnation, outageFile.toString(),
                    Double.toString(SELF_KILL_CHANCE), profile.broker().name(),
                    Long.toString(profile.leaseMillis()))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(work.resolve("relay" + slot + ".log").toFile()))
                    .start();
        }

        synchronized void kill(DataSource sink) throws Exception {
            log.killed(sink, incarnation, "SIGKILL by the harness");
            process.destroyForcibly(); // SIGKILL on Unix
            process.waitFor();
            harnessKills.incrementAndGet();
        }

        synchronized boolean alive() {
            return process.isAlive();
        }
    }

    @Test
    void nothingCommittedIsLostNothingRolledBackIsSentAndEachAggregateStaysInOrder() throws Exception {
        run(CLASSIC);
    }

    /**
     * A broker slower than the old relay's lease allowed for, a plain broker that delivers a call's events in any
     * order, and one aggregate carrying 30 % of the events, on top of the kills, outage and restart: the relay
     * alone keeps each aggregate's order.
     */
    @Test
    void aSlowUnorderedBrokerAndAHotAggregateLoseNothingAndKeepEachAggregatesOrder() throws Exception {
        run(SLOW_BROKER_HOT_AGGREGATE);
    }

    /**
     * Relays whose calls, culprit searches and claims take longer than their lease allows for, on top of the kills,
     * outage and restart: no row is published by a relay that does not hold it, and order holds through takeovers.
     */
    @Test
    void leasePressureFromSlowCallsSearchesAndClaimsLosesNothingAndKeepsEachAggregatesOrder() throws Exception {
        run(LEASE_PRESSURE);
    }

    private void run(Profile chosen) throws Exception {
        profile = chosen;
        Duration writing = Duration.ofSeconds(Long.parseLong(setting("OUTBOX_TORTURE_SECONDS", "outbox.torture.seconds",
                Long.toString(profile.secondsByDefault()))));
        Files.createDirectories(work);
        server = tdb.mysqlFamily() ? new SharedMySql() : new EmbeddedPg();
        String outboxUrl = server.url();
        String sinkUrl = TestDatabase.jdbcUrl();
        DataSource sink = TestDatabase.dataSource();
        log.create(sink);
        HikariDataSource db = TestDatabase.pool(outboxUrl, WRITERS + 2);
        try {
            OutboxSchema.create(db, table);
            execute(db, tdb.mysqlFamily()
                    ? "CREATE TABLE business (id BIGINT AUTO_INCREMENT PRIMARY KEY, aggregate TEXT NOT NULL, note TEXT NOT NULL)"
                    : "CREATE TABLE business (id bigserial PRIMARY KEY, aggregate text NOT NULL, note text NOT NULL)");
            // One row per aggregate, which writers lock as a service locks the aggregate it changes.
            execute(db, "CREATE TABLE aggregate_lock (id VARCHAR(50) PRIMARY KEY)");
            StringBuilder locks = new StringBuilder("INSERT INTO aggregate_lock (id) VALUES ('hot')");
            for (int a = 0; a < AGGREGATES; a++) {
                locks.append(", ('a").append(a).append("')");
            }
            execute(db, locks.toString());
            plantPoisonAndUnreadable(db);
            for (int i = 0; i < RELAYS; i++) {
                RelayHandle relay = new RelayHandle(i);
                relay.start(outboxUrl, sinkUrl);
                relays.add(relay);
            }
            long start = System.nanoTime();
            long end = start + writing.toNanos();
            List<Thread> writers = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                Thread t = new Thread(() -> write(db, end), "torture-writer-" + w);
                t.start();
                writers.add(t);
            }
            boolean outageDone = false;
            boolean restartDone = false;
            long nextKill = System.nanoTime() + randomMillis(500, 3000) * 1_000_000;
            while (System.nanoTime() < end) {
                double elapsed = (System.nanoTime() - start) / (double) writing.toNanos();
                if (!outageDone && elapsed > 0.2) {
                    outageDone = true;
                    brokerOutage(Duration.ofSeconds(profile.slowBroker() ? 5 : 10));
                }
                if (!restartDone && elapsed > 0.6) {
                    restartDone = true;
                    server.restart();
                }
                if (System.nanoTime() > nextKill) {
                    relays.get(ThreadLocalRandom.current().nextInt(RELAYS)).kill(sink);
                    nextKill = System.nanoTime() + randomMillis(500, 3000) * 1_000_000;
                }
                restartDeadRelays(outboxUrl, sinkUrl);
                Thread.sleep(50);
            }
            for (Thread t : writers) {
                t.join(60_000);
            }
            // Let the survivors finish: every relay up, no more kills.
            long drainDeadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (pending(db) > 0 && System.nanoTime() < drainDeadline) {
                restartDeadRelays(outboxUrl, sinkUrl);
                Thread.sleep(200);
            }
            long left = pending(db);
            for (RelayHandle relay : relays) {
                relay.process.destroyForcibly().waitFor();
            }

            HistoryCheck.Report report = HistoryCheck.check(committed(db), deliveries(sink), killed(sink), recorded(sink));
            String summary = String.format("torture run (" + profile.name() + "): %d s of writing, %d writers, %d relay processes;"
                            + " %d transactions committed, %d rolled back on purpose, %d failed (database restart);"
                            + " %d relay processes SIGKILLed by the harness, %d killed themselves after delivering;"
                            + " broker outage; database restarted once; %d events left pending after the drain%n%s",
                    writing.toSeconds(), WRITERS, RELAYS, commits.get(), rollbacks.get(), writeFailures.get(),
                    harnessKills.get(), selfKills(sink), left, report);
            System.out.println(summary);
            Files.writeString(work.resolve("report.txt"), summary);
            String history = "";
            if (report.unexplainedDuplicates() > 0) {
                try {
                    history = history(db, sink, report);
                } catch (SQLException e) {
                    history = "could not read the duplicates' history: " + e;
                }
                Files.writeString(work.resolve("duplicates.txt"), history);
            }

            assertEquals(0, left, "events still pending after the drain: " + report);
            assertTrue(report.committed() > (profile.slowBroker() ? 200 : 500), "too little work to prove anything: "
                    + report);
            assertTrue(harnessKills.get() >= 3, "the relays were hardly killed");
            assertEquals(0, report.lost(), "lost events: " + report);
            assertEquals(0, report.phantom(), "phantom events: " + report);
            assertEquals(0, report.orderViolations(), "per-aggregate order violated: " + report);
            assertEquals(0, report.unexplainedDuplicates(), "duplicates the outbox cannot explain: " + report
                    + "; the first one's history:\n" + history.substring(0, Math.min(history.length(), 1500)));
            assertEquals(2, report.dead(), "exactly the poison event and the unreadable row are dead: " + report);
            assertEquals(4, report.waitingBehindDead(), "their aggregates' later events wait, nothing else: " + report);
            assertEquals(Set.of("poison", "unreadable"), deadAggregates(db), "no innocent event is dead");
        } finally {
            for (RelayHandle relay : relays) {
                relay.process.destroyForcibly();
            }
            db.close();
            if (server != null) {
                server.close();
            }
            log.drop(sink);
            deleteRecursively(dataDirectory);
        }
    }

    /** One writer: business row plus 1 to 5 events per transaction, 10 % rolled back, errors ridden out. */
    private void write(DataSource db, long end) {
        JdbcOutbox outbox = JdbcOutbox.create(table);
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (System.nanoTime() < end) {
            try (Connection c = db.getConnection()) {
                c.setAutoCommit(false);
                String firstAggregate = null;
                int events = random.nextInt(1, 6);
                List<Event> batch = new ArrayList<>();
                for (int i = 0; i < events; i++) {
                    String aggregate = random.nextDouble() < profile.hotShare() ? "hot"
                            : "a" + random.nextInt(AGGREGATES);
                    firstAggregate = firstAggregate == null ? aggregate : firstAggregate;
                    batch.add(Event.builder().aggregate("account", aggregate).type("changed")
                            .payload("{\"n\":" + i + "}").build());
                }
                // As a service does when it locks the aggregate's row: writes to one aggregate are serialised, so
                // append order is commit order, the order the outbox promises to keep. Locks are taken in key
                // order, so writers never deadlock on them.
                List<String> keys = batch.stream().map(Event::aggregateId).distinct().sorted().toList();
                try (PreparedStatement lock = c.prepareStatement("SELECT id FROM aggregate_lock WHERE id = ? FOR UPDATE")) {
                    for (String key : keys) {
                        lock.setString(1, key);
                        lock.executeQuery().close();
                    }
                }
                try (PreparedStatement s = c.prepareStatement("INSERT INTO business (aggregate, note) VALUES (?, ?)")) {
                    s.setString(1, firstAggregate);
                    s.setString(2, "changed " + events);
                    s.executeUpdate();
                }
                if (random.nextBoolean()) {
                    outbox.appendAll(c, batch);
                } else {
                    for (Event e : batch) {
                        outbox.append(c, e);
                    }
                }
                if (random.nextInt(10) == 0) {
                    c.rollback();
                    rollbacks.incrementAndGet();
                } else {
                    c.commit();
                    commits.incrementAndGet();
                }
            } catch (SQLException | RuntimeException e) {
                writeFailures.incrementAndGet();
                sleep(100);
            }
            // Classic: about 110 transactions a second in all, a load the relays can clear.
            sleep(random.nextInt(profile.writerPauseMillis()[0], profile.writerPauseMillis()[1]));
        }
    }

    private void brokerOutage(Duration length) throws IOException {
        Files.writeString(outageFile, "down");
        Thread t = new Thread(() -> {
            sleep(length.toMillis());
            try {
                Files.deleteIfExists(outageFile);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }, "torture-outage");
        t.setDaemon(true);
        t.start();
    }

    /** An embedded PostgreSQL this run owns, restarted with a fast shutdown. */
    final class EmbeddedPg implements OutboxServer {
        private volatile EmbeddedPostgres postgres;
        private final int port;

        EmbeddedPg() throws IOException {
            postgres = start(0);
            port = postgres.getPort();
        }

        private EmbeddedPostgres start(int onPort) throws IOException {
            EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                    .setDataDirectory(dataDirectory)
                    .setCleanDataDirectory(false)
                    .setServerConfig("max_connections", "100");
            if (onPort != 0) {
                builder.setPort(onPort);
            }
            return builder.start();
        }

        @Override
        public String url() {
            return postgres.getJdbcUrl("postgres", "postgres");
        }

        @Override
        public void restart() throws IOException {
            postgres.close(); // a fast shutdown: open transactions are aborted, connections cut
            sleep(1000);
            postgres = start(port);
        }

        @Override
        public void close() throws IOException {
            postgres.close();
        }
    }

    /**
     * A database of this run's own on the shared MySQL or MariaDB server. "Restarting" kills every connection to it
     * and refuses none afterwards: open transactions roll back and every pool must reconnect, as after a restart.
     */
    final class SharedMySql implements OutboxServer {
        private final String name = "torture_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);

        SharedMySql() {
            tdb.execute("CREATE DATABASE " + name);
        }

        @Override
        public String url() {
            return tdb.jdbcUrl().replaceFirst("(jdbc:[a-z]+://[^/]+/)[^?]*", "$1" + name);
        }

        @Override
        public void restart() throws SQLException {
            try (Connection c = tdb.dataSource().getConnection(); Statement s = c.createStatement()) {
                List<Long> ids = new ArrayList<>();
                try (ResultSet rs = s.executeQuery("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '" + name
                        + "' AND ID <> CONNECTION_ID()")) {
                    while (rs.next()) {
                        ids.add(rs.getLong(1));
                    }
                }
                for (long id : ids) {
                    try {
                        s.execute("KILL CONNECTION " + id);
                    } catch (SQLException gone) {
                        // it ended by itself meanwhile
                    }
                }
            }
            sleep(1000);
        }

        @Override
        public void close() {
            tdb.execute("DROP DATABASE IF EXISTS " + name);
        }
    }

    /** Restarts relays that were killed; a relay that exited any other way fails the run. */
    private void restartDeadRelays(String outboxUrl, String sinkUrl) throws IOException {
        for (RelayHandle relay : relays) {
            if (!relay.alive()) {
                int status = relay.process.exitValue();
                if (status != 128 + 9) {
                    throw new IllegalStateException("relay " + relay.incarnation + " exited with status " + status
                            + " instead of being killed; see " + work.resolve("relay" + relay.slot + ".log"));
                }
                relay.start(outboxUrl, sinkUrl);
            }
        }
    }

    /**
     * One event whose publishing throws a StackOverflowError every time, and one row written by plain SQL that is not a
     * valid event; each with later events of its aggregate, which must wait while every other aggregate flows.
     */
    private void plantPoisonAndUnreadable(DataSource db) throws SQLException {
        JdbcOutbox outbox = JdbcOutbox.create(table);
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(false);
            outbox.append(c, Event.builder().aggregate("account", "poison").type("changed")
                    .payload("{\"poison\":true}").build());
            for (int i = 0; i < 3; i++) {
                outbox.append(c, Event.builder().aggregate("account", "poison").type("changed")
                        .payload("{\"after\":" + i + "}").build());
            }
            try (Statement s = c.createStatement()) {
                s.execute("INSERT INTO " + tdb.q(table) + " (id, aggregate_type, aggregate_id, event_type,"
                        + " payload, headers, occurred_at) VALUES (" + (tdb.mysqlFamily() ? "UUID()" : "gen_random_uuid()")
                        + ", 'account', 'unreadable', 'migrated', '{}', '{\"retries\": 1}', " + tdb.now() + ")");
            }
            outbox.append(c, Event.builder().aggregate("account", "unreadable").type("changed")
                    .payload("{\"after\":0}").build());
            c.commit();
        }
    }

    private Set<String> deadAggregates(DataSource db) throws SQLException {
        Set<String> aggregates = new HashSet<>();
        try (Connection c = db.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT aggregate_id FROM " + tdb.q(table)
                     + " WHERE dead_at IS NOT NULL")) {
            while (rs.next()) {
                aggregates.add(rs.getString(1));
            }
        }
        return aggregates;
    }

    /** Pending events, leaving out those waiting behind a dead event of their aggregate, as they should. */
    private long pending(DataSource db) {
        try (Connection c = db.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM " + tdb.q(table) + " t"
                     + " WHERE published_at IS NULL AND dead_at IS NULL AND NOT EXISTS (SELECT 1 FROM "
                     + tdb.q(table) + " d WHERE d.aggregate_type = t.aggregate_type"
                     + " AND d.aggregate_id = t.aggregate_id AND d.position < t.position AND d.dead_at IS NOT NULL)")) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            return Long.MAX_VALUE;
        }
    }

    private List<HistoryCheck.Committed> committed(DataSource db) throws SQLException {
        List<HistoryCheck.Committed> rows = new ArrayList<>();
        try (Connection c = db.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT id, aggregate_type, aggregate_id, position, dead_at IS NOT NULL"
                     + " FROM " + tdb.q(table))) {
            while (rs.next()) {
                rows.add(new HistoryCheck.Committed(UUID.fromString(rs.getString(1)),
                        rs.getString(2) + '/' + rs.getString(3), rs.getLong(4), rs.getBoolean(5)));
            }
        }
        return rows;
    }

    /**
     * For a run with unexplained duplicates, kept in its folder beside the relays' logs: each such event's outbox row,
     * its deliveries and its recorded publishes, with the sink's times.
     */
    private String history(DataSource db, DataSource sink, HistoryCheck.Report report) throws SQLException {
        StringBuilder out = new StringBuilder();
        for (String example : report.examples()) {
            if (!example.startsWith("unexplained duplicate ")) {
                continue;
            }
            String id = example.split(" ")[2];
            out.append("event ").append(id).append('\n');
            try (Connection c = db.getConnection(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT position, aggregate_type, aggregate_id, attempts, published_at,"
                         + " dead_at, claimed_by, last_error FROM " + tdb.q(table) + " WHERE id = '" + id + "'")) {
                while (rs.next()) {
                    out.append("  row: position ").append(rs.getLong(1)).append(", ").append(rs.getString(2))
                            .append('/').append(rs.getString(3)).append(", attempts ").append(rs.getInt(4))
                            .append(", published ").append(rs.getString(5)).append(", dead ").append(rs.getString(6))
                            .append(", claimed by ").append(rs.getString(7)).append(", last error ")
                            .append(rs.getString(8)).append('\n');
                }
            }
            try (Connection c = sink.getConnection(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT at, 'delivered', incarnation, call_no, acknowledged, seq FROM "
                         + log.deliveries() + " WHERE event_id = '" + id + "' UNION ALL SELECT at, 'recorded',"
                         + " incarnation, NULL, NULL, seq FROM " + log.recorded() + " WHERE event_id = '" + id
                         + "' ORDER BY 6")) {
                while (rs.next()) {
                    out.append("  ").append(rs.getString(1)).append(' ').append(rs.getString(2)).append(" by ")
                            .append(rs.getString(3));
                    if (rs.getString(4) != null) {
                        out.append(", call ").append(rs.getLong(4)).append(rs.getBoolean(5) ? "" : ", not acknowledged");
                    }
                    out.append('\n');
                }
            }
        }
        return out.toString();
    }

    private List<HistoryCheck.Delivery> deliveries(DataSource sink) throws SQLException {
        List<HistoryCheck.Delivery> rows = new ArrayList<>();
        try (Connection c = sink.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT seq, event_id, incarnation, acknowledged FROM " + log.deliveries()
                     + " ORDER BY seq")) {
            while (rs.next()) {
                rows.add(new HistoryCheck.Delivery(rs.getLong(1), rs.getObject(2, UUID.class), rs.getString(3),
                        rs.getBoolean(4)));
            }
        }
        return rows;
    }

    private Set<String> killed(DataSource sink) throws SQLException {
        Set<String> killed = new HashSet<>();
        try (Connection c = sink.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT incarnation FROM " + log.kills())) {
            while (rs.next()) {
                killed.add(rs.getString(1));
            }
        }
        return killed;
    }

    private long selfKills(DataSource sink) throws SQLException {
        try (Connection c = sink.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM " + log.kills() + " WHERE how LIKE 'self%'")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private List<HistoryCheck.Recorded> recorded(DataSource sink) throws SQLException {
        List<HistoryCheck.Recorded> recorded = new ArrayList<>();
        try (Connection c = sink.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT seq, event_id, incarnation FROM " + log.recorded())) {
            while (rs.next()) {
                recorded.add(new HistoryCheck.Recorded(rs.getLong(1), rs.getObject(2, UUID.class), rs.getString(3)));
            }
        }
        return recorded;
    }

    private static void execute(DataSource db, String sql) throws SQLException {
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private static String setting(String env, String property, String fallback) {
        String value = System.getenv(env);
        if (value == null || value.isBlank()) {
            value = System.getProperty(property);
        }
        return value == null || value.isBlank() ? fallback : value;
    }

    private static long randomMillis(int from, int to) {
        return ThreadLocalRandom.current().nextInt(from, to);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        }
    }
}
