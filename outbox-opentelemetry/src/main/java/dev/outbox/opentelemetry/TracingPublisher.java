package dev.outbox.opentelemetry;

import dev.outbox.Event;
import dev.outbox.spi.CallLimits;
import dev.outbox.spi.Destination;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@link OutboxTracing#publisher}: one PRODUCER span per event, its context handed on in the event's headers. */
final class TracingPublisher implements Publisher {

    static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("messaging.system");
    static final AttributeKey<String> DESTINATION = AttributeKey.stringKey("messaging.destination.name");
    static final AttributeKey<String> OPERATION_NAME = AttributeKey.stringKey("messaging.operation.name");
    static final AttributeKey<String> OPERATION_TYPE = AttributeKey.stringKey("messaging.operation.type");
    static final AttributeKey<Long> BATCH_COUNT = AttributeKey.longKey("messaging.batch.message_count");
    static final AttributeKey<String> EVENT_ID = AttributeKey.stringKey("outbox.event.id");
    static final AttributeKey<String> EVENT_TYPE = AttributeKey.stringKey("outbox.event.type");
    static final AttributeKey<String> AGGREGATE_TYPE = AttributeKey.stringKey("outbox.aggregate.type");
    static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("outbox.outcome");

    private final Publisher publisher;
    private final Tracer tracer;
    private final OutboxTracing tracing;

    TracingPublisher(Publisher publisher, Tracer tracer, OutboxTracing tracing) {
        this.publisher = publisher;
        this.tracer = tracer;
        this.tracing = tracing;
    }

    @Override
    public List<PublishOutcome> publish(List<Event> events) {
        List<Span> spans = new ArrayList<>(events.size());
        List<Event> carried = new ArrayList<>(events.size());
        for (Event event : events) {
            Destination destination = publisher.destination(event);
            Context appended = tracing.extract(event.headers());
            var builder = tracer.spanBuilder("send " + destination.name())
                    .setSpanKind(SpanKind.PRODUCER)
                    .setParent(appended)
                    .setAttribute(SYSTEM, destination.system())
                    .setAttribute(DESTINATION, destination.name())
                    .setAttribute(OPERATION_NAME, "send")
                    .setAttribute(OPERATION_TYPE, "send")
                    .setAttribute(EVENT_ID, event.id().toString())
                    .setAttribute(EVENT_TYPE, event.type())
                    .setAttribute(AGGREGATE_TYPE, event.aggregateType());
            if (events.size() > 1) {
                builder.setAttribute(BATCH_COUNT, (long) events.size());
            }
            Span span = builder.startSpan();
            spans.add(span);
            carried.add(tracing.carrying(event, appended.with(span)));
        }
        List<PublishOutcome> outcomes;
        try (Scope scope = spans.size() == 1 ? spans.get(0).makeCurrent() : Scope.noop()) {
            outcomes = publisher.publish(carried);
        } catch (RuntimeException | Error e) {
            for (Span span : spans) {
                span.recordException(e);
                span.setStatus(StatusCode.ERROR, "publisher threw " + e);
                span.setAttribute(OUTCOME, "threw");
                span.end();
            }
            throw e;
        }
        for (int i = 0; i < spans.size(); i++) {
            Span span = spans.get(i);
            PublishOutcome outcome = outcomes != null && outcomes.size() == spans.size() ? outcomes.get(i) : null;
            if (outcome == null) {
                span.setStatus(StatusCode.ERROR, "the publisher gave no outcome for this event");
            } else {
                span.setAttribute(OUTCOME, outcome.status().name().toLowerCase(Locale.ROOT));
                if (outcome.status() != PublishOutcome.Status.PUBLISHED) {
                    span.setStatus(StatusCode.ERROR, outcome.reason());
                }
            }
            span.end();
        }
        return outcomes;
    }

    @Override
    public CallLimits callLimits() {
        return publisher.callLimits();
    }

    @Override
    public Destination destination(Event event) {
        return publisher.destination(event);
    }

    @Override
    public void close() {
        publisher.close();
    }

    @Override
    public String toString() {
        return "traced " + publisher;
    }
}
