package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static dev.outbox.testing.Transactions.queryLong;
import static dev.outbox.testing.Transactions.rollback;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.outbox.Event;
import dev.outbox.InvalidEventException;
import dev.outbox.OutboxException;
import dev.outbox.testing.RecordingPublisher;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class AppendTest extends EachDatabase {

    OutboxTable table;
    JdbcOutbox outbox;
    RecordingPublisher publisher;
    JdbcRelay relay;

    AppendTest(TestDb tdb) {
        super(tdb);
    }

    @BeforeEach
    void freshOutbox() {
        tdb.execute("CREATE TABLE IF NOT EXISTS app_user (id VARCHAR(200) PRIMARY KEY, name TEXT NOT NULL)");
        table = tdb.newTable();
        outbox = JdbcOutbox.create(table);
        publisher = new RecordingPublisher();
        relay = JdbcRelay.builder(db, publisher).table(table).build();
    }

    @org.junit.jupiter.api.AfterEach
    void closeRelay() {
        if (relay != null) {
            relay.close();
        }
    }

    static Event event(String aggregateId) {
        return Event.builder().aggregate("user", aggregateId).type("user_created")
                .payload("{\"id\":\"" + aggregateId + "\"}").build();
    }

    @Test
    void committedEventIsPublishedExactlyOnce() {
        Event e = Event.builder().aggregate("user", "u1").type("user_created")
                .payload("{\"name\": \"Ada\", \"tags\": [1, 2.5, null], \"nested\": {\"ok\": true}}")
                .header("trace-id", "t-1").header("tenant", "acme \"quoted\" \\ \n").build();
        commit(db, c -> outbox.append(c, e));

        assertEquals(1, relay.runOnce().published());
        assertEquals(0, relay.runOnce().claimed(), "a published event is not claimed again");

        List<Event> delivered = publisher.deliveries();
        assertEquals(1, delivered.size());
        Event got = delivered.get(0);
        assertEquals(e.id(), got.id());
        assertEquals(e.headers(), got.headers());
        assertEquals(e.occurredAt(), got.occurredAt());
        assertEquals(e.type(), got.type());
        assertEquals(json(e.payload()), json(got.payload()), "the same JSON value");
    }

    @Test
    void rolledBackTransactionPublishesNothing() {
        rollback(db, c -> {
            insertUser(c, "u2");
            outbox.append(c, event("u2"));
        });
        assertEquals(0, relay.runOnce().claimed());
        assertEquals(0, queryLong(db, "SELECT count(*) FROM " + tdb.q(table)));
        assertEquals(0, publisher.deliveries().size());
    }

    @Test
    void appendAllIsOneAtomicWriteInTheGivenOrder() {
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            events.add(event("agg-" + (i % 3)));
        }
        commit(db, c -> outbox.appendAll(c, events));
        assertEquals(50, relay.drain(java.time.Duration.ofSeconds(10)).published());
        assertEquals(events.stream().map(Event::id).toList(),
                publisher.deliveries().stream().map(Event::id).toList(), "published in append order");

        // A duplicate id makes the database refuse the statement: none of the batch may be written.
        Event fresh = event("x");
        Event duplicate = events.get(0);
        Exception failure = assertThrows(IllegalStateException.class,
                () -> commit(db, c -> outbox.appendAll(c, List.of(fresh, duplicate))));
        assertTrue(failure.getCause() instanceof SQLException
                && failure.getCause().getMessage().toLowerCase(java.util.Locale.ROOT).contains("duplicate"),
                String.valueOf(failure.getCause()));
        assertEquals(50, queryLong(db, "SELECT count(*) FROM " + tdb.q(table)));
        assertFalse(publisher.deliveries().stream().anyMatch(e -> e.id().equals(fresh.id())));
    }

    @Test
    void autoCommitConnectionIsRefusedBeforeAnyWrite() throws SQLException {
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(true);
            OutboxException e = assertThrows(OutboxException.class, () -> outbox.append(c, event("u3")));
            assertTrue(e.getMessage().contains("auto-commit"), e.getMessage());
            assertThrows(OutboxException.class, () -> outbox.appendAll(c, List.of(event("u3"), event("u4"))));
            assertTrue(c.getAutoCommit(), "auto-commit mode left as it was");
        }
        assertEquals(0, queryLong(db, "SELECT count(*) FROM " + tdb.q(table)));
    }

    @Test
    void closedConnectionIsAClearError() throws SQLException {
        Connection c = db.getConnection();
        c.close();
        assertTrue(assertThrows(OutboxException.class, () -> outbox.append(c, event("u5")))
                .getMessage().contains("closed"));
    }

    @Test
    void badInputIsRejectedWhileTheCallersTransactionStillCommitsItsOtherWork() {
        List<Supplier<Event>> bad = List.of(
                () -> Event.builder().aggregate("user", "u6").type("t").payload("{not json").build(),
                () -> Event.builder().aggregate("user", " ").type("t").payload("{}").build(),
                () -> Event.builder().aggregate("user", "u6").type("").payload("{}").build(),
                () -> Event.builder().aggregate("user", "u6").type("t").payload(null).build(),
                () -> Event.builder().aggregate("user", "u6").type("t").payload("{}").header("h", "x".repeat(5000)).build(),
                () -> Event.builder().aggregate("user", "u6\0").type("t").payload("{}").build(),
                () -> Event.builder().aggregate("user", "u6").type("t").payload("{\"s\":\"\\ud800\"}").build(),
                () -> Event.builder().aggregate("user", "u6").type("t").payload("{}").header("AWS.trace", "1").build(),
                () -> Event.builder().aggregate("user", "u6").type("x".repeat(129)).payload("{}").build());
        commit(db, c -> {
            insertUser(c, "u6");
            for (Supplier<Event> make : bad) {
                assertThrows(InvalidEventException.class, () -> outbox.append(c, make.get()));
            }
            assertTrue(assertThrows(OutboxException.class, () -> outbox.appendAll(c, Arrays.asList(event("u6"), null)))
                    .getMessage().contains("events[1] is null"));
            assertThrows(OutboxException.class, () -> outbox.append(c, null));
            outbox.append(c, event("u6"));
        });
        assertEquals(1, queryLong(db, "SELECT count(*) FROM app_user WHERE id = 'u6'"), "business row committed");
        assertEquals(1, relay.runOnce().published(), "the one good event was published");
    }

    @Test
    void appendOnAnotherDatabaseWithoutTheTableFailsWithTheDatabasesError() {
        JdbcOutbox missing = JdbcOutbox.create(OutboxTable.named("no_such_outbox"));
        Exception e = assertThrows(IllegalStateException.class, () -> commit(db, c -> missing.append(c, event("u7"))));
        assertTrue(e.getCause() instanceof SQLException, "the driver's SQLException passes through unwrapped");
        assertTrue(e.getCause().getMessage().contains("no_such_outbox"), e.getCause().getMessage());
    }

    @Test
    void schemaCanBeCreatedTwiceAndPrinted() {
        OutboxSchema.create(db, table);
        String ddl = OutboxSchema.ddl(tdb.database(), new OutboxTable("app", "orders_outbox"));
        assertTrue(ddl.contains("CREATE TABLE IF NOT EXISTS " + new OutboxTable("app", "orders_outbox")
                .qualifiedName(tdb.database())), ddl);
        assertTrue(ddl.contains("orders_outbox_pending"), ddl);
        assertFalse(ddl.contains("${"), "every placeholder is filled");
        assertEquals(tdb.database(), Database.of(db));
    }

    private void insertUser(Connection c, String id) throws SQLException {
        String insert = tdb.mysqlFamily() ? "INSERT IGNORE INTO app_user (id, name) VALUES (?, 'x')"
                : "INSERT INTO app_user (id, name) VALUES (?, 'x') ON CONFLICT DO NOTHING";
        try (var s = c.prepareStatement(insert)) {
            s.setString(1, id + "-" + UUID.randomUUID());
            s.executeUpdate();
        }
        try (var s = c.prepareStatement(insert)) {
            s.setString(1, id);
            s.executeUpdate();
        }
    }

    private static Object json(String text) {
        try {
            return new ObjectMapper().readTree(text);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
