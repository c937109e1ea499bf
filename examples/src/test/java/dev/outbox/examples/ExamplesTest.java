package dev.outbox.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.RelayLoop;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sqs.model.Message;

/** Runs every example on the embedded servers, as the README's command does, and checks what they printed. */
class ExamplesTest {

    @Test
    void everyExampleRunsAndPrintsWhatWasCommittedPublishedAndReceived() throws Exception {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        Examples.run(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        String out = buffer.toString(StandardCharsets.UTF_8);
        System.out.println(out);

        assertTrue(out.contains("committed   user ada@example.com + event user_created"), out);
        assertTrue(out.contains("rolled back ada@example.com again (23505 unique violation): no row, no event"), out);
        assertTrue(out.contains("+ event import_job_created"), out);
        assertTrue(out.contains("events [order_placed, order_line_added, order_line_added]"), out);
        assertTrue(out.contains("published   {claimed=6, dead=0, moreWaiting=false, published=6, retried=0}"), out);
        assertTrue(out.contains("received    6 messages {import_job_created=1, order_line_added=2, order_placed=1,"
                + " user_created=2}"), out);
        assertTrue(out.contains("idempotent  each message delivered twice: applied 6, dropped 6 duplicates"), out);
        List<String> orderBodies = out.lines().filter(l -> l.contains("order message:")).toList();
        assertEquals(3, orderBodies.size(), out);
        assertTrue(orderBodies.get(0).contains("customer") && orderBodies.get(1).contains("book-1")
                && orderBodies.get(2).contains("pen-7"), "one order's events arrive in order: " + orderBodies);
        assertTrue(out.contains("committed   user linus@example.com; received 1 message"), out);
        assertTrue(out.contains("relay with a 1 KB limit: published 0, dead 1"), out);
        assertTrue(out.contains("requeued    1"), out);
        assertTrue(out.contains("republished 1 with the right limit"), out);
        assertTrue(out.contains("committed   order order-2001 + event order_placed"), out);
        assertTrue(out.contains("rolled back order-2002 (order order-2002 has no lines): 0 rows, 0 events"), out);
        assertTrue(out.contains("committed   shipment ship-1 + event order_shipped"), out);
        assertTrue(out.contains("rolled back ship-2 (carrier parcelco refused shipment ship-2): 0 rows, 0 events"),
                out);
        assertTrue(out.contains("shipments   1 stored"), out);
        assertTrue(out.contains("published   2; received 2 messages [order_placed order-2001, order_shipped order-2001]"),
                out);
        assertTrue(out.contains("received    20 of 20 events after"), out);
        assertTrue(out.contains("each account in append order: true"), out);
        assertTrue(out.contains("body        {\"order_id\":\"order-3001\",\"customer\":\"ada@example.com\",\"total\":42.50,"
                + "\"skus\":[\"book-1\",\"pen-7\"]}"), out);
        assertTrue(out.contains("equal to what was placed: true"), out);
        assertTrue(out.contains("purged      10 published events"), out);
        assertTrue(out.contains("stats       pending=0 inFlight=0 dead=0"), out);
        assertTrue(out.lines().anyMatch(l -> l.matches(
                " *traces {6}1: POST /orders \\(SERVER\\) > send (\\S+) \\(PRODUCER\\) > process \\1 \\(CONSUMER\\)")),
                "one trace, request to consumer: " + out);
        assertTrue(out.lines().anyMatch(l -> l.matches(
                " *message {5}traceparent 00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-9a-f], AWSTraceHeader Root=1-[0-9a-f]{8}-"
                        + "[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=1")), out);
    }

    @Test
    void theMariaDbExamplePublishesWhatWasCommittedThere() throws Exception {
        String url = System.getenv("OUTBOX_TEST_MARIADB_URL");
        org.junit.jupiter.api.Assumptions.assumeTrue(url != null && !url.isBlank(),
                "set OUTBOX_TEST_MARIADB_URL (such as jdbc:mariadb://127.0.0.1:3306/test?user=root) to run it");
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        MariaDbExample.run(url, new PrintStream(buffer, true, StandardCharsets.UTF_8));
        String out = buffer.toString(StandardCharsets.UTF_8);
        System.out.println(out);
        assertTrue(out.startsWith("outbox on MariaDB"), out);
        assertTrue(out.contains("rolled back a second user: no row, no event"), out);
        assertTrue(out.contains("received    1 message: {\"email\": \"ada-"), out);
        assertTrue(out.contains("\",  \"spacing\": \"kept\"} (the payload byte for byte"), out);
        assertTrue(out.contains("stats       pending=0 inFlight=0 dead=0"), out);
    }

    @Test
    void theReadmeQuickStartPublishesACommittedUser() throws Exception {
        try (ExampleEnvironment env = ExampleEnvironment.start()) {
            QuickStart.createSchema(env.dataSource);
            QuickStart.registerUser(env.dataSource, "quick@example.com");
            ExecutorService executor = Executors.newSingleThreadExecutor();
            RelayLoop loop = QuickStart.startRelay(env.dataSource, env.sqsSettings, executor);
            List<Message> received = env.receive(1);
            loop.stop(Duration.ofSeconds(5));
            executor.shutdown();
            assertEquals(1, received.size());
            assertEquals("{\"id\":\"quick@example.com\"}", received.get(0).body(), "the payload, byte for byte");
        }
    }
}
