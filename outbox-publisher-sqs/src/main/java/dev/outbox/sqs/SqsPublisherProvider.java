package dev.outbox.sqs;

import dev.outbox.spi.BrokerCalls;
import dev.outbox.spi.CallTimeouts;
import dev.outbox.spi.Publisher;
import dev.outbox.spi.PublisherProvider;
import dev.outbox.spi.PublisherSettings;
import java.util.Map;
import java.util.Set;
import software.amazon.awssdk.regions.Region;

/**
 * Provides {@link SqsPublisher} under the name {@code sqs}. Settings:
 * <table>
 *   <caption>sqs settings</caption>
 *   <tr><th>key</th><th>meaning</th><th>default</th></tr>
 *   <tr><td>queueUrl</td><td>the queue's URL (required); {@code .fifo} selects FIFO</td><td></td></tr>
 *   <tr><td>region</td><td>AWS region</td><td>the SDK's chain (AWS_REGION, profile)</td></tr>
 *   <tr><td>endpoint</td><td>endpoint override, such as a local SQS-compatible server</td><td>AWS</td></tr>
 *   <tr><td>maxConcurrentCalls</td><td>calls of one batch at once, 1 to 64</td><td>4</td></tr>
 *   <tr><td>maxMessageBytes</td><td>largest message and call, 1024 to 1048576</td><td>1048576</td></tr>
 *   <tr><td>callTimeout</td><td>longest call, SDK retries included (ISO-8601 or ms)</td><td>PT10S</td></tr>
 *   <tr><td>attemptTimeout</td><td>longest single try</td><td>PT3S</td></tr>
 *   <tr><td>maxAttempts</td><td>SDK tries per call, 1 to 10</td><td>2</td></tr>
 * </table>
 * Credentials come from the SDK's default chain.
 */
public final class SqsPublisherProvider implements PublisherProvider {

    private static final Set<String> KEYS = keys("queueUrl", "region", "endpoint", "maxConcurrentCalls", "maxMessageBytes");

    private static Set<String> keys(String... own) {
        Set<String> keys = new java.util.HashSet<>(Set.of(own));
        keys.addAll(CallTimeouts.KEYS);
        return Set.copyOf(keys);
    }

    @Override
    public String name() {
        return "sqs";
    }

    @Override
    public Publisher create(Map<String, String> settings) {
        PublisherSettings s = PublisherSettings.of(name(), settings, KEYS);
        SqsPublisher.Builder builder = SqsPublisher.builder()
                .queueUrl(s.required("queueUrl"))
                .maxConcurrentCalls(s.integer("maxConcurrentCalls", 4, 1, BrokerCalls.MAX_CONCURRENT_CALLS))
                .timeouts(CallTimeouts.from(s))
                .maxMessageBytes(s.integer("maxMessageBytes", SqsPublisher.MAX_MESSAGE_BYTES, 1024,
                        SqsPublisher.MAX_MESSAGE_BYTES));
        s.optional("region").map(Region::of).ifPresent(builder::region);
        s.uri("endpoint").ifPresent(builder::endpoint);
        return builder.build();
    }
}
