package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.testing.RecordingPublisher;
import dev.outbox.testing.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The payload a publisher receives is the text appended, byte for byte, whatever JSON allows in it. */
@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class PayloadBytesTest extends EachDatabase {

    PayloadBytesTest(TestDb tdb) {
        super(tdb);
    }

    static String compactArray(int bytes) {
        StringBuilder b = new StringBuilder("[1");
        while (b.length() < bytes - 1) {
            b.append(",1");
        }
        return b.append(']').toString();
    }

    static String manySmallFields(int bytes) {
        StringBuilder b = new StringBuilder("{");
        for (int i = 0; b.length() < bytes - 20; i++) {
            b.append(i == 0 ? "" : ",").append("\"f").append(i).append("\":").append(i);
        }
        return b.append('}').toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"b\":1,\"a\":2,\"a\":3,\"n\":1E2,\"z\":-0,\"s\":\"caf\\u00e9\"}",
        "[1e131071,1e131071,1e131071,1e131071,1e131071,1e131071,1e131071,1e131071,1e131071]",
        "  { \"spaced\" :\t[ 1 ,2 ] }\n",
        "1e1000000",
        "[1e-20000]",
        "\"\\u0000 is text here\"",
        "{\"emoji\":\"\uD83D\uDE00\",\"escaped\":\"\\ud83d\\ude00\"}",
    })
    void whatIsAppendedIsWhatIsPublished(String payload) {
        assertPublishedAsAppended(tdb.newTable(), payload);
    }

    @Test
    void largePayloadsKeepTheirSizeAndFitTheLimitTheyWereCheckedAgainst() {
        OutboxTable table = tdb.newTable();
        assertPublishedAsAppended(table, compactArray(700_000));
        assertPublishedAsAppended(table, manySmallFields(900_000));
    }

    @Test
    void aTableMigratedFromJsonbPublishesNewEventsByteForByte() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(tdb.mysqlFamily(), "a PostgreSQL migration");
        OutboxTable table = tdb.newTable();
        // As tables were created before: payload jsonb.
        TestDatabase.execute("ALTER TABLE " + table.qualifiedName() + " ALTER COLUMN payload TYPE jsonb USING payload::jsonb");
        String payload = "{\"b\":1,\"a\":2}";
        Event before = Event.of("order", "1", "placed", payload);
        commit(db, c -> JdbcOutbox.create(table).append(c, before)); // appends still work on the old column
        TestDatabase.execute(OutboxSchema.postgresPayloadJsonMigration(table));
        assertEquals("json", columnType(table));
        RecordingPublisher publisher = new RecordingPublisher();
        Event after = Event.of("order", "1", "placed", payload);
        commit(db, c -> JdbcOutbox.create(table).append(c, after));
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).build()) {
            relay.runOnce();
        }
        assertEquals(List.of("{\"a\": 2, \"b\": 1}", payload), publisher.payloads(),
                "the row stored as jsonb keeps jsonb's rendering; the row appended after the migration is exact");
    }

    private void assertPublishedAsAppended(OutboxTable table, String payload) {
        Event event = Event.of("order", "o", "placed", payload);
        commit(db, c -> JdbcOutbox.create(table).append(c, event));
        RecordingPublisher publisher = new RecordingPublisher();
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).build()) {
            assertEquals(1, relay.runOnce().published());
        }
        String published = publisher.payloads().get(0);
        assertEquals(payload.length(), published.length(), "same length");
        assertTrue(payload.equals(published), "same text, byte for byte");
    }

    private String columnType(OutboxTable table) throws Exception {
        try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement(
                "SELECT data_type FROM information_schema.columns WHERE table_name = ? AND column_name = 'payload'")) {
            s.setString(1, table.name());
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }
}
