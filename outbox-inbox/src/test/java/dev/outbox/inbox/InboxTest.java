package dev.outbox.inbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.outbox.InvalidConfigurationException;
import dev.outbox.jdbc.Database;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.testing.TestDatabase;
import dev.outbox.testing.Transactions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The inbox on each database available: a redelivered event changes nothing a second time, whether the deliveries
 * come one after the other or at the same moment from several threads; a failed handler leaves no record, so the
 * next delivery runs it; records older than the retention are purged.
 */
class InboxTest {

    /** PostgreSQL always; MariaDB (or MySQL) where {@code OUTBOX_TEST_MARIADB_URL} points. */
    static Stream<String> databases() {
        return Stream.of("postgresql", "mariadb");
    }

    private static final Map<String, DataSource> POOLS = new ConcurrentHashMap<>();

    static DataSource db(String database) {
        if (database.equals("postgresql")) {
            return TestDatabase.dataSource();
        }
        String url = System.getenv("OUTBOX_TEST_MARIADB_URL");
        assumeTrue(url != null && !url.isBlank(), "set OUTBOX_TEST_MARIADB_URL to run on MariaDB or MySQL");
        return POOLS.computeIfAbsent(database, d -> TestDatabase.pool(url, 12));
    }

    /** A new inbox table and an effects table beside it: one row per handler run. */
    record Setup(DataSource db, Inbox inbox, String effects) {
    }

    static Setup setup(String database) throws SQLException {
        DataSource db = db(database);
        OutboxTable table = OutboxTable.named(TestDatabase.uniqueName("inbox"));
        InboxSchema.create(db, table);
        String effects = TestDatabase.uniqueName("effects");
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE " + effects + " (event_id varchar(36) NOT NULL, note varchar(100))");
        }
        return new Setup(db, Inbox.create(table), effects);
    }

    static InboxHandler recording(String effects) {
        return (connection, message) -> {
            try (PreparedStatement p = connection.prepareStatement("INSERT INTO " + effects + " VALUES (?, ?)")) {
                p.setString(1, message.eventId().toString());
                p.setString(2, message.payload());
                p.executeUpdate();
            }
        };
    }

    static long count(DataSource db, String sql) {
        return Transactions.queryLong(db, sql);
    }

    /** Receives in a transaction of its own and commits; rolls back and rethrows on failure. */
    static Inbox.Result receive(Setup s, InboxMessage message, InboxHandler handler) throws Exception {
        return s.inbox().process(s.db(), message, handler);
    }

    @ParameterizedTest
    @MethodSource("databases")
    void aRedeliveredEventIsADuplicateAndChangesNothing(String database) throws Exception {
        Setup s = setup(database);
        InboxMessage message = InboxMessage.of(UUID.randomUUID(), "{\"n\":1}");
        assertEquals(Inbox.Result.PROCESSED, receive(s, message, recording(s.effects())));
        assertEquals(Inbox.Result.DUPLICATE, receive(s, message, recording(s.effects())));
        assertEquals(Inbox.Result.DUPLICATE, receive(s, message, recording(s.effects())));
        assertEquals(1, count(s.db(), "SELECT count(*) FROM " + s.effects()));
        InboxMessage other = InboxMessage.of(UUID.randomUUID(), "{\"n\":2}");
        assertEquals(Inbox.Result.PROCESSED, receive(s, other, recording(s.effects())));
        assertEquals(2, count(s.db(), "SELECT count(*) FROM " + s.effects()));
    }

    @ParameterizedTest
    @MethodSource("databases")
    void deliveriesOfOneEventAtTheSameMomentApplyItOnceAndNoneFails(String database) throws Exception {
        Setup s = setup(database);
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int round = 0; round < 5; round++) {
                InboxMessage message = InboxMessage.of(UUID.randomUUID(), "{\"round\":" + round + "}");
                CyclicBarrier together = new CyclicBarrier(threads);
                InboxHandler slow = (connection, m) -> {
                    recording(s.effects()).handle(connection, m);
                    Thread.sleep(50); // the others' records wait on this one's meanwhile
                };
                List<Future<Inbox.Result>> results = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    results.add(pool.submit(() -> {
                        together.await(10, TimeUnit.SECONDS);
                        return receive(s, message, slow);
                    }));
                }
                int processed = 0;
                for (Future<Inbox.Result> r : results) {
                    processed += r.get(30, TimeUnit.SECONDS) == Inbox.Result.PROCESSED ? 1 : 0;
                }
                assertEquals(1, processed, "one delivery ran its handler, the others were duplicates");
                assertEquals(1, count(s.db(), "SELECT count(*) FROM " + s.effects() + " WHERE event_id = '"
                        + message.eventId() + "'"));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @ParameterizedTest
    @MethodSource("databases")
    void deliveriesOfTheSameEventsFromSeveralProcessesApplyEachOnce(String database) throws Exception {
        Setup s = setup(database);
        String url = database.equals("postgresql") ? TestDatabase.jdbcUrl() : System.getenv("OUTBOX_TEST_MARIADB_URL");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            ids.add(UUID.randomUUID().toString());
        }
        String javaCommand = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<Process> processes = new ArrayList<>();
        for (int p = 0; p < 3; p++) {
            List<String> command = new ArrayList<>(List.of(javaCommand, "-cp", classpath, DeliveringProcess.class.getName(),
                    url, s.inbox().table().name(), s.effects(), p == 0 ? "one" : "batch"));
            List<String> order = new ArrayList<>(ids);
            if (p == 1) {
                Collections.reverse(order); // they meet in the middle as well as at the start
            }
            command.addAll(order);
            processes.add(new ProcessBuilder(command).redirectErrorStream(true).start());
        }
        int processed = 0;
        int duplicates = 0;
        for (Process p : processes) {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the consumer process ended");
            assertEquals(0, p.exitValue(), out);
            Matcher m = Pattern.compile("processed (\\d+) duplicates (\\d+)")
                    .matcher(out);
            assertTrue(m.find(), out);
            processed += Integer.parseInt(m.group(1));
            duplicates += Integer.parseInt(m.group(2));
        }
        assertEquals(200, processed, "each event's handler ran in exactly one process");
        assertEquals(400, duplicates);
        assertEquals(200, count(s.db(), "SELECT count(DISTINCT event_id) FROM " + s.effects()));
        assertEquals(200, count(s.db(), "SELECT count(*) FROM " + s.effects()));
    }

    @ParameterizedTest
    @MethodSource("databases")
    void aFailedHandlerLeavesNoRecordSoTheNextDeliveryRunsIt(String database) throws Exception {
        Setup s = setup(database);
        InboxMessage message = InboxMessage.of(UUID.randomUUID(), "{}");
        InboxHandler failing = (connection, m) -> {
            recording(s.effects()).handle(connection, m);
            throw new java.io.IOException("the downstream service is away");
        };
        InboxHandlerException e = assertThrows(InboxHandlerException.class, () -> receive(s, message, failing));
        assertTrue(e.getMessage().contains("the downstream service is away"), e.getMessage());
        assertEquals(0, count(s.db(), "SELECT count(*) FROM " + s.effects()), "its effect rolled back");
        assertEquals(0, count(s.db(), "SELECT count(*) FROM " + s.inbox().table().qualifiedName(
                database.equals("postgresql") ? Database.POSTGRESQL : Database.MARIADB)), "and its record");
        assertEquals(Inbox.Result.PROCESSED, receive(s, message, recording(s.effects())));
        assertEquals(1, count(s.db(), "SELECT count(*) FROM " + s.effects()));
    }

    @ParameterizedTest
    @MethodSource("databases")
    void aHandlerInterruptedFailsItsMessageAndKeepsTheInterrupt(String database) throws Exception {
        Setup s = setup(database);
        InboxMessage message = InboxMessage.of(UUID.randomUUID(), "{}");
        InboxHandler interrupted = (connection, m) -> {
            recording(s.effects()).handle(connection, m);
            throw new InterruptedException("shutting down");
        };
        try {
            InboxHandlerException e = assertThrows(InboxHandlerException.class,
                    () -> receive(s, message, interrupted));
            assertTrue(e.getCause() instanceof InterruptedException, String.valueOf(e.getCause()));
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt is kept for the caller");
        } finally {
            Thread.interrupted();
        }
        assertEquals(0, count(s.db(), "SELECT count(*) FROM " + s.effects()), "its effect rolled back");
        assertEquals(Inbox.Result.PROCESSED, receive(s, message, recording(s.effects())));
    }

    @ParameterizedTest
    @MethodSource("databases")
    void recordsOlderThanTheRetentionArePurgedAndTheirEventsRunAgain(String database) throws Exception {
        Setup s = setup(database);
        boolean postgres = database.equals("postgresql");
        String table = s.inbox().table().qualifiedName(postgres ? Database.POSTGRESQL : Database.MARIADB);
        List<InboxMessage> old = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            InboxMessage m = InboxMessage.of(UUID.randomUUID(), "{}");
            old.add(m);
            receive(s, m, recording(s.effects()));
        }
        InboxMessage recent = InboxMessage.of(UUID.randomUUID(), "{}");
        receive(s, recent, recording(s.effects()));
        try (Connection c = s.db().getConnection(); Statement st = c.createStatement()) {
            st.execute("UPDATE " + table + " SET processed_at = " + (postgres ? "now() - interval '20 days'"
                    : "NOW(6) - INTERVAL 20 DAY") + " WHERE event_id <> '" + recent.eventId() + "'");
        }
        assertEquals(25, s.inbox().purge(s.db(), Duration.ofDays(14), 10), "in batches of 10");
        assertEquals(1, count(s.db(), "SELECT count(*) FROM " + table));
        assertEquals(Inbox.Result.DUPLICATE, receive(s, recent, recording(s.effects())));
        assertEquals(Inbox.Result.PROCESSED, receive(s, old.get(0), recording(s.effects())),
                "an event seen after its retention runs again");
    }

    @ParameterizedTest
    @MethodSource("databases")
    void anAutoCommitConnectionIsRefusedBeforeAnySql(String database) throws Exception {
        Setup s = setup(database);
        try (Connection c = s.db().getConnection()) {
            c.setAutoCommit(true);
            InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                    () -> s.inbox().receive(c, InboxMessage.of(UUID.randomUUID(), "{}"), recording(s.effects())));
            assertTrue(e.getMessage().contains("auto-commit"), e.getMessage());
        }
        assertEquals(0, count(s.db(), "SELECT count(*) FROM " + s.effects()));
    }
}
