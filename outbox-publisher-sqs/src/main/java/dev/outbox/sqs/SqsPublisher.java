package dev.outbox.sqs;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.spi.BrokerCalls;
import dev.outbox.spi.BrokerErrors;
import dev.outbox.spi.CallLimits;
import dev.outbox.spi.CallTimeouts;
import dev.outbox.spi.Deadline;
import dev.outbox.spi.JsonStrings;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import dev.outbox.spi.Destination;
import dev.outbox.spi.TraceHeaders;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.SqsClientBuilder;
import software.amazon.awssdk.services.sqs.model.BatchResultErrorEntry;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeNameForSends;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeValue;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequest;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResponse;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResultEntry;

/**
 * Publishes events to one Amazon SQS queue with {@code SendMessageBatch}.
 *
 * <p>Each call carries up to 10 messages and at most {@link Builder#maxMessageBytes} bytes in all (SQS counts
 * the body plus every attribute's name, type and value; the limit is 1 MiB since August 2025). A message that
 * alone is larger is rejected without a call. The message body is the payload. Attributes:
 * {@code outbox-event-id}, {@code outbox-event-type}, {@code outbox-aggregate-type},
 * {@code outbox-aggregate-id}, then each header under its own name. SQS allows 10 attributes per message,
 * so when an event has more than 6 headers (or an empty header value, which SQS refuses) its headers travel as one
 * JSON object in the {@code outbox-headers} attribute instead, all but the W3C trace context
 * ({@code traceparent}, {@code tracestate}), which keeps attributes of its own so that consumers' tracing finds it.
 * An event with a valid {@code traceparent} header also gets the {@code AWSTraceHeader} system attribute, the same
 * context in X-Ray's format ({@link TraceHeaders#xray}), which counts against neither the attributes nor the size.
 *
 * <p>On a FIFO queue (URL ending in {@code .fifo}) the message group is the aggregate, so SQS keeps each
 * aggregate's order, and the deduplication id is the event id, so an event re-sent after a relay crash is
 * dropped by SQS within its 5-minute deduplication window.
 *
 * <p>Errors are classified by {@link BrokerErrors}, as for every publisher: entries SQS refuses for their content are
 * rejected with SQS's code and message; throttling spends no attempt and slows the relay's calls to the queue; server
 * errors, network failures and permission or configuration errors (access denied, expired token, unknown queue, KMS)
 * make the queue unavailable, which spends no attempt and pauses the relay's calls to this queue only; other codes are
 * retried.
 */
public final class SqsPublisher implements Publisher {

    /** Most entries SQS takes in one SendMessageBatch call. */
    public static final int MAX_ENTRIES = 10;
    /** SQS's limit on one message and on one call's total, in bytes. */
    public static final int MAX_MESSAGE_BYTES = 1024 * 1024;
    /** Headers carried as separate attributes; beyond this they are packed into {@code outbox-headers}. */
    public static final int MAX_HEADER_ATTRIBUTES = 6;

    private static final Logger log = LoggerFactory.getLogger(SqsPublisher.class);
    private static final String STRING = "String";

    private final SqsClient client;
    private final boolean ownsClient;
    private final String queueUrl;
    private final boolean fifo;
    private final ExecutorService executor;
    private final CallLimits callLimits;
    private final BrokerCalls<SendMessageBatchRequestEntry> calls;
    private final int maxMessageBytes;
    private final Destination destination;

    private SqsPublisher(Builder b) {
        this.queueUrl = b.queueUrl;
        this.fifo = b.queueUrl.endsWith(".fifo");
        this.ownsClient = b.client == null;
        this.client = b.client != null ? b.client : b.newClient();
        this.executor = b.maxConcurrentCalls > 1 ? BrokerCalls.callThreads("outbox-sqs-call", b.maxConcurrentCalls) : null;
        this.callLimits = new CallLimits(MAX_ENTRIES * b.maxConcurrentCalls, fifo ? MAX_ENTRIES : 1,
                CallTimeouts.ofClient("sqs", client.serviceClientConfiguration().overrideConfiguration()
                        .apiCallTimeout(), ownsClient));
        this.calls = new BrokerCalls<>(MAX_ENTRIES, b.maxMessageBytes, executor, fifo, callLimits.callTimeout());
        this.maxMessageBytes = b.maxMessageBytes;
        String queueName = b.queueUrl.replaceAll("/+$", "");
        this.destination = new Destination("aws_sqs", queueName.substring(queueName.lastIndexOf('/') + 1));
    }

    /** @return a builder; {@code queueUrl} is required */
    public static Builder builder() {
        return new Builder();
    }

    /** @return true when the queue is FIFO and messages carry group and deduplication ids */
    public boolean fifo() {
        return fifo;
    }

    @Override
    public List<PublishOutcome> publish(List<Event> events) {
        return calls.publish(events, this::prepare, this::send);
    }

    /**
     * {@inheritDoc}
     *
     * <p>{@value #MAX_ENTRIES} events per broker call times {@code maxConcurrentCalls} per publish call;
     * 10 consecutive events of one aggregate on a FIFO queue, which keeps their order within one call, else one;
     * the call timeout of the client the publisher built, or of yours when it has one.
     */
    @Override
    public CallLimits callLimits() {
        return callLimits;
    }

    /**
     * {@inheritDoc}
     *
     * <p>System {@code aws_sqs}, the queue's name (the last segment of its URL).
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

    private BrokerCalls.Prepared<SendMessageBatchRequestEntry> prepare(Event event) {
        Map<String, MessageAttributeValue> attributes = new LinkedHashMap<>();
        long bytes = utf8(event.payload());
        bytes += attribute(attributes, "outbox-event-id", event.id().toString());
        bytes += attribute(attributes, "outbox-event-type", event.type());
        bytes += attribute(attributes, "outbox-aggregate-type", event.aggregateType());
        bytes += attribute(attributes, "outbox-aggregate-id", event.aggregateId());
        Map<String, String> headers = event.headers();
        boolean separate = headers.size() <= MAX_HEADER_ATTRIBUTES && headers.values().stream().noneMatch(String::isEmpty);
        if (separate) {
            for (Map.Entry<String, String> h : headers.entrySet()) {
                bytes += attribute(attributes, h.getKey(), h.getValue());
            }
        } else {
            Map<String, String> packed = new LinkedHashMap<>(headers);
            for (String trace : List.of(TraceHeaders.TRACEPARENT, TraceHeaders.TRACESTATE)) {
                String value = packed.get(trace);
                if (value != null && !value.isEmpty()) {
                    packed.remove(trace);
                    bytes += attribute(attributes, trace, value);
                }
            }
            bytes += attribute(attributes, "outbox-headers", JsonStrings.object(packed));
        }
        if (bytes > maxMessageBytes) {
            return BrokerCalls.Prepared.refused(PublishOutcome.rejected("message is " + bytes
                    + " bytes with its attributes, SQS's limit is " + maxMessageBytes));
        }
        SendMessageBatchRequestEntry.Builder entry = SendMessageBatchRequestEntry.builder()
                .messageBody(event.payload())
                .messageAttributes(attributes);
        String xray = TraceHeaders.xray(headers);
        if (xray != null) {
            entry.messageSystemAttributes(Map.of(MessageSystemAttributeNameForSends.AWS_TRACE_HEADER,
                    MessageSystemAttributeValue.builder().dataType(STRING).stringValue(xray).build()));
        }
        if (fifo) {
            entry.messageGroupId(groupId(event)).messageDeduplicationId(event.id().toString());
        }
        return BrokerCalls.Prepared.entry(entry.build(), bytes);
    }

    private List<PublishOutcome> send(List<SendMessageBatchRequestEntry> entries, Deadline deadline) {
        List<SendMessageBatchRequestEntry> numbered = new ArrayList<>(entries.size());
        for (int i = 0; i < entries.size(); i++) {
            numbered.add(entries.get(i).toBuilder().id(Integer.toString(i)).build());
        }
        SendMessageBatchRequest.Builder request = SendMessageBatchRequest.builder().queueUrl(queueUrl).entries(numbered);
        boolean cutShort = calls.cutShort(deadline);
        if (!deadline.isNone()) {
            // The whole publish keeps to the call timeout: this call gets what is left of it.
            request.overrideConfiguration(o -> o.apiCallTimeout(deadline.remaining()));
        }
        SendMessageBatchResponse response;
        try {
            response = client.sendMessageBatch(request.build());
        } catch (AwsServiceException e) {
            String code = errorCode(e);
            BrokerErrors.Kind kind = BrokerErrors.classify(code, e.statusCode());
            if ((kind == BrokerErrors.Kind.CONTENT || kind == BrokerErrors.Kind.UNKNOWN) && entries.size() > 1) {
                // A whole-call refusal names no entry: send them one by one to find the one SQS refuses.
                log.info("SQS refused a call of {} entries ({}); resending them one at a time", entries.size(), code);
                List<PublishOutcome> outcomes = new ArrayList<>(entries.size());
                for (SendMessageBatchRequestEntry entry : entries) {
                    outcomes.add(calls.mayStart(deadline) ? send(List.of(entry), deadline).get(0) : calls.outOfTime());
                }
                return BrokerErrors.blameRefusedEntries(outcomes);
            }
            return Collections.nCopies(entries.size(), BrokerErrors.outcome("SQS", code, e.statusCode(),
                    e.awsErrorDetails() == null ? e.getMessage() : e.awsErrorDetails().errorMessage()));
        } catch (SdkException e) {
            return Collections.nCopies(entries.size(), BrokerErrors.noAnswer("SQS", e, cutShort));
        }
        PublishOutcome[] outcomes = new PublishOutcome[entries.size()];
        for (SendMessageBatchResultEntry ok : response.successful()) {
            outcomes[Integer.parseInt(ok.id())] = PublishOutcome.published();
        }
        for (BatchResultErrorEntry failed : response.failed()) {
            int i = Integer.parseInt(failed.id());
            outcomes[i] = BrokerErrors.outcome("SQS", failed.code(), 0, failed.message());
            String reason = outcomes[i].reason();
            log.debug("SQS refused entry for event {}: {}", entries.get(i).messageAttributes()
                    .get("outbox-event-id").stringValue(), reason);
        }
        for (int i = 0; i < outcomes.length; i++) {
            if (outcomes[i] == null) {
                outcomes[i] = PublishOutcome.retry("SQS reported no result for the entry");
            }
        }
        return List.of(outcomes);
    }

    private static long attribute(Map<String, MessageAttributeValue> attributes, String name, String value) {
        attributes.put(name, MessageAttributeValue.builder().dataType(STRING).stringValue(value).build());
        return utf8(name) + STRING.length() + utf8(value);
    }

    /** SQS group ids are at most 128 characters of ASCII punctuation and alphanumerics. */
    static String groupId(Event event) {
        String plain = event.aggregateType() + ":" + event.aggregateId();
        if (plain.length() <= 128 && plain.chars().allMatch(c -> c >= 0x21 && c <= 0x7E)) {
            return plain;
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(plain.getBytes(StandardCharsets.UTF_8));
            return "sha256:" + HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    private static String errorCode(AwsServiceException e) {
        return e.awsErrorDetails() == null ? e.getClass().getSimpleName() : e.awsErrorDetails().errorCode();
    }

    private static long utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    /** Configures an {@link SqsPublisher}; checked in {@link #build()}. */
    public static final class Builder {
        private String queueUrl;
        private SqsClient client;
        private Region region;
        private URI endpoint;
        private int maxConcurrentCalls = 4;
        private CallTimeouts timeouts = CallTimeouts.DEFAULT;
        private int maxMessageBytes = MAX_MESSAGE_BYTES;

        private Builder() {
        }

        /**
         * The queue's URL; a URL ending in {@code .fifo} selects FIFO behaviour. Required.
         *
         * @param queueUrl the queue's URL
         * @return this builder
         */
        public Builder queueUrl(String queueUrl) {
            this.queueUrl = queueUrl;
            return this;
        }

        /**
         * A client of yours; the publisher will not close it. Otherwise one is built from region and endpoint.
         *
         * @param client a client the publisher uses and does not close
         * @return this builder
         */
        public Builder client(SqsClient client) {
            this.client = client;
            return this;
        }

        /**
         * Region of the client the publisher builds; default from the SDK's chain (AWS_REGION, profile).
         *
         * @param region the AWS region
         * @return this builder
         */
        public Builder region(Region region) {
            this.region = region;
            return this;
        }

        /**
         * Endpoint override of the client the publisher builds (a local SQS-compatible server, a VPC endpoint).
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
         * Largest message and call, in bytes: 1,024 to 1,048,576 (the default, SQS's limit).
         *
         * @param maxMessageBytes the limit in bytes
         * @return this builder
         */
        public Builder maxMessageBytes(int maxMessageBytes) {
            this.maxMessageBytes = maxMessageBytes;
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
        public SqsPublisher build() {
            if (queueUrl == null || queueUrl.isBlank()) {
                throw new InvalidConfigurationException("sqs publisher: queueUrl is required");
            }
            try {
                URI uri = URI.create(queueUrl);
                if (!uri.isAbsolute() || uri.getHost() == null) {
                    throw new IllegalArgumentException("not absolute");
                }
            } catch (IllegalArgumentException e) {
                throw new InvalidConfigurationException("sqs publisher: queueUrl '" + queueUrl
                        + "' is not an absolute URL such as https://sqs.eu-west-1.amazonaws.com/123456789012/orders");
            }
            if (timeouts == null) {
                throw new InvalidConfigurationException("sqs publisher: timeouts must not be null");
            }
            BrokerCalls.checkConcurrentCalls("sqs publisher", maxConcurrentCalls);
            if (maxMessageBytes < 1024 || maxMessageBytes > MAX_MESSAGE_BYTES) {
                throw new InvalidConfigurationException("sqs publisher: maxMessageBytes must be from 1024 to "
                        + MAX_MESSAGE_BYTES + ", was " + maxMessageBytes);
            }
            if (client != null && (region != null || endpoint != null)) {
                throw new InvalidConfigurationException(
                        "sqs publisher: give either a client or region/endpoint, not both");
            }
            return new SqsPublisher(this);
        }

        private SqsClient newClient() {
            SqsClientBuilder builder = SqsClient.builder();
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
                throw new InvalidConfigurationException("sqs publisher: cannot build the SQS client (" + e.getMessage()
                        + "); set the region setting or AWS_REGION", e);
            }
        }
    }
}
