package dev.outbox;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Collection;

/**
 * Writes events into the outbox table with the caller's own connection, inside the caller's transaction.
 *
 * <p>The event becomes visible to a {@link Relay} exactly when the caller commits, and disappears if the
 * caller rolls back: the business change and its event are one atomic unit. An {@code Outbox} never
 * commits, rolls back, closes the connection or changes its auto-commit mode.
 *
 * <p>A connection in auto-commit mode is refused with an {@link OutboxException}: there is no transaction to
 * join, so an appended event could not be atomic with anything. Implementations are thread-safe.
 */
public interface Outbox {

    /**
     * Appends one event in the caller's transaction.
     *
     * @param connection the caller's connection, with auto-commit off
     * @param event the event; already validated by its construction
     * @throws SQLException as the database raised it, for example a duplicate event id; the transaction is then
     *         in the state the database left it (on PostgreSQL: aborted, to be rolled back by the caller)
     * @throws OutboxException when the connection is in auto-commit mode or closed; nothing was written and the
     *         transaction is untouched
     */
    void append(Connection connection, Event event) throws SQLException;

    /**
     * Appends one event in the caller's transaction, to be published no earlier than {@code delay} after the
     * transaction started, measured on the database's clock. Until then the event is pending but not due, and it
     * holds back the later events of its aggregate, which are published after it: order per aggregate is kept.
     *
     * @param connection the caller's connection, with auto-commit off
     * @param event the event
     * @param delay from zero to 365 days
     * @throws SQLException as the database raised it
     * @throws OutboxException when the connection is in auto-commit mode or closed, or the delay is out of range;
     *         nothing was written and the transaction is untouched
     */
    void append(Connection connection, Event event, java.time.Duration delay) throws SQLException;

    /**
     * Appends one event in the caller's transaction, to be published no earlier than {@code notBefore} (an instant
     * of the application's clock, compared with the database's). Like {@link #append(Connection, Event,
     * java.time.Duration)}, it holds back the later events of its aggregate until it is published.
     *
     * @param connection the caller's connection, with auto-commit off
     * @param event the event
     * @param notBefore the earliest publication time; a past instant means now
     * @throws SQLException as the database raised it
     * @throws OutboxException when the connection is in auto-commit mode or closed, or {@code notBefore} is null;
     *         nothing was written and the transaction is untouched
     */
    void append(Connection connection, Event event, java.time.Instant notBefore) throws SQLException;

    /**
     * Appends events in the caller's transaction, in the given order, in one round trip. All or none are
     * written. Events of one aggregate are published in the order given.
     *
     * @param connection the caller's connection, with auto-commit off
     * @param events the events; an empty collection writes nothing
     * @throws SQLException as the database raised it
     * @throws OutboxException when the connection is in auto-commit mode or closed, or {@code events} holds a
     *         null; nothing was written and the transaction is untouched
     */
    void appendAll(Connection connection, Collection<Event> events) throws SQLException;
}
