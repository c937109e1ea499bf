package dev.outbox.inbox;

import dev.outbox.InvalidConfigurationException;
import dev.outbox.OutboxException;
import dev.outbox.jdbc.Database;
import dev.outbox.jdbc.OutboxTable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
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
 * <p>{@link #processAll} takes a batch a consumer received, each message in a transaction of its own, for one
 * round trip less per message on PostgreSQL (see there for what it changes when two deliveries meet).
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

    /**
     * What {@link #processAll} did with one message: a {@link Result}, or the failure that rolled the message's
     * transaction back (an {@link SQLException}, the handler's runtime exception, or an {@link InboxHandlerException}
     * wrapping its checked one). A failed message has no record and no effect: deliver it again.
     *
     * @param message the message
     * @param result what the inbox did with it; null when it failed
     * @param failure why it failed; null when it did not
     */
    public record Outcome(InboxMessage message, Result result, Exception failure) {

        /**
         * @param message the message
         * @param result what the inbox did with it; null when it failed
         * @param failure why it failed; null when it did not
         * @throws InvalidConfigurationException when {@code message} is null, or not exactly one of {@code result}
         *         and {@code failure} is
         */
        public Outcome {
            if (message == null || (result == null) == (failure == null)) {
                throw new InvalidConfigurationException("an outcome has a message and either a result or a failure,"
                        + " was " + message + ", " + result + ", " + failure);
            }
        }

        /** @return true when the message's transaction rolled back */
        public boolean failed() {
            return failure != null;
        }
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
        try (PreparedStatement record = connection.prepareStatement(isPostgres(connection) ? postgresRecord
                : mysqlRecord)) {
            record.setString(1, message.eventId().toString());
            if (record.executeUpdate() == 0) {
                return Result.DUPLICATE;
            }
        }
        handle(handler, connection, message);
        return Result.PROCESSED;
    }

    /**
     * Processes {@code messages} in order, each in a transaction of its own, on one connection from
     * {@code dataSource}: what a consumer does with a batch it received (the SQS consumer loop and the Lambda handler
     * run their batches through it). One failed message does not stop the others; its outcome says why it failed.
     *
     * <p>On PostgreSQL it spends one round trip less per message than {@link #process}: one statement first reads
     * which of the batch's events were processed before (their outcome is {@link Result#DUPLICATE} and their handler
     * does not run); each other message's handler then runs and its record goes to the database in one round trip
     * with the commit. If another delivery of the same event commits between that look and this record (two
     * deliveries of one event at the same moment), the record collides with it, the transaction rolls back with the
     * handler's effects, and the outcome is {@link Result#DUPLICATE}: its handler ran, its effects did not commit,
     * and exactly one delivery's did. A handler with effects outside the database should use {@link #process}, which
     * records first and never runs the handler of an event recorded by another transaction. On MySQL and MariaDB
     * each message goes as {@link #process} does.
     *
     * <p>When a message's failure leaves the connection unusable (its rollback fails), the rest of the batch goes on
     * a new connection from {@code dataSource}; when none can be had, the rest fail with that error.
     *
     * @param dataSource the consumer's database
     * @param messages the batch, in the order to process it; an event twice in it is processed once
     * @param handler what to do with a message seen for the first time
     * @return one outcome per message, in the order of {@code messages}
     * @throws InvalidConfigurationException for a null argument or message, before any SQL
     */
    public List<Outcome> processAll(DataSource dataSource, List<InboxMessage> messages, InboxHandler handler) {
        if (dataSource == null || messages == null || handler == null
                || messages.stream().anyMatch(Objects::isNull)) {
            throw new InvalidConfigurationException("dataSource, messages, each message and handler must not be"
                    + " null");
        }
        return new InboxBatch(this, dataSource, handler).process(List.copyOf(messages));
    }

    /** @return true when {@code connection} is PostgreSQL's (the database of the first connection seen) */
    boolean isPostgres(Connection connection) throws SQLException {
        Database known = database;
        if (known == null) {
            known = Database.of(connection);
            database = known;
        }
        return known == Database.POSTGRESQL;
    }

    /**
     * Runs {@code handler}, a checked exception other than {@link SQLException} wrapped; after an
     * {@link InterruptedException} the thread's interrupt flag is set again, for the caller's loop to see.
     */
    static void handle(InboxHandler handler, Connection connection, InboxMessage message) throws SQLException {
        try {
            handler.handle(connection, message);
        } catch (SQLException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new InboxHandlerException("the handler failed for event " + message.eventId() + ": " + e, e);
        }
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
