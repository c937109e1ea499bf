package dev.outbox.micrometer;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxOperations;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.testing.RecordingPublisher;
import dev.outbox.testing.TestDatabase;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

class OutboxMetricsTest {

    static final DataSource db = TestDatabase.dataSource();

    @Test
    void countsOutcomesTimesBatchesAndShowsTheSampledSnapshotInAPrometheusScrape() throws Exception {
        OutboxTable table = OutboxTable.named(TestDatabase.uniqueName("m"));
        OutboxSchema.create(db, table);
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        RecordingPublisher publisher = new RecordingPublisher(
                e -> e.type().equals("poison") ? PublishOutcome.rejected("bad") : PublishOutcome.published());
        JdbcOutbox outbox = JdbcOutbox.create(table);
        // occurredAt an hour back: the lag counts from the row's creation, not from it
        Event old = Event.builder().aggregate("order", "A").type("placed").payload("{}")
                .occurredAt(Instant.now().minus(Duration.ofHours(1))).build();
        commit(db, c -> outbox.appendAll(c, List.of(old, Event.of("order", "B", "placed", "{}"),
                Event.of("order", "C", "poison", "{}"))));
        Thread.sleep(300);
        try (OutboxMetrics metrics = OutboxMetrics.builder(registry, table).refreshInterval(Duration.ofMillis(100))
                .build();
             JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).listener(metrics).build()) {
            relay.runOnce();
            metrics.watch(relay, new OutboxOperations(db, table));
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (registry.get("outbox.events.dead").gauge().value() != 1.0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            String t = table.toString();
            assertEquals(2.0, registry.get("outbox.events").tags("table", t, "event_type", "placed", "outcome", "published")
                    .counter().count());
            assertEquals(1.0, registry.get("outbox.events").tags("table", t, "event_type", "poison", "outcome",
                    "rejected").counter().count());
            assertTrue(registry.find("outbox.events").tags("outcome", "dead").counters().isEmpty(),
                    "a rejected event is counted as rejected, not also as dead");
            assertEquals(1, registry.get("outbox.relay.batch").timer().count());
            assertEquals(1, registry.get("outbox.relay.publish").timer().count(), "one call for three aggregates");
            assertEquals(1, registry.get("outbox.relay.record").timer().count());
            assertTrue(registry.get("outbox.relay.claim").timer().count() >= 1);
            Timer lag = registry.get("outbox.publish.lag").tags("event_type", "placed").timer();
            assertEquals(2, lag.count());
            assertTrue(lag.max(TimeUnit.MILLISECONDS) >= 300, "waited 300 ms before relaying: " + lag.max(TimeUnit.MILLISECONDS));
            assertTrue(lag.max(TimeUnit.MILLISECONDS) < 60_000, "measured from creation, not from occurredAt: "
                    + lag.max(TimeUnit.MILLISECONDS));
            assertEquals(1.0, registry.get("outbox.events.dead").gauge().value());
            assertEquals(0.0, registry.get("outbox.events.pending").gauge().value());
            assertEquals(0.0, registry.get("outbox.relay.loops").gauge().value());

            String scrape = registry.scrape();
            assertTrue(scrape.contains("outbox_events_total{event_type=\"placed\",outcome=\"published\",table=\"" + t
                    + "\"} 2.0"), scrape);
            assertTrue(scrape.contains("outbox_events_dead{table=\"" + t + "\"} 1.0"), scrape);
            assertTrue(scrape.contains("outbox_publish_lag_seconds_bucket"), "the lag has a histogram");
        }
    }

    @Test
    void eventTypesBeyondTheLimitAreTaggedOther() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        OutboxMetrics metrics = OutboxMetrics.builder(registry, OutboxTable.DEFAULT).maxEventTypes(2).build();
        for (String type : List.of("a", "b", "c", "d", "a")) {
            metrics.publishedAfter(Event.of("order", "A", type, "{}"), Duration.ofMillis(5));
        }
        assertEquals(2.0, registry.get("outbox.events").tags("event_type", "a").counter().count());
        assertEquals(2.0, registry.get("outbox.events").tags("event_type", "other").counter().count());
        assertThrows(InvalidConfigurationException.class, () -> OutboxMetrics.builder(registry, null));
        assertThrows(InvalidConfigurationException.class,
                () -> OutboxMetrics.builder(registry, OutboxTable.DEFAULT).refreshInterval(Duration.ofMillis(1)));
    }
}
