package dev.outbox.inbox;

import dev.outbox.inbox.Inbox.Outcome;
import dev.outbox.inbox.Inbox.Result;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * One {@link Inbox#processAll} call: the batch's messages in order, each in a transaction of its own, on one
 * connection, taking a new one when a failure leaves it unusable. On PostgreSQL it first reads which events have a
 * record, runs the handler of each other message and sends its record with the commit; a record that collides with
 * another delivery's rolls its transaction back and makes the message a duplicate. Not thread-safe: one per call.
 */
final class InboxBatch {

    private final Inbox inbox;
    private final DataSource dataSource;
    private final InboxHandler handler;
    private final String recordedSql;
    private final String recordAndCommitSql;
    /** Events recorded before the batch's look or by the batch itself: a duplicate at once. */
    private final Set<UUID> recorded = new HashSet<>();
    private Connection connection;
    /** The connection's auto-commit mode when taken, restored when given back; null when it could not be read. */
    private Boolean autoCommit;
    private boolean postgres;

    InboxBatch(Inbox inbox, DataSource dataSource, InboxHandler handler) {
        this.inbox = inbox;
        this.dataSource = dataSource;
        this.handler = handler;
        String table = inbox.table().qualifiedName();
        this.recordedSql = "SELECT event_id FROM " + table + " WHERE event_id = ANY (?)";
        this.recordAndCommitSql = "INSERT INTO " + table + " (event_id) VALUES (?::uuid); COMMIT";
    }

    List<Outcome> process(List<InboxMessage> messages) {
        List<Outcome> outcomes = new ArrayList<>(messages.size());
        try {
            for (InboxMessage message : messages) {
                if (connection == null) {
                    try {
                        open(messages.subList(outcomes.size(), messages.size()));
                    } catch (SQLException | RuntimeException e) {
                        close();
                        for (InboxMessage left : messages.subList(outcomes.size(), messages.size())) {
                            outcomes.add(new Outcome(left, null, e));
                        }
                        return outcomes;
                    }
                }
                outcomes.add(process(message));
            }
            return outcomes;
        } finally {
            close();
        }
    }

    /** Takes a connection and, on PostgreSQL, reads which of the {@code left} messages' events have a record. */
    private void open(List<InboxMessage> left) throws SQLException {
        autoCommit = null;
        connection = dataSource.getConnection();
        autoCommit = connection.getAutoCommit();
        connection.setAutoCommit(false);
        postgres = inbox.isPostgres(connection);
        if (postgres) {
            List<UUID> ids = new ArrayList<>(left.size());
            left.forEach(m -> ids.add(m.eventId()));
            recorded.addAll(withRecord(ids));
        }
    }

    private Outcome process(InboxMessage message) {
        if (recorded.contains(message.eventId())) {
            return new Outcome(message, Result.DUPLICATE, null);
        }
        try {
            Result result;
            if (postgres) {
                Inbox.handle(handler, connection, message);
                recordAndCommit(message.eventId());
                result = Result.PROCESSED;
            } else {
                result = inbox.receive(connection, message, handler);
                connection.commit();
            }
            recorded.add(message.eventId());
            return new Outcome(message, result, null);
        } catch (SQLException | RuntimeException e) {
            if (!rollBack(e)) {
                close();
                return new Outcome(message, null, e);
            }
            if (postgres && e instanceof SQLException violation && "23505".equals(violation.getSQLState())
                    && recordedByAnother(message, violation)) {
                recorded.add(message.eventId());
                return new Outcome(message, Result.DUPLICATE, null);
            }
            return new Outcome(message, null, e);
        }
    }

    /**
     * A unique violation may be this record colliding with another delivery's, or the handler's own (a deferred
     * constraint checked at the commit): only a record found after the rollback makes the message a duplicate.
     */
    private boolean recordedByAnother(InboxMessage message, SQLException violation) {
        try {
            return !withRecord(List.of(message.eventId())).isEmpty();
        } catch (SQLException | RuntimeException e) {
            violation.addSuppressed(e);
            close();
            return false;
        }
    }

    /** @return true when the connection rolled back and can go on; false when it cannot be used any more */
    private boolean rollBack(Exception failure) {
        try {
            connection.rollback();
            return true;
        } catch (SQLException | RuntimeException e) {
            failure.addSuppressed(e);
            return false;
        }
    }

    /** @return which of {@code eventIds} have a record, committed or this transaction's (PostgreSQL only) */
    private Set<UUID> withRecord(Collection<UUID> eventIds) throws SQLException {
        Set<UUID> found = new HashSet<>();
        try (PreparedStatement select = connection.prepareStatement(recordedSql)) {
            Array ids = connection.createArrayOf("uuid", eventIds.toArray());
            try {
                select.setArray(1, ids);
                try (ResultSet rs = select.executeQuery()) {
                    while (rs.next()) {
                        found.add(rs.getObject(1, UUID.class));
                    }
                }
            } finally {
                ids.free();
            }
        }
        return found;
    }

    /** Records {@code eventId} and commits, in one round trip; a collision fails with SQLState 23505 (PostgreSQL). */
    private void recordAndCommit(UUID eventId) throws SQLException {
        try (PreparedStatement record = connection.prepareStatement(recordAndCommitSql)) {
            record.setString(1, eventId.toString());
            record.executeUpdate();
        }
    }

    /** Ends what is open (the look's transaction when no message followed it) and gives the connection back. */
    private void close() {
        if (connection == null) {
            return;
        }
        try {
            if (!connection.isClosed()) {
                connection.rollback();
                if (autoCommit != null) {
                    connection.setAutoCommit(autoCommit);
                }
            }
        } catch (SQLException | RuntimeException ignored) {
            // the connection is broken; closing it below is all there is left to do
        }
        try {
            connection.close();
        } catch (SQLException | RuntimeException ignored) {
            // the pool evicts a broken connection by itself
        }
        connection = null;
    }
}
