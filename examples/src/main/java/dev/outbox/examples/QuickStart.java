package dev.outbox.examples;

import dev.outbox.Event;
import dev.outbox.Outbox;
import dev.outbox.RelayLoop;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.spi.Publisher;
import dev.outbox.spi.Publishers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import javax.sql.DataSource;

/** The README's quick start, compiled and run by the examples' tests. */
final class QuickStart {

    private QuickStart() {
    }

    static void createSchema(DataSource dataSource) {
        OutboxSchema.create(dataSource, OutboxTable.DEFAULT);
    }

    static void registerUser(DataSource dataSource, String userId) throws SQLException {
        Outbox outbox = JdbcOutbox.create();
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            insertUser(c, userId);                                   // your change
            outbox.append(c, Event.builder()
                    .aggregate("user", userId)
                    .type("user_created")
                    .payload("{\"id\":\"" + userId + "\"}")
                    .build());                                       // the event, same transaction
            c.commit();                                              // both, or neither
        }
    }

    static RelayLoop startRelay(DataSource dataSource, Map<String, String> settings, ExecutorService executor) {
        Publisher publisher = Publishers.create("sqs", settings);       // settings: queueUrl, region, endpoint...
        JdbcRelay relay = JdbcRelay.builder(dataSource, publisher).build();
        return relay.start(executor);                                // or relay.runOnce() from a scheduler
    }

    private static void insertUser(Connection c, String userId) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("INSERT INTO app_user (email, name) VALUES (?, 'quick start')")) {
            s.setString(1, userId);
            s.executeUpdate();
        }
    }
}
