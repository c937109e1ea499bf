package dev.outbox.eventbridge;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.spi.Destination;
import dev.outbox.spi.TraceHeaders;
import dev.outbox.spi.BrokerCalls;
import dev.outbox.spi.BrokerErrors;
import dev.outbox.spi.CallLimits;
import dev.outbox.spi.CallTimeouts;
import dev.outbox.spi.Deadline;
import dev.outbox.spi.JsonStrings;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.eventbridge.EventBridgeClient;
import software.amazon.awssdk.services.eventbridge.EventBridgeClientBuilder;
import software.amazon.awssdk.services.eventbridge.model.PutEventsRequest;
import software.amazon.awssdk.services.eventbridge.model.PutEventsRequestEntry;
import software.amazon.awssdk.services.eventbridge.model.PutEventsResponse;
import software.amazon.awssdk.services.eventbridge.model.PutEventsResultEntry;

/**
 * Publishes events to an Amazon EventBridge bus with {@code PutEvents}.
 *
 * <p>Each call carries up to 10 entries whose sizes, counted as AWS documents it (14 bytes for {@code Time},
 * plus the UTF-8 bytes of {@code Source}, {@code DetailType}, {@code Detail} and each {@code Resources} entry),
 * add up to less than {@code maxEntryBytes} (1 MiB by default, EventBridge's limit since January 2026); a single
 * entry at or over that is rejected without a call.
 *
 * <p>Entry: {@code Source} is the {@code source} setting; {@code DetailType} is the event type, or the
 * {@code detailType} setting; {@code Time} is the event's occurred-at; {@code EventBusName} is the
 * {@code eventBusName} setting; {@code Resources} come from the header named by {@code resourcesHeader}
 * (comma-separated), if set. {@code Detail} is the payload, which EventBridge requires to be a JSON object, or,
 * with {@code envelope=true}, an object carrying the event's ids, type, time and headers with the payload
 * (any JSON) under {@code payload}. {@code TraceHeader} is the event's W3C {@code traceparent} header in X-Ray's
 * format ({@link TraceHeaders#xray}), when it has one, so that the trace continues into the bus's targets.
 *
 * <p>Per-entry failures become per-event outcomes, classified by {@link BrokerErrors} as for every publisher:
 * {@code MalformedDetail}, {@code InvalidArgument} and validation errors are rejected for good; a throttled entry
 * ({@code ThrottlingException}, routine at a PutEvents quota) is throttled, which spends nothing and slows the relay's
 * calls to the bus; internal failures make the bus unavailable; anything unknown is retried. The SDK's own retries for
 * throttled calls apply first.
 */
public final class EventBridgePublisher implements Publisher {

    /** Most entries in one PutEvents call. */
    public static final int MAX_ENTRIES = 10;
    /** The PutEvents request size limit, in bytes as AWS counts entries. */
    public static final int MAX_REQUEST_BYTES = 1024 * 1024;

    private static final com.fasterxml.jackson.core.JsonFactory JSON = new com.fasterxml.jackson.core.JsonFactory();
    private static final Logger log = LoggerFactory.getLogger(EventBridgePublisher.class);
    private static final int TIME_BYTES = 14;
    private final EventBridgeClient client;
    private final boolean ownsClient;
    private final String source;
    private final String eventBusName;
    private final Destination destination;
    private final String detailType;
    private final boolean envelope;
    private final String resourcesHeader;
    private final ExecutorService executor;
    private final CallLimits callLimits;
    private final int maxEntryBytes;
    private final BrokerCalls<PutEventsRequestEntry> calls;

    private EventBridgePublisher(Builder b) {
        this.source = b.source;
        this.eventBusName = b.eventBusName;
        this.destination = new Destination("aws_eventbridge", b.eventBusName);
        this.detailType = b.detailType;
        this.envelope = b.envelope;
        this.resourcesHeader = b.resourcesHeader;
        this.ownsClient = b.client == null;
        this.client = b.client != null ? b.client : b.newClient();
        this.executor = b.maxConcurrentCalls > 1 ? BrokerCalls.callThreads("outbox-eventbridge-call", b.maxConcurrentCalls) : null;
        this.maxEntryBytes = b.maxEntryBytes;
        this.callLimits = new CallLimits(MAX_ENTRIES * b.maxConcurrentCalls, 1,
                CallTimeouts.ofClient("eventbridge", client.serviceClientConfiguration().overrideConfiguration()
                        .apiCallTimeout(), ownsClient));
        this.calls = new BrokerCalls<>(MAX_ENTRIES, b.maxEntryBytes - 1, executor, false, callLimits.callTimeout());
    }

    /** @return a builder; {@code source} is required */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public List<PublishOutcome> publish(List<Event> events) {
        return calls.publish(events, this::prepare, this::send);
    }

    /**
     * {@inheritDoc}
     *
     * <p>{@value #MAX_ENTRIES} events per broker call times {@code maxConcurrentCalls} per publish call;
     * one event per aggregate, since PutEvents does not keep order within a call;
     * the call timeout of the client the publisher built, or of yours when it has one.
     */
    @Override
    public CallLimits callLimits() {
        return callLimits;
    }

    /**
     * {@inheritDoc}
     *
     * <p>System {@code aws_eventbridge} (OpenTelemetry's messaging conventions name no value for EventBridge; this one
     * follows their {@code aws_sqs} and {@code aws_sns}), the {@code eventBusName} setting as given.
     */
    @Override
    public Destination destination(Event event) {
        return destination;
    }

    /** Closes the SDK client if this publisher created it, and its call threads. */
    @Override
    public void close() {
        if (executor != null) {
            executor.shutdown();
        }
        if (ownsClient) {
            client.close();
        }
    }

    private BrokerCalls.Prepared<PutEventsRequestEntry> prepare(Event event) {
        String detail;
        if (envelope) {
            detail = envelope(event);
        } else if (!JsonStrings.isObject(event.payload())) {
            return BrokerCalls.Prepared.refused(PublishOutcome.rejected(
                    "EventBridge Detail must be a JSON object; this payload is not (use envelope=true to wrap it)"));
        } else {
            detail = event.payload();
        }
        String type = detailType != null ? detailType : event.type();
        List<String> resources = resources(event);
        long bytes = TIME_BYTES + utf8(source) + utf8(type) + utf8(detail);
        for (String r : resources) {
            bytes += utf8(r);
        }
        if (bytes >= maxEntryBytes) {
            return BrokerCalls.Prepared.refused(PublishOutcome.rejected("entry is " + bytes
                    + " bytes as EventBridge counts it, the limit is less than " + maxEntryBytes));
        }
        PutEventsRequestEntry.Builder entry = PutEventsRequestEntry.builder()
                .source(source)
                .detailType(type)
                .detail(detail)
                .time(event.occurredAt())
                .eventBusName(eventBusName);
        if (!resources.isEmpty()) {
            entry.resources(resources);
        }
        String xray = TraceHeaders.xray(event.headers());
        if (xray != null) {
            entry.traceHeader(xray);
        }
        return BrokerCalls.Prepared.entry(entry.build(), bytes);
    }

    private List<PublishOutcome> send(List<PutEventsRequestEntry> entries, Deadline deadline) {
        PutEventsRequest.Builder request = PutEventsRequest.builder().entries(entries);
        boolean cutShort = calls.cutShort(deadline);
        if (!deadline.isNone()) {
            // The whole publish keeps to the call timeout: this call gets what is left of it.
            request.overrideConfiguration(o -> o.apiCallTimeout(deadline.remaining()));
        }
        PutEventsResponse response;
        try {
            response = client.putEvents(request.build());
        } catch (AwsServiceException e) {
            String code = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
            BrokerErrors.Kind kind = BrokerErrors.classify(code, e.statusCode());
            if ((kind == BrokerErrors.Kind.CONTENT || kind == BrokerErrors.Kind.UNKNOWN) && entries.size() > 1) {
                log.info("EventBridge refused a call of {} entries ({}); resending them one at a time",
                        entries.size(), code);
                List<PublishOutcome> outcomes = new ArrayList<>(entries.size());
                for (PutEventsRequestEntry entry : entries) {
                    outcomes.add(calls.mayStart(deadline) ? send(List.of(entry), deadline).get(0) : calls.outOfTime());
                }
                return BrokerErrors.blameRefusedEntries(outcomes);
            }
            return Collections.nCopies(entries.size(), BrokerErrors.outcome("EventBridge", code, e.statusCode(),
                    e.awsErrorDetails() == null ? e.getMessage() : e.awsErrorDetails().errorMessage()));
        } catch (SdkException e) {
            return Collections.nCopies(entries.size(), BrokerErrors.noAnswer("EventBridge", e, cutShort));
        }
        List<PutEventsResultEntry> results = response.entries();
        if (results.size() != entries.size()) {
            return Collections.nCopies(entries.size(), PublishOutcome.retry("EventBridge returned " + results.size()
                    + " results for " + entries.size() + " entries"));
        }
        List<PublishOutcome> outcomes = new ArrayList<>(entries.size());
        for (PutEventsResultEntry result : results) {
            if (result.errorCode() == null) {
                outcomes.add(PublishOutcome.published());
                continue;
            }
            outcomes.add(BrokerErrors.outcome("EventBridge", result.errorCode(), 0, result.errorMessage()));
        }
        return outcomes;
    }

    private List<String> resources(Event event) {
        if (resourcesHeader == null) {
            return List.of();
        }
        String value = event.headers().get(resourcesHeader);
        if (value == null || value.isBlank()) {
            return List.of();
        }
        return Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    /** One generator writes the envelope; the payload goes in as its raw text, byte for byte. */
    private static String envelope(Event event) {
        java.io.StringWriter out = new java.io.StringWriter(event.payload().length() + 256);
        try (com.fasterxml.jackson.core.JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("eventId", event.id().toString());
            g.writeStringField("eventType", event.type());
            g.writeStringField("aggregateType", event.aggregateType());
            g.writeStringField("aggregateId", event.aggregateId());
            g.writeStringField("occurredAt", event.occurredAt().toString());
            g.writeObjectFieldStart("headers");
            for (java.util.Map.Entry<String, String> header : event.headers().entrySet()) {
                g.writeStringField(header.getKey(), header.getValue());
            }
            g.writeEndObject();
            g.writeFieldName("payload");
            g.writeRawValue(event.payload());
            g.writeEndObject();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e); // a StringWriter does not fail
        }
        return out.toString();
    }

    private static long utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    /** Configures an {@link EventBridgePublisher}; checked in {@link #build()}. */
    public static final class Builder {
        private String source;
        private String eventBusName = "default";
        private String detailType;
        private boolean envelope;
        private String resourcesHeader;
        private EventBridgeClient client;
        private Region region;
        private URI endpoint;
        private int maxConcurrentCalls = 4;
        private CallTimeouts timeouts = CallTimeouts.DEFAULT;
        private int maxEntryBytes = MAX_REQUEST_BYTES;

        private Builder() {
        }

        /**
         * The entries' {@code Source}, such as {@code com.example.orders}. Required.
         *
         * @param source the source
         * @return this builder
         */
        public Builder source(String source) {
            this.source = source;
            return this;
        }

        /**
         * The bus's name or ARN; {@code default} if not set.
         *
         * @param eventBusName the bus
         * @return this builder
         */
        public Builder eventBusName(String eventBusName) {
            this.eventBusName = eventBusName;
            return this;
        }

        /**
         * A fixed {@code DetailType} for every entry; the event's type if not set.
         *
         * @param detailType the detail type
         * @return this builder
         */
        public Builder detailType(String detailType) {
            this.detailType = detailType;
            return this;
        }

        /**
         * Wraps each payload in an envelope with the event's ids, type, time and headers; off by default.
         *
         * @param envelope whether to wrap payloads
         * @return this builder
         */
        public Builder envelope(boolean envelope) {
            this.envelope = envelope;
            return this;
        }

        /**
         * Names the header whose comma-separated value becomes the entry's {@code Resources}.
         *
         * @param resourcesHeader the header's name
         * @return this builder
         */
        public Builder resourcesHeader(String resourcesHeader) {
            this.resourcesHeader = resourcesHeader;
            return this;
        }

        /**
         * A client of yours; the publisher will not close it. Otherwise one is built from region and endpoint.
         *
         * @param client a client the publisher uses and does not close
         * @return this builder
         */
        public Builder client(EventBridgeClient client) {
            this.client = client;
            return this;
        }

        /**
         * Region of the client the publisher builds; default from the SDK's chain.
         *
         * @param region the AWS region
         * @return this builder
         */
        public Builder region(Region region) {
            this.region = region;
            return this;
        }

        /**
         * Endpoint override of the client the publisher builds.
         *
         * @param endpoint the endpoint
         * @return this builder
         */
        public Builder endpoint(URI endpoint) {
            this.endpoint = endpoint;
            return this;
        }

        /**
         * Calls of one batch sent at once: 1 (no threads started) to 64, default 4.
         *
         * @param maxConcurrentCalls 1 to 64
         * @return this builder
         */
        public Builder maxConcurrentCalls(int maxConcurrentCalls) {
            this.maxConcurrentCalls = maxConcurrentCalls;
            return this;
        }

        /**
         * Largest entry, and call, as EventBridge counts them: 1,024 to 1,048,576 bytes, default 1,048,576. EventBridge
         * raised its limit from 256 KB to 1 MB in January 2026; set 262144 where a bus or a consumer still expects
         * the old one.
         *
         * @param maxEntryBytes the limit in bytes
         * @return this builder
         */
        public Builder maxEntryBytes(int maxEntryBytes) {
            this.maxEntryBytes = maxEntryBytes;
            return this;
        }

        /**
         * Bounds on each call of the client the publisher builds: call and try timeouts and SDK tries; default
         * {@link CallTimeouts#DEFAULT} (10 s, 3 s, 2 tries). A client of yours keeps its own settings.
         *
         * @param timeouts the bounds
         * @return this builder
         */
        public Builder timeouts(CallTimeouts timeouts) {
            this.timeouts = timeouts;
            return this;
        }

        /**
         * @return a publisher, which the caller closes
         * @throws InvalidConfigurationException naming a missing or out-of-range setting
         */
        public EventBridgePublisher build() {
            checkText("source", source, true);
            checkText("eventBusName", eventBusName, true);
            checkText("detailType", detailType, false);
            checkText("resourcesHeader", resourcesHeader, false);
            if (timeouts == null) {
                throw new InvalidConfigurationException("eventbridge publisher: timeouts must not be null");
            }
            if (maxEntryBytes < 1024 || maxEntryBytes > MAX_REQUEST_BYTES) {
                throw new InvalidConfigurationException("eventbridge publisher: maxEntryBytes must be from 1024 to "
                        + MAX_REQUEST_BYTES + ", was " + maxEntryBytes);
            }
            BrokerCalls.checkConcurrentCalls("eventbridge publisher", maxConcurrentCalls);
            if (client != null && (region != null || endpoint != null)) {
                throw new InvalidConfigurationException(
                        "eventbridge publisher: give either a client or region/endpoint, not both");
            }
            return new EventBridgePublisher(this);
        }

        private static void checkText(String name, String value, boolean required) {
            if (value == null) {
                if (required) {
                    throw new InvalidConfigurationException("eventbridge publisher: " + name + " is required");
                }
                return;
            }
            if (value.isBlank() || value.length() > 256) {
                throw new InvalidConfigurationException("eventbridge publisher: " + name
                        + " must be 1 to 256 characters, was '" + value + "'");
            }
        }

        private EventBridgeClient newClient() {
            EventBridgeClientBuilder builder = EventBridgeClient.builder();
            if (region != null) {
                builder.region(region);
            }
            if (endpoint != null) {
                builder.endpointOverride(endpoint);
            }
            CallTimeouts t = timeouts;
            builder.overrideConfiguration(o -> o.apiCallTimeout(t.callTimeout()).apiCallAttemptTimeout(t.attemptTimeout())
                    .retryStrategy(r -> r.maxAttempts(t.maxAttempts())));
            try {
                return builder.build();
            } catch (SdkException e) {
                throw new InvalidConfigurationException("eventbridge publisher: cannot build the EventBridge client ("
                        + e.getMessage() + "); set the region setting or AWS_REGION", e);
            }
        }
    }
}
