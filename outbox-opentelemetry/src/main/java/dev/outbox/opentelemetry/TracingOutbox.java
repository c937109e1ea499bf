package dev.outbox.opentelemetry;

import dev.outbox.Event;
import dev.outbox.Outbox;
import dev.outbox.OutboxException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** {@link OutboxTracing#outbox}: each event takes the current trace context into its headers, then is appended. */
final class TracingOutbox implements Outbox {

    private final Outbox outbox;
    private final OutboxTracing tracing;

    TracingOutbox(Outbox outbox, OutboxTracing tracing) {
        this.outbox = outbox;
        this.tracing = tracing;
    }

    private Event traced(Event event) {
        return event == null ? null : tracing.withCurrentContext(event);
    }

    @Override
    public void append(Connection connection, Event event) throws SQLException {
        outbox.append(connection, traced(event));
    }

    @Override
    public void append(Connection connection, Event event, Duration delay) throws SQLException {
        outbox.append(connection, traced(event), delay);
    }

    @Override
    public void append(Connection connection, Event event, Instant notBefore) throws SQLException {
        outbox.append(connection, traced(event), notBefore);
    }

    @Override
    public void appendAll(Connection connection, Collection<Event> events) throws SQLException {
        if (events == null) {
            throw new OutboxException("events must not be null");
        }
        List<Event> traced = new ArrayList<>(events.size());
        for (Event event : events) {
            traced.add(traced(event)); // a null stays null, for the outbox to refuse by its index
        }
        outbox.appendAll(connection, traced);
    }

    @Override
    public String toString() {
        return "traced " + outbox;
    }
}
