package dev.outbox.sqs;

import java.util.LinkedHashMap;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.spi.CallLimits;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import dev.outbox.spi.Publishers;
import dev.outbox.testing.SqsEndpoint;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;

class SqsPublisherTest {

    static Map<String, String> settings(String queueUrl) {
        return Map.of("queueUrl", queueUrl, "endpoint", LocalSqs.endpoint().toString(), "region", "eu-west-1");
    }

    static Event event(String aggregate, String payload) {
        return Event.builder().aggregate("order", aggregate).type("order_placed").payload(payload).build();
    }

    static Map<String, String> attributes(Message m) {
        Map<String, String> out = new HashMap<>();
        for (Map.Entry<String, MessageAttributeValue> a : m.messageAttributes().entrySet()) {
            out.put(a.getKey(), a.getValue().stringValue());
        }
        return out;
    }

    @Test
    void theProviderIsFoundByNameAndAsTheOnlyOneOnTheClasspath() {
        String queue = LocalSqs.newQueue(false);
        try (Publisher byName = Publishers.create("sqs", settings(queue));
             Publisher only = Publishers.create(null, settings(queue))) {
            assertInstanceOf(SqsPublisher.class, byName);
            assertInstanceOf(SqsPublisher.class, only);
        }
    }

    @Test
    void missingOrBadSettingsAreClearErrorsAtConstruction() {
        assertTrue(assertThrows(InvalidConfigurationException.class, () -> Publishers.create("sqs", Map.of()))
                .getMessage().contains("'queueUrl' is required"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> Publishers.create("sqs", Map.of("queueUrl", "x", "queueUrll", "y")))
                .getMessage().contains("unknown setting(s) [queueUrll]"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> Publishers.create("sqs", Map.of("queueUrl", "not a url"))).getMessage().contains("queueUrl"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> Publishers.create("sqs", Map.of("queueUrl", "http://h/q", "maxConcurrentCalls", "0")))
                .getMessage().contains("maxConcurrentCalls"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> Publishers.create("sqs", Map.of("queueUrl", "http://h/q", "endpoint", "::")))
                .getMessage().contains("endpoint"));
    }

    @Test
    void eachEventBecomesAMessageWithItsIdsAndHeadersAsAttributes() {
        String queue = LocalSqs.newQueue(false);
        Event few = Event.builder().aggregate("order", "1").type("order_placed").payload("{\"total\":5}")
                .header("trace-id", "abc").header("tenant", "acme").build();
        Map<String, String> seven = new HashMap<>();
        for (int i = 0; i < 7; i++) {
            seven.put("h" + i, "v\"" + i);
        }
        Event many = Event.builder().aggregate("order", "2").type("order_paid").payload("[1,2]").headers(seven).build();
        try (Publisher publisher = Publishers.create("sqs", settings(queue))) {
            List<PublishOutcome> outcomes = publisher.publish(List.of(few, many));
            assertEquals(List.of(PublishOutcome.published(), PublishOutcome.published()), outcomes);
        }
        List<Message> received = LocalSqs.drain(queue, 2);
        assertEquals(2, received.size());
        Message first = received.stream().filter(m -> m.body().equals("{\"total\":5}")).findFirst().orElseThrow();
        assertEquals(Map.of("outbox-event-id", few.id().toString(), "outbox-event-type", "order_placed",
                "outbox-aggregate-type", "order", "outbox-aggregate-id", "1", "trace-id", "abc", "tenant", "acme"),
                attributes(first));
        Message second = received.stream().filter(m -> m.body().equals("[1,2]")).findFirst().orElseThrow();
        Map<String, String> packed = attributes(second);
        assertEquals(5, packed.size(), "seven headers do not fit SQS's 10 attributes: they travel packed");
        assertTrue(packed.get("outbox-headers").contains("\"h3\":\"v\\\"3\""), packed.get("outbox-headers"));
    }

    @Test
    void theTraceContextKeepsItsOwnAttributesAndReachesAwsTraceHeaderEvenWhenHeadersArePacked() {
        String queue = LocalSqs.newQueue(false);
        String traceparent = "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01";
        Map<String, String> eight = new LinkedHashMap<>();
        for (int i = 0; i < 6; i++) {
            eight.put("h" + i, "v" + i);
        }
        eight.put("traceparent", traceparent);
        eight.put("tracestate", "vendor=1");
        Event traced = Event.builder().aggregate("order", "3").type("order_paid").payload("{}").headers(eight).build();
        Event untraced = Event.builder().aggregate("order", "4").type("order_paid").payload("[]")
                .header("traceparent", "not a traceparent").build();
        try (Publisher publisher = Publishers.create("sqs", settings(queue))) {
            assertEquals(List.of(PublishOutcome.published(), PublishOutcome.published()),
                    publisher.publish(List.of(traced, untraced)));
            assertEquals(new dev.outbox.spi.Destination("aws_sqs", queue.substring(queue.lastIndexOf('/') + 1)),
                    publisher.destination(traced));
        }
        List<Message> received = LocalSqs.drain(queue, 2);
        Message first = received.stream().filter(m -> m.body().equals("{}")).findFirst().orElseThrow();
        Map<String, String> attributes = attributes(first);
        assertEquals(7, attributes.size(), "four ids, the packed headers and the trace context: " + attributes);
        assertEquals(traceparent, attributes.get("traceparent"));
        assertEquals("vendor=1", attributes.get("tracestate"));
        assertFalse(attributes.get("outbox-headers").contains("traceparent"), attributes.get("outbox-headers"));
        assertTrue(attributes.get("outbox-headers").contains("\"h5\":\"v5\""), attributes.get("outbox-headers"));
        assertEquals("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                first.attributes().get(MessageSystemAttributeName.AWS_TRACE_HEADER));
        Message second = received.stream().filter(m -> m.body().equals("[]")).findFirst().orElseThrow();
        assertNull(second.attributes().get(MessageSystemAttributeName.AWS_TRACE_HEADER),
                "an invalid traceparent is sent as a header, not translated");
    }

    @Test
    void anOversizedEventIsRejectedWhileItsBatchMatesArrive() {
        String queue = LocalSqs.newQueue(false);
        Event small1 = event("a", "{\"n\":1}");
        Event big = event("b", "\"" + "x".repeat(3000) + "\"");
        Event small2 = event("c", "{\"n\":2}");
        Map<String, String> s = new HashMap<>(settings(queue));
        s.put("maxMessageBytes", "2048");
        List<PublishOutcome> outcomes;
        try (Publisher publisher = Publishers.create("sqs", s)) {
            outcomes = publisher.publish(List.of(small1, big, small2));
        }
        assertTrue(outcomes.get(0).isPublished() && outcomes.get(2).isPublished(), outcomes.toString());
        assertEquals(PublishOutcome.Status.REJECTED, outcomes.get(1).status());
        assertTrue(outcomes.get(1).reason().contains("limit is 2048"), outcomes.get(1).reason());
        assertEquals(2, LocalSqs.drain(queue, 3).size());
    }

    @Test
    void aCharacterSqsRefusesIsRefusedWhenTheEventIsBuiltNotAtTheBroker() {
        // U+FFFF is valid JSON text but outside the characters SQS accepts: the event cannot even be built, so it
        // never reaches the outbox to end dead there. (Refusals by the server itself: BrokerErrorCodesTest.)
        dev.outbox.InvalidEventException e = assertThrows(dev.outbox.InvalidEventException.class,
                () -> event("b", "\"\uFFFF\""));
        assertEquals("payload", e.field());
        assertTrue(e.getMessage().contains("SQS refuses"), e.getMessage());
    }

    @Test
    void aDuplicateSendToAFifoQueueIsDroppedByTheDeduplicationId() {
        String queue = LocalSqs.newQueue(true);
        Event e = event("a", "{\"n\":1}");
        try (Publisher publisher = Publishers.create("sqs", settings(queue))) {
            assertTrue(((SqsPublisher) publisher).fifo());
            assertTrue(publisher.publish(List.of(e)).get(0).isPublished());
            assertTrue(publisher.publish(List.of(e)).get(0).isPublished(), "SQS accepts the re-send...");
        }
        List<Message> received = LocalSqs.drain(queue, 2);
        assertEquals(1, received.size(), "...and drops it");
        assertEquals("order:a", received.get(0).attributes().get(MessageSystemAttributeName.MESSAGE_GROUP_ID));
    }

    @Test
    void longAggregateIdsGetAHashedGroupIdWithinSqsLimits() {
        String group = SqsPublisher.groupId(event("é".repeat(200), "{}"));
        assertTrue(group.startsWith("sha256:") && group.length() <= 128, group);
    }

    @Test
    void anUnreachableQueueMeansRetryNotLossAndAUserClientIsNotClosed() {
        AtomicInteger calls = new AtomicInteger();
        ExecutionInterceptor counting = new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                calls.incrementAndGet();
            }
        };
        URI closedPort = URI.create("http://127.0.0.1:1");
        try (SqsClient client = SqsClient.builder().endpointOverride(closedPort)
                .overrideConfiguration(c -> c.addExecutionInterceptor(counting)).build()) {
            SqsPublisher publisher = SqsPublisher.builder().client(client).queueUrl(closedPort + "/000/q").build();
            List<Event> events = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                events.add(event("agg" + i, "{}"));
            }
            List<PublishOutcome> outcomes = publisher.publish(events);
            publisher.close();
            assertTrue(outcomes.stream().allMatch(o -> o.status() == PublishOutcome.Status.UNAVAILABLE),
                    "an unreachable broker spends no attempt: " + outcomes);
            assertTrue(outcomes.get(0).reason().contains("unreachable"), outcomes.get(0).reason());
            assertEquals(2, calls.get(), "12 events: two calls of at most 10");
            assertThrows(Exception.class, () -> client.listQueues()); // still open: it fails on the network, not closed
        }
    }

    @Test
    void onePublishOfManyBrokerCallsKeepsToTheDeclaredCallTimeout() {
        // 40 events of 300 KB: three to a 1 MiB call, 14 SDK calls, four at a time, each answered after 300 ms (some
        // 400 ms in all here). One publish used to make all 14 calls, four rounds of them, against a declared 1 s.
        try (SqsEndpoint sqs = SqsEndpoint.start()) {
            sqs.behaveByDefault(SqsEndpoint.Behaviour.NORMAL.after(java.time.Duration.ofMillis(300)));
            Publisher publisher = Publishers.create("sqs", Map.of("queueUrl", sqs.queueUrl("big"),
                    "endpoint", sqs.endpoint().toString(), "region", "eu-west-1", "maxConcurrentCalls", "4",
                    "callTimeout", "PT1S", "attemptTimeout", "PT1S"));
            try {
                String payload = "\"" + "x".repeat(300_000) + "\"";
                List<Event> events = new ArrayList<>();
                for (int i = 0; i < 40; i++) {
                    events.add(event("o" + i, payload));
                }
                for (int i = 0; i < 3; i++) {
                    publisher.publish(events); // a warm client and JIT: a cold first call takes far longer
                }
                long started = System.nanoTime();
                List<PublishOutcome> outcomes = publisher.publish(events);
                long tookMillis = (System.nanoTime() - started) / 1_000_000;
                long published = outcomes.stream().filter(PublishOutcome::isPublished).count();
                long notSent = outcomes.stream().filter(o -> o.status() == PublishOutcome.Status.NOT_SENT).count();
                assertTrue(tookMillis < 1_200, "one publish took " + tookMillis + " ms against its declared 1 s");
                assertEquals(40, published + notSent, "each event published or given back unsent: " + outcomes);
                assertTrue(published > 0 && notSent > 0, published + " published, " + notSent + " not sent: "
                        + outcomes.stream().map(PublishOutcome::reason).distinct().toList());
                assertTrue(sqs.received("big").size() >= published, "what was answered published arrived");
            } finally {
                publisher.close();
            }
        }
    }

    @Test
    void aBrokerThatNeverAnswersCostsOneBoundedCallWithTheConfiguredTries() throws Exception {
        try (java.net.ServerSocket blackHole = new java.net.ServerSocket(0, 50,
                java.net.InetAddress.getLoopbackAddress())) {
            AtomicInteger connections = new AtomicInteger();
            List<java.net.Socket> held = java.util.Collections.synchronizedList(new ArrayList<>());
            Thread acceptor = new Thread(() -> {
                while (!blackHole.isClosed()) {
                    try {
                        held.add(blackHole.accept()); // accepted, never answered
                        connections.incrementAndGet();
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            }, "black-hole");
            acceptor.setDaemon(true);
            acceptor.start();
            String endpoint = "http://127.0.0.1:" + blackHole.getLocalPort();
            Publisher publisher = Publishers.create("sqs", Map.of("queueUrl", endpoint + "/000/q", "endpoint", endpoint,
                    "region", "eu-west-1", "callTimeout", "PT1S", "attemptTimeout", "PT0.3S", "maxAttempts", "2"));
            try {
                assertEquals(java.time.Duration.ofSeconds(1), publisher.callLimits().callTimeout());
                long started = System.nanoTime();
                List<PublishOutcome> outcomes = publisher.publish(List.of(event("a", "{}")));
                long tookMillis = (System.nanoTime() - started) / 1_000_000;
                assertEquals(PublishOutcome.Status.UNAVAILABLE, outcomes.get(0).status(), outcomes.toString());
                assertTrue(tookMillis < 1_500, "bounded by the 1 s call timeout, took " + tookMillis + " ms");
                assertEquals(2, connections.get(), "two tries, then the relay's own retry takes over");
            } finally {
                publisher.close();
                for (java.net.Socket s : held) {
                    s.close();
                }
            }
        }
    }

    @Test
    void callLimitsTellTheRelayHowToShapeCalls() {
        try (SqsPublisher standard = SqsPublisher.builder().queueUrl(LocalSqs.newQueue(false))
                .endpoint(LocalSqs.endpoint()).region(software.amazon.awssdk.regions.Region.EU_WEST_1).build();
             SqsPublisher fifo = SqsPublisher.builder().queueUrl(LocalSqs.newQueue(true)).maxConcurrentCalls(2)
                     .endpoint(LocalSqs.endpoint()).region(software.amazon.awssdk.regions.Region.EU_WEST_1).build();
             SqsClient unbounded = SqsClient.builder().endpointOverride(LocalSqs.endpoint()).build();
             SqsPublisher yours = SqsPublisher.builder().client(unbounded).queueUrl(LocalSqs.newQueue(false)).build()) {
            assertEquals(new CallLimits(40, 1, java.time.Duration.ofSeconds(10)), standard.callLimits(),
                    "one event per aggregate per call on a standard queue");
            assertEquals(new CallLimits(20, 10, java.time.Duration.ofSeconds(10)), fifo.callLimits(),
                    "a FIFO queue keeps a group's order within a call");
            assertEquals(null, yours.callLimits().callTimeout(), "a client without apiCallTimeout declares none");
        }
    }

    @Test
    void badTimeoutSettingsAreClearErrors() {
        String queue = LocalSqs.newQueue(false);
        java.util.Map<String, String> base = new java.util.HashMap<>(settings(queue));
        base.put("attemptTimeout", "PT20S");
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                () -> Publishers.create("sqs", base));
        assertTrue(e.getMessage().contains("attemptTimeout"), e.getMessage());
        base.remove("attemptTimeout");
        base.put("maxAttempts", "0");
        e = assertThrows(InvalidConfigurationException.class, () -> Publishers.create("sqs", base));
        assertTrue(e.getMessage().contains("maxAttempts"), e.getMessage());
    }
}
