package dev.outbox.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An in-process endpoint speaking SQS's JSON protocol for {@code SendMessageBatch}, answering every call after a
 * fixed delay: a real broker's latency (SQS answers in 10 to 100 ms) at almost no CPU cost, so that what is measured
 * is the relay and the SDK, not a local SQS server competing for the same cores. It computes the MD5 digests of body
 * and attributes as SQS does, so the SDK's checksum validation stays on.
 */
final class SlowSqsEndpoint implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final ExecutorService threads = Executors.newFixedThreadPool(256);
    private final AtomicLong calls = new AtomicLong();
    private final AtomicLong messages = new AtomicLong();

    SlowSqsEndpoint(Duration delay) throws IOException {
        // Without TCP_NODELAY the JDK's server writes headers and body in two packets and waits out the client's
        // delayed ACK: 40 ms more on every call, which would measure Nagle's algorithm instead of the relay.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 512);
        server.setExecutor(threads);
        server.createContext("/", exchange -> {
            try (exchange; InputStream in = exchange.getRequestBody()) {
                byte[] body = in.readAllBytes();
                String target = exchange.getRequestHeaders().getFirst("X-Amz-Target");
                Thread.sleep(delay.toMillis());
                byte[] answer;
                int status = 200;
                if ("AmazonSQS.SendMessageBatch".equals(target)) {
                    answer = sendMessageBatch(JSON.readTree(body));
                } else {
                    status = 400;
                    answer = ("{\"__type\":\"com.amazonaws.sqs#UnsupportedOperation\",\"message\":\"" + target
                            + " is not served here\"}").getBytes(StandardCharsets.UTF_8);
                }
                exchange.getResponseHeaders().set("Content-Type", "application/x-amz-json-1.0");
                exchange.getResponseHeaders().set("x-amzn-RequestId", UUID.randomUUID().toString());
                exchange.sendResponseHeaders(status, answer.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(answer);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        server.start();
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** @return a queue URL on this endpoint; the name ending in {@code .fifo} makes publishers treat it as FIFO */
    String queueUrl(String name) {
        return endpoint() + "/000000000000/" + name;
    }

    long calls() {
        return calls.get();
    }

    long messages() {
        return messages.get();
    }

    private byte[] sendMessageBatch(JsonNode request) throws IOException {
        calls.incrementAndGet();
        ObjectNode response = JSON.createObjectNode();
        ArrayNode successful = response.putArray("Successful");
        response.putArray("Failed");
        for (JsonNode entry : request.path("Entries")) {
            ObjectNode ok = successful.addObject();
            ok.put("Id", entry.path("Id").asText());
            ok.put("MessageId", UUID.randomUUID().toString());
            ok.put("MD5OfMessageBody", md5(entry.path("MessageBody").asText().getBytes(StandardCharsets.UTF_8)));
            JsonNode attributes = entry.path("MessageAttributes");
            if (attributes.isObject() && attributes.size() > 0) {
                ok.put("MD5OfMessageAttributes", attributesMd5(attributes));
            }
            if (entry.has("MessageGroupId")) {
                ok.put("SequenceNumber", Long.toString(messages.get()));
            }
            messages.incrementAndGet();
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

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
