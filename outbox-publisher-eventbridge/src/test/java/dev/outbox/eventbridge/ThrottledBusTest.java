package dev.outbox.eventbridge;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.RelayListener;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.spi.Publisher;
import dev.outbox.spi.Publishers;
import dev.outbox.testing.TestDatabase;
import dev.outbox.testing.Transactions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * Throttling is backpressure, not an outage: a bus that throttles a few percent of PutEvents entries (routine at a
 * quota) slows the relay a little and pauses nothing; the throttled entries go again a moment later, spending no
 * attempt.
 */
class ThrottledBusTest {

    static final DataSource db = TestDatabase.dataSource();

    @Test
    void twoPercentOfEntriesThrottledPublishEverythingWithoutPausingTheBus() throws Exception {
        OutboxTable table = OutboxTable.named(TestDatabase.uniqueName("tb"));
        OutboxSchema.create(db, table);
        JdbcOutbox outbox = JdbcOutbox.create(table);
        for (int step = 0; step < 10; step++) {
            List<Event> tx = new ArrayList<>();
            for (int a = 0; a < 200; a++) {
                tx.add(Event.of("order", "o" + a, "order_changed", "{\"step\":" + step + "}"));
            }
            commit(db, c -> outbox.appendAll(c, tx));
        }
        AtomicInteger throttledByBus = new AtomicInteger();
        AtomicInteger throttledHeard = new AtomicInteger();
        AtomicInteger dead = new AtomicInteger();
        try (PutEventsEndpoint bus = new PutEventsEndpoint()) {
            bus.respond((entries, n) -> {
                List<String> codes = new ArrayList<>();
                for (int i = 0; i < entries.size(); i++) {
                    boolean throttle = ThreadLocalRandom.current().nextDouble() < 0.02;
                    codes.add(throttle ? "ThrottlingException" : null);
                    if (throttle) {
                        throttledByBus.incrementAndGet();
                    }
                }
                return PutEventsEndpoint.accepted(entries, codes);
            });
            RelayListener listener = new RelayListener() {
                @Override
                public void throttled(Event event, Duration delay, String reason) {
                    throttledHeard.incrementAndGet();
                }

                @Override
                public void dead(Event event, int attempts, String reason) {
                    dead.incrementAndGet();
                }
            };
            ExecutorService threads = Executors.newFixedThreadPool(1);
            try (Publisher publisher = Publishers.create("eventbridge", Map.of("source", "com.example.orders",
                    "endpoint", bus.uri().toString(), "region", "eu-west-1"));
                 JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).listener(listener)
                         .pollInterval(Duration.ofMillis(50)).build()) {
                long started = System.nanoTime();
                relay.start(threads);
                boolean everOpen = false;
                long deadline = started + Duration.ofSeconds(8).toNanos();
                while (published(table) < 2000 && System.nanoTime() < deadline) {
                    everOpen |= relay.brokerState() != JdbcRelay.BrokerState.CLOSED;
                    Thread.sleep(20);
                }
                long millis = (System.nanoTime() - started) / 1_000_000;
                assertEquals(2000, published(table), "all published within 8 s; took " + millis + " ms");
                assertTrue(!everOpen, "throttling never paused the bus");
            } finally {
                threads.shutdownNow();
            }
        }
        assertTrue(throttledByBus.get() > 10, "the bus throttled " + throttledByBus.get() + " entries");
        assertEquals(throttledByBus.get(), throttledHeard.get(), "each throttled entry was given back, heard as such");
        assertEquals(0, dead.get(), "no attempt spent on throttling");
        assertEquals(0, Transactions.queryLong(db, "SELECT count(*) FROM " + table.qualifiedName()
                + " WHERE attempts > 1 OR dead_at IS NOT NULL"), "a throttled event's attempt was given back");
    }

    private static long published(OutboxTable table) {
        return Transactions.queryLong(db, "SELECT count(*) FROM " + table.qualifiedName()
                + " WHERE published_at IS NOT NULL");
    }
}
