package dev.outbox.jdbc;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.Outbox;
import dev.outbox.OutboxException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The {@link Outbox} on PostgreSQL, MySQL and MariaDB: one statement, one round trip, per {@link #append} and per
 * {@link #appendAll} (on MySQL and MariaDB, one per 1,000 events).
 *
 * <p>Runs on the caller's connection and inside the caller's transaction; never commits, rolls back,
 * closes it or changes its auto-commit mode. A connection in auto-commit mode is refused before any SQL runs.
 * Thread-safe; create one per table and share it.
 *
 * <p>By default the statement also sends a PostgreSQL notification ({@code pg_notify}) on the table's channel, but
 * only by the first append after a relay loop began to wait for one (the append that draws 1 from the sequence
 * {@link OutboxTable#wakeSequenceQualifiedName()}, which a loop about to wait sets back): PostgreSQL commits notifying
 * transactions one at a time, so commits no relay waits for send nothing and pay nothing, and a stream of commits
 * sends one notification per wait of a loop, at any isolation level. If the transaction that drew 1 rolls back,
 * waiting loops find later commits at their next poll ({@link JdbcRelay.Builder#pollInterval}). PostgreSQL delivers the notification only if the transaction commits, so relays started
 * with {@link JdbcRelay#start} wake within milliseconds of the commit instead of at their next poll. A rolled-back
 * append notifies nobody. MySQL and MariaDB have no notifications: there relays poll, or the host wakes them with
 * {@link JdbcRelay#wakeUp()} after its commit.
 *
 * <p>The database is found from the first connection an append is given, unless set with {@link Builder#database}; one
 * outbox serves one database.
 */
public final class JdbcOutbox implements Outbox {

    /** Longest delay an event may be appended with. */
    public static final Duration MAX_DELAY = Duration.ofDays(365);

    private final OutboxTable table;
    private final String insert;
    private final String insertMany;
    private final String insertDelayed;
    private final MySqlStatements mysql;
    private final KnownDatabase database;

    /** Most events in one MySQL or MariaDB insert statement. */
    private static final int MYSQL_ROWS_PER_INSERT = 1000;

    private JdbcOutbox(Builder b) {
        this.table = b.table;
        this.database = new KnownDatabase(b.database);
        this.mysql = new MySqlStatements(b.table, Database.MYSQL);
        PostgresStatements sql = new PostgresStatements(b.table);
        this.insert = b.notifyOnCommit ? sql.insertNotifying : sql.insert;
        this.insertMany = b.notifyOnCommit ? sql.insertManyNotifying : sql.insertMany;
        this.insertDelayed = b.notifyOnCommit ? sql.insertDelayedNotifying : sql.insertDelayed;
    }

    /** @return an outbox on {@link OutboxTable#DEFAULT} that notifies relays at commit */
    public static JdbcOutbox create() {
        return builder().build();
    }

    /**
     * @param table the outbox table, created beforehand with {@link OutboxSchema}
     * @return an outbox on {@code table} that notifies relays at commit
     * @throws InvalidConfigurationException when {@code table} is null
     */
    public static JdbcOutbox create(OutboxTable table) {
        return builder().table(table).build();
    }

    /** @return a builder with the defaults: {@link OutboxTable#DEFAULT}, notifying relays at commit */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the table this outbox writes to */
    public OutboxTable table() {
        return table;
    }

    @Override
    public void append(Connection connection, Event event) throws SQLException {
        if (event == null) {
            throw new OutboxException("event must not be null");
        }
        checkInTransaction(connection);
        if (database.of(connection).mysqlFamily()) {
            try (PreparedStatement statement = connection.prepareStatement(mysql.insert)) {
                bindMySql(statement, 0, event);
                statement.execute();
            } catch (SQLException e) {
                throw explained(e);
            }
            return;
        }
        try (PreparedStatement statement = connection.prepareStatement(insert)) {
            bind(statement, event);
            statement.execute();
        } catch (SQLException e) {
            throw explained(e);
        }
    }

    /** Binds the seven event columns from parameter {@code offset + 1} on: text ids, UTC DATETIME. */
    private static void bindMySql(PreparedStatement statement, int offset, Event event) throws SQLException {
        statement.setString(offset + 1, event.id().toString());
        statement.setString(offset + 2, event.aggregateType());
        statement.setString(offset + 3, event.aggregateId());
        statement.setString(offset + 4, event.type());
        statement.setString(offset + 5, event.payload());
        statement.setString(offset + 6, HeadersJson.write(event.headers()));
        statement.setObject(offset + 7, LocalDateTime.ofInstant(event.occurredAt(), ZoneOffset.UTC));
    }

    private static void bind(PreparedStatement statement, Event event) throws SQLException {
        statement.setObject(1, event.id());
        statement.setString(2, event.aggregateType());
        statement.setString(3, event.aggregateId());
        statement.setString(4, event.type());
        statement.setString(5, event.payload());
        statement.setString(6, HeadersJson.write(event.headers()));
        statement.setObject(7, OffsetDateTime.ofInstant(event.occurredAt(), ZoneOffset.UTC));
    }

    @Override
    public void append(Connection connection, Event event, Duration delay) throws SQLException {
        if (delay == null || delay.isNegative() || delay.compareTo(MAX_DELAY) > 0) {
            throw new OutboxException("delay must be from zero to " + MAX_DELAY + ", was " + delay);
        }
        appendDelayed(connection, event, null, delay.toMillis());
    }

    @Override
    public void append(Connection connection, Event event, Instant notBefore) throws SQLException {
        if (notBefore == null) {
            throw new OutboxException("notBefore must not be null");
        }
        appendDelayed(connection, event, OffsetDateTime.ofInstant(notBefore, ZoneOffset.UTC), 0);
    }

    private void appendDelayed(Connection connection, Event event, OffsetDateTime notBefore, long delayMillis)
            throws SQLException {
        if (event == null) {
            throw new OutboxException("event must not be null");
        }
        checkInTransaction(connection);
        if (database.of(connection).mysqlFamily()) {
            try (PreparedStatement statement = connection.prepareStatement(mysql.insertDelayed)) {
                bindMySql(statement, 0, event);
                if (notBefore == null) {
                    statement.setNull(8, Types.TIMESTAMP);
                } else {
                    statement.setObject(8, notBefore.withOffsetSameInstant(ZoneOffset.UTC).toLocalDateTime());
                }
                statement.setLong(9, delayMillis * 1000);
                statement.execute();
            } catch (SQLException e) {
                throw explained(e);
            }
            return;
        }
        try (PreparedStatement statement = connection.prepareStatement(insertDelayed)) {
            bind(statement, event);
            statement.setObject(8, notBefore);
            statement.setLong(9, delayMillis);
            statement.execute();
        } catch (SQLException e) {
            throw explained(e);
        }
    }

    @Override
    public void appendAll(Connection connection, Collection<Event> events) throws SQLException {
        if (events == null) {
            throw new OutboxException("events must not be null");
        }
        List<Event> list = new ArrayList<>(events);
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i) == null) {
                throw new OutboxException("events[" + i + "] is null; nothing was appended");
            }
        }
        checkInTransaction(connection);
        if (list.isEmpty()) {
            return;
        }
        if (list.size() == 1) {
            append(connection, list.get(0));
            return;
        }
        if (database.of(connection).mysqlFamily()) {
            for (int from = 0; from < list.size(); from += MYSQL_ROWS_PER_INSERT) {
                List<Event> chunk = list.subList(from, Math.min(list.size(), from + MYSQL_ROWS_PER_INSERT));
                try (PreparedStatement statement = connection.prepareStatement(mysql.insertMany(chunk.size()))) {
                    for (int i = 0; i < chunk.size(); i++) {
                        bindMySql(statement, i * 7, chunk.get(i));
                    }
                    statement.execute();
                } catch (SQLException e) {
                    throw explained(e);
                }
            }
            return;
        }
        int n = list.size();
        String[][] columns = new String[7][n];
        for (int i = 0; i < n; i++) {
            Event e = list.get(i);
            columns[0][i] = e.id().toString();
            columns[1][i] = e.aggregateType();
            columns[2][i] = e.aggregateId();
            columns[3][i] = e.type();
            columns[4][i] = e.payload();
            columns[5][i] = HeadersJson.write(e.headers());
            columns[6][i] = e.occurredAt().toString();
        }
        Array[] arrays = new Array[columns.length];
        try (PreparedStatement statement = connection.prepareStatement(insertMany)) {
            for (int c = 0; c < columns.length; c++) {
                arrays[c] = connection.createArrayOf("text", columns[c]);
                statement.setArray(c + 1, arrays[c]);
            }
            statement.execute();
        } catch (SQLException e) {
            throw explained(e);
        } finally {
            for (Array array : arrays) {
                if (array != null) {
                    array.free();
                }
            }
        }
    }

    /** Configures a {@link JdbcOutbox}; checked in {@link #build()}. */
    public static final class Builder {
        private OutboxTable table = OutboxTable.DEFAULT;
        private boolean notifyOnCommit = true;
        private Database database;

        private Builder() {
        }

        /**
         * The database the outbox table is on; found from the first connection an append is given if not set.
         *
         * @param database PostgreSQL, MySQL or MariaDB
         * @return this builder
         */
        public Builder database(Database database) {
            this.database = database;
            return this;
        }

        /**
         * @param table the outbox table, created beforehand with {@link OutboxSchema}; {@link OutboxTable#DEFAULT}
         *        if not set
         * @return this builder
         */
        public Builder table(OutboxTable table) {
            this.table = table;
            return this;
        }

        /**
         * Whether each append also sends a PostgreSQL notification that wakes listening relays when the caller's
         * transaction commits (default true). Without it, relays find new events at their next poll, or when the
         * host calls {@link JdbcRelay#wakeUp()} after its commit. It saves next to nothing: the notification is sent
         * only while a relay loop waits for one (see the README's performance section). PostgreSQL only; ignored on
         * MySQL and MariaDB.
         *
         * @param notifyOnCommit true to wake relays at commit
         * @return this builder
         */
        public Builder notifyOnCommit(boolean notifyOnCommit) {
            this.notifyOnCommit = notifyOnCommit;
            return this;
        }

        /**
         * @return the outbox, thread-safe and meant to be shared
         * @throws InvalidConfigurationException when the table is null
         */
        public JdbcOutbox build() {
            if (table == null) {
                throw new InvalidConfigurationException("table must not be null");
            }
            return new JdbcOutbox(this);
        }
    }

    /** The database's error, with what to run when it says the table or a column is missing. */
    private SQLException explained(SQLException e) {
        String hint = RelayStore.schemaHint(table, e);
        if (hint.isEmpty()) {
            return e;
        }
        return new SQLException(e.getMessage() + hint, e.getSQLState(), e.getErrorCode(), e);
    }

    private static void checkInTransaction(Connection connection) throws SQLException {
        if (connection == null) {
            throw new OutboxException("connection must not be null");
        }
        if (connection.isClosed()) {
            throw new OutboxException("connection is closed; append needs the caller's open transaction");
        }
        if (connection.getAutoCommit()) {
            throw new OutboxException("connection is in auto-commit mode, so the event could not be atomic with"
                    + " your changes; call setAutoCommit(false), append in the same transaction, then commit");
        }
    }
}
