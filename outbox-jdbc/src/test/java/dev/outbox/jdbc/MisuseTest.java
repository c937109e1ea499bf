package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static dev.outbox.testing.Transactions.queryLong;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.InvalidEventException;
import dev.outbox.OutboxException;
import dev.outbox.RelayResult;
import dev.outbox.RetryPolicy;
import dev.outbox.testing.RecordingPublisher;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad input and misuse, one case per test. Each gets an error that names the problem; nothing is half-written;
 * where the caller owns the transaction it stays usable (input errors are caught before any SQL runs, so the
 * caller's other work still commits).
 */
@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class MisuseTest extends EachDatabase {

    final List<JdbcRelay> relays = new ArrayList<>();
    OutboxTable table;
    JdbcOutbox outbox;

    MisuseTest(TestDb tdb) {
        super(tdb);
    }

    @BeforeEach
    void freshTable() {
        tdb.execute("CREATE TABLE IF NOT EXISTS misuse_business (id VARCHAR(100) PRIMARY KEY)");
        table = tdb.newTable();
        outbox = JdbcOutbox.create(table);
    }

    @AfterEach
    void closeRelays() {
        relays.forEach(JdbcRelay::close);
    }

    static Event good(String aggregateId) {
        return Event.of("order", aggregateId, "order_placed", "{\"id\":\"" + aggregateId + "\"}");
    }

    long rows() {
        return queryLong(db, "SELECT count(*) FROM " + tdb.q(table));
    }

    JdbcRelay relay(Publisher publisher) {
        JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).build();
        relays.add(relay);
        return relay;
    }

    /**
     * Runs {@code misuse} inside a transaction that also writes a business row, expects {@code expected} with a
     * message containing every one of {@code words}, then commits: the business row must be there and no event.
     */
    <T extends Throwable> void refusedWhileTheTransactionStaysUsable(Class<T> expected, Appending misuse, String... words) {
        String businessId = java.util.UUID.randomUUID().toString();
        commit(db, c -> {
            try (PreparedStatement s = c.prepareStatement("INSERT INTO misuse_business VALUES (?)")) {
                s.setString(1, businessId);
                s.executeUpdate();
            }
            T error = assertThrows(expected, () -> misuse.run(c));
            for (String word : words) {
                assertTrue(error.getMessage().contains(word), "'" + error.getMessage() + "' should mention " + word);
            }
        });
        assertEquals(1, queryLong(db, "SELECT count(*) FROM misuse_business WHERE id = '" + businessId + "'"),
                "the caller's transaction committed its other work");
        assertEquals(0, rows(), "nothing was half-written");
    }

    @FunctionalInterface
    interface Appending {
        void run(Connection c) throws Exception;
    }

    void invalidConfiguration(Consumer<JdbcRelay.Builder> setting, String... words) {
        JdbcRelay.Builder builder = JdbcRelay.builder(db, new RecordingPublisher());
        setting.accept(builder);
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class, builder::build);
        for (String word : words) {
            assertTrue(e.getMessage().contains(word), "'" + e.getMessage() + "' should mention " + word);
        }
    }

    // ---- events ----

    @Test
    void aNullEventIsRefused() {
        refusedWhileTheTransactionStaysUsable(OutboxException.class, c -> outbox.append(c, null), "event must not be null");
    }

    @Test
    void aBlankAggregateTypeNamesItsField() {
        InvalidEventException e = assertThrows(InvalidEventException.class,
                () -> Event.of(" ", "o1", "order_placed", "{}"));
        assertEquals("aggregateType", e.field());
    }

    @Test
    void anAggregateIdOverTheLimitNamesTheFieldAndTheLimit() {
        InvalidEventException e = assertThrows(InvalidEventException.class,
                () -> Event.of("order", "x".repeat(Event.MAX_NAME_LENGTH + 1), "order_placed", "{}"));
        assertEquals("aggregateId", e.field());
        assertTrue(e.getMessage().contains("256") && e.getMessage().contains("255"), e.getMessage());
    }

    @Test
    void aNullEventTypeNamesItsField() {
        assertEquals("type", assertThrows(InvalidEventException.class,
                () -> Event.of("order", "o1", null, "{}")).field());
    }

    @Test
    void aPayloadOverOneMebibyteNamesItsSizeAndTheLimit() {
        String big = "\"" + "x".repeat(Event.MAX_PAYLOAD_BYTES) + "\"";
        InvalidEventException e = assertThrows(InvalidEventException.class,
                () -> Event.of("order", "o1", "order_placed", big));
        assertEquals("payload", e.field());
        assertTrue(e.getMessage().contains(String.valueOf(Event.MAX_PAYLOAD_BYTES)), e.getMessage());
    }

    @Test
    void aPayloadThatIsNotJsonSaysWhereItBreaks() {
        InvalidEventException e = assertThrows(InvalidEventException.class,
                () -> Event.of("order", "o1", "order_placed", "{\"total\": 12,}"));
        assertEquals("payload", e.field());
        assertTrue(e.getMessage().contains("at character 13"), e.getMessage());
    }

    @Test
    void aHeaderWithTheReservedPrefixIsRefused() {
        InvalidEventException e = assertThrows(InvalidEventException.class, () -> Event.builder()
                .aggregate("order", "o1").type("t").payload("{}").header("outbox-event-id", "forged").build());
        assertEquals("headers.outbox-event-id", e.field());
        assertTrue(e.getMessage().contains(Event.RESERVED_HEADER_PREFIX), e.getMessage());
    }

    @Test
    void moreHeadersThanTheLimitAreRefused() {
        Map<String, String> headers = new HashMap<>();
        for (int i = 0; i <= Event.MAX_HEADERS; i++) {
            headers.put("h" + i, "v");
        }
        InvalidEventException e = assertThrows(InvalidEventException.class,
                () -> Event.builder().aggregate("order", "o1").type("t").payload("{}").headers(headers).build());
        assertTrue(e.getMessage().contains(String.valueOf(Event.MAX_HEADERS)), e.getMessage());
    }

    @Test
    void appendAllWithANullElementWritesNothingAndNamesTheIndex() {
        refusedWhileTheTransactionStaysUsable(OutboxException.class,
                c -> outbox.appendAll(c, Arrays.asList(good("o1"), good("o2"), null)), "events[2] is null");
    }

    @Test
    void theSameEventAppendedTwiceFailsWithTheDatabasesErrorAndTheFirstCopyStays() throws SQLException {
        Event e = good("o1");
        commit(db, c -> outbox.append(c, e));
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(false);
            SQLException error = assertThrows(SQLException.class, () -> outbox.append(c, e));
            // The standard's code on PostgreSQL; the class (integrity constraint violation) on MySQL and MariaDB.
            assertEquals(tdb.mysqlFamily() ? "23000" : "23505", error.getSQLState(), "a unique violation on the event id");
            c.rollback(); // PostgreSQL aborts the transaction on a failed statement; the caller rolls back
            outbox.append(c, good("o2"));
            c.commit();
            c.setAutoCommit(true);
        }
        assertEquals(2, rows(), "the first copy and the later event; no second copy");
    }

    // ---- connections and tables ----

    @Test
    void aNullConnectionIsRefused() {
        assertTrue(assertThrows(OutboxException.class, () -> outbox.append(null, good("o1")))
                .getMessage().contains("connection must not be null"));
        assertEquals(0, rows());
    }

    @Test
    void anAutoCommitConnectionIsRefusedBeforeAnyWrite() throws SQLException {
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(true);
            assertTrue(assertThrows(OutboxException.class, () -> outbox.append(c, good("o1")))
                    .getMessage().contains("auto-commit"));
            assertTrue(c.getAutoCommit(), "the connection's mode is left alone");
        }
        assertEquals(0, rows());
    }

    @Test
    void aClosedConnectionIsRefused() throws SQLException {
        Connection c = db.getConnection();
        c.close();
        assertTrue(assertThrows(OutboxException.class, () -> outbox.appendAll(c, List.of(good("o1"), good("o2"))))
                .getMessage().contains("closed"));
        assertEquals(0, rows());
    }

    @Test
    void aConnectionToAnotherDatabaseFailsNamingTheTableItLacks() throws SQLException {
        tdb.execute("SELECT 1"); // the shared database is up
        String other = otherDatabaseUrl();
        try (Connection c = DriverManager.getConnection(other)) {
            c.setAutoCommit(false);
            SQLException e = assertThrows(SQLException.class, () -> outbox.append(c, good("o1")));
            assertTrue(e.getMessage().contains(table.name()), e.getMessage());
            c.rollback();
            assertTrue(c.isValid(2), "the caller's connection is still usable after its rollback");
        }
        assertEquals(0, rows());
    }

    @Test
    void aTableNameThatIsNotAPlainIdentifierIsRefused() {
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                () -> OutboxTable.named("outbox; DROP TABLE users"));
        assertTrue(e.getMessage().contains("table name"), e.getMessage());
    }

    @Test
    void appendingToATableThatDoesNotExistNamesIt() {
        JdbcOutbox missing = JdbcOutbox.create(OutboxTable.named("misuse_no_such_table"));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> commit(db, c -> missing.append(c, good("o1"))));
        assertInstanceOf(SQLException.class, e.getCause(), "the driver's error passes through");
        assertTrue(e.getCause().getMessage().contains("misuse_no_such_table"), e.getCause().getMessage());
    }

    @Test
    void aRelayOnATableThatDoesNotExistFailsNamingIt() {
        JdbcRelay relay = JdbcRelay.builder(db, new RecordingPublisher()).table(OutboxTable.named("misuse_missing")).build();
        relays.add(relay);
        OutboxException e = assertThrows(OutboxException.class, relay::runOnce);
        assertTrue(e.getMessage().contains("misuse_missing"), e.getMessage());
    }

    // ---- configuration ----

    @Test
    void aBatchSizeOutOfRangeNamesTheSettingAndTheRange() {
        invalidConfiguration(b -> b.batchSize(0), "batchSize", "1 to 10000", "was 0");
        invalidConfiguration(b -> b.batchSize(10_001), "batchSize", "was 10001");
    }

    @Test
    void aLeaseShorterThanASecondIsRefused() {
        invalidConfiguration(b -> b.leaseDuration(Duration.ofMillis(10)), "leaseDuration", "PT0.01S");
    }

    @Test
    void aNullPollIntervalIsRefused() {
        invalidConfiguration(b -> b.pollInterval(null), "pollInterval", "null");
    }

    @Test
    void aStatementTimeoutOverTenMinutesIsRefused() {
        invalidConfiguration(b -> b.statementTimeout(Duration.ofHours(1)), "statementTimeout", "PT10M");
    }

    @Test
    void anOwnerIdOverTwoHundredCharactersIsRefused() {
        invalidConfiguration(b -> b.ownerId("x".repeat(201)), "ownerId", "201");
    }

    @Test
    void aRetryPolicyOutOfRangeNamesTheSetting() {
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> RetryPolicy.builder().maxAttempts(0).build()).getMessage().contains("maxAttempts"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> RetryPolicy.builder().jitter(1.5).build()).getMessage().contains("jitter"));
    }

    @Test
    void twoOpenRelaysWithTheSameOwnerIdAreRefused() {
        relays.add(JdbcRelay.builder(db, new RecordingPublisher()).table(table).ownerId("relay-a").build());
        invalidConfiguration(b -> b.table(table).ownerId("relay-a"), "relay-a", "already used");
    }

    @Test
    void aNegativeDrainLimitOrPurgeRetentionIsRefused() {
        JdbcRelay relay = relay(new RecordingPublisher());
        assertTrue(assertThrows(InvalidConfigurationException.class, () -> relay.drain(Duration.ofSeconds(-1)))
                .getMessage().contains("timeLimit"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> new OutboxOperations(db, table).purgePublished(Duration.ofDays(-1), 100))
                .getMessage().contains("retention"));
    }

    // ---- runtime ----

    @Test
    void runOnceDuringShutdownIsRefusedAndTheBatchInFlightIsStillRecorded() throws Exception {
        commit(db, c -> outbox.appendAll(c, List.of(good("o1"), good("o2"))));
        CountDownLatch publishing = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        RecordingPublisher slow = new RecordingPublisher(e -> {
            publishing.countDown();
            await(release);
            return PublishOutcome.published();
        });
        JdbcRelay relay = relay(slow);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            Future<RelayResult> inFlight = threads.submit(relay::runOnce);
            assertTrue(publishing.await(10, TimeUnit.SECONDS));
            Future<?> closing = threads.submit(() -> relay.close());
            Thread.sleep(100);
            OutboxException e = assertThrows(OutboxException.class, relay::runOnce);
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            release.countDown();
            assertEquals(2, inFlight.get(10, TimeUnit.SECONDS).published(), "the batch in flight was recorded");
            closing.get(10, TimeUnit.SECONDS);
        } finally {
            release.countDown();
            threads.shutdownNow();
        }
        assertEquals(0, queryLong(db, "SELECT count(*) FROM " + tdb.q(table) + " WHERE published_at IS NULL"));
    }

    @Test
    void aPublisherThatThrowsHasItsBatchRetriedAndNothingIsLost() {
        Event e = good("o1");
        commit(db, c -> outbox.append(c, e));
        JdbcRelay throwing = relay(events -> {
            throw new IllegalStateException("broker client exploded");
        });
        RelayResult result = throwing.runOnce();
        assertEquals(1, result.retried());
        assertTrue(tdb.queryString("SELECT last_error FROM " + tdb.q(table)).contains("broker client exploded"));
        assertEquals(0, queryLong(db, "SELECT count(*) FROM " + tdb.q(table) + " WHERE dead_at IS NOT NULL"));
    }

    @Test
    void aPublisherReturningTooFewOutcomesHasItsBatchRetried() {
        commit(db, c -> outbox.appendAll(c, List.of(good("o1"), good("o2"))));
        JdbcRelay miscounting = relay(events -> List.of(PublishOutcome.published()));
        RelayResult result = miscounting.runOnce();
        assertEquals(0, result.published(), "no event is marked published on a miscount");
        assertEquals(2, result.retried());
        assertTrue(tdb.queryString("SELECT last_error FROM " + tdb.q(table) + " LIMIT 1")
                .contains("1 outcomes for 2 events"));
    }

    @Test
    void aPublisherReturningNullHasItsBatchRetried() {
        commit(db, c -> outbox.append(c, good("o1")));
        RelayResult result = relay(events -> null).runOnce();
        assertEquals(1, result.retried());
        assertTrue(tdb.queryString("SELECT last_error FROM " + tdb.q(table)).contains("returned null"));
    }

    @Test
    void anEventOverThePublishersLimitIsDeadWithTheReasonWhileItsBatchMatesArePublished() {
        commit(db, c -> outbox.appendAll(c, List.of(good("small"),
                Event.of("order", "big", "order_placed", "{\"blob\":\"" + "x".repeat(2000) + "\"}"))));
        Function<Event, PublishOutcome> limit = e -> e.payloadBytes() > 1024
                ? PublishOutcome.rejected("message is " + e.payloadBytes() + " bytes, the broker's limit is 1024")
                : PublishOutcome.published();
        RelayResult result = relay(new RecordingPublisher(limit)).runOnce();
        assertEquals(1, result.published());
        assertEquals(1, result.dead());
        assertTrue(tdb.queryString("SELECT last_error FROM " + tdb.q(table) + " WHERE dead_at IS NOT NULL")
                .contains("limit is 1024"));
    }

    /** The same server, another database: {@code outbox_misuse_other}, created when missing. */
    String otherDatabaseUrl() throws SQLException {
        String url = tdb.jdbcUrl();
        try (Connection c = db.getConnection(); var s = c.createStatement()) {
            if (tdb.mysqlFamily()) {
                s.execute("CREATE DATABASE IF NOT EXISTS outbox_misuse_other");
            } else {
                var rs = s.executeQuery("SELECT 1 FROM pg_database WHERE datname = 'outbox_misuse_other'");
                if (!rs.next()) {
                    s.execute("CREATE DATABASE outbox_misuse_other");
                }
            }
        }
        return url.replaceFirst("(jdbc:[a-z]+://[^/]+/)[^?]*", "$1outbox_misuse_other");
    }

    static void await(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
