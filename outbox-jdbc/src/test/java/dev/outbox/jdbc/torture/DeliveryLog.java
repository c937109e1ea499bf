package dev.outbox.jdbc.torture;

import dev.outbox.Event;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import javax.sql.DataSource;

/**
 * The torture run's durable record of what the "broker" received, kept in a database that is never killed or
 * restarted (not the one under test). Deliveries and recorded publishes share one sequence, taken as each row is
 * written, so that order across relay processes can be checked afterwards, and each recorded publish can be matched
 * with the delivery it followed.
 */
final class DeliveryLog {

    private final String prefix;
    private final String deliveries;
    private final String kills;
    private final String recorded;
    private final String history;

    DeliveryLog(String prefix) {
        this.prefix = prefix;
        this.deliveries = prefix + "_deliveries";
        this.kills = prefix + "_kills";
        this.recorded = prefix + "_recorded";
        this.history = prefix + "_history";
    }

    /** @return what the tables' names start with, to hand to another process */
    String prefix() {
        return prefix;
    }

    String deliveries() {
        return deliveries;
    }

    String kills() {
        return kills;
    }

    String recorded() {
        return recorded;
    }

    void create(DataSource sink) throws SQLException {
        try (Connection c = sink.getConnection(); Statement s = c.createStatement()) {
            // The times (the sink's clock, as each row is written) are for reading a failed run against the relays'
            // logs; the check does not use them.
            s.execute("CREATE SEQUENCE " + history);
            s.execute("CREATE TABLE " + deliveries + " (seq bigint PRIMARY KEY DEFAULT nextval('" + history + "'),"
                    + " event_id uuid NOT NULL,"
                    + " aggregate text NOT NULL, incarnation text NOT NULL, call_no bigint NOT NULL,"
                    + " acknowledged boolean NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())");
            s.execute("CREATE TABLE " + kills + " (incarnation text PRIMARY KEY, how text NOT NULL)");
            s.execute("CREATE TABLE " + recorded + " (seq bigint PRIMARY KEY DEFAULT nextval('" + history + "'),"
                    + " event_id uuid NOT NULL, incarnation text NOT NULL,"
                    + " at timestamptz NOT NULL DEFAULT clock_timestamp())");
        }
    }

    void drop(DataSource sink) throws SQLException {
        try (Connection c = sink.getConnection(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS " + deliveries + ", " + kills + ", " + recorded);
            s.execute("DROP SEQUENCE IF EXISTS " + history);
        }
    }

    /**
     * Records a delivery of {@code events}, in their order, in one autocommitted statement.
     *
     * @param acknowledged false when the publisher will report the call as timed out although it delivered
     */
    void delivered(DataSource sink, List<Event> events, String incarnation, long callNo, boolean acknowledged)
            throws SQLException {
        String[] ids = new String[events.size()];
        String[] aggregates = new String[events.size()];
        for (int i = 0; i < events.size(); i++) {
            ids[i] = events.get(i).id().toString();
            aggregates[i] = events.get(i).aggregateType() + "/" + events.get(i).aggregateId();
        }
        try (Connection c = sink.getConnection();
             PreparedStatement s = c.prepareStatement("INSERT INTO " + deliveries
                     + " (event_id, aggregate, incarnation, call_no, acknowledged)"
                     + " SELECT d.id::uuid, d.aggregate, ?, ?, ? FROM unnest(?::text[], ?::text[]) WITH ORDINALITY"
                     + " AS d(id, aggregate, n) ORDER BY d.n")) {
            Array idArray = c.createArrayOf("text", ids);
            Array aggregateArray = c.createArrayOf("text", aggregates);
            s.setString(1, incarnation);
            s.setLong(2, callNo);
            s.setBoolean(3, acknowledged);
            s.setArray(4, idArray);
            s.setArray(5, aggregateArray);
            s.executeUpdate();
        }
    }

    /** Notes that a relay recorded these events as published (heard through its listener). */
    void recordedPublished(DataSource sink, List<Event> events, String incarnation) throws SQLException {
        String[] ids = events.stream().map(e -> e.id().toString()).toArray(String[]::new);
        try (Connection c = sink.getConnection();
             PreparedStatement s = c.prepareStatement("INSERT INTO " + recorded
                     + " (event_id, incarnation) SELECT id::uuid, ? FROM unnest(?::text[]) AS id")) {
            Array array = c.createArrayOf("text", ids);
            s.setString(1, incarnation);
            s.setArray(2, array);
            s.executeUpdate();
        }
    }

    void killed(DataSource sink, String incarnation, String how) throws SQLException {
        try (Connection c = sink.getConnection();
             PreparedStatement s = c.prepareStatement("INSERT INTO " + kills + " VALUES (?, ?) ON CONFLICT DO NOTHING")) {
            s.setString(1, incarnation);
            s.setString(2, how);
            s.executeUpdate();
        }
    }
}
