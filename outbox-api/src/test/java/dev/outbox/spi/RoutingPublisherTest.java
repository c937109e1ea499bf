package dev.outbox.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RoutingPublisherTest {

    static final class Recorder implements Publisher {
        final List<Event> got = new ArrayList<>();
        final CallLimits limits;

        Recorder(CallLimits limits) {
            this.limits = limits;
        }

        @Override
        public List<PublishOutcome> publish(List<Event> events) {
            got.addAll(events);
            return Collections.nCopies(events.size(), PublishOutcome.published());
        }

        @Override
        public CallLimits callLimits() {
            return limits;
        }
    }

    @Test
    void eachEventGoesToTheFirstMatchingRouteAndUnmatchedOnesAreRejected() {
        Recorder orders = new Recorder(new CallLimits(40, 10, Duration.ofSeconds(10)));
        Recorder audit = new Recorder(new CallLimits(20, 1, Duration.ofSeconds(5)));
        RoutingPublisher router = RoutingPublisher.builder()
                .route("orders", e -> e.aggregateType().equals("order"), orders)
                .route("audit", e -> "audit".equals(e.headers().get("destination")), audit)
                .build();
        Event placed = Event.of("order", "1", "placed", "{}");
        Event login = Event.builder().aggregate("user", "u").type("login").payload("{}").header("destination", "audit")
                .build();
        Event stray = Event.of("user", "u", "renamed", "{}");
        List<PublishOutcome> outcomes = router.publish(List.of(placed, login, stray));
        assertTrue(outcomes.get(0).isPublished() && outcomes.get(1).isPublished());
        assertEquals(PublishOutcome.Status.REJECTED, outcomes.get(2).status());
        assertTrue(outcomes.get(2).reason().contains("[orders, audit]"), outcomes.get(2).reason());
        assertEquals(List.of(placed), orders.got);
        assertEquals(List.of(login), audit.got);
        assertEquals(new CallLimits(20, 1, Duration.ofSeconds(10)), router.callLimits(),
                "the strictest limits, and the longest timeout: routes are called at once");
        router.close();
    }

    @Test
    void badSettingsNameTheRouteAndTheSetting() {
        assertTrue(assertThrows(InvalidConfigurationException.class, () -> RoutingPublisher.fromSettings(Map.of()))
                .getMessage().contains("'routes' is required"));
        assertTrue(assertThrows(InvalidConfigurationException.class, () -> RoutingPublisher.fromSettings(
                Map.of("routes", "a", "routes.a.publisher", "sqs"))).getMessage().contains("routes.a.match"));
        assertTrue(assertThrows(InvalidConfigurationException.class, () -> RoutingPublisher.fromSettings(
                Map.of("routes", "a", "routes.b.match", "*"))).getMessage().contains("routes.b.match"));
        assertTrue(assertThrows(InvalidConfigurationException.class, () -> RoutingPublisher.fromSettings(
                Map.of("routes", "a", "routes.a.match", "type=x", "routes.a.publisher", "sqs")))
                .getMessage().contains("'type=x'"));
    }

    @Test
    void aRouteThatThrowsAnswersUnknownForItsOwnEventsAndTheOthersStand() {
        Recorder orders = new Recorder(CallLimits.DEFAULT);
        Publisher broken = events -> {
            throw new StackOverflowError("the audit client choked");
        };
        try (RoutingPublisher router = RoutingPublisher.builder()
                .route("orders", e -> e.aggregateType().equals("order"), orders)
                .route("audit", e -> true, broken).build()) {
            Event placed = Event.of("order", "1", "placed", "{}");
            Event login = Event.of("user", "u", "login", "{}");
            List<PublishOutcome> outcomes = router.publish(List.of(placed, login));
            assertEquals(PublishOutcome.Status.PUBLISHED, outcomes.get(0).status());
            assertEquals(PublishOutcome.Status.UNKNOWN, outcomes.get(1).status());
            assertTrue(outcomes.get(1).reason().contains("route 'audit'"), outcomes.get(1).reason());
            assertEquals(List.of(placed), orders.got, "the healthy route's event went once");
        }
    }

    @Test
    void aRouteThatDoesNotAnswerWithinItsCallTimeoutIsUnavailableForItsOwnEvents() {
        Recorder orders = new Recorder(CallLimits.DEFAULT);
        Publisher hanging = new Publisher() {
            @Override
            public List<PublishOutcome> publish(List<Event> events) {
                try {
                    Thread.sleep(5_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return Collections.nCopies(events.size(), PublishOutcome.published());
            }

            @Override
            public CallLimits callLimits() {
                return new CallLimits(10, 1, Duration.ofMillis(200));
            }
        };
        try (RoutingPublisher router = RoutingPublisher.builder()
                .route("orders", e -> e.aggregateType().equals("order"), orders)
                .route("audit", e -> true, hanging).build()) {
            long started = System.nanoTime();
            List<PublishOutcome> outcomes = router.publish(List.of(Event.of("order", "1", "placed", "{}"),
                    Event.of("user", "u", "login", "{}")));
            long millis = (System.nanoTime() - started) / 1_000_000;
            assertTrue(millis < 2_500, "the router answered without the hanging route, in " + millis + " ms");
            assertEquals(PublishOutcome.Status.PUBLISHED, outcomes.get(0).status());
            assertEquals(PublishOutcome.Status.UNAVAILABLE, outcomes.get(1).status(), outcomes.get(1).reason());
        }
    }

    @Test
    void aRouteThatMiscountsItsOutcomesRetriesItsOwnEvents() {
        Recorder orders = new Recorder(CallLimits.DEFAULT);
        Publisher miscounting = events -> List.of();
        try (RoutingPublisher router = RoutingPublisher.builder()
                .route("orders", e -> e.aggregateType().equals("order"), orders)
                .route("audit", e -> true, miscounting).build()) {
            List<PublishOutcome> outcomes = router.publish(List.of(Event.of("order", "1", "placed", "{}"),
                    Event.of("user", "u", "login", "{}")));
            assertEquals(PublishOutcome.Status.PUBLISHED, outcomes.get(0).status());
            assertEquals(PublishOutcome.Status.RETRY, outcomes.get(1).status());
        }
    }
}
