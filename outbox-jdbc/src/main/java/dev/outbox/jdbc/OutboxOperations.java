package dev.outbox.jdbc;

import dev.outbox.InvalidConfigurationException;
import dev.outbox.OutboxException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
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
    private final MySqlStatements mysql;
    private final MySqlParking mysqlParking;
    private final KnownDatabase database;
    private final PartitionRotation rotation;

    /**
     * Operations on {@code table}, on the database found from the first connection borrowed.
     *
     * @param dataSource where the outbox table lives
     * @param table the outbox table
     */
    public OutboxOperations(DataSource dataSource, OutboxTable table) {
        this(dataSource, table, null);
    }

    /**
     * @param dataSource where the outbox table lives
     * @param table the outbox table
     * @param database the database it is on; null to find it from the first connection borrowed
     */
    public OutboxOperations(DataSource dataSource, OutboxTable table, Database database) {
        if (dataSource == null || table == null) {
            throw new InvalidConfigurationException("dataSource and table must not be null");
        }
        this.dataSource = dataSource;
        this.table = table;
        this.sql = new PostgresStatements(table);
        this.mysql = new MySqlStatements(table, Database.MYSQL);
        this.mysqlParking = new MySqlParking(mysql, 0);
        this.database = new KnownDatabase(database);
        this.rotation = new PartitionRotation(table);
    }

    private boolean onMySql(Connection connection) throws SQLException {
        return database.of(connection).mysqlFamily();
    }

    /**
     * The oldest holder of the database's horizon, other than this call's own session: what keeps vacuum (PostgreSQL)
     * or purge (InnoDB) from removing the row versions the outbox's updates and deletes leave behind. On PostgreSQL
     * the session, replication slot or prepared transaction with the oldest xmin; on MySQL and MariaDB the oldest
     * running InnoDB transaction, with the history list length (reading {@code information_schema.innodb_trx} takes
     * the PROCESS privilege; without it, none is found). Cheap: a read of the server's activity views.
     *
     * @return the holder, or empty when nothing holds the horizon (no other transaction or snapshot is open)
     */
    public java.util.Optional<HorizonHolder> horizon() {
        return run("reading the horizon", connection -> {
            boolean my = onMySql(connection);
            try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(
                    my ? MySqlStatements.HORIZON : PostgresStatements.HORIZON)) {
                if (!rs.next()) {
                    return java.util.Optional.empty();
                }
                long pid = rs.getLong(5);
                return java.util.Optional.of(new HorizonHolder(HorizonHolder.Kind.valueOf(rs.getString(1)),
                        Duration.ofMillis(Math.max(0, rs.getLong(2))), rs.getLong(3), rs.getString(4),
                        rs.wasNull() ? -1 : pid));
            }
        });
    }

    /**
     * A snapshot for dashboards and health checks, cheap whatever the backlog: a few milliseconds on a table of
     * 1.3 million rows with 190,000 unpublished, in two round trips at most. Each count is exact up to
     * {@value #EXACT_COUNT_LIMIT}. Above that, {@link OutboxStats#exact()} is false and the count is estimated fresh
     * at each call: pending events ready to be claimed (on PostgreSQL; all pending ones on MySQL and MariaDB) and dead
     * ones (PostgreSQL) by sampling 64 runs of 8 positions (512) in their range, within about 1.5 % when the range is
     * nearly all pending, as a backlog draining in order is, 4 % when half of it is, more when the events are a thin
     * scatter among published ones; events parked behind a dead or backing-off event (PostgreSQL) and dead events on
     * MySQL and MariaDB from the index's statistics, as of the table's last vacuum or analyze. In-flight events are
     * counted among the oldest 1,000 ready events, which is where relays claim (one relay with the default batch size
     * holds up to 1,000); the oldest pending age is that of the longest-waiting event that is due, a delayed event
     * counting from when it is due.
     *
     * @return counts of pending, in-flight and dead events, and the age of the oldest pending one
     */
    public OutboxStats stats() {
        return run("reading stats", connection -> {
            if (onMySql(connection)) {
                return mysqlStats(connection);
            }
            long ready;
            long readyLow;
            long inFlight;
            long parked;
            long dead;
            long deadLow;
            Duration age;
            long high;
            long deadHigh;
            long parkedStatistics;
            try (PreparedStatement s = connection.prepareStatement(sql.stats)) {
                try (ResultSet rs = s.executeQuery()) {
                    rs.next();
                    ready = rs.getLong(1);
                    readyLow = rs.getLong(2);
                    inFlight = rs.getLong(3);
                    parked = rs.getLong(4);
                    dead = rs.getLong(5);
                    deadLow = rs.getLong(6);
                    double ageMillis = rs.getDouble(7);
                    age = rs.wasNull() ? Duration.ZERO : Duration.ofMillis(Math.max(0, (long) ageMillis));
                    high = rs.getLong(8);
                    deadHigh = rs.getLong(9);
                    parkedStatistics = rs.getLong(10);
                }
            }
            boolean exact = ready < PostgresStatements.READY_SCAN && parked <= EXACT_COUNT_LIMIT
                    && dead <= EXACT_COUNT_LIMIT;
            PendingEstimate.Sample readySample = PendingEstimate.draw(ready, PostgresStatements.READY_SCAN, readyLow,
                    high);
            PendingEstimate.Sample deadSample = PendingEstimate.draw(dead, EXACT_COUNT_LIMIT + 1, deadLow, deadHigh);
            if (!readySample.exact() || !deadSample.exact()) {
                try (PreparedStatement s = connection.prepareStatement(sql.probes)) {
                    s.setArray(1, connection.createArrayOf("bigint", readySample.starts().toArray()));
                    s.setArray(2, connection.createArrayOf("bigint", deadSample.starts().toArray()));
                    try (ResultSet rs = s.executeQuery()) {
                        rs.next();
                        ready = readySample.estimate(rs.getLong(1));
                        dead = deadSample.estimate(rs.getLong(2));
                    }
                }
            }
            if (parked > EXACT_COUNT_LIMIT) {
                parked = Math.max(EXACT_COUNT_LIMIT + 1, parkedStatistics);
            }
            return new OutboxStats(Math.max(0, ready + parked - inFlight), inFlight, dead, age, exact);
        });
    }

    /**
     * The same snapshot on MySQL and MariaDB: ready events above the limit sampled as on PostgreSQL, parked and dead
     * ones from the optimizer's index dives.
     */
    private OutboxStats mysqlStats(Connection connection) throws SQLException {
        long ready;
        long inFlight;
        long parked;
        long dead;
        long ageMillis;
        try (PreparedStatement s = connection.prepareStatement(mysql.stats); ResultSet rs = s.executeQuery()) {
            rs.next();
            ready = rs.getLong(1);
            inFlight = rs.getLong(2);
            parked = rs.getLong(3);
            dead = rs.getLong(4);
            ageMillis = rs.getLong(5);
        }
        boolean exact = true;
        if (ready > EXACT_COUNT_LIMIT) {
            try (PreparedStatement s = connection.prepareStatement(mysql.readyRange); ResultSet rs = s.executeQuery()) {
                rs.next();
                ready = PendingEstimate.of(rs.getLong(1), PostgresStatements.READY_SCAN, rs.getLong(2), rs.getLong(3),
                        positions -> mysqlProbe(connection, positions));
            }
            exact = false;
        }
        if (parked > EXACT_COUNT_LIMIT) {
            parked = Math.max(EXACT_COUNT_LIMIT + 1, explainedRows(connection, mysql.parkedEstimate));
            exact = false;
        }
        if (dead > EXACT_COUNT_LIMIT) {
            dead = Math.max(EXACT_COUNT_LIMIT + 1, explainedRows(connection, mysql.deadEstimate));
            exact = false;
        }
        return new OutboxStats(Math.max(0, ready + parked - inFlight), inFlight, dead,
                Duration.ofMillis(Math.max(0, ageMillis)), exact);
    }

    /** @return how many ready events the runs starting at {@code runStarts} hold */
    private long mysqlProbe(Connection connection, List<Long> runStarts) throws SQLException {
        StringBuilder sql = new StringBuilder(mysql.readyProbe);
        for (int i = 0; i < runStarts.size(); i++) {
            sql.append(i == 0 ? "" : " OR ").append("position BETWEEN ? AND ?");
        }
        try (PreparedStatement s = connection.prepareStatement(sql.append(')').toString())) {
            int i = 1;
            for (long start : runStarts) {
                s.setLong(i++, start);
                s.setLong(i++, start + PendingEstimate.RUN - 1);
            }
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** @return the rows EXPLAIN expects {@code query} to read */
    private static long explainedRows(Connection connection, String explain) throws SQLException {
        try (PreparedStatement s = connection.prepareStatement(explain); ResultSet rs = s.executeQuery()) {
            long rows = 0;
            while (rs.next()) {
                rows = Math.max(rows, rs.getLong("rows"));
            }
            return rows;
        }
    }

    /** Counts up to this are exact in {@link #stats()}; larger ones are estimates. */
    public static final int EXACT_COUNT_LIMIT = PostgresStatements.EXACT_COUNT_LIMIT;

    /**
     * Every dead row, readable or not: a row that cannot be read as an event (the relay made it dead for that) comes
     * back with its ids, type, raw payload and headers text and the reason, and {@link DeadEvent#event()} null.
     *
     * @param limit most events to return, 1 to 10,000
     * @return dead events, oldest first
     */
    public List<DeadEvent> listDead(int limit) {
        if (limit < 1 || limit > 10_000) {
            throw new InvalidConfigurationException("limit must be from 1 to 10000, was " + limit);
        }
        return run("listing dead events", connection -> {
            Database db = database.of(connection);
            try (PreparedStatement s = connection.prepareStatement(db.mysqlFamily() ? mysql.listDead : sql.listDead)) {
                s.setInt(1, limit);
                List<DeadEvent> dead = new ArrayList<>();
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        dead.add(deadEvent(rs, db));
                    }
                }
                return dead;
            }
        });
    }

    /** Reads one dead row (the event columns, then attempts, last error, dead at); an unreadable one as raw text. */
    private static DeadEvent deadEvent(ResultSet rs, Database db) throws SQLException {
        int attempts = rs.getInt(9);
        String lastError = rs.getString(10);
        Instant deadAt = ClaimedBatch.instant(rs, 11, db);
        try {
            return new DeadEvent(ClaimedBatch.readEvent(rs, db), attempts, lastError, deadAt);
        } catch (RuntimeException e) {
            return new DeadEvent(ClaimedBatch.uuid(rs, 2, db), rs.getString(3), rs.getString(4), rs.getString(5),
                    rs.getString(6), rs.getString(7), null, e.getClass().getSimpleName() + ": " + e.getMessage(),
                    attempts, lastError, deadAt);
        }
    }

    /**
     * Makes the given dead events pending again, with fresh attempts, due now. Ids that are not dead are ignored.
     *
     * @return how many events were requeued
     * @param ids the events' ids
     */
    public int requeueDead(Collection<UUID> ids) {
        int n = byIds("requeueing dead events", sql.requeueDeadById, mysql.requeueDeadById, ids);
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
        int n = inTransaction("requeueing dead events", connection -> {
            if (!onMySql(connection)) {
                try (PreparedStatement s = connection.prepareStatement(sql.requeueDeadByType)) {
                    s.setString(1, eventType);
                    return changeAndRelease(connection, s);
                }
            }
            Set<MySqlParking.Aggregate> aggregates;
            try (PreparedStatement s = connection.prepareStatement(mysql.deadAggregatesByType)) {
                s.setString(1, eventType);
                aggregates = MySqlParking.aggregates(s);
            }
            try (PreparedStatement s = connection.prepareStatement(mysql.requeueDeadByType)) {
                s.setString(1, eventType);
                int requeued = s.executeUpdate();
                mysqlParking.release(connection, aggregates);
                return requeued;
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
        int n = inTransaction("requeueing dead events", connection -> {
            if (!onMySql(connection)) {
                try (PreparedStatement s = connection.prepareStatement(sql.requeueAllDead)) {
                    return changeAndRelease(connection, s);
                }
            }
            try (Statement s = connection.createStatement()) {
                int requeued = s.executeUpdate(mysql.requeueAllDead);
                s.executeUpdate(mysql.releaseAll);
                return requeued;
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
        int n = byIds("discarding dead events", sql.discardDeadById, mysql.discardDeadById, ids);
        log.info("discarded {} dead events on {}", n, table);
        return n;
    }

    /**
     * Deletes events published more than {@code retention} ago, in transactions of at most {@code batchSize}
     * rows so that locks and WAL stay small, until none is left. On a
     * {@linkplain OutboxSchema#postgresRotated(OutboxTable) rotated table} it first empties with {@code TRUNCATE}
     * each partition that appends have left whose events were all published more than {@code retention} ago (their
     * space comes back at once, whatever transaction holds the horizon), and moves appends to an empty partition;
     * the events it empties are counted in the result.
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
        long total = rotate(retention);
        int deleted;
        do {
            deleted = run("purging published events", connection -> {
                if (onMySql(connection)) {
                    try (PreparedStatement s = connection.prepareStatement(mysql.purgePublished)) {
                        s.setLong(1, retention.toMillis() * 1000);
                        s.setInt(2, batchSize);
                        return s.executeUpdate();
                    }
                }
                try (PreparedStatement s = connection.prepareStatement(sql.purgePublished)) {
                    s.setLong(1, retention.toMillis());
                    s.setObject(2, purgeWalk.from());
                    s.setInt(3, batchSize);
                    try (ResultSet rs = s.executeQuery()) {
                        rs.next();
                        purgeWalk.reached(rs.getObject(2, java.time.OffsetDateTime.class));
                        return rs.getInt(1);
                    }
                }
            });
            total += deleted;
        } while (deleted == batchSize);
        log.info("purged {} events published more than {} ago from {}", total, retention, table);
        return total;
    }

    /** @return the events in the partitions a rotation emptied; 0 on a table that is not rotated */
    private long rotate(Duration retention) {
        return run("rotating partitions", connection -> {
            if (onMySql(connection)) {
                return 0L;
            }
            boolean autoCommit = connection.getAutoCommit();
            if (!autoCommit) {
                connection.commit();
                connection.setAutoCommit(true);
            }
            try {
                return rotation.run(connection, retention);
            } finally {
                connection.setAutoCommit(autoCommit);
            }
        });
    }

    /**
     * Where a purge on PostgreSQL starts its walk of published events: a minute before the latest one a purge of this
     * instance deleted; from the start at the first purge and again every {@link #PURGE_FULL_WALK}, which finds events
     * published by a transaction that committed more than a minute after it began.
     */
    private final WalkStart purgeWalk = new WalkStart(Duration.ofMinutes(1), PURGE_FULL_WALK);

    /** How often a purge walks published events from the start. */
    static final Duration PURGE_FULL_WALK = Duration.ofMinutes(10);

    private int byIds(String what, String statement, String mysqlStatement, Collection<UUID> ids) {
        if (ids == null || ids.stream().anyMatch(java.util.Objects::isNull)) {
            throw new InvalidConfigurationException("ids must not be null or contain null");
        }
        if (ids.isEmpty()) {
            return 0;
        }
        return inTransaction(what, connection -> {
            if (onMySql(connection)) {
                // The aggregates first: neither database returns rows from an UPDATE or a DELETE.
                List<UUID> list = List.copyOf(ids);
                Set<MySqlParking.Aggregate> aggregates;
                try (PreparedStatement s = connection.prepareStatement(mysql.deadAggregatesById
                        + MySqlStatements.in(list.size()))) {
                    for (int i = 0; i < list.size(); i++) {
                        s.setString(i + 1, list.get(i).toString());
                    }
                    aggregates = MySqlParking.aggregates(s);
                }
                try (PreparedStatement s = connection.prepareStatement(mysqlStatement + MySqlStatements.in(list.size()))) {
                    for (int i = 0; i < list.size(); i++) {
                        s.setString(i + 1, list.get(i).toString());
                    }
                    int n = s.executeUpdate();
                    mysqlParking.release(connection, aggregates);
                    return n;
                }
            }
            try (PreparedStatement s = connection.prepareStatement(statement)) {
                Array array = connection.createArrayOf("uuid", ids.toArray());
                s.setArray(1, array);
                int n = changeAndRelease(connection, s);
                array.free();
                return n;
            }
        });
    }

    /**
     * Runs a requeue or discard of dead events on PostgreSQL ({@code change}, which returns the aggregate of each event
     * it changed), then releases the events parked behind those events ({@link PostgresStatements#releaseBehind}), in
     * a statement of its own: one that starts after the change has its locks sees every event a claim parked behind
     * them while the change waited for the claim to commit. The caller commits both together.
     *
     * @return how many events were changed
     */
    private int changeAndRelease(Connection connection, PreparedStatement change) throws SQLException {
        List<String> types = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        try (ResultSet rs = change.executeQuery()) {
            while (rs.next()) {
                types.add(rs.getString(1));
                ids.add(rs.getString(2));
            }
        }
        if (!types.isEmpty()) {
            try (PreparedStatement release = connection.prepareStatement(sql.releaseBehind)) {
                Array typeArray = connection.createArrayOf("text", types.toArray());
                Array idArray = connection.createArrayOf("text", ids.toArray());
                release.setArray(1, typeArray);
                release.setArray(2, idArray);
                release.executeQuery().close();
                typeArray.free();
                idArray.free();
            }
        }
        return types.size();
    }

    private interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    /**
     * Runs {@code work} in one transaction, committed at its end (rolled back on a failure), whether or not the pool
     * hands out connections in auto-commit, which it gets back as they came: a change to dead events and the release
     * of the events parked behind them are written together or not at all.
     */
    private <T> T inTransaction(String what, Work<T> work) {
        return run(what, connection -> {
            if (!connection.getAutoCommit()) {
                return work.run(connection);
            }
            connection.setAutoCommit(false);
            T result;
            try {
                result = work.run(connection);
                connection.commit();
            } catch (SQLException | RuntimeException e) {
                try {
                    connection.rollback();
                    connection.setAutoCommit(true);
                } catch (SQLException restoring) {
                    e.addSuppressed(restoring);
                }
                throw e;
            }
            connection.setAutoCommit(true);
            return result;
        });
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
