package dev.outbox.inbox;

import dev.outbox.InvalidConfigurationException;
import dev.outbox.OutboxException;
import dev.outbox.jdbc.Database;
import dev.outbox.jdbc.OutboxTable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import javax.sql.DataSource;

/**
 * The consumer's side of at-least-once delivery: {@link #receive} runs a message's handler only if its event was not
 * processed before, and records the event as processed in the same transaction, so a redelivered event (the relay
 * published it again after a crash, the queue delivered it twice, the consumer died between its commit and its
 * delete) changes nothing a second time.
 *
 * <p>Two deliveries of one event received at the same moment: the second one's record waits for the first one's
 * transaction (the table's primary key); if that commits, the second is a {@link Result#DUPLICATE} and its handler does
 * not run; if it rolls back, the second runs its handler. At READ COMMITTED, the default of every database here, that
 * is all. A transaction at REPEATABLE READ or SERIALIZABLE on PostgreSQL fails instead with a serialization error
 * (SQLState 40001), and on MySQL and MariaDB three such deliveries at once can deadlock (40001): roll back and let the
 * message be delivered again, as a failed handler is; the next delivery is a duplicate.
 *
 * <p>An event id is remembered for the retention {@link #purge} keeps. A delivery of the event after that runs its
 * handler again: keep the ids longer than the broker may redeliver (SQS keeps a message up to 14 days).
 * Thread-safe; one per table, shared.
 */
public final class Inbox {

    /** What {@link #receive} did with a message. */
    public enum Result {
        /** The handler ran and the event is recorded: commit. */
        PROCESSED,
        /** The event was processed before (committed): the handler did not run, there is nothing to undo. */
        DUPLICATE
    }

    private final OutboxTable table;
    private final String postgresRecord;
    private final String mysqlRecord;
    private final String postgresPurge;
    private final String mysqlPurge;
    /** The database of the first connection received on; one inbox serves one database. */
    private volatile Database database;

    private Inbox(OutboxTable table) {
        this.table = table;
        this.postgresRecord = "INSERT INTO " + table.qualifiedName()
                + " (event_id) VALUES (?::uuid) ON CONFLICT (event_id) DO NOTHING";
        this.mysqlRecord = "INSERT IGNORE INTO " + table.qualifiedName(Database.MYSQL) + " (event_id) VALUES (?)";
        this.postgresPurge = "DELETE FROM " + table.qualifiedName() + " WHERE event_id IN (SELECT event_id FROM "
                + table.qualifiedName() + " WHERE processed_at < now() - ? * interval '1 millisecond' LIMIT ?)";
        this.mysqlPurge = "DELETE FROM " + table.qualifiedName(Database.MYSQL)
                + " WHERE processed_at < NOW(6) - INTERVAL ? MICROSECOND LIMIT ?";
    }

    /** @return the inbox on the table {@code inbox_event} */
    public static Inbox create() {
        return create(InboxSchema.DEFAULT_TABLE);
    }

    /**
     * @param table the inbox table (see {@link InboxSchema})
     * @return the inbox on it
     * @throws InvalidConfigurationException when {@code table} is null
     */
    public static Inbox create(OutboxTable table) {
        if (table == null) {
            throw new InvalidConfigurationException("table must not be null");
        }
        return new Inbox(table);
    }

    /** @return the inbox table */
    public OutboxTable table() {
        return table;
    }

    /**
     * Records {@code message}'s event as processed and runs {@code handler}, on {@code connection} in its current
     * transaction, unless the event was processed before. Never commits, rolls back or closes the connection: commit
     * after {@link Result#PROCESSED} and after {@link Result#DUPLICATE} alike; roll back when this throws.
     *
     * @param connection the consumer's connection, not in auto-commit mode
     * @param message the delivery
     * @param handler what to do with a message seen for the first time
     * @return whether the handler ran
     * @throws SQLException from the database, the record's or the handler's; roll back
     * @throws InvalidConfigurationException for a connection in auto-commit mode, or a null argument, before any SQL
     * @throws InboxHandlerException wrapping a checked exception the handler threw; roll back (a runtime exception
     *         it throws comes through as it is)
     */
    public Result receive(Connection connection, InboxMessage message, InboxHandler handler) throws SQLException {
        if (connection == null || message == null || handler == null) {
            throw new InvalidConfigurationException("connection, message and handler must not be null");
        }
        if (connection.getAutoCommit()) {
            throw new InvalidConfigurationException("the connection is in auto-commit mode: the handler's effects and"
                    + " the inbox record must commit together; call setAutoCommit(false) and commit after receive");
        }
        Database known = database;
        if (known == null) {
            known = Database.of(connection);
            database = known;
        }
        boolean postgres = known == Database.POSTGRESQL;
        try (PreparedStatement record = connection.prepareStatement(postgres ? postgresRecord : mysqlRecord)) {
            record.setString(1, message.eventId().toString());
            if (record.executeUpdate() == 0) {
                return Result.DUPLICATE;
            }
        }
        try {
            handler.handle(connection, message);
        } catch (SQLException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new InboxHandlerException("the handler failed for event " + message.eventId() + ": " + e, e);
        }
        return Result.PROCESSED;
    }

    /**
     * {@link #receive} in a transaction of its own: takes a connection from {@code dataSource}, receives, commits; on
     * any failure rolls back and rethrows. What the consumer loops run for each message.
     *
     * @param dataSource the consumer's database
     * @param message the delivery
     * @param handler what to do with a message seen for the first time
     * @return whether the handler ran
     * @throws SQLException from the database or the handler, after the rollback
     * @throws InboxHandlerException wrapping a checked exception the handler threw, after the rollback
     */
    public Result process(DataSource dataSource, InboxMessage message, InboxHandler handler) throws SQLException {
        try (Connection connection = dataSource.getConnection()) {
            boolean autoCommit = connection.getAutoCommit();
            connection.setAutoCommit(false);
            try {
                Result result = receive(connection, message, handler);
                connection.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                try {
                    connection.rollback();
                } catch (SQLException rollback) {
                    e.addSuppressed(rollback);
                }
                throw e;
            } finally {
                connection.setAutoCommit(autoCommit);
            }
        }
    }

    /**
     * Deletes the records of events processed longer ago than {@code retention}, {@code batchSize} rows per
     * transaction, until none is left. A delivery of one of those events afterwards runs its handler again.
     *
     * @param dataSource where the table lives
     * @param retention how long records are kept, at least a minute
     * @param batchSize rows per transaction, 1 to 100,000
     * @return the records deleted
     * @throws InvalidConfigurationException for a retention or batch size out of range
     * @throws OutboxException wrapping the database's error
     */
    public long purge(DataSource dataSource, Duration retention, int batchSize) {
        if (retention == null || retention.compareTo(Duration.ofMinutes(1)) < 0) {
            throw new InvalidConfigurationException("retention must be at least PT1M, was " + retention);
        }
        if (batchSize < 1 || batchSize > 100_000) {
            throw new InvalidConfigurationException("batchSize must be from 1 to 100000, was " + batchSize);
        }
        long deleted = 0;
        try (Connection connection = dataSource.getConnection()) {
            boolean postgres = Database.of(connection) == Database.POSTGRESQL;
            connection.setAutoCommit(true);
            try (PreparedStatement purge = connection.prepareStatement(postgres ? postgresPurge : mysqlPurge)) {
                purge.setLong(1, postgres ? retention.toMillis() : retention.toNanos() / 1000);
                purge.setInt(2, batchSize);
                int n;
                do {
                    n = purge.executeUpdate();
                    deleted += n;
                } while (n == batchSize);
            }
        } catch (SQLException e) {
            throw new OutboxException("purging inbox table " + table + " failed: " + e.getMessage(), e);
        }
        return deleted;
    }
}
