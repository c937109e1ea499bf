package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outbox.Event;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A PostgreSQL relay's statements that run at every claim and record run generic plans once pgjdbc prepares them on
 * the server, rather than being planned again at each execution ({@link PostgresStatements#planning}), and the
 * settings that choose them end with each statement's transaction: the connection goes back to the pool as it came.
 */
class PlanningTest {

    private final TestDb tdb = TestDb.POSTGRESQL;
    private OutboxTable table;

    @BeforeEach
    void newTable() {
        assumeTrue(tdb.unavailable() == null, tdb::unavailable);
        table = tdb.newTable();
    }

    @ParameterizedTest(name = "autocommit {0}")
    @ValueSource(booleans = {true, false})
    void claimsSightingsAndRecordsRunGenericPlansAndLeaveTheConnectionAsItWas(boolean autoCommit) throws Exception {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(tdb.jdbcUrl());
        config.setMaximumPoolSize(1); // every statement on the one connection whose prepared statements are read below
        config.setAutoCommit(autoCommit);
        try (HikariDataSource one = new HikariDataSource(config)) {
            PostgresRelayStore store = new PostgresRelayStore(one, table, Ordering.PER_AGGREGATE, 100,
                    JdbcRelay.DEFAULT_MAX_BATCH_BYTES, 10, Duration.ofSeconds(30));
            JdbcOutbox outbox = JdbcOutbox.create(table);
            int published = 0;
            for (int i = 0; i < 15; i++) {
                commit(tdb.dataSource(), c -> outbox.appendAll(c, List.of(Event.of("order", "a", "step", "{}"),
                        Event.of("order", "b", "step", "{}"))));
                ClaimedBatch batch = store.claim("planning", Duration.ofSeconds(30));
                List<Settlement> settlements = new ArrayList<>();
                for (ClaimedBatch.Row row : batch.rows()) {
                    settlements.add(new Settlement(row, Settlement.Kind.PUBLISHED, 0, null));
                }
                published += store.record(batch.leaseToken(), settlements, new AtomicInteger()).size();
            }
            assertEquals(30, published);
            try (Connection c = one.getConnection(); Statement s = c.createStatement()) {
                Map<String, long[]> plans = new TreeMap<>();
                try (ResultSet rs = s.executeQuery("SELECT statement, generic_plans, custom_plans"
                        + " FROM pg_prepared_statements WHERE statement LIKE '%" + table.name() + "%'")) {
                    while (rs.next()) {
                        long[] counts = plans.computeIfAbsent(kind(rs.getString(1)), k -> new long[2]);
                        counts[0] += rs.getLong(2);
                        counts[1] += rs.getLong(3);
                    }
                }
                for (String kind : List.of("claim", "sighting", "record")) {
                    long[] counts = plans.get(kind);
                    assertTrue(counts != null, "the " + kind + " is prepared on the server: " + plans.keySet());
                    assertEquals(0, counts[1], "the " + kind + "'s custom plans");
                    assertTrue(counts[0] >= 5, "the " + kind + "'s generic plans: " + counts[0]);
                }
                assertEquals("auto", show(s, "plan_cache_mode"), "the connection's plan cache mode");
                assertEquals("on", show(s, "jit"), "the connection's JIT");
                if (!autoCommit) {
                    c.rollback();
                }
            }
        }
    }

    @ParameterizedTest(name = "autocommit {0}")
    @ValueSource(booleans = {true, false})
    void aStatementCancelledByItsTimeoutLeavesTheConnectionAsItWas(boolean autoCommit) throws Exception {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(tdb.jdbcUrl());
        config.setMaximumPoolSize(1); // the claim's connection is the one read below
        config.setAutoCommit(autoCommit);
        try (HikariDataSource one = new HikariDataSource(config)) {
            PostgresRelayStore store = new PostgresRelayStore(one, table, Ordering.PER_AGGREGATE, 100,
                    JdbcRelay.DEFAULT_MAX_BATCH_BYTES, 10, Duration.ofSeconds(1));
            commit(tdb.dataSource(), c -> JdbcOutbox.create(table).append(c, Event.of("order", "a", "step", "{}")));
            try (Connection lock = tdb.dataSource().getConnection()) {
                lock.setAutoCommit(false);
                try (Statement s = lock.createStatement()) {
                    s.execute("LOCK TABLE " + table.qualifiedName() + " IN ACCESS EXCLUSIVE MODE");
                }
                long started = System.nanoTime();
                SQLException cancelled = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
                        () -> store.claim("planning", Duration.ofSeconds(30)));
                long millis = (System.nanoTime() - started) / 1_000_000;
                assertEquals("57014", cancelled.getSQLState(), "cancelled by its timeout: " + cancelled);
                assertTrue(millis >= 900 && millis < 10_000, "after the 1 s statement timeout: " + millis + " ms");
                lock.rollback();
            }
            try (Connection c = one.getConnection(); Statement s = c.createStatement()) {
                assertEquals("auto", show(s, "plan_cache_mode"), "the connection's plan cache mode");
                assertEquals("on", show(s, "jit"), "the connection's JIT");
                if (!autoCommit) {
                    c.rollback();
                }
            }
            assertEquals(1, store.claim("planning", Duration.ofSeconds(30)).size(), "the next claim works");
        }
    }

    private static String kind(String statement) {
        return statement.contains("lease_until = now() +") ? "claim"
                : statement.contains("published_at = now()") ? "record"
                : statement.contains("pg_sequence_last_value") && statement.contains("unparked") ? "sighting"
                : statement.substring(0, Math.min(60, statement.length()));
    }

    private static String show(Statement s, String setting) throws SQLException {
        try (ResultSet rs = s.executeQuery("SHOW " + setting)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
