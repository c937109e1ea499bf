package dev.outbox.jdbc;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.Outbox;
import dev.outbox.OutboxException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The {@link Outbox} on PostgreSQL: one INSERT per {@link #append}, one round trip per {@link #appendAll}.
 *
 * <p>Runs on the caller's connection and inside the caller's transaction; never commits, rolls back,
 * closes it or changes its auto-commit mode. A connection in auto-commit mode is refused before any SQL runs.
 * Thread-safe; create one per table and share it.
 */
public final class JdbcOutbox implements Outbox {

    private final OutboxTable table;
    private final PostgresStatements sql;

    /** @param table the outbox table, created beforehand with {@link OutboxSchema} */
    public JdbcOutbox(OutboxTable table) {
        if (table == null) {
            throw new InvalidConfigurationException("table must not be null");
        }
        this.table = table;
        this.sql = new PostgresStatements(table);
    }

    /** @return an outbox on {@link OutboxTable#DEFAULT} */
    public static JdbcOutbox create() {
        return new JdbcOutbox(OutboxTable.DEFAULT);
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
        try (PreparedStatement insert = connection.prepareStatement(sql.insert)) {
            insert.setObject(1, event.id());
            insert.setString(2, event.aggregateType());
            insert.setString(3, event.aggregateId());
            insert.setString(4, event.type());
            insert.setString(5, event.payload());
            insert.setString(6, HeadersJson.write(event.headers()));
            insert.setObject(7, OffsetDateTime.ofInstant(event.occurredAt(), ZoneOffset.UTC));
            insert.executeUpdate();
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
        try (PreparedStatement insert = connection.prepareStatement(sql.insertMany)) {
            for (int c = 0; c < columns.length; c++) {
                arrays[c] = connection.createArrayOf("text", columns[c]);
                insert.setArray(c + 1, arrays[c]);
            }
            insert.executeUpdate();
        } finally {
            for (Array array : arrays) {
                if (array != null) {
                    array.free();
                }
            }
        }
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
