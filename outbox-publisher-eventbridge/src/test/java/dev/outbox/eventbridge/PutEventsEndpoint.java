package dev.outbox.eventbridge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.eventbridge.EventBridgeClient;

/**
 * An HTTP endpoint in this JVM that speaks EventBridge's PutEvents wire protocol (AWS JSON 1.1) to the real
 * SDK client. It records every request as received and answers with what the test's responder says.
 */
final class PutEventsEndpoint implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();

    /** One request as it arrived. */
    record Request(String target, String contentType, JsonNode body) {
        ArrayNode entries() {
            return (ArrayNode) body.get("Entries");
        }
    }

    /** A status and a JSON body. */
    record Response(int status, String body) {
    }

    /** Decides the answer to the n-th request (1-based). */
    interface Responder {
        Response respond(ArrayNode entries, int n);
    }

    final List<Request> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger count = new AtomicInteger();
    private final HttpServer server;
    private volatile Responder responder = (entries, n) -> accepted(entries, List.of());

    PutEventsEndpoint() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    void respond(Responder responder) {
        this.responder = responder;
    }

    URI uri() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    EventBridgeClient client() {
        return EventBridgeClient.builder().endpointOverride(uri()).region(Region.EU_WEST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .build();
    }

    /** Every entry accepted except those at {@code failures}' indexes, which get the paired error code. */
    static Response accepted(ArrayNode entries, List<String> codes) {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode results = body.putArray("Entries");
        int failed = 0;
        for (int i = 0; i < entries.size(); i++) {
            ObjectNode r = results.addObject();
            String code = i < codes.size() ? codes.get(i) : null;
            if (code == null) {
                r.put("EventId", UUID.randomUUID().toString());
            } else {
                failed++;
                r.put("ErrorCode", code).put("ErrorMessage", code + " for entry " + i);
            }
        }
        body.put("FailedEntryCount", failed);
        return new Response(200, body.toString());
    }

    /** A whole-call error as AWS JSON 1.1 services send it. */
    static Response error(int status, String type, String message) {
        return new Response(status, "{\"__type\":\"" + type + "\",\"message\":\"" + message + "\"}");
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            JsonNode body = JSON.readTree(exchange.getRequestBody().readAllBytes());
            Request request = new Request(exchange.getRequestHeaders().getFirst("X-Amz-Target"),
                    exchange.getRequestHeaders().getFirst("Content-Type"), body);
            requests.add(request);
            Response response;
            if (!"AWSEvents.PutEvents".equals(request.target())) {
                response = error(400, "UnknownOperationException", "unexpected target " + request.target());
            } else {
                response = responder.respond(request.entries(), count.incrementAndGet());
            }
            byte[] bytes = response.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/x-amz-json-1.1");
            exchange.getResponseHeaders().set("x-amzn-RequestId", UUID.randomUUID().toString());
            exchange.sendResponseHeaders(response.status(), bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
