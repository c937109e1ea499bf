package dev.outbox.relay;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.outbox.Event;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.testing.TestDatabase;
import dev.outbox.testing.Transactions;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * The operator's commands, each run as {@code java -jar} runs it, in a process of its own, against a real table: what
 * they print, what they change, and exit code 2 with one line naming what is wrong.
 */
class CommandLineTest {

    static final DataSource db = TestDatabase.dataSource();
    static final ObjectMapper JSON = new ObjectMapper();

    final OutboxTable table = OutboxTable.named(TestDatabase.uniqueName("cli"));
    final JdbcOutbox outbox = JdbcOutbox.create(table);

    CommandLineTest() {
        OutboxSchema.create(db, table);
    }

    Map<String, String> environment() {
        Map<String, String> env = new HashMap<>();
        env.put("OUTBOX_JDBC_URL", TestDatabase.jdbcUrl());
        env.put("OUTBOX_TABLE", table.name());
        return env;
    }

    RelayProcess.Result run(String... args) throws Exception {
        return RelayProcess.run(environment(), args);
    }

    void sql(String statement) throws Exception {
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            s.execute(statement.replace("$t", table.qualifiedName()));
        }
    }

    long count(String where) {
        return Transactions.queryLong(db, "SELECT count(*) FROM " + table.qualifiedName() + " WHERE " + where);
    }

    /** Appends {@code n} events of aggregate {@code aggregate}, type {@code type}; returns them. */
    List<Event> append(String aggregate, String type, int n) {
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            events.add(Event.of("order", aggregate, type, "{\"n\":" + i + "}"));
        }
        commit(db, c -> outbox.appendAll(c, events));
        return events;
    }

    @Test
    void statsCountsWhatIsPendingAndDeadAsTextAndJson() throws Exception {
        append("A", "placed", 3);
        append("B", "cancelled", 2);
        sql("UPDATE $t SET dead_at = now(), attempts = 5, last_error = 'broker said no' WHERE aggregate_id = 'B'");

        RelayProcess.Result json = run("stats", "--json");
        assertEquals(0, json.code(), json.err());
        JsonNode stats = JSON.readTree(json.out());
        assertEquals(3, stats.get("pending").asLong(), json.out());
        assertEquals(2, stats.get("dead").asLong(), json.out());
        assertEquals(0, stats.get("inFlight").asLong(), json.out());
        assertTrue(stats.get("exact").asBoolean(), json.out());

        RelayProcess.Result text = run("stats");
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().matches("(?s).*pending\\s+3.*dead\\s+2.*"), text.out());
    }

    @Test
    void deadEventsAreListedThenRequeuedOrDiscarded() throws Exception {
        List<Event> b = append("B", "cancelled", 2);
        List<Event> c = append("C", "shipped", 1);
        sql("UPDATE $t SET dead_at = now(), attempts = 5, last_error = 'broker said no' WHERE aggregate_id IN ('B', 'C')");
        // A row the relay could not read: the list shows it all the same.
        sql("UPDATE $t SET headers = '{\"retries\": 1}' WHERE aggregate_id = 'C'");

        RelayProcess.Result list = run("dead", "list", "--json");
        assertEquals(0, list.code(), list.err());
        JsonNode dead = JSON.readTree(list.out());
        assertEquals(3, dead.size(), list.out());
        assertEquals(b.get(0).id().toString(), dead.get(0).get("id").asText(), "oldest first");
        assertEquals("broker said no", dead.get(0).get("lastError").asText());
        assertEquals(5, dead.get(0).get("attempts").asInt());
        assertTrue(dead.get(2).has("readable") && !dead.get(2).get("readable").asBoolean(), list.out());

        RelayProcess.Result table = run("dead", "list");
        assertEquals(0, table.code(), table.err());
        assertTrue(table.out().contains(b.get(1).id().toString()), table.out());
        assertTrue(table.out().contains("3 dead events"), table.out());

        RelayProcess.Result requeued = run("dead", "requeue", "--type", "cancelled", "--json");
        assertEquals(0, requeued.code(), requeued.err());
        assertEquals(2, JSON.readTree(requeued.out()).get("requeued").asInt(), requeued.out());
        assertEquals(0, count("aggregate_id = 'B' AND dead_at IS NOT NULL"), "B's events are pending again");
        assertEquals(0, count("aggregate_id = 'B' AND attempts > 0"), "with fresh attempts");

        RelayProcess.Result discarded = run("dead", "discard", c.get(0).id().toString());
        assertEquals(0, discarded.code(), discarded.err());
        assertEquals("discarded 1", discarded.out().strip());
        assertEquals(0, count("aggregate_id = 'C'"));
    }

    @Test
    void purgeDeletesOnlyEventsPublishedLongerAgoThanAsked() throws Exception {
        append("P", "placed", 4);
        sql("UPDATE $t SET published_at = now() - interval '10 days' WHERE (payload->>'n')::int < 3");
        sql("UPDATE $t SET published_at = now() - interval '1 hour' WHERE (payload->>'n')::int = 3");
        RelayProcess.Result purged = run("purge", "--older-than", "P7D", "--json");
        assertEquals(0, purged.code(), purged.err());
        assertEquals(3, JSON.readTree(purged.out()).get("purged").asInt(), purged.out());
        assertEquals(1, count("true"), "the event published an hour ago stays");
    }

    @Test
    void schemaPrintsTheDdlAndMigrateBringsAnOlderTableUpToDate() throws Exception {
        RelayProcess.Result schema = RelayProcess.run(Map.of(), "schema", "--postgres", "app.orders_outbox");
        assertEquals(0, schema.code(), schema.err());
        assertTrue(schema.out().contains("CREATE TABLE IF NOT EXISTS \"app\".\"orders_outbox\""), schema.out());
        RelayProcess.Result mysql = RelayProcess.run(Map.of(), "schema", "--mysql", "orders_outbox");
        assertEquals(0, mysql.code(), mysql.err());
        assertTrue(mysql.out().contains("CREATE TABLE IF NOT EXISTS `orders_outbox`"), mysql.out());
        RelayProcess.Result rotated = RelayProcess.run(Map.of(), "schema", "--rotated", "orders_outbox");
        assertEquals(0, rotated.code(), rotated.err());
        assertTrue(rotated.out().contains("CREATE TABLE IF NOT EXISTS \"orders_outbox_p3\" PARTITION OF"),
                rotated.out());

        sql("DROP INDEX \"" + table.name() + "_dead\"");
        RelayProcess.Result migrated = run("migrate");
        assertEquals(0, migrated.code(), migrated.err());
        assertEquals("migrated " + table, migrated.out().strip());
        assertEquals(1, Transactions.queryLong(db, "SELECT count(*) FROM pg_indexes WHERE indexname = '"
                + table.name() + "_dead'"), "the missing index is back");
    }

    @Test
    void wrongInputEndsWithExitCodeTwoAndOneLineNamingIt() throws Exception {
        RelayProcess.Result badId = run("dead", "discard", "not-a-uuid");
        assertEquals(2, badId.code(), badId.err());
        assertEquals("outbox-relay: 'not-a-uuid' is not an event id (a UUID)", badId.err().strip());

        RelayProcess.Result badDuration = run("purge", "--older-than", "a week");
        assertEquals(2, badDuration.code(), badDuration.err());
        assertTrue(badDuration.err().contains("--older-than 'a week'"), badDuration.err());

        Map<String, String> env = environment();
        env.put("OUTBOX_BATCH_SIZE", "0");
        RelayProcess.Result badSetting = RelayProcess.run(env, "stats");
        assertEquals(2, badSetting.code(), badSetting.err());
        assertEquals("outbox-relay: OUTBOX_BATCH_SIZE = '0' must be from 1 to 10000", badSetting.err().strip());

        RelayProcess.Result unknown = run("frobnicate");
        assertEquals(2, unknown.code(), unknown.err());
        assertTrue(unknown.err().contains("frobnicate"), unknown.err());
    }

    @Test
    void aDatabaseThatCannotBeReachedEndsWithExitCodeOne() throws Exception {
        Map<String, String> env = environment();
        env.put("OUTBOX_JDBC_URL", "jdbc:postgresql://127.0.0.1:1/none?connectTimeout=1");
        RelayProcess.Result result = RelayProcess.run(env, "stats");
        assertEquals(1, result.code(), result.err());
        assertTrue(result.err().lines().anyMatch(l -> l.startsWith("outbox-relay: ")), result.err());
    }
}
