package dev.outbox.inbox;

import dev.outbox.testing.TestDatabase;
import dev.outbox.testing.Transactions;
import java.sql.PreparedStatement;
import java.sql.Statement;
import javax.sql.DataSource;

/**
 * A consumer's effect that shows a duplicate: a table of one counter per aggregate, and the handler that adds one to
 * the counter of each message's aggregate, in the inbox's transaction.
 */
final class AggregateCounters {

    private final DataSource db;
    /** The counters' table. */
    final String table = TestDatabase.uniqueName("counters");

    AggregateCounters(DataSource db) {
        this.db = db;
        Transactions.commit(db, c -> {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE " + table + " (aggregate_id text PRIMARY KEY, events int NOT NULL)");
            }
        });
    }

    /** Adds one to the message's aggregate's counter. */
    final InboxHandler handler = (connection, message) -> {
        try (PreparedStatement p = connection.prepareStatement("INSERT INTO " + table
                + " VALUES (?, 1) ON CONFLICT (aggregate_id) DO UPDATE SET events = " + table + ".events + 1")) {
            p.setString(1, message.aggregateId());
            p.executeUpdate();
        }
    };

    /** @return the events counted, over all aggregates */
    long total() {
        return Transactions.queryLong(db, "SELECT coalesce(sum(events), 0) FROM " + table);
    }

    /** @return how many aggregates counted exactly {@code events} */
    long aggregatesWith(int events) {
        return Transactions.queryLong(db, "SELECT count(*) FROM " + table + " WHERE events = " + events);
    }
}
