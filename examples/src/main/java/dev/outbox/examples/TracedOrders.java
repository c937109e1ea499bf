package dev.outbox.examples;

import dev.outbox.Event;
import dev.outbox.Outbox;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.opentelemetry.OutboxTracing;
import dev.outbox.spi.Publisher;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import javax.sql.DataSource;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;

/**
 * One trace from the web request that places an order, through the outbox, to the consumer of the SQS message:
 * tracing is enabled once on the outbox and once on the publisher; the request handler does nothing more than run
 * under its server span, as any instrumented web framework arranges.
 */
final class TracedOrders {

    private final DataSource dataSource;
    private final OutboxTable table;
    private final OutboxTracing tracing;
    private final Outbox outbox;
    private final Tracer tracer;

    TracedOrders(DataSource dataSource, OutboxTable table, OpenTelemetry openTelemetry) {
        this.dataSource = dataSource;
        this.table = table;
        this.tracing = OutboxTracing.create(openTelemetry);
        this.outbox = tracing.outbox(JdbcOutbox.create(table)); // appends carry the current trace context
        this.tracer = openTelemetry.getTracer("shop");
    }

    /** The request handler, under the server span a web framework would start. */
    void placeOrder(String orderId) throws SQLException {
        Span request = tracer.spanBuilder("POST /orders").setSpanKind(SpanKind.SERVER).startSpan();
        try (Scope ignored = request.makeCurrent(); Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            outbox.append(c, Event.of("order", orderId, "order_placed", "{\"order_id\":\"" + orderId + "\"}"));
            c.commit();
        } finally {
            request.end();
        }
    }

    /** The relay, its publisher wrapped once: each publish is a PRODUCER span whose context the message carries. */
    JdbcRelay relay(Publisher publisher) {
        return JdbcRelay.builder(dataSource, tracing.publisher(publisher)).table(table).build();
    }

    /** The consumer continues the trace from the message's attributes. */
    void consume(Message message, String queue) {
        Map<String, String> attributes = new HashMap<>();
        for (Map.Entry<String, MessageAttributeValue> a : message.messageAttributes().entrySet()) {
            attributes.put(a.getKey(), a.getValue().stringValue());
        }
        Context parent = tracing.extract(attributes);
        Span process = tracer.spanBuilder("process " + queue).setSpanKind(SpanKind.CONSUMER).setParent(parent)
                .startSpan();
        try (Scope ignored = process.makeCurrent()) {
            // handle the order
        } finally {
            process.end();
        }
    }
}
