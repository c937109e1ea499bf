package dev.outbox.opentelemetry;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.InvalidEventException;
import dev.outbox.Outbox;
import dev.outbox.spi.Publisher;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OpenTelemetry tracing from the request that appends an event to the consumer that receives it. Two wrappers, each
 * set up once:
 *
 * <pre>{@code
 * OutboxTracing tracing = OutboxTracing.create(openTelemetry);
 * Outbox outbox = tracing.outbox(JdbcOutbox.create(table));          // appends carry the current trace context
 * Publisher publisher = tracing.publisher(Publishers.load(settings)); // each publish is a PRODUCER span
 * JdbcRelay relay = JdbcRelay.builder(dataSource, publisher).table(table).build();
 * }</pre>
 *
 * <p><b>At append</b> the context current on the appending thread is written into the event's headers with the
 * propagator (W3C Trace Context by default: {@code traceparent}, and {@code tracestate} when there is one), so it is
 * committed with the event. An append without a current span, or with headers already carrying the propagator's
 * fields, is written as given. Should the context not fit the event (it already has the most headers an event may
 * carry), the event is appended without it and a warning says so once: tracing never fails an append.
 *
 * <p><b>At publish</b> each event gets a span of kind PRODUCER named {@code send <destination>}, parented by the
 * appending span (so request, publish and consumer form one trace; the gap before the publish shows how long the event
 * waited), with the attributes of OpenTelemetry's messaging conventions: {@code messaging.system} from
 * {@link Publisher#destination} ({@code aws_sqs}, {@code aws_eventbridge}), {@code messaging.destination.name},
 * {@code messaging.operation.name} and {@code messaging.operation.type} {@code send}, and
 * {@code messaging.batch.message_count} when the call carried several events; and the outbox's own
 * {@code outbox.event.id}, {@code outbox.event.type}, {@code outbox.aggregate.type}, {@code outbox.outcome}. The
 * span's context replaces the appending one in the event's headers before the publisher sees it, so the message
 * carries the PRODUCER span: the SQS publisher as a {@code traceparent} message attribute and the
 * {@code AWSTraceHeader} system attribute, the EventBridge publisher in {@code TraceHeader}. A span ends when the
 * publisher answers, with status ERROR and the reason when the event was not published.
 *
 * <p>Consumers continue the trace with {@link #extract(Map)} on the message's attributes.
 */
public final class OutboxTracing {

    private static final Logger log = LoggerFactory.getLogger(OutboxTracing.class);
    /** The instrumentation scope name of the spans. */
    public static final String INSTRUMENTATION_NAME = "dev.outbox";

    static final TextMapGetter<Map<String, String>> GETTER = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Map<String, String> carrier) {
            return carrier.keySet();
        }

        @Override
        public String get(Map<String, String> carrier, String key) {
            return carrier == null ? null : carrier.get(key);
        }
    };
    static final TextMapSetter<Map<String, String>> SETTER = (carrier, key, value) -> {
        if (carrier != null) {
            carrier.put(key, value);
        }
    };

    private final Tracer tracer;
    private final TextMapPropagator propagator;
    private final Collection<String> fields;
    private final AtomicBoolean warnedUnfit = new AtomicBoolean();

    private OutboxTracing(Builder b) {
        this.tracer = b.openTelemetry.getTracer(INSTRUMENTATION_NAME);
        this.propagator = b.propagator;
        this.fields = b.propagator.fields();
    }

    /**
     * Tracing with W3C Trace Context propagation.
     *
     * @param openTelemetry where spans go
     * @return the tracing
     * @throws InvalidConfigurationException when {@code openTelemetry} is null
     */
    public static OutboxTracing create(OpenTelemetry openTelemetry) {
        return builder(openTelemetry).build();
    }

    /**
     * @param openTelemetry where spans go
     * @return a builder; the propagator defaults to W3C Trace Context
     */
    public static Builder builder(OpenTelemetry openTelemetry) {
        return new Builder(openTelemetry);
    }

    /**
     * An outbox that writes the current trace context into each event's headers, then appends with {@code outbox}.
     *
     * @param outbox the outbox to append with
     * @return the tracing outbox, thread-safe as {@code outbox} is
     * @throws InvalidConfigurationException when {@code outbox} is null
     */
    public Outbox outbox(Outbox outbox) {
        if (outbox == null) {
            throw new InvalidConfigurationException("outbox must not be null");
        }
        return new TracingOutbox(outbox, this);
    }

    /**
     * A publisher that wraps every event it is handed in a PRODUCER span and hands the span's context on in the event's
     * headers to {@code publisher}.
     *
     * @param publisher the publisher to send with; closing the wrapper closes it
     * @return the tracing publisher, with {@code publisher}'s call limits and destinations
     * @throws InvalidConfigurationException when {@code publisher} is null
     */
    public Publisher publisher(Publisher publisher) {
        if (publisher == null) {
            throw new InvalidConfigurationException("publisher must not be null");
        }
        return new TracingPublisher(publisher, tracer, this);
    }

    /**
     * {@code event} with the trace context current on this thread in its headers: what {@link #outbox} appends. Useful
     * where events are written otherwise (plain SQL from {@code OutboxStatements}).
     *
     * @param event the event
     * @return {@code event} with the context, or {@code event} itself when there is no current span, its headers
     *         already carry the context's fields, or the context does not fit it
     */
    public Event withCurrentContext(Event event) {
        Context current = Context.current();
        if (!Span.fromContext(current).getSpanContext().isValid() || carriesContext(event)) {
            return event;
        }
        Map<String, String> injected = new LinkedHashMap<>(4);
        propagator.inject(current, injected, SETTER);
        try {
            return event.withHeaders(injected);
        } catch (InvalidEventException e) {
            unfit(event, e);
            return event;
        }
    }

    /**
     * The context a message carries, for a consumer to parent its span with.
     *
     * @param headers the message's headers or attributes as strings (for SQS, each message attribute's string value
     *        by name)
     * @return the extracted context on top of the root context; without trace headers, the root context
     */
    public Context extract(Map<String, String> headers) {
        return propagator.extract(Context.root(), headers, GETTER);
    }

    TextMapPropagator propagator() {
        return propagator;
    }

    /** @return {@code event} carrying {@code context} in place of whatever context its headers held */
    Event carrying(Event event, Context context) {
        Map<String, String> headers = new LinkedHashMap<>(event.headers());
        headers.keySet().removeAll(fields);
        propagator.inject(context, headers, SETTER);
        if (headers.equals(event.headers())) {
            return event;
        }
        try {
            return new Event(event.id(), event.aggregateType(), event.aggregateId(), event.type(), event.payload(),
                    headers, event.occurredAt());
        } catch (InvalidEventException e) {
            unfit(event, e);
            return event;
        }
    }

    private boolean carriesContext(Event event) {
        for (String field : fields) {
            if (event.headers().containsKey(field)) {
                return true;
            }
        }
        return false;
    }

    private void unfit(Event event, InvalidEventException e) {
        if (warnedUnfit.compareAndSet(false, true)) {
            log.warn("event {} ({}) cannot carry the trace context and goes without it: {}; further events like it"
                    + " are logged at DEBUG", event.id(), event.type(), e.getMessage());
        } else {
            log.debug("event {} ({}) cannot carry the trace context: {}", event.id(), event.type(), e.getMessage());
        }
    }

    /** Settings of {@link OutboxTracing}; checked in {@link #build()}. */
    public static final class Builder {
        private final OpenTelemetry openTelemetry;
        private TextMapPropagator propagator = W3CTraceContextPropagator.getInstance();

        private Builder(OpenTelemetry openTelemetry) {
            this.openTelemetry = openTelemetry;
        }

        /**
         * How the context is written into and read from event headers. The default, W3C Trace Context, is what the
         * bundled publishers translate for AWS; another propagator's fields must be valid event header names
         * (letters, digits, {@code - _ .}).
         *
         * @param propagator the propagator, such as {@code openTelemetry.getPropagators().getTextMapPropagator()}
         * @return this builder
         */
        public Builder propagator(TextMapPropagator propagator) {
            this.propagator = propagator;
            return this;
        }

        /**
         * @return the tracing
         * @throws InvalidConfigurationException when OpenTelemetry or the propagator is null
         */
        public OutboxTracing build() {
            if (openTelemetry == null) {
                throw new InvalidConfigurationException("openTelemetry must not be null");
            }
            if (propagator == null) {
                throw new InvalidConfigurationException("propagator must not be null");
            }
            return new OutboxTracing(this);
        }
    }
}
