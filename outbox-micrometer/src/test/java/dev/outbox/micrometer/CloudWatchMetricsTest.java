package dev.outbox.micrometer;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.outbox.Event;
import dev.outbox.jdbc.OutboxTable;
import io.micrometer.cloudwatch2.CloudWatchConfig;
import io.micrometer.cloudwatch2.CloudWatchMeterRegistry;
import io.micrometer.core.instrument.Clock;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.cloudwatch.CloudWatchAsyncClient;

/**
 * The README's CloudWatch setup, against an in-process endpoint that takes the SDK's PutMetricData calls: the dead-event
 * counter an alarm watches reaches CloudWatch with its dimensions.
 */
class CloudWatchMetricsTest {

    @Test
    void theRegistryPutsTheOutcomeCountersWithTheirDimensions() throws Exception {
        List<String> bodies = new CopyOnWriteArrayList<>();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            exchange.getRequestBody().transferTo(body);
            bodies.add(exchange.getRequestHeaders().getFirst("Content-Type") + " "
                    + body.toString(StandardCharsets.ISO_8859_1));
            boolean json = String.valueOf(exchange.getRequestHeaders().getFirst("Content-Type")).contains("json");
            byte[] answer = (json ? "{}" : "<PutMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">"
                    + "<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></PutMetricDataResponse>")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", json ? "application/x-amz-json-1.0" : "text/xml");
            exchange.sendResponseHeaders(200, answer.length);
            exchange.getResponseBody().write(answer);
            exchange.close();
        });
        server.start();
        try (CloudWatchAsyncClient client = CloudWatchAsyncClient.builder()
                .endpointOverride(URI.create("http://127.0.0.1:" + server.getAddress().getPort()))
                .region(Region.EU_WEST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .build()) {
            Map<String, String> settings = Map.of("cloudwatch.namespace", "orders-service", "cloudwatch.step", "PT1M");
            CloudWatchConfig config = settings::get;
            CloudWatchMeterRegistry registry = new CloudWatchMeterRegistry(config, Clock.SYSTEM, client);
            OutboxMetrics metrics = OutboxMetrics.builder(registry, OutboxTable.DEFAULT).build();
            Event event = Event.of("order", "1", "order_placed", "{}");
            metrics.publishedAfter(event, Duration.ofMillis(40));
            metrics.dead(event, 8, "gave up after 8 attempts");
            registry.close(); // publishes what the step holds
        } finally {
            server.stop(0);
        }
        String all = String.join("\n", bodies);
        assertTrue(all.contains("orders-service"), "the namespace: " + all);
        assertTrue(all.contains("outbox.events"), "the outcome counter: " + all);
        assertTrue(all.contains("outcome") && all.contains("dead") && all.contains("event_type")
                && all.contains("order_placed"), "its dimensions: " + all);
        assertTrue(all.contains("outbox.publish.lag"), "the lag: " + all);
    }
}
