package dev.outbox.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.RetryPolicy;
import dev.outbox.examples.webhook.WebhookPublisher;
import dev.outbox.examples.webhook.WebhookReceiver;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.testing.TestDatabase;
import dev.outbox.testing.Transactions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/** The README-only webhook publisher keeps each aggregate's order while the receiver fails 30 % of requests. */
class WebhookPublisherTest {

    static final DataSource db = TestDatabase.dataSource();

    @Test
    void eachAggregateArrivesInAppendOrderDespiteFailingRequestsAndTwoRelayLoops() throws Exception {
        OutboxTable table = OutboxTable.named(TestDatabase.uniqueName("hooks"));
        OutboxSchema.create(db, table);
        JdbcOutbox outbox = JdbcOutbox.create(table);
        List<Event> appended = new ArrayList<>();
        for (int step = 0; step < 10; step++) {
            List<Event> tx = new ArrayList<>();
            for (int a = 0; a < 20; a++) {
                tx.add(Event.of("account", "acc-" + a, "balance_changed", "{\"step\":" + step + "}"));
            }
            Transactions.commit(db, c -> outbox.appendAll(c, tx));
            appended.addAll(tx);
        }
        RetryPolicy quick = RetryPolicy.builder().initialDelay(Duration.ofMillis(5)).maxDelay(Duration.ofMillis(50))
                .maxAttempts(100).build();
        ExecutorService loops = Executors.newFixedThreadPool(2);
        try (WebhookReceiver receiver = new WebhookReceiver(0.3);
             JdbcRelay relay = JdbcRelay.builder(db, new WebhookPublisher(receiver.endpoint(), Duration.ofSeconds(2)))
                     .table(table).retryPolicy(quick).pollInterval(Duration.ofMillis(20)).build()) {
            relay.start(loops);
            relay.start(loops);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (receiver.accepted().size() < appended.size() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            List<WebhookReceiver.Delivery> got = receiver.accepted();
            assertEquals(appended.size(), got.size(), "every event accepted exactly once");
            for (int a = 0; a < 20; a++) {
                String aggregate = "acc-" + a;
                List<String> expected = appended.stream().filter(e -> e.aggregateId().equals(aggregate))
                        .map(e -> e.id().toString()).toList();
                List<String> arrived = new ArrayList<>(new LinkedHashSet<>(got.stream()
                        .filter(d -> d.aggregate().equals("account/" + aggregate)).map(WebhookReceiver.Delivery::eventId)
                        .toList()));
                assertEquals(expected, arrived, aggregate + " arrived in append order");
            }
            assertTrue(got.stream().allMatch(d -> d.body().startsWith("{\"step\":")), "bodies as appended");
        } finally {
            loops.shutdownNow();
        }
    }
}
