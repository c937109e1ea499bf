package dev.outbox.benchmarks;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outbox.Event;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntFunction;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The database every benchmark runs on: the URL in {@code OUTBOX_BENCH_JDBC_URL}, else the local server, with
 * everything in a schema of its own ({@value #SCHEMA}) that is dropped and made anew at the start.
 */
final class BenchDatabase implements AutoCloseable {

    static final String SCHEMA = "outbox_bench";
    private static final String DEFAULT_URL = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";

    private final String url;
    private final HikariDataSource pool;
    private final AtomicInteger tables = new AtomicInteger();

    BenchDatabase() {
        String env = System.getenv("OUTBOX_BENCH_JDBC_URL");
        url = env == null || env.isBlank() ? DEFAULT_URL : env;
        try (HikariDataSource admin = pool(url, 1, null)) {
            execute(admin, "DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE");
            execute(admin, "CREATE SCHEMA " + SCHEMA);
        }
        pool = pool(url, 16, SCHEMA);
    }

    /** @return the shared pool (16 connections, search path on the benchmark schema) */
    HikariDataSource pool() {
        return pool;
    }

    /** @return a pool of its own, for a library that wants to own one */
    HikariDataSource newPool(int size) {
        return pool(url, size, SCHEMA);
    }

    String url() {
        return url.replaceAll("password=[^&]*", "password=***");
    }

    String serverVersion() {
        try (Connection c = pool.getConnection()) {
            return c.getMetaData().getDatabaseProductName() + " " + c.getMetaData().getDatabaseProductVersion();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return a new, empty outbox table in the benchmark schema */
    OutboxTable newOutboxTable() {
        OutboxTable table = new OutboxTable(SCHEMA, "bench_outbox_" + tables.incrementAndGet());
        OutboxSchema.create(pool, table);
        return table;
    }

    /** @return a new {@linkplain OutboxSchema#createRotated rotated} outbox table */
    OutboxTable newRotatedOutboxTable() {
        OutboxTable table = new OutboxTable(SCHEMA, "bench_outbox_" + tables.incrementAndGet());
        OutboxSchema.createRotated(pool, table);
        return table;
    }

    void drop(OutboxTable table) {
        execute(pool, "DROP TABLE IF EXISTS " + table.qualifiedName());
        execute(pool, "DROP FUNCTION IF EXISTS " + table.slotSequenceQualifiedName() + "()");
        execute(pool, "DROP SEQUENCE IF EXISTS " + table.slotSequenceQualifiedName());
        execute(pool, "DROP SEQUENCE IF EXISTS " + table.wakeSequenceQualifiedName());
        execute(pool, "DROP SEQUENCE IF EXISTS " + table.reentrySequenceQualifiedName());
        execute(pool, "DROP TABLE IF EXISTS " + table.reentriesQualifiedName());
    }

    /**
     * Appends {@code count} events over {@code aggregates} aggregates, 1,000 per transaction, without
     * notifications, then refreshes the planner's statistics as autovacuum eventually would.
     */
    void fill(OutboxTable table, int count, int aggregates) {
        fill(table, count, i -> event(ThreadLocalRandom.current().nextInt(aggregates)));
    }

    /**
     * Appends {@code count} events, the {@code i}th made by {@code event}, 1,000 per transaction, without
     * notifications, then refreshes the planner's statistics as autovacuum eventually would.
     */
    void fill(OutboxTable table, int count, IntFunction<Event> event) {
        JdbcOutbox outbox = JdbcOutbox.builder().table(table).notifyOnCommit(false).build();
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(false);
            for (int done = 0; done < count; ) {
                int n = Math.min(1000, count - done);
                List<Event> events = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    events.add(event.apply(done + i));
                }
                outbox.appendAll(c, events);
                c.commit();
                done += n;
            }
            c.setAutoCommit(true);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        execute(pool, "ANALYZE " + table.qualifiedName());
    }

    /** A typical small event: about 200 bytes of JSON. */
    static Event event(int aggregate) {
        return Event.builder()
                .aggregate("account", "acc-" + aggregate)
                .type("funds_deposited")
                .payload(payload(aggregate))
                .build();
    }

    /** The payload of {@link #event(int)}, about 150 bytes. */
    static String payload(int aggregate) {
        return "{\"account\":\"acc-" + aggregate + "\",\"amount\":" + ThreadLocalRandom.current().nextInt(10_000)
                + ",\"currency\":\"EUR\",\"reference\":\"" + Long.toHexString(System.nanoTime())
                + "\",\"channel\":\"mobile\",\"note\":\"monthly savings transfer\"}";
    }

    static String queryString(javax.sql.DataSource dataSource, String sql) {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement();
             java.sql.ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    static long queryLong(javax.sql.DataSource dataSource, String sql) {
        try (Connection c = dataSource.getConnection();
             java.sql.Statement s = c.createStatement();
             java.sql.ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    static void execute(javax.sql.DataSource dataSource, String sql) {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
    }

    private static HikariDataSource pool(String url, int size, String schema) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(Math.min(size, 4));
        config.setPoolName("outbox-bench");
        if (schema != null) {
            config.setSchema(schema);
        }
        return new HikariDataSource(config);
    }

    @Override
    public void close() {
        pool.close();
    }
}
