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
import dev.outbox.testing.SqsEndpoint;
import dev.outbox.testing.TestDatabase;
import dev.outbox.testing.Transactions;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The relay service as it is deployed: a process of its own, configured from its environment, publishing what is
 * appended, answering {@code /health} and {@code /metrics}, leaving nothing leased when SIGTERM stops it mid-backlog,
 * and refusing to start, with exit code 2 and the variable's name, when a setting is missing.
 */
class RelayServiceTest {

    static final DataSource db = TestDatabase.dataSource();
    static final ObjectMapper JSON = new ObjectMapper();

    final OutboxTable table = OutboxTable.named(TestDatabase.uniqueName("rs"));
    final SqsEndpoint sqs = SqsEndpoint.start();
    final HttpClient http = HttpClient.newHttpClient();

    RelayServiceTest() {
        OutboxSchema.create(db, table);
    }

    @AfterEach
    void close() {
        sqs.close();
    }

    Map<String, String> environment(int port) {
        Map<String, String> env = new HashMap<>();
        env.put("OUTBOX_JDBC_URL", TestDatabase.jdbcUrl());
        env.put("OUTBOX_TABLE", table.name());
        env.put("OUTBOX_PUBLISHER", "sqs");
        env.put("OUTBOX_PUBLISHER_queueUrl", sqs.queueUrl("relayed"));
        env.put("OUTBOX_PUBLISHER_endpoint", sqs.endpoint().toString());
        env.put("OUTBOX_PUBLISHER_region", "eu-west-1");
        env.put("OUTBOX_HTTP_PORT", Integer.toString(port));
        env.put("OUTBOX_LEASE", "PT10S");
        env.put("OUTBOX_PUBLISHER_callTimeout", "PT2S"); // a call must fit twice in the lease
        env.put("OUTBOX_POLL_INTERVAL", "PT0.2S");
        return env;
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Waits up to {@code seconds} for {@code condition}. */
    static boolean eventually(int seconds, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (condition.getAsBoolean()) {
                    return true;
                }
            } catch (RuntimeException e) {
                // not yet
            }
            Thread.sleep(100);
        }
        return false;
    }

    long count(String where) {
        return Transactions.queryLong(db, "SELECT count(*) FROM " + table.qualifiedName() + " WHERE " + where);
    }

    @Test
    void theServicePublishesAnswersHealthAndMetricsAndStopsOnSigtermLeavingNothingLeased() throws Exception {
        int port = freePort();
        JdbcOutbox outbox = JdbcOutbox.create(table);
        try (RelayProcess relay = RelayProcess.start(environment(port))) {
            assertTrue(eventually(30, () -> {
                try {
                    return get(port, "/health").statusCode() == 200;
                } catch (Exception e) {
                    return false;
                }
            }), "the service came up: " + relay.stderr());
            Event one = Event.of("order", "o1", "placed", "{\"n\":1}");
            commit(db, c -> outbox.append(c, one));
            assertTrue(eventually(20, () -> sqs.received("relayed").size() == 1), "the appended event was published: "
                    + relay.stderr());
            assertEquals("{\"n\":1}", sqs.received("relayed").get(0).body());

            HttpResponse<String> health = get(port, "/health");
            assertEquals(200, health.statusCode());
            JsonNode report = JSON.readTree(health.body());
            assertEquals("UP", report.get("status").asText(), health.body());
            assertTrue(report.get("stats").has("pending"), health.body());
            assertTrue(eventually(10, () -> count("published_at IS NOT NULL") == 1), "recorded as published");
            assertTrue(eventually(10, () -> {
                try {
                    HttpResponse<String> metrics = get(port, "/metrics");
                    return metrics.statusCode() == 200 && metrics.body().contains("outbox_events_total{")
                            && metrics.body().contains("outcome=\"published\"");
                } catch (Exception e) {
                    return false;
                }
            }), "/metrics counts the published event");

            // A backlog, a slow broker, and SIGTERM once the relay is at work on it.
            sqs.behaveByDefault(SqsEndpoint.Behaviour.NORMAL.after(Duration.ofMillis(150)));
            for (int tx = 0; tx < 10; tx++) {
                List<Event> batch = new ArrayList<>();
                for (int i = 0; i < 300; i++) {
                    batch.add(Event.of("order", "b" + (tx * 300 + i), "placed", "{}"));
                }
                commit(db, c -> outbox.appendAll(c, batch));
            }
            assertTrue(eventually(20, () -> count("published_at IS NOT NULL") > 50), "the backlog is being published");
            int code = relay.terminate(Duration.ofSeconds(30));
            assertEquals(0, code, "SIGTERM ends the service with exit code 0: " + relay.stderr());
            assertEquals(0, count("lease_until > now()"), "no event left leased");
            assertEquals(0, count("claimed_by IS NOT NULL AND published_at IS NULL"), "nor claimed");
            assertTrue(count("published_at IS NULL") > 0, "it stopped mid-backlog");
            assertTrue(relay.stderr().contains("outbox relay stopped"), relay.stderr());
        }
    }

    @Test
    void aMissingVariableStopsTheServiceAtStartWithExitCodeTwoNamingIt() throws Exception {
        Map<String, String> env = environment(freePort());
        env.remove("OUTBOX_JDBC_URL");
        RelayProcess.Result result = RelayProcess.run(env, "serve");
        assertEquals(2, result.code(), result.err());
        assertEquals(1, result.err().lines().count(), "one line: " + result.err());
        assertTrue(result.err().contains("OUTBOX_JDBC_URL is required"), result.err());
    }

    @Test
    void anUnknownPublisherStopsTheServiceAtStartWithExitCodeTwo() throws Exception {
        Map<String, String> env = environment(freePort());
        env.put("OUTBOX_PUBLISHER", "kafka");
        RelayProcess.Result result = RelayProcess.run(env);
        assertEquals(2, result.code(), result.err());
        assertTrue(result.err().contains("no publisher named 'kafka'"), result.err());
    }

    @Test
    void aDatabaseThatIsDownAtStartIsRetriedWhileHealthSaysDown() throws Exception {
        int port = freePort();
        Map<String, String> env = environment(port);
        int closed = freePort(); // nothing listens there
        env.put("OUTBOX_JDBC_URL", "jdbc:postgresql://127.0.0.1:" + closed + "/none?connectTimeout=1");
        try (RelayProcess relay = RelayProcess.start(env)) {
            assertTrue(eventually(30, () -> {
                try {
                    return get(port, "/health").statusCode() == 503;
                } catch (Exception e) {
                    return false;
                }
            }), "health says DOWN: " + relay.stderr());
            JsonNode report = JSON.readTree(get(port, "/health").body());
            assertEquals("DOWN", report.get("status").asText());
            assertTrue(report.get("reasons").toString().contains("stats unreadable"), report.toString());
            Thread.sleep(2_000);
            assertTrue(relay.process.isAlive(), "no crash loop: the service keeps trying");
            assertEquals(0, relay.terminate(Duration.ofSeconds(30)));
        }
    }
}
