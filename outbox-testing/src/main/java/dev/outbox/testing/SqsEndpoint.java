package dev.outbox.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An in-process endpoint that speaks Amazon SQS's JSON protocol for {@code SendMessageBatch} to the real AWS SDK
 * client, for tests and benchmarks that need a broker to be slow, to throttle or to fail on purpose, which a real
 * SQS-compatible server will not do. Each queue answers as its {@link Behaviour} says (set or changed at any time),
 * and keeps every message it took. It computes the MD5 digests of body and attributes as SQS does, so the SDK's
 * checksum validation stays on. Any queue URL under {@link #endpoint()} is a queue; a name ending in {@code .fifo}
 * makes publishers treat it as FIFO.
 *
 * <pre>{@code
 * try (SqsEndpoint sqs = SqsEndpoint.start()) {
 *     sqs.behave("payments", SqsEndpoint.Behaviour.refusing(403, "AccessDenied"));
 *     Publisher p = Publishers.create("sqs", Map.of("queueUrl", sqs.queueUrl("payments"),
 *             "endpoint", sqs.endpoint().toString(), "region", "eu-west-1"));
 * }
 * }</pre>
 */
public final class SqsEndpoint implements AutoCloseable {

    /**
     * How a queue answers each call.
     *
     * @param latency how long it takes to answer
     * @param failStatus the HTTP status of a call it refuses as a whole, or 0 to take calls
     * @param failCode the error code of such a refusal, such as {@code AccessDenied}
     * @param throttled the share of a taken call's entries it fails, each on its own, as throttled (0 to 1)
     */
    public record Behaviour(Duration latency, int failStatus, String failCode, double throttled) {

        /** Takes every message at once. */
        public static final Behaviour NORMAL = new Behaviour(Duration.ZERO, 0, null, 0);

        /**
         * Checks the values.
         *
         * @param latency how long to answer, not negative
         * @param failStatus 0, or an HTTP error status from 400 to 599
         * @param failCode the error code when failStatus is set
         * @param throttled from 0 to 1
         */
        public Behaviour {
            if (latency == null || latency.isNegative()) {
                throw new IllegalArgumentException("latency must be zero or more, was " + latency);
            }
            if (failStatus != 0 && (failStatus < 400 || failStatus > 599 || failCode == null)) {
                throw new IllegalArgumentException("failStatus must be 0, or 400 to 599 with a code; was " + failStatus);
            }
            if (throttled < 0 || throttled > 1) {
                throw new IllegalArgumentException("throttled must be from 0 to 1, was " + throttled);
            }
        }

        /**
         * @param status the HTTP status, such as 403 or 503
         * @param code the error code, such as {@code AccessDenied} or {@code ServiceUnavailable}
         * @return refusing every call as a whole
         */
        public static Behaviour refusing(int status, String code) {
            return new Behaviour(Duration.ZERO, status, code, 0);
        }

        /**
         * @param share of each call's entries failed as throttled, at random
         * @return taking the rest
         */
        public static Behaviour throttling(double share) {
            return new Behaviour(Duration.ZERO, 0, null, share);
        }

        /**
         * @param latency how long each call takes
         * @return this behaviour, answering after {@code latency}
         */
        public Behaviour after(Duration latency) {
            return new Behaviour(latency, failStatus, failCode, throttled);
        }
    }

    /**
     * A message a queue took.
     *
     * @param body the message body
     * @param attributes its string attributes, by name
     * @param groupId its message group id, or null
     */
    public record Message(String body, Map<String, String> attributes, String groupId) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final ExecutorService threads = Executors.newFixedThreadPool(64, r -> {
        Thread t = new Thread(r, "sqs-endpoint");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, Behaviour> behaviours = new ConcurrentHashMap<>();
    private final Map<String, List<Message>> received = new ConcurrentHashMap<>();
    private final AtomicLong calls = new AtomicLong();
    private final AtomicLong messages = new AtomicLong();
    private final AtomicLong refusedCalls = new AtomicLong();
    private final AtomicLong throttledEntries = new AtomicLong();
    private volatile Behaviour defaultBehaviour = Behaviour.NORMAL;
    private volatile boolean keepMessages = true;

    private SqsEndpoint() throws IOException {
        // Without TCP_NODELAY the JDK's server writes headers and body in two packets and waits out the client's
        // delayed ACK: 40 ms more on every call.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 512);
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
    }

    /** @return a started endpoint on a free port of 127.0.0.1; close it after the test */
    public static SqsEndpoint start() {
        try {
            return new SqsEndpoint();
        } catch (IOException e) {
            throw new UncheckedIOException("could not start the SQS endpoint", e);
        }
    }

    /** @return the endpoint to give the SDK client or the publisher's {@code endpoint} setting */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /**
     * @param name the queue's name
     * @return the queue's URL on this endpoint
     */
    public String queueUrl(String name) {
        return endpoint() + "/000000000000/" + name;
    }

    /**
     * Sets how one queue answers from now on.
     *
     * @param queue the queue's name
     * @param behaviour how it answers
     * @return this endpoint
     */
    public SqsEndpoint behave(String queue, Behaviour behaviour) {
        behaviours.put(queue, behaviour);
        return this;
    }

    /**
     * Sets how every queue without a behaviour of its own answers from now on.
     *
     * @param behaviour how they answer
     * @return this endpoint
     */
    public SqsEndpoint behaveByDefault(Behaviour behaviour) {
        defaultBehaviour = behaviour;
        return this;
    }

    /**
     * Whether taken messages are kept for {@link #received}; on by default, off for long benchmarks.
     *
     * @param keep whether to keep them
     * @return this endpoint
     */
    public SqsEndpoint keepMessages(boolean keep) {
        keepMessages = keep;
        return this;
    }

    /**
     * @param queue the queue's name
     * @return the messages the queue took, in the order taken
     */
    public List<Message> received(String queue) {
        List<Message> messages = received.get(queue);
        if (messages == null) {
            return List.of();
        }
        synchronized (messages) {
            return List.copyOf(messages);
        }
    }

    /** @return calls answered, refused ones included */
    public long calls() {
        return calls.get();
    }

    /** @return messages taken, on every queue, whether kept or not */
    public long messages() {
        return messages.get();
    }

    /** @return calls refused as a whole */
    public long refusedCalls() {
        return refusedCalls.get();
    }

    /** @return entries failed as throttled */
    public long throttledEntries() {
        return throttledEntries.get();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange; InputStream in = exchange.getRequestBody()) {
            byte[] body = in.readAllBytes();
            String target = exchange.getRequestHeaders().getFirst("X-Amz-Target");
            calls.incrementAndGet();
            if (!"AmazonSQS.SendMessageBatch".equals(target)) {
                answer(exchange, 400, error("UnsupportedOperation", target + " is not served here"));
                return;
            }
            JsonNode request = JSON.readTree(body);
            String queueUrl = request.path("QueueUrl").asText();
            String queue = queueUrl.substring(queueUrl.lastIndexOf('/') + 1);
            Behaviour behaviour = behaviours.getOrDefault(queue, defaultBehaviour);
            if (!behaviour.latency().isZero()) {
                Thread.sleep(behaviour.latency().toMillis());
            }
            if (behaviour.failStatus() != 0) {
                refusedCalls.incrementAndGet();
                answer(exchange, behaviour.failStatus(), error(behaviour.failCode(), "refused by the test endpoint"));
                return;
            }
            answer(exchange, 200, sendMessageBatch(queue, request, behaviour));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void answer(HttpExchange exchange, int status, byte[] answer) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "application/x-amz-json-1.0");
        exchange.getResponseHeaders().set("x-amzn-RequestId", UUID.randomUUID().toString());
        exchange.sendResponseHeaders(status, answer.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(answer);
        }
    }

    private static byte[] error(String code, String message) throws IOException {
        ObjectNode error = JSON.createObjectNode();
        error.put("__type", "com.amazonaws.sqs#" + code);
        error.put("message", message);
        return JSON.writeValueAsBytes(error);
    }

    private byte[] sendMessageBatch(String queue, JsonNode request, Behaviour behaviour) throws IOException {
        ObjectNode response = JSON.createObjectNode();
        ArrayNode successful = response.putArray("Successful");
        ArrayNode failed = response.putArray("Failed");
        List<Message> taken = new ArrayList<>();
        for (JsonNode entry : request.path("Entries")) {
            if (behaviour.throttled() > 0 && ThreadLocalRandom.current().nextDouble() < behaviour.throttled()) {
                throttledEntries.incrementAndGet();
                ObjectNode no = failed.addObject();
                no.put("Id", entry.path("Id").asText());
                no.put("SenderFault", false);
                no.put("Code", "ThrottlingException");
                no.put("Message", "Rate exceeded (test endpoint)");
                continue;
            }
            String body = entry.path("MessageBody").asText();
            ObjectNode ok = successful.addObject();
            ok.put("Id", entry.path("Id").asText());
            ok.put("MessageId", UUID.randomUUID().toString());
            ok.put("MD5OfMessageBody", md5(body.getBytes(StandardCharsets.UTF_8)));
            JsonNode attributes = entry.path("MessageAttributes");
            Map<String, String> values = new LinkedHashMap<>();
            if (attributes.isObject() && attributes.size() > 0) {
                ok.put("MD5OfMessageAttributes", attributesMd5(attributes));
                attributes.fields().forEachRemaining(a -> values.put(a.getKey(),
                        a.getValue().path("StringValue").asText()));
            }
            String group = entry.hasNonNull("MessageGroupId") ? entry.path("MessageGroupId").asText() : null;
            if (group != null) {
                ok.put("SequenceNumber", Long.toString(System.nanoTime()));
            }
            taken.add(new Message(body, Collections.unmodifiableMap(values), group));
            messages.incrementAndGet();
        }
        if (keepMessages && !taken.isEmpty()) {
            List<Message> messages = received.computeIfAbsent(queue, q -> new ArrayList<>());
            synchronized (messages) {
                messages.addAll(taken);
            }
        }
        return JSON.writeValueAsBytes(response);
    }

    /** SQS's digest of string attributes: each, sorted by name, as length-prefixed name, type, 1, value. */
    private static String attributesMd5(JsonNode attributes) {
        Map<String, JsonNode> sorted = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = attributes.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            sorted.put(e.getKey(), e.getValue());
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (Map.Entry<String, JsonNode> e : sorted.entrySet()) {
            lengthPrefixed(bytes, e.getKey());
            lengthPrefixed(bytes, e.getValue().path("DataType").asText());
            bytes.write(1);
            lengthPrefixed(bytes, e.getValue().path("StringValue").asText());
        }
        return md5(bytes.toByteArray());
    }

    private static void lengthPrefixed(ByteArrayOutputStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeBytes(ByteBuffer.allocate(4).putInt(b.length).array());
        out.writeBytes(b);
    }

    private static String md5(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("MD5 is part of every JDK", e);
        }
    }

    /** Stops the server and its threads. */
    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
