package dev.outbox.sqs;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.RelayLoop;
import dev.outbox.RelayResult;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxOperations;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.testing.TestDatabase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequest;

/** PostgreSQL -> relay -> SQS-compatible queue -> consumer, compared event by event. */
class SqsEndToEndTest {

    static final DataSource db = TestDatabase.dataSource();

    /** A real SDK client on the local server that counts SendMessageBatch calls. */
    static SqsClient countingClient(AtomicInteger batchCalls) {
        ExecutionInterceptor counter = new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof SendMessageBatchRequest) {
                    batchCalls.incrementAndGet();
                }
            }
        };
        return SqsClient.builder().endpointOverride(LocalSqs.endpoint())
                .overrideConfiguration(c -> c.addExecutionInterceptor(counter)).build();
    }

    static Object json(String text) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(text);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void oneRelayRoutesEventsToTwoQueuesByTypeAndKeepsEachAggregatesOrderInEach() {
        OutboxTable table = newTable();
        JdbcOutbox outbox = JdbcOutbox.create(table);
        String orders = LocalSqs.newQueue(true);
        String payments = LocalSqs.newQueue(true);
        List<Event> appended = new ArrayList<>();
        for (int step = 0; step < 6; step++) {
            for (int a = 0; a < 3; a++) {
                String type = step % 2 == 0 ? "order_changed" : "payment_captured";
                Event e = Event.of("order", "o" + a, type, "{\"step\":" + step + "}");
                commit(db, c -> outbox.append(c, e));
                appended.add(e);
            }
        }
        Map<String, String> settings = new HashMap<>();
        settings.put("routes", "payments,orders");
        settings.put("routes.payments.match", "eventType:payment_captured");
        settings.put("routes.payments.publisher", "sqs");
        settings.put("routes.payments.queueUrl", payments);
        settings.put("routes.payments.endpoint", LocalSqs.endpoint().toString());
        settings.put("routes.payments.region", "eu-west-1");
        settings.put("routes.orders.match", "*");
        settings.put("routes.orders.publisher", "sqs");
        settings.put("routes.orders.queueUrl", orders);
        settings.put("routes.orders.endpoint", LocalSqs.endpoint().toString());
        settings.put("routes.orders.region", "eu-west-1");
        try (dev.outbox.spi.RoutingPublisher router = dev.outbox.spi.RoutingPublisher.fromSettings(settings);
             JdbcRelay relay = JdbcRelay.builder(db, router).table(table).build()) {
            assertEquals(appended.size(), relay.drain(Duration.ofSeconds(30)).published());
        }
        for (String[] queue : new String[][] {{orders, "order_changed"}, {payments, "payment_captured"}}) {
            List<Message> got = LocalSqs.drain(queue[0], 9);
            assertEquals(9, got.size());
            for (int a = 0; a < 3; a++) {
                String aggregate = "o" + a;
                List<String> expected = appended.stream()
                        .filter(e -> e.aggregateId().equals(aggregate) && e.type().equals(queue[1]))
                        .map(e -> e.id().toString()).toList();
                List<String> arrived = got.stream()
                        .filter(m -> m.messageAttributes().get("outbox-aggregate-id").stringValue().equals(aggregate))
                        .map(m -> m.messageAttributes().get("outbox-event-id").stringValue()).toList();
                assertEquals(expected, arrived, queue[1] + " of " + aggregate + " in order");
            }
        }
    }

    @Test
    void theMessageBodyIsThePayloadByteForByte() {
        OutboxTable table = newTable();
        JdbcOutbox outbox = JdbcOutbox.create(table);
        String queue = LocalSqs.newQueue(false);
        List<String> payloads = List.of(
                "{\"b\":1,\"a\":2,\"a\":3,\"n\":1E2,\"z\":-0,\"s\":\"caf\\u00e9\"}",
                "  { \"spaced\" :\t[ 1 ,2 ] }",
                "[1e131071,1e131071,1e131071]",
                "{\"text\":\"caf\u00e9 \uD83D\uDE00\"}");
        for (int i = 0; i < payloads.size(); i++) {
            Event e = Event.of("order", "p" + i, "placed", payloads.get(i));
            commit(db, c -> outbox.append(c, e));
        }
        try (SqsPublisher publisher = SqsPublisher.builder().queueUrl(queue).endpoint(LocalSqs.endpoint())
                .region(software.amazon.awssdk.regions.Region.EU_WEST_1).build();
             JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).build()) {
            assertEquals(payloads.size(), relay.runOnce().published());
        }
        List<String> bodies = LocalSqs.drain(queue, payloads.size()).stream().map(Message::body).sorted().toList();
        assertEquals(payloads.stream().sorted().toList(), bodies);
    }

    @Test
    void committedEventsArriveInTheQueueOnceEachAndRolledBackOnesNever() {
        OutboxTable table = newTable();
        JdbcOutbox outbox = JdbcOutbox.create(table);
        String queue = LocalSqs.newQueue(false);
        List<Event> committed = new ArrayList<>();
        for (int t = 0; t < 50; t++) {
            List<Event> events = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                events.add(Event.builder().aggregate("order", "o" + (t * 5 + i) % 37).type("order_placed")
                        .payload("{\"t\":" + t + ",\"i\":" + i + "}").header("trace-id", "tr-" + t).build());
            }
            commit(db, c -> outbox.appendAll(c, events));
            committed.addAll(events);
        }
        dev.outbox.testing.Transactions.rollback(db, c -> outbox.append(c,
                Event.of("order", "ghost", "order_placed", "{\"ghost\":true}")));

        AtomicInteger batchCalls = new AtomicInteger();
        RelayResult result;
        long started = System.nanoTime();
        try (SqsClient client = countingClient(batchCalls);
             SqsPublisher publisher = SqsPublisher.builder().client(client).queueUrl(queue).build();
             JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).batchSize(100).build()) {
            result = relay.drain(Duration.ofMinutes(1));
        }
        long millis = (System.nanoTime() - started) / 1_000_000;
        List<Message> received = LocalSqs.drain(queue, committed.size() + 1);

        Map<String, Event> byId = new HashMap<>();
        committed.forEach(e -> byId.put(e.id().toString(), e));
        Set<String> seen = new HashSet<>();
        for (Message m : received) {
            String id = m.messageAttributes().get("outbox-event-id").stringValue();
            Event e = byId.get(id);
            assertTrue(e != null, "phantom message " + m.body());
            assertTrue(seen.add(id), "duplicate " + id);
            assertEquals(e.payload(), m.body(), "the body is the payload, byte for byte");
            assertEquals(e.aggregateId(), m.messageAttributes().get("outbox-aggregate-id").stringValue());
            assertEquals(e.headers().get("trace-id"), m.messageAttributes().get("trace-id").stringValue());
        }
        assertEquals(committed.size(), result.published());
        assertEquals(committed.size(), received.size());
        assertEquals(0, new OutboxOperations(db, table).stats().pending());
        System.out.printf("SQS end to end: %d events committed, %d published, %d received, %d SendMessageBatch"
                + " calls (%.1f messages per call), %d ms%n", committed.size(), result.published(), received.size(),
                batchCalls.get(), (double) received.size() / batchCalls.get(), millis);
        assertTrue(batchCalls.get() <= committed.size() / 5, "batched: " + batchCalls.get() + " calls");
    }

    @Test
    void aFifoQueueKeepsEachAggregatesOrderAcrossConcurrentRelays() throws Exception {
        OutboxTable table = newTable();
        JdbcOutbox outbox = JdbcOutbox.create(table);
        String queue = LocalSqs.newQueue(true);
        int aggregates = 12;
        int perAggregate = 20;
        for (int round = 0; round < perAggregate; round++) {
            List<Event> events = new ArrayList<>();
            for (int a = 0; a < aggregates; a++) {
                events.add(Event.builder().aggregate("cart", "c" + a).type("item_added")
                        .payload("{\"seq\":" + round + "}").build());
            }
            commit(db, c -> outbox.appendAll(c, events));
        }

        ExecutorService threads = Executors.newFixedThreadPool(3);
        List<JdbcRelay> relays = new ArrayList<>();
        List<RelayLoop> loops = new ArrayList<>();
        try (SqsPublisher publisher = SqsPublisher.builder().client(LocalSqs.client()).queueUrl(queue).build()) {
            for (int r = 0; r < 3; r++) {
                JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).batchSize(25)
                        .pollInterval(Duration.ofMillis(10)).build();
                relays.add(relay);
                loops.add(relay.start(threads));
            }
            OutboxOperations ops = new OutboxOperations(db, table);
            long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
            while ((ops.stats().pending() > 0 || ops.stats().inFlight() > 0) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            System.out.println("FIFO drained: " + ops.stats() + " after "
                    + (Duration.ofMinutes(1).toNanos() - (deadline - System.nanoTime())) / 1_000_000 + " ms");
            loops.forEach(l -> l.stop(Duration.ofSeconds(10)));
            relays.forEach(JdbcRelay::close);
        }
        threads.shutdown();

        List<Message> received = LocalSqs.drain(queue, aggregates * perAggregate);
        assertEquals(aggregates * perAggregate, received.size());
        Map<String, List<Integer>> sequences = new HashMap<>();
        for (Message m : received) {
            String group = m.attributes().get(software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName.MESSAGE_GROUP_ID);
            sequences.computeIfAbsent(group, g -> new ArrayList<>()).add(Integer.parseInt(m.body().replaceAll("\\D", "")));
        }
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < perAggregate; i++) {
            expected.add(i);
        }
        assertEquals(aggregates, sequences.size());
        sequences.forEach((group, seq) -> assertEquals(expected, seq, "order of " + group));
    }

    private static OutboxTable newTable() {
        OutboxTable table = OutboxTable.named(TestDatabase.uniqueName("sqs"));
        OutboxSchema.create(db, table);
        return table;
    }
}
