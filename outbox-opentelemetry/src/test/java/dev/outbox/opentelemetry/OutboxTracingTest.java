package dev.outbox.opentelemetry;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.Outbox;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import dev.outbox.sqs.SqsPublisher;
import dev.outbox.testing.RecordingPublisher;
import dev.outbox.testing.TestDatabase;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.net.URI;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.elasticmq.rest.sqs.SQSRestServer;
import org.elasticmq.rest.sqs.SQSRestServerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageRequest;

class OutboxTracingTest {

    static final DataSource db = TestDatabase.dataSource();
    static SQSRestServer sqsServer;
    static SqsClient sqs;

    final InMemorySpanExporter spans = InMemorySpanExporter.create();
    OpenTelemetrySdk otel;
    Tracer tracer;
    OutboxTracing tracing;

    @BeforeAll
    static void startSqs() {
        sqsServer = SQSRestServerBuilder.withInterface("127.0.0.1").withDynamicPort().start();
        int port = sqsServer.waitUntilStarted().localAddress().getPort();
        sqs = SqsClient.builder().endpointOverride(URI.create("http://127.0.0.1:" + port)).region(Region.EU_WEST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .build();
    }

    @AfterAll
    static void stopSqs() {
        sqs.close();
        sqsServer.stopAndWait();
    }

    @BeforeEach
    void sdk() {
        otel = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build())
                .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
                .build();
        tracer = otel.getTracer("test");
        tracing = OutboxTracing.create(otel);
    }

    @Test
    void oneTraceFromTheRequestThroughAppendAndPublishToTheConsumerOfTheSqsMessage() throws Exception {
        OutboxTable table = OutboxTable.named(TestDatabase.uniqueName("otel"));
        OutboxSchema.create(db, table);
        String queueUrl = sqs.createQueue(b -> b.queueName("orders-" + UUID.randomUUID().toString().substring(0, 8)))
                .queueUrl();
        String queueName = queueUrl.substring(queueUrl.lastIndexOf('/') + 1);
        Outbox outbox = tracing.outbox(JdbcOutbox.create(table));

        // The request: a server span, current while the transaction appends.
        Span request = tracer.spanBuilder("POST /orders").setSpanKind(SpanKind.SERVER).startSpan();
        Event placed = Event.builder().aggregate("order", "42").type("order_placed").payload("{\"id\":42}")
                .header("tenant", "acme").build();
        try (Scope ignored = request.makeCurrent()) {
            commit(db, c -> outbox.append(c, placed));
        } finally {
            request.end();
        }
        String traceId = request.getSpanContext().getTraceId();
        Map<String, String> stored = storedHeaders(table, placed.id());
        assertEquals("00-" + traceId + "-" + request.getSpanContext().getSpanId() + "-"
                + request.getSpanContext().getTraceFlags().asHex(), stored.get("traceparent"),
                "the row carries the request's context: " + stored);
        assertEquals("acme", stored.get("tenant"));

        // The relay publishes through the traced SQS publisher.
        Publisher publisher = tracing.publisher(SqsPublisher.builder().client(sqs).queueUrl(queueUrl).build());
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).build()) {
            assertEquals(1, relay.runOnce().published());
        }
        SpanData send = only(SpanKind.PRODUCER);
        assertEquals("send " + queueName, send.getName());
        assertEquals(traceId, send.getTraceId());
        assertEquals(request.getSpanContext().getSpanId(), send.getParentSpanId(), "parented by the appending span");
        assertEquals("aws_sqs", send.getAttributes().get(AttributeKey.stringKey("messaging.system")));
        assertEquals(queueName, send.getAttributes().get(AttributeKey.stringKey("messaging.destination.name")));
        assertEquals("send", send.getAttributes().get(AttributeKey.stringKey("messaging.operation.type")));
        assertEquals(placed.id().toString(), send.getAttributes().get(AttributeKey.stringKey("outbox.event.id")));
        assertEquals("published", send.getAttributes().get(AttributeKey.stringKey("outbox.outcome")));
        assertEquals(StatusCode.UNSET, send.getStatus().getStatusCode());

        // The consumer: receives the message, extracts the context from its attributes, processes in a child span.
        List<Message> received = sqs.receiveMessage(ReceiveMessageRequest.builder().queueUrl(queueUrl)
                .waitTimeSeconds(2).messageAttributeNames("All").messageSystemAttributeNamesWithStrings("All")
                .build()).messages();
        assertEquals(1, received.size());
        Message message = received.get(0);
        assertEquals("{\"id\":42}", message.body());
        Map<String, String> attributes = new HashMap<>();
        for (Map.Entry<String, MessageAttributeValue> a : message.messageAttributes().entrySet()) {
            attributes.put(a.getKey(), a.getValue().stringValue());
        }
        assertEquals("00-" + traceId + "-" + send.getSpanId() + "-" + send.getSpanContext().getTraceFlags().asHex(),
                attributes.get("traceparent"),
                "the message carries the PRODUCER span, not the request: " + attributes);
        assertEquals("acme", attributes.get("tenant"));
        assertEquals("Root=1-" + traceId.substring(0, 8) + "-" + traceId.substring(8) + ";Parent=" + send.getSpanId()
                + ";Sampled=1", message.attributes().get(MessageSystemAttributeName.AWS_TRACE_HEADER),
                "AWSTraceHeader in X-Ray format: " + message.attributesAsStrings());
        Context extracted = tracing.extract(attributes);
        Span process = tracer.spanBuilder("process " + queueName).setSpanKind(SpanKind.CONSUMER).setParent(extracted)
                .startSpan();
        process.end();

        SpanData consumer = only(SpanKind.CONSUMER);
        assertEquals(traceId, consumer.getTraceId());
        assertEquals(send.getSpanId(), consumer.getParentSpanId());
        assertEquals(3, spans.getFinishedSpanItems().size(), "request, send, process: " + spans.getFinishedSpanItems());
        assertTrue(spans.getFinishedSpanItems().stream().allMatch(s -> s.getTraceId().equals(traceId)), "one trace");
    }

    @Test
    void aRejectedOrThrowingPublishEndsItsSpanWithAnError() {
        RecordingPublisher recording = new RecordingPublisher(e -> e.type().equals("bad")
                ? PublishOutcome.rejected("too big") : PublishOutcome.published());
        Publisher traced = tracing.publisher(recording);
        List<PublishOutcome> outcomes = traced.publish(List.of(Event.of("order", "1", "bad", "{}"),
                Event.of("order", "2", "good", "{}")));
        assertFalse(outcomes.get(0).isPublished());
        List<SpanData> finished = spans.getFinishedSpanItems();
        assertEquals(2, finished.size());
        SpanData bad = finished.stream().filter(s -> "bad".equals(s.getAttributes()
                .get(AttributeKey.stringKey("outbox.event.type")))).findFirst().orElseThrow();
        assertEquals(StatusCode.ERROR, bad.getStatus().getStatusCode());
        assertEquals("too big", bad.getStatus().getDescription());
        assertEquals("rejected", bad.getAttributes().get(AttributeKey.stringKey("outbox.outcome")));
        assertEquals(2L, bad.getAttributes().get(AttributeKey.longKey("messaging.batch.message_count")));
        assertEquals("unknown", bad.getAttributes().get(AttributeKey.stringKey("messaging.system")),
                "a publisher that names no destination");
        assertTrue(recording.deliveries().get(0).headers().containsKey("traceparent"),
                "the publisher is handed the span's context");

        spans.reset();
        Publisher throwing = tracing.publisher(events -> {
            throw new IllegalStateException("broker down");
        });
        assertThrows(IllegalStateException.class, () -> throwing.publish(List.of(Event.of("order", "1", "x", "{}"))));
        SpanData threw = spans.getFinishedSpanItems().get(0);
        assertEquals(StatusCode.ERROR, threw.getStatus().getStatusCode());
        assertEquals(1, threw.getEvents().size(), "the exception is recorded");
    }

    @Test
    void appendWithoutASpanOrWithoutRoomForTheContextWritesTheEventAsGiven() throws Exception {
        Event plain = Event.of("order", "1", "placed", "{}");
        assertEquals(plain, tracing.withCurrentContext(plain), "no current span: unchanged");

        Map<String, String> full = new LinkedHashMap<>();
        for (int i = 0; i < Event.MAX_HEADERS; i++) {
            full.put("h" + i, "v");
        }
        Event crowded = Event.builder().aggregate("order", "1").type("placed").payload("{}").headers(full).build();
        Event own = Event.builder().aggregate("order", "1").type("placed").payload("{}")
                .header("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").build();
        Span span = tracer.spanBuilder("request").startSpan();
        try (Scope ignored = span.makeCurrent()) {
            assertEquals(crowded, tracing.withCurrentContext(crowded), "no room for traceparent: appended without it");
            assertEquals(own, tracing.withCurrentContext(own), "the caller's own context is kept");
            Event traced = tracing.withCurrentContext(plain);
            assertEquals(plain.id(), traced.id());
            assertNotNull(traced.headers().get("traceparent"));
            assertNull(traced.headers().get("tracestate"), "no trace state, no header");
        } finally {
            span.end();
        }
        assertThrows(InvalidConfigurationException.class, () -> OutboxTracing.create(null));
        assertThrows(InvalidConfigurationException.class, () -> tracing.outbox(null));
        assertThrows(InvalidConfigurationException.class, () -> tracing.publisher(null));
    }

    private SpanData only(SpanKind kind) {
        List<SpanData> of = spans.getFinishedSpanItems().stream().filter(s -> s.getKind() == kind).toList();
        assertEquals(1, of.size(), kind + " spans: " + spans.getFinishedSpanItems());
        return of.get(0);
    }

    private static Map<String, String> storedHeaders(OutboxTable table, UUID id) throws Exception {
        try (var c = db.getConnection();
             PreparedStatement s = c.prepareStatement("SELECT key, value FROM " + table
                     + ", jsonb_each_text(headers) WHERE id = ?")) {
            s.setObject(1, id);
            try (ResultSet rs = s.executeQuery()) {
                Map<String, String> headers = new HashMap<>();
                while (rs.next()) {
                    headers.put(rs.getString(1), rs.getString(2));
                }
                return headers;
            }
        }
    }
}
