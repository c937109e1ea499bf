package dev.outbox.jdbc;

import dev.outbox.InvalidConfigurationException;
import dev.outbox.OutboxException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What an operator does to an outbox: watch it, inspect and requeue dead events, and purge old published ones.
 * Each call is its own short transaction on a connection borrowed from the data source. Thread-safe.
 */
public final class OutboxOperations {

    private static final Logger log = LoggerFactory.getLogger(OutboxOperations.class);

    private final DataSource dataSource;
    private final OutboxTable table;
    private final PostgresStatements sql;

    /**
     * @param dataSource where the outbox table lives
     * @param table the outbox table
     */
    public OutboxOperations(DataSource dataSource, OutboxTable table) {
        if (dataSource == null || table == null) {
            throw new InvalidConfigurationException("dataSource and table must not be null");
        }
        this.dataSource = dataSource;
        this.table = table;
        this.sql = new PostgresStatements(table);
    }

    /** @return counts of pending, in-flight and dead events, and the age of the oldest pending one */
    public OutboxStats stats() {
        return run("reading stats", connection -> {
            try (PreparedStatement s = connection.prepareStatement(sql.stats); ResultSet rs = s.executeQuery()) {
                rs.next();
                double ageMillis = rs.getDouble(4);
                return new OutboxStats(rs.getLong(1), rs.getLong(2), rs.getLong(3),
                        rs.wasNull() ? Duration.ZERO : Duration.ofMillis(Math.max(0, (long) ageMillis)));
            }
        });
    }

    /**
     * @param limit most events to return, 1 to 10,000
     * @return dead events, oldest first
     */
    public List<DeadEvent> listDead(int limit) {
        if (limit < 1 || limit > 10_000) {
            throw new InvalidConfigurationException("limit must be from 1 to 10000, was " + limit);
        }
        return run("listing dead events", connection -> {
            try (PreparedStatement s = connection.prepareStatement(sql.listDead)) {
                s.setInt(1, limit);
                List<DeadEvent> dead = new ArrayList<>();
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        dead.add(new DeadEvent(ClaimedBatch.readEvent(rs), rs.getInt(9), rs.getString(10),
                                rs.getObject(11, OffsetDateTime.class).toInstant()));
                    }
                }
                return dead;
            }
        });
    }

    /**
     * Makes the given dead events pending again, with fresh attempts, due now. Ids that are not dead are ignored.
     *
     * @return how many events were requeued
     * @param ids the events' ids
     */
    public int requeueDead(Collection<UUID> ids) {
        int n = byIds("requeueing dead events", sql.requeueDeadById, ids);
        log.info("requeued {} dead events on {} by id", n, table);
        return n;
    }

    /**
     * Requeues every dead event of one event type. @return how many
     *
     * @param eventType the event type
     * @return how many were requeued
     */
    public int requeueDeadOfType(String eventType) {
        if (eventType == null || eventType.isBlank()) {
            throw new InvalidConfigurationException("eventType must not be blank");
        }
        int n = run("requeueing dead events", connection -> {
            try (PreparedStatement s = connection.prepareStatement(sql.requeueDeadByType)) {
                s.setString(1, eventType);
                return s.executeUpdate();
            }
        });
        log.info("requeued {} dead events of type {} on {}", n, eventType, table);
        return n;
    }

    /**
     * Requeues every dead event. @return how many
     *
     * @return how many were requeued
     */
    public int requeueAllDead() {
        int n = run("requeueing dead events", connection -> {
            try (PreparedStatement s = connection.prepareStatement(sql.requeueAllDead)) {
                return s.executeUpdate();
            }
        });
        log.info("requeued all {} dead events on {}", n, table);
        return n;
    }

    /**
     * Deletes the given dead events, releasing their aggregates: later events of the same aggregate are then
     * published. Ids that are not dead are ignored.
     *
     * @return how many were deleted
     * @param ids the events' ids
     */
    public int discardDead(Collection<UUID> ids) {
        int n = byIds("discarding dead events", sql.discardDeadById, ids);
        log.info("discarded {} dead events on {}", n, table);
        return n;
    }

    /**
     * Deletes events published more than {@code retention} ago, in transactions of at most {@code batchSize}
     * rows so that locks and WAL stay small, until none is left.
     *
     * @param retention how long published events are kept, at least zero
     * @param batchSize rows per transaction, 1 to 100,000
     * @return how many were deleted
     */
    public long purgePublished(Duration retention, int batchSize) {
        if (retention == null || retention.isNegative()) {
            throw new InvalidConfigurationException("retention must be zero or more, was " + retention);
        }
        if (batchSize < 1 || batchSize > 100_000) {
            throw new InvalidConfigurationException("batchSize must be from 1 to 100000, was " + batchSize);
        }
        long total = 0;
        int deleted;
        do {
            deleted = run("purging published events", connection -> {
                try (PreparedStatement s = connection.prepareStatement(sql.purgePublished)) {
                    s.setLong(1, retention.toMillis());
                    s.setInt(2, batchSize);
                    return s.executeUpdate();
                }
            });
            total += deleted;
        } while (deleted == batchSize);
        log.info("purged {} events published more than {} ago from {}", total, retention, table);
        return total;
    }

    private int byIds(String what, String statement, Collection<UUID> ids) {
        if (ids == null || ids.stream().anyMatch(java.util.Objects::isNull)) {
            throw new InvalidConfigurationException("ids must not be null or contain null");
        }
        if (ids.isEmpty()) {
            return 0;
        }
        return run(what, connection -> {
            try (PreparedStatement s = connection.prepareStatement(statement)) {
                Array array = connection.createArrayOf("uuid", ids.toArray());
                s.setArray(1, array);
                int n = s.executeUpdate();
                array.free();
                return n;
            }
        });
    }

    private interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    private <T> T run(String what, Work<T> work) {
        try (Connection connection = dataSource.getConnection()) {
            boolean autoCommit = connection.getAutoCommit();
            try {
                T result = work.run(connection);
                if (!autoCommit) {
                    connection.commit();
                }
                return result;
            } catch (SQLException | RuntimeException e) {
                if (!autoCommit) {
                    connection.rollback();
                }
                throw e;
            }
        } catch (SQLException e) {
            throw new OutboxException(what + " on outbox table " + table + " failed: " + e.getMessage(), e);
        }
    }
}
