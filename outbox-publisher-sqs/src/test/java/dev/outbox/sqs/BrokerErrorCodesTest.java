package dev.outbox.sqs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import dev.outbox.Event;
import dev.outbox.spi.PublishOutcome;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * SQS's error codes, whole-call and per entry, reach the relay as the same outcomes as every publisher's
 * ({@link dev.outbox.spi.BrokerErrors}): content rejected, throttling throttled, permissions, configuration, KMS and
 * outages unavailable.
 * Answered by an endpoint speaking SQS's JSON protocol to the real SDK client.
 */
class BrokerErrorCodesTest {

    static final ObjectMapper JSON = new ObjectMapper();

    HttpServer server;
    volatile int status;
    volatile String wholeCallCode;
    volatile String entryCode;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            JsonNode request = JSON.readTree(exchange.getRequestBody().readAllBytes());
            String body;
            exchange.getResponseHeaders().set("Content-Type", "application/x-amz-json-1.0");
            if (wholeCallCode != null) {
                // SQS answers in JSON and names its legacy code in this header, which the SDK reports.
                exchange.getResponseHeaders().set("x-amzn-query-error", wholeCallCode + ";Sender");
                body = "{\"__type\":\"com.amazonaws.sqs#" + wholeCallCode + "\",\"message\":\"refused\"}";
            } else {
                ObjectNode answer = JSON.createObjectNode();
                answer.putArray("Successful");
                ArrayNode failed = answer.putArray("Failed");
                for (JsonNode entry : request.path("Entries")) {
                    failed.addObject().put("Id", entry.path("Id").asText()).put("Code", entryCode)
                            .put("Message", "refused").put("SenderFault", true);
                }
                body = answer.toString();
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    List<PublishOutcome> publishTwo() {
        URI endpoint = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        try (SqsClient client = SqsClient.builder().endpointOverride(endpoint).region(Region.EU_WEST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("a", "b")))
                .overrideConfiguration(o -> o.retryStrategy(r -> r.maxAttempts(1))).build();
             SqsPublisher publisher = SqsPublisher.builder().client(client).queueUrl(endpoint + "/000/q").build()) {
            return publisher.publish(List.of(Event.of("a", "1", "t", "{}"), Event.of("a", "2", "t", "{}")));
        }
    }

    @ParameterizedTest(name = "whole call {1} (HTTP {0}) is {2}")
    @CsvSource({
        "403, AccessDenied, UNAVAILABLE",
        "400, ExpiredToken, UNAVAILABLE",
        "403, InvalidClientTokenId, UNAVAILABLE",
        "400, AWS.SimpleQueueService.NonExistentQueue, UNAVAILABLE",
        "400, KMS.ThrottlingException, THROTTLED",
        "400, KmsAccessDenied, UNAVAILABLE",
        "500, InternalError, UNAVAILABLE",
        "400, RequestThrottled, THROTTLED",
        "400, InvalidMessageContents, REJECTED",
        "400, SomethingNew, RETRY",
    })
    void wholeCallErrors(int httpStatus, String code, PublishOutcome.Status expected) {
        status = httpStatus;
        wholeCallCode = code;
        List<PublishOutcome> outcomes = publishTwo();
        assertEquals(2, outcomes.size());
        for (PublishOutcome outcome : outcomes) {
            assertEquals(expected, outcome.status(), outcome.toString());
            assertTrue(outcome.reason().contains(code), outcome.reason());
        }
    }

    @ParameterizedTest(name = "entry {0} is {1}")
    @CsvSource({
        "KmsThrottled, THROTTLED",
        "AccessDenied, UNAVAILABLE",
        "InvalidMessageContents, REJECTED",
        "SomethingNew, RETRY",
    })
    void perEntryErrors(String code, PublishOutcome.Status expected) {
        status = 200;
        wholeCallCode = null;
        entryCode = code;
        for (PublishOutcome outcome : publishTwo()) {
            assertEquals(expected, outcome.status(), outcome.toString());
        }
    }
}
