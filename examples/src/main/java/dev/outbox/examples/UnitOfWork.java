package dev.outbox.examples;

import dev.outbox.Event;
import dev.outbox.Outbox;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * A unit of work: domain code records changes and raises events as it goes; {@link #commit()} writes the rows
 * and appends every collected event in one transaction, in the order they were raised.
 */
final class UnitOfWork {

    /** One row change, run at commit. */
    @FunctionalInterface
    interface Change {
        void apply(Connection connection) throws SQLException;
    }

    private final DataSource dataSource;
    private final Outbox outbox;
    private final List<Change> changes = new ArrayList<>();
    private final List<Event> events = new ArrayList<>();

    UnitOfWork(DataSource dataSource, Outbox outbox) {
        this.dataSource = dataSource;
        this.outbox = outbox;
    }

    void change(Change change) {
        changes.add(change);
    }

    void raise(Event event) {
        events.add(event);
    }

    /** @return the events appended */
    List<Event> commit() throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                for (Change change : changes) {
                    change.apply(c);
                }
                outbox.appendAll(c, events);
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
        List<Event> appended = List.copyOf(events);
        changes.clear();
        events.clear();
        return appended;
    }
}
