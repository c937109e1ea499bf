package dev.outbox.eventbridge;

import dev.outbox.spi.BrokerCalls;
import dev.outbox.spi.CallTimeouts;
import dev.outbox.spi.Publisher;
import dev.outbox.spi.PublisherProvider;
import dev.outbox.spi.PublisherSettings;
import java.util.Map;
import java.util.Set;
import software.amazon.awssdk.regions.Region;

/**
 * Provides {@link EventBridgePublisher} under the name {@code eventbridge}. Settings:
 * <table>
 *   <caption>eventbridge settings</caption>
 *   <tr><th>key</th><th>meaning</th><th>default</th></tr>
 *   <tr><td>source</td><td>the entries' Source (required)</td><td></td></tr>
 *   <tr><td>eventBusName</td><td>bus name or ARN</td><td>default</td></tr>
 *   <tr><td>detailType</td><td>fixed DetailType</td><td>the event's type</td></tr>
 *   <tr><td>envelope</td><td>wrap payloads with ids, type, time and headers</td><td>false</td></tr>
 *   <tr><td>resourcesHeader</td><td>header whose comma-separated value becomes Resources</td><td>none</td></tr>
 *   <tr><td>region</td><td>AWS region</td><td>the SDK's chain</td></tr>
 *   <tr><td>endpoint</td><td>endpoint override</td><td>AWS</td></tr>
 *   <tr><td>maxConcurrentCalls</td><td>calls of one batch at once, 1 to 64</td><td>4</td></tr>
 *   <tr><td>maxEntryBytes</td><td>largest entry and call, 1024 to 1048576</td><td>1048576</td></tr>
 *   <tr><td>callTimeout</td><td>longest call, SDK retries included (ISO-8601 or ms)</td><td>PT10S</td></tr>
 *   <tr><td>attemptTimeout</td><td>longest single try</td><td>PT3S</td></tr>
 *   <tr><td>maxAttempts</td><td>SDK tries per call, 1 to 10</td><td>2</td></tr>
 * </table>
 * Credentials come from the SDK's default chain.
 */
public final class EventBridgePublisherProvider implements PublisherProvider {

    private static final Set<String> KEYS = keys("source", "eventBusName", "detailType", "envelope",
            "resourcesHeader", "region", "endpoint", "maxConcurrentCalls", "maxEntryBytes");

    private static Set<String> keys(String... own) {
        Set<String> keys = new java.util.HashSet<>(Set.of(own));
        keys.addAll(CallTimeouts.KEYS);
        return Set.copyOf(keys);
    }

    @Override
    public String name() {
        return "eventbridge";
    }

    @Override
    public Publisher create(Map<String, String> settings) {
        PublisherSettings s = PublisherSettings.of(name(), settings, KEYS);
        EventBridgePublisher.Builder builder = EventBridgePublisher.builder()
                .source(s.required("source"))
                .envelope(s.bool("envelope", false))
                .maxConcurrentCalls(s.integer("maxConcurrentCalls", 4, 1, BrokerCalls.MAX_CONCURRENT_CALLS))
                .timeouts(CallTimeouts.from(s))
                .maxEntryBytes(s.integer("maxEntryBytes", EventBridgePublisher.MAX_REQUEST_BYTES, 1024,
                        EventBridgePublisher.MAX_REQUEST_BYTES));
        s.optional("eventBusName").ifPresent(builder::eventBusName);
        s.optional("detailType").ifPresent(builder::detailType);
        s.optional("resourcesHeader").ifPresent(builder::resourcesHeader);
        s.optional("region").map(Region::of).ifPresent(builder::region);
        s.uri("endpoint").ifPresent(builder::endpoint);
        return builder.build();
    }
}
