package dev.outbox.eventbridge;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static dev.outbox.eventbridge.PutEventsEndpoint.accepted;
import static dev.outbox.eventbridge.PutEventsEndpoint.error;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.PublishOutcome.Status;
import dev.outbox.spi.Publisher;
import dev.outbox.spi.Publishers;
import java.nio.charset.StandardCharsets;
import software.amazon.awssdk.services.eventbridge.EventBridgeClient;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class EventBridgePublisherTest {

    PutEventsEndpoint endpoint;

    @BeforeEach
    void start() throws Exception {
        endpoint = new PutEventsEndpoint();
    }

    @AfterEach
    void stop() {
        endpoint.close();
    }

    Map<String, String> settings(String... more) {
        Map<String, String> s = new HashMap<>(Map.of("source", "com.example.orders", "eventBusName", "orders-bus",
                "endpoint", endpoint.uri().toString(), "region", "eu-west-1"));
        for (int i = 0; i < more.length; i += 2) {
            s.put(more[i], more[i + 1]);
        }
        return s;
    }

    static Event event(String aggregate, String payload) {
        return Event.builder().aggregate("order", aggregate).type("order_placed").payload(payload)
                .occurredAt(Instant.parse("2026-03-04T05:06:07Z")).build();
    }

    static List<Status> statuses(List<PublishOutcome> outcomes) {
        return outcomes.stream().map(PublishOutcome::status).toList();
    }

    @Test
    void theSdkSendsPutEventsWithEveryEntryField() {
        Event e = Event.builder().aggregate("order", "1").type("order_placed").payload("{\"total\":5}")
                .header("arns", "arn:aws:x:1, arn:aws:x:2").occurredAt(Instant.parse("2026-03-04T05:06:07Z")).build();
        try (Publisher publisher = Publishers.create("eventbridge", settings("resourcesHeader", "arns"))) {
            assertInstanceOf(EventBridgePublisher.class, publisher);
            assertEquals(List.of(PublishOutcome.published()), publisher.publish(List.of(e)));
        }
        PutEventsEndpoint.Request request = endpoint.requests.get(0);
        assertEquals("AWSEvents.PutEvents", request.target());
        assertTrue(request.contentType().startsWith("application/x-amz-json-1.1"), request.contentType());
        JsonNode entry = request.entries().get(0);
        assertEquals("com.example.orders", entry.get("Source").asText());
        assertEquals("order_placed", entry.get("DetailType").asText());
        assertEquals("{\"total\":5}", entry.get("Detail").asText());
        assertEquals("orders-bus", entry.get("EventBusName").asText());
        assertEquals(Instant.parse("2026-03-04T05:06:07Z").getEpochSecond(), entry.get("Time").asLong());
        assertEquals("[\"arn:aws:x:1\",\"arn:aws:x:2\"]", entry.get("Resources").toString());
        assertFalse(entry.has("TraceHeader"), "no traceparent, no TraceHeader");
    }

    @Test
    void theTraceparentHeaderTravelsAsTraceHeaderInXrayFormat() {
        Event e = Event.builder().aggregate("order", "1").type("order_placed").payload("{}")
                .header("traceparent", "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00").build();
        try (Publisher publisher = Publishers.create("eventbridge", settings())) {
            assertEquals(List.of(PublishOutcome.published()), publisher.publish(List.of(e)));
            assertEquals(new dev.outbox.spi.Destination("aws_eventbridge", "orders-bus"), publisher.destination(e));
        }
        JsonNode entry = endpoint.requests.get(0).entries().get(0);
        assertEquals("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
                entry.get("TraceHeader").asText());
    }

    @Test
    void aPartialFailureBecomesOneOutcomePerEvent() {
        endpoint.respond((entries, n) -> accepted(entries,
                Arrays.asList(null, "ThrottlingException", "MalformedDetail", "InternalFailure")));
        List<Event> events = List.of(event("a", "{}"), event("b", "{}"), event("c", "{}"), event("d", "{}"));
        List<PublishOutcome> outcomes;
        try (Publisher publisher = Publishers.create("eventbridge", settings())) {
            outcomes = publisher.publish(events);
        }
        // Throttling and internal failures are the broker's trouble, not the event's: throttled and unavailable, no
        // attempt spent either way.
        assertEquals(List.of(Status.PUBLISHED, Status.THROTTLED, Status.REJECTED, Status.UNAVAILABLE),
                statuses(outcomes));
        assertTrue(outcomes.get(2).reason().contains("MalformedDetail for entry 2"), outcomes.get(2).reason());
        assertEquals(1, endpoint.requests.size(), "four entries, one call");
    }

    @Test
    void aThrottledCallIsRetriedAndThenSucceeds() {
        endpoint.respond((entries, n) -> n == 1
                ? error(400, "ThrottlingException", "Rate exceeded") : accepted(entries, List.of()));
        try (Publisher publisher = Publishers.create("eventbridge", settings())) {
            assertEquals(List.of(Status.PUBLISHED, Status.PUBLISHED),
                    statuses(publisher.publish(List.of(event("a", "{}"), event("b", "{}")))));
        }
        assertEquals(2, endpoint.requests.size(), "the SDK retried the throttled call once");
    }

    @Test
    void persistentThrottlingIsThrottlingWithoutBlamingTheEvents() {
        endpoint.respond((entries, n) -> error(400, "ThrottlingException", "Rate exceeded"));
        try (Publisher publisher = Publishers.create("eventbridge", settings())) {
            List<PublishOutcome> outcomes = publisher.publish(List.of(event("a", "{}")));
            assertEquals(Status.THROTTLED, outcomes.get(0).status());
            assertTrue(outcomes.get(0).reason().contains("ThrottlingException"), outcomes.get(0).reason());
        }
    }

    @Test
    void aValidationErrorOnTheWholeCallIsNarrowedToTheEntryAndRejectsOnlyIt() {
        endpoint.respond((entries, n) -> {
            for (JsonNode entry : entries) {
                if (entry.get("Detail").asText().contains("bad")) {
                    return error(400, "ValidationException", "Detail is malformed");
                }
            }
            return accepted(entries, List.of());
        });
        List<Event> events = List.of(event("a", "{}"), event("b", "{\"bad\":1}"), event("c", "{}"));
        try (Publisher publisher = Publishers.create("eventbridge", settings())) {
            assertEquals(List.of(Status.PUBLISHED, Status.REJECTED, Status.PUBLISHED), statuses(publisher.publish(events)));
        }
        assertEquals(4, endpoint.requests.size(), "one refused call, then one call per entry");
    }

    @Test
    void callsAreSplitToStayUnderTheRequestSizeAsAwsCountsIt() {
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            events.add(event("agg" + i, "{\"blob\":\"" + "x".repeat(300_000) + "\"}"));
        }
        try (Publisher publisher = Publishers.create("eventbridge", settings())) {
            assertTrue(publisher.publish(events).stream().allMatch(PublishOutcome::isPublished));
        }
        assertEquals(4, endpoint.requests.size(), "three 300 KB entries per call under 1 MiB");
        for (PutEventsEndpoint.Request request : endpoint.requests) {
            long size = 0;
            for (JsonNode entry : request.entries()) {
                size += 14 + bytes(entry.get("Source").asText()) + bytes(entry.get("DetailType").asText())
                        + bytes(entry.get("Detail").asText());
            }
            assertTrue(size < EventBridgePublisher.MAX_REQUEST_BYTES, "request of " + size + " bytes");
        }
    }

    @Test
    void anOversizedEntryOrANonObjectDetailIsRejectedWithoutACallWhileOthersGo() {
        Event big = event("a", "{\"blob\":\"" + "x".repeat(300_000) + "\"}");
        Event array = event("b", "[1,2,3]");
        Event fine = event("c", "{}");
        List<PublishOutcome> outcomes;
        Map<String, String> oldLimit = new HashMap<>(settings());
        oldLimit.put("maxEntryBytes", "262144");
        try (Publisher publisher = Publishers.create("eventbridge", oldLimit)) {
            outcomes = publisher.publish(List.of(big, array, fine));
        }
        assertEquals(List.of(Status.REJECTED, Status.REJECTED, Status.PUBLISHED), statuses(outcomes));
        assertTrue(outcomes.get(0).reason().contains("limit is less than 262144"), outcomes.get(0).reason());
        assertTrue(outcomes.get(1).reason().contains("JSON object"), outcomes.get(1).reason());
        assertEquals(1, endpoint.requests.size());
        assertEquals(1, endpoint.requests.get(0).entries().size());
    }

    @Test
    void theEnvelopeCarriesIdsHeadersAndAnyJsonPayload() throws Exception {
        Event e = Event.builder().aggregate("order", "7").type("order_paid").payload("[1,\"two\"]")
                .header("tenant", "acme \"x\"").build();
        try (Publisher publisher = Publishers.create("eventbridge", settings("envelope", "true", "detailType", "Order"))) {
            assertTrue(publisher.publish(List.of(e)).get(0).isPublished());
        }
        JsonNode entry = endpoint.requests.get(0).entries().get(0);
        assertEquals("Order", entry.get("DetailType").asText());
        JsonNode detail = PutEventsEndpoint.JSON.readTree(entry.get("Detail").asText());
        assertEquals(e.id().toString(), detail.get("eventId").asText());
        assertEquals("7", detail.get("aggregateId").asText());
        assertEquals("acme \"x\"", detail.get("headers").get("tenant").asText());
        assertEquals("[1,\"two\"]", detail.get("payload").toString());
    }

    @Test
    void missingOrBadSettingsAreClearErrorsAtConstruction() {
        assertTrue(assertThrows(InvalidConfigurationException.class, () -> Publishers.create("eventbridge", Map.of()))
                .getMessage().contains("'source' is required"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> Publishers.create("eventbridge", Map.of("source", "s", "envelope", "maybe")))
                .getMessage().contains("'envelope' = 'maybe' must be true or false"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> Publishers.create("eventbridge", Map.of("source", "s", "bus", "b")))
                .getMessage().contains("unknown setting(s) [bus]"));
    }

    private static long bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "whole call {1} (HTTP {0}) is {2}")
    @org.junit.jupiter.params.provider.CsvSource({
        "400, AccessDeniedException, UNAVAILABLE",
        "400, ExpiredTokenException, UNAVAILABLE",
        "400, UnrecognizedClientException, UNAVAILABLE",
        "400, ResourceNotFoundException, UNAVAILABLE",
        "400, KMSThrottlingException, THROTTLED",
        "400, ThrottlingException, THROTTLED",
        "400, ValidationException, REJECTED",
        "400, SomethingNew, RETRY",
    })
    void wholeCallErrorsAreClassifiedAsEveryPublisherDoes(int status, String code, PublishOutcome.Status expected) {
        endpoint.respond((entries, n) -> error(status, code, "refused"));
        try (EventBridgeClient client = EventBridgeClient.builder().endpointOverride(endpoint.uri())
                .region(software.amazon.awssdk.regions.Region.EU_WEST_1)
                .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                        software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create("a", "b")))
                .overrideConfiguration(o -> o.retryStrategy(r -> r.maxAttempts(1))).build();
             EventBridgePublisher publisher = EventBridgePublisher.builder().client(client).source("test").build()) {
            PublishOutcome outcome = publisher.publish(List.of(Event.of("a", "1", "t", "{}"))).get(0);
            assertEquals(expected, outcome.status(), outcome.toString());
            assertTrue(outcome.reason().contains(code), outcome.reason());
        }
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "entry {0} is {1}")
    @org.junit.jupiter.params.provider.CsvSource({
        "ThrottlingException, THROTTLED",
        "InternalFailure, UNAVAILABLE",
        "MalformedDetail, REJECTED",
        "SomethingNew, RETRY",
    })
    void perEntryErrorsAreClassifiedAsEveryPublisherDoes(String code, PublishOutcome.Status expected) {
        endpoint.respond((entries, n) -> accepted(entries, List.of(code)));
        try (EventBridgePublisher publisher = EventBridgePublisher.builder().client(endpoint.client()).source("test")
                .build()) {
            PublishOutcome outcome = publisher.publish(List.of(Event.of("a", "1", "t", "{}"))).get(0);
            assertEquals(expected, outcome.status(), outcome.toString());
        }
    }

    @Test
    void theDetailIsThePayloadByteForByteAndSoIsTheEnvelopesPayload() throws Exception {
        String payload = "{\"b\":1,\"a\":2,\"a\":3,\"n\":1E2,\"z\":-0,\"s\":\"caf\\u00e9\"}";
        Event event = Event.of("order", "1", "placed", payload);
        try (EventBridgePublisher plain = EventBridgePublisher.builder().client(endpoint.client()).source("test")
                .build();
             EventBridgePublisher enveloped = EventBridgePublisher.builder().client(endpoint.client()).source("test")
                     .envelope(true).build()) {
            assertTrue(plain.publish(List.of(event)).get(0).isPublished());
            assertTrue(enveloped.publish(List.of(event)).get(0).isPublished());
        }
        assertEquals(payload, endpoint.requests.get(0).entries().get(0).get("Detail").asText());
        String envelope = endpoint.requests.get(1).entries().get(0).get("Detail").asText();
        assertTrue(envelope.endsWith(",\"payload\":" + payload + "}"), envelope);
    }

    @Test
    void anEntryUpToOneMebibyteIsSentAndTheLimitIsASetting() {
        String big = "{\"blob\":\"" + "x".repeat(600_000) + "\"}";
        try (EventBridgePublisher publisher = EventBridgePublisher.builder().client(endpoint.client()).source("test")
                .build();
             EventBridgePublisher old = EventBridgePublisher.builder().client(endpoint.client()).source("test")
                     .maxEntryBytes(262_144).build()) {
            assertTrue(publisher.publish(List.of(Event.of("a", "1", "t", big))).get(0).isPublished(),
                    "EventBridge takes entries up to 1 MB since January 2026");
            PublishOutcome refused = old.publish(List.of(Event.of("a", "1", "t", big))).get(0);
            assertEquals(Status.REJECTED, refused.status());
            assertTrue(refused.reason().contains("262144"), refused.reason());
        }
        assertThrows(InvalidConfigurationException.class, () -> Publishers.create("eventbridge",
                Map.of("source", "s", "maxEntryBytes", "2000000")));
    }
}
