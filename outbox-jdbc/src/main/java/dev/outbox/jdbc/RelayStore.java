package dev.outbox.jdbc;

import dev.outbox.OutboxException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/**
 * What the relay asks of its database, each call on a connection borrowed for it alone: nothing is held between
 * calls, so no connection or transaction stays open while the publisher runs. One implementation per database,
 * next to its statements: {@link PostgresRelayStore}, {@link MySqlRelayStore}.
 */
interface RelayStore {

    /** Claims the next batch under a new lease token. */
    ClaimedBatch claim(String owner, Duration lease) throws SQLException;

    /**
     * Says that a loop waits for a notification: the next append notifies.
     *
     * @return the transactions running just after, which may have appended before without notifying: an append that
     *         found the wake-up taken before the loop said so, by a transaction that commits later (PostgreSQL;
     *         none elsewhere)
     */
    long[] listen() throws SQLException;

    /** @return those of {@code transactions} (from {@link #listen}) still running */
    long[] stillRunning(long[] transactions) throws SQLException;

    /** @return the positions whose lease was extended by {@code lease}; a missing one had lost its lease */
    Set<Long> renew(UUID token, List<Long> positions, Duration lease) throws SQLException;

    /**
     * @param released counts the events that publishing released from behind the published ones (they are ready now)
     * @return the positions whose outcome was written; a missing one had lost its lease
     */
    Set<Long> record(UUID token, List<Settlement> settlements, AtomicInteger released) throws SQLException;

    /**
     * The store for {@code database}.
     *
     * @param perAggregate most events of one aggregate a claim leases
     */
    static RelayStore of(Database database, DataSource dataSource, OutboxTable table, Ordering ordering, int batchSize,
                         long maxBatchBytes, int perAggregate, Duration statementTimeout) {
        return database.mysqlFamily()
                ? new MySqlRelayStore(dataSource, table, database, ordering, batchSize, maxBatchBytes, perAggregate,
                        statementTimeout)
                : new PostgresRelayStore(dataSource, table, ordering, batchSize, maxBatchBytes, perAggregate,
                        statementTimeout);
    }

    /**
     * A store that finds its database on first use, from the first connection it borrows, and keeps it in
     * {@code database}.
     */
    static RelayStore detecting(KnownDatabase database, DataSource dataSource, OutboxTable table, Ordering ordering,
                                int batchSize, long maxBatchBytes, int perAggregate, Duration statementTimeout) {
        return new RelayStore() {
            private volatile RelayStore store;

            private RelayStore store() throws SQLException {
                RelayStore s = store;
                if (s == null) {
                    synchronized (this) {
                        if (store == null) {
                            Database found;
                            try (Connection connection = dataSource.getConnection()) {
                                found = database.of(connection);
                            }
                            store = of(found, dataSource, table, ordering, batchSize, maxBatchBytes, perAggregate,
                                    statementTimeout);
                        }
                        s = store;
                    }
                }
                return s;
            }

            @Override
            public ClaimedBatch claim(String owner, Duration lease) throws SQLException {
                return store().claim(owner, lease);
            }

            @Override
            public long[] listen() throws SQLException {
                return store().listen();
            }

            @Override
            public long[] stillRunning(long[] transactions) throws SQLException {
                return store().stillRunning(transactions);
            }

            @Override
            public Set<Long> renew(UUID token, List<Long> positions, Duration lease) throws SQLException {
                return store().renew(token, positions, lease);
            }

            @Override
            public Set<Long> record(UUID token, List<Settlement> settlements, AtomicInteger released)
                    throws SQLException {
                return store().record(token, settlements, released);
            }
        };
    }

    /**
     * Says that the store's look for stranded events (parked behind an earlier event, with no earlier unpublished
     * event of their aggregate left to release them) released {@code released} of them, if any. Publishing,
     * requeueing and discarding release what is parked behind an event in a statement that sees every park that
     * committed before, so finding any means something else stranded them: a change made by hand, or a fault to look
     * into. They are ready again, and nothing is lost.
     */
    static void orphansReleased(OutboxTable table, long released) {
        if (released > 0) {
            org.slf4j.LoggerFactory.getLogger(RelayStore.class).warn("outbox table {}: released {} stranded event(s),"
                    + " parked behind an earlier event with none left unpublished", table, released);
        }
    }

    static void rollbackQuietly(Connection connection, boolean autoCommit, Exception cause) {
        if (autoCommit) {
            return;
        }
        try {
            connection.rollback();
        } catch (SQLException e) {
            cause.addSuppressed(e);
        }
    }

    /** MySQL's and MariaDB's error for an index named in FORCE INDEX that the table lacks. */
    int MYSQL_NO_SUCH_INDEX = 1176;

    static OutboxException failure(String what, OutboxTable table, SQLException e) {
        return new OutboxException(what + " on outbox table " + table + " failed: " + e.getMessage()
                + schemaHint(table, e), e);
    }

    /**
     * @return for an error that says a table or column is missing, what to run; else empty. A PostgreSQL table created
     *         by an earlier version lacks the parked_until column, the wake sequence or the re-entry sequence; a MySQL or MariaDB one the
     *         column or the ready index.
     */
    static String schemaHint(OutboxTable table, SQLException e) {
        String state = e.getSQLState();
        if ("42P01".equals(state) || "42703".equals(state)) {
            return " (is the schema up to date? Create it with OutboxSchema.create, or bring a table made by an earlier"
                    + " version up to date with OutboxSchema.migrate(dataSource, " + table + "), resource "
                    + OutboxSchema.POSTGRES_PARKING_MIGRATION + " then " + OutboxSchema.POSTGRES_HORIZON_MIGRATION + ")";
        }
        if ("42S02".equals(state) || "42S22".equals(state) || e.getErrorCode() == MYSQL_NO_SUCH_INDEX) {
            return " (is the schema up to date? Create it with OutboxSchema.create (resource "
                    + OutboxSchema.MYSQL_RESOURCE + "), or bring a table made by an earlier version up to date with"
                    + " OutboxSchema.migrate(dataSource, " + table + "), resource "
                    + OutboxSchema.MYSQL_PARKING_MIGRATION + ")";
        }
        return "";
    }
}
