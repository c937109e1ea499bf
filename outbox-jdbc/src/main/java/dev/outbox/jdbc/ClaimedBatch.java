package dev.outbox.jdbc;

import dev.outbox.Event;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;

/**
 * Events one relay claimed together under one lease token, in position order.
 *
 * @param leaseToken identifies this claim; outcomes are recorded only where it is still in place
 * @param rows the claimed rows, ordered by position
 * @param claimedAtNanos {@link System#nanoTime()} when the claim statement was sent
 */
record ClaimedBatch(UUID leaseToken, List<Row> rows, long claimedAtNanos) {

    /**
     * One claimed row: an event, or the reason it could not be read as one.
     *
     * @param position the row's append position
     * @param event the event as stored; null when the row is unreadable
     * @param attempts claims so far, including this one
     * @param aggregateType the row's aggregate type column, read even when the event is not
     * @param aggregateId the row's aggregate id column
     * @param eventId the row's id column as text, for logs
     * @param unreadable why the row is not an event (headers that are not a JSON object of strings, a payload over
     *        the limit, a null column written by plain SQL); null for a readable row
     * @param ageAtClaimMicros the row's age when it was claimed (the claim's time minus its creation time), by the
     *        database's clock
     */
    record Row(long position, Event event, int attempts, String aggregateType, String aggregateId, String eventId,
               String unreadable, long ageAtClaimMicros) {

        static Row of(long position, Event event, int attempts) {
            return of(position, event, attempts, 0);
        }

        static Row of(long position, Event event, int attempts, long ageAtClaimMicros) {
            return new Row(position, event, attempts, event.aggregateType(), event.aggregateId(),
                    event.id().toString(), null, ageAtClaimMicros);
        }

        boolean readable() {
            return unreadable == null;
        }
    }

    int size() {
        return rows.size();
    }

    /**
     * Reads the claim's RETURNING rows (columns as in {@code PostgresStatements.CLAIM_COLUMNS}), one at a time: a row
     * that is not a valid event becomes an unreadable row, so that it can go dead alone while the rest is published.
     */
    static ClaimedBatch read(UUID leaseToken, ResultSet rs, long claimedAtNanos) throws SQLException {
        return read(leaseToken, rs, claimedAtNanos, Database.POSTGRESQL, 0);
    }

    /**
     * @param database whose types the columns have
     * @param claimedAttempts added to the attempts read: 1 where the rows were read before their lease was written
     */
    static ClaimedBatch read(UUID leaseToken, ResultSet rs, long claimedAtNanos, Database database,
                             int claimedAttempts) throws SQLException {
        List<Row> rows = new ArrayList<>();
        while (rs.next()) {
            long position = rs.getLong(1);
            int attempts = rs.getInt(9) + claimedAttempts;
            long age = Math.max(0, rs.getLong(10));
            try {
                rows.add(Row.of(position, readEvent(rs, database), attempts, age));
            } catch (RuntimeException e) {
                rows.add(new Row(position, null, attempts, rs.getString(3), rs.getString(4), rs.getString(2),
                        e.getClass().getSimpleName() + ": " + e.getMessage(), age));
            }
        }
        rows.sort(Comparator.comparingLong(Row::position));
        return new ClaimedBatch(leaseToken, rows, claimedAtNanos);
    }

    /** Reads columns 2 to 8 as an event, from PostgreSQL. */
    static Event readEvent(ResultSet rs) throws SQLException {
        return readEvent(rs, Database.POSTGRESQL);
    }

    /** Reads columns 2 to 8 as an event: a uuid or its text, a timestamptz or a UTC DATETIME. */
    static Event readEvent(ResultSet rs, Database database) throws SQLException {
        return new Event(
                uuid(rs, 2, database),
                rs.getString(3),
                rs.getString(4),
                rs.getString(5),
                rs.getString(6),
                HeadersJson.read(rs.getString(7)),
                instant(rs, 8, database));
    }

    /** @return the id in {@code column}: a uuid, or its text; null for SQL NULL */
    static UUID uuid(ResultSet rs, int column, Database database) throws SQLException {
        if (database.mysqlFamily()) {
            String id = rs.getString(column);
            return id == null ? null : UUID.fromString(id);
        }
        return rs.getObject(column, UUID.class);
    }

    /** @return the time in {@code column}: a timestamptz, or a DATETIME holding UTC; null for SQL NULL */
    static Instant instant(ResultSet rs, int column, Database database) throws SQLException {
        if (database.mysqlFamily()) {
            LocalDateTime at = rs.getObject(column, LocalDateTime.class);
            return at == null ? null : at.toInstant(ZoneOffset.UTC);
        }
        OffsetDateTime at = rs.getObject(column, OffsetDateTime.class);
        return at == null ? null : at.toInstant();
    }
}
