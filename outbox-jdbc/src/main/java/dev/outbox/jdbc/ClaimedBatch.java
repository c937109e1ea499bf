package dev.outbox.jdbc;

import dev.outbox.Event;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;

/**
 * Events one relay claimed together under one lease token, in position order.
 *
 * @param leaseToken identifies this claim; outcomes are recorded only where it is still in place
 * @param rows the claimed events, ordered by position
 */
record ClaimedBatch(UUID leaseToken, List<Row> rows) {

    /**
     * One claimed event.
     *
     * @param position the row's append position
     * @param event the event as stored
     * @param attempts claims so far, including this one
     */
    record Row(long position, Event event, int attempts) {
    }

    List<Event> events() {
        List<Event> events = new ArrayList<>(rows.size());
        for (Row row : rows) {
            events.add(row.event);
        }
        return events;
    }

    int size() {
        return rows.size();
    }

    /** Reads the claim's RETURNING rows (columns as in {@code PostgresStatements.EVENT_COLUMNS}). */
    static ClaimedBatch read(UUID leaseToken, ResultSet rs) throws SQLException {
        List<Row> rows = new ArrayList<>();
        while (rs.next()) {
            rows.add(new Row(rs.getLong(1), readEvent(rs), rs.getInt(9)));
        }
        rows.sort(Comparator.comparingLong(Row::position));
        return new ClaimedBatch(leaseToken, rows);
    }

    /** Reads columns 2 to 8 as an event. */
    static Event readEvent(ResultSet rs) throws SQLException {
        return new Event(
                rs.getObject(2, UUID.class),
                rs.getString(3),
                rs.getString(4),
                rs.getString(5),
                rs.getString(6),
                HeadersJson.read(rs.getString(7)),
                rs.getObject(8, OffsetDateTime.class).toInstant());
    }
}
