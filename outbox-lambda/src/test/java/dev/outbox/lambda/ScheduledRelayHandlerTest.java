package dev.outbox.lambda;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.Context;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.testing.SqsEndpoint;
import dev.outbox.testing.TestDatabase;
import dev.outbox.testing.Transactions;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The scheduled function as Lambda runs it: a handler built once from the environment, invoked with the schedule's
 * event and a context whose remaining time runs down, against PostgreSQL and an SQS-compatible endpoint spoken to by
 * the real SDK client.
 */
class ScheduledRelayHandlerTest {

    static final DataSource db = TestDatabase.dataSource();
    static final ObjectMapper JSON = new ObjectMapper();

    final OutboxTable table = OutboxTable.named(TestDatabase.uniqueName("fn"));
    final JdbcOutbox outbox = JdbcOutbox.create(table);
    final SqsEndpoint sqs = SqsEndpoint.start();
    final ByteArrayOutputStream logged = new ByteArrayOutputStream();
    final List<ScheduledRelayHandler> handlers = new ArrayList<>();

    ScheduledRelayHandlerTest() {
        OutboxSchema.create(db, table);
    }

    @AfterEach
    void close() {
        handlers.forEach(ScheduledRelayHandler::close);
        sqs.close();
    }

    Map<String, String> environment() {
        Map<String, String> env = new HashMap<>();
        env.put("OUTBOX_JDBC_URL", TestDatabase.jdbcUrl());
        env.put("OUTBOX_TABLE", table.name());
        env.put("OUTBOX_PUBLISHER", "sqs");
        env.put("OUTBOX_PUBLISHER_queueUrl", sqs.queueUrl("fn"));
        env.put("OUTBOX_PUBLISHER_endpoint", sqs.endpoint().toString());
        env.put("OUTBOX_PUBLISHER_region", "eu-west-1");
        env.put("OUTBOX_LEASE", "PT2S");
        env.put("OUTBOX_PUBLISHER_callTimeout", "PT1S"); // a call must fit twice in the lease
        return env;
    }

    ScheduledRelayHandler handler(Map<String, String> env) {
        ScheduledRelayHandler handler = new ScheduledRelayHandler(env,
                new PrintStream(logged, true, StandardCharsets.UTF_8));
        handlers.add(handler);
        return handler;
    }

    static Context context(long millis) {
        return ColdStart.context(millis);
    }

    void appendOrders(int transactions, int perTransaction) {
        for (int tx = 0; tx < transactions; tx++) {
            List<Event> events = new ArrayList<>();
            for (int i = 0; i < perTransaction; i++) {
                events.add(Event.of("order", "o" + (i % 40), "placed", "{\"tx\":" + tx + ",\"i\":" + i + "}"));
            }
            commit(db, c -> outbox.appendAll(c, events));
        }
    }

    long count(String where) {
        return Transactions.queryLong(db, "SELECT count(*) FROM " + table.qualifiedName() + " WHERE " + where);
    }

    List<JsonNode> metricLines() throws Exception {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : logged.toString(StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) {
                lines.add(JSON.readTree(line));
            }
        }
        return lines;
    }

    @Test
    void anInvocationDrainsTheOutboxAndWritesItsCountsAsEmbeddedMetrics() throws Exception {
        appendOrders(3, 400);
        ScheduledRelayHandler handler = handler(environment());

        Map<String, Object> answer = handler.handleRequest(Map.of("source", "aws.scheduler"), context(60_000));
        assertEquals(1200, answer.get("published"), answer.toString());
        assertTrue((Integer) answer.get("claimed") >= 1200, "an event handed back unattempted is claimed again");
        assertEquals(false, answer.get("moreWaiting"));
        assertTrue(answer.containsKey("coldStartMillis"), "the container's first invocation reports its cold start");
        assertEquals(1200, sqs.received("fn").size());
        assertEquals(0, count("published_at IS NULL"));

        JsonNode line = metricLines().get(0);
        assertEquals(1200, line.get("Published").asInt(), line.toString());
        assertEquals(0, line.get("Dead").asInt());
        assertEquals(table.toString(), line.get("Table").asText());
        JsonNode directive = line.get("_aws").get("CloudWatchMetrics").get(0);
        assertEquals("Outbox", directive.get("Namespace").asText());
        assertEquals("Table", directive.get("Dimensions").get(0).get(0).asText());
        List<String> names = new ArrayList<>();
        directive.get("Metrics").forEach(m -> names.add(m.get("Name").asText()));
        assertTrue(names.containsAll(List.of("Published", "Dead", "Retried", "Claimed")), names.toString());
        for (String name : names) {
            assertTrue(line.has(name), "every declared metric has its value: " + name);
        }

        // A warm invocation reuses the pool and the client, and reports no cold start.
        appendOrders(1, 10);
        Map<String, Object> warm = handler.handleRequest(Map.of(), context(60_000));
        assertEquals(10, warm.get("published"));
        assertFalse(warm.containsKey("coldStartMillis"));
    }

    @Test
    void anInvocationStopsClaimingOneLeaseBeforeItsTimeEndsAndLeavesNothingLeased() throws Exception {
        appendOrders(20, 500);
        sqs.behaveByDefault(SqsEndpoint.Behaviour.NORMAL.after(Duration.ofMillis(100))); // a slow broker
        Map<String, String> env = environment();
        env.put("OUTBOX_BATCH_SIZE", "100");
        ScheduledRelayHandler handler = handler(env);

        long remaining = 9_000; // margin: the 2 s lease and 5 s, so about 2 s of claims
        long started = System.nanoTime();
        Map<String, Object> answer = handler.handleRequest(Map.of(), context(remaining));
        long millis = (System.nanoTime() - started) / 1_000_000;
        int published = (Integer) answer.get("published");
        assertTrue(published > 0 && published < 10_000, answer.toString());
        assertEquals(true, answer.get("moreWaiting"), "it stopped with work left for the next invocation");
        assertTrue(millis <= remaining - 5_000, "returned with the margin left: " + millis + " ms of " + remaining);
        assertEquals(0, count("lease_until > now()"), "nothing left leased when the function freezes");
        assertEquals(published, count("published_at IS NOT NULL"));

        Map<String, Object> tooLate = handler.handleRequest(Map.of(), context(6_000));
        assertEquals(0, tooLate.get("claimed"), "less time left than the margin: nothing claimed");

        // The next scheduled invocations go on where it stopped, until the backlog is gone.
        sqs.behaveByDefault(SqsEndpoint.Behaviour.NORMAL.after(Duration.ofMillis(20)));
        int invocations = 1;
        while (true) {
            Map<String, Object> next = handler.handleRequest(Map.of(), context(remaining));
            invocations++;
            published += (Integer) next.get("published");
            if (!(Boolean) next.get("moreWaiting")) {
                break;
            }
            assertTrue(invocations < 30, "the backlog drains over a few invocations");
        }
        assertTrue(invocations > 2, "more than one invocation's worth: " + invocations);
        assertEquals(10_000, published);
        assertEquals(0, count("published_at IS NULL"));
        List<SqsEndpoint.Message> received = sqs.received("fn");
        assertEquals(10_000, received.stream().map(SqsEndpoint.Message::body).distinct().count(),
                "every event reached the queue");
        Map<String, Integer> lastTx = new HashMap<>();
        for (SqsEndpoint.Message m : received) {
            JsonNode body = JSON.readTree(m.body());
            String aggregate = "o" + (body.get("i").asInt() % 40);
            int position = body.get("tx").asInt() * 500 + body.get("i").asInt();
            Integer before = lastTx.put(aggregate, position);
            assertTrue(before == null || before < position, "in order within " + aggregate);
        }
    }

    @Test
    void aPurgeInvocationDeletesOldPublishedEventsOnly() throws Exception {
        appendOrders(1, 5);
        commit(db, c -> {
            try (var s = c.createStatement()) {
                s.execute("UPDATE " + table.qualifiedName() + " SET published_at = now() - interval '8 days'"
                        + " WHERE (payload->>'i')::int < 3");
            }
        });
        ScheduledRelayHandler handler = handler(environment());
        Map<String, Object> answer = handler.handleRequest(Map.of("detail-type", "Scheduled Event",
                "detail", Map.of("action", "purge")), context(60_000));
        assertEquals(3L, answer.get("purged"), answer.toString());
        assertNull(answer.get("published"), "a purge publishes nothing");
        assertEquals(2, count("true"));
        assertEquals(3, metricLines().get(0).get("Purged").asInt());
    }

    @Test
    void aMissingSettingFailsTheInitNamingTheVariable() {
        Map<String, String> env = environment();
        env.remove("OUTBOX_JDBC_URL");
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class, () -> handler(env));
        assertTrue(e.getMessage().contains("OUTBOX_JDBC_URL"), e.getMessage());
    }
}
