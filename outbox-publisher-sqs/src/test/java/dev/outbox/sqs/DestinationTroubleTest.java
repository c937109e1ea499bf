package dev.outbox.sqs;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.RelayListener;
import dev.outbox.jdbc.DestinationStatus;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import dev.outbox.spi.Publishers;
import dev.outbox.spi.RoutingPublisher;
import dev.outbox.testing.SqsEndpoint;
import dev.outbox.testing.TestDatabase;
import dev.outbox.testing.Transactions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One destination's trouble stays with it: two queues behind one router and one relay, one of them refusing, failing
 * or throwing for a while, under steady traffic to both. The healthy queue's events keep flowing within a second of
 * their commit; the troubled queue's events wait without spending attempts and go once it recovers; nothing is dead,
 * nothing sent twice.
 */
class DestinationTroubleTest {

    static final DataSource db = TestDatabase.dataSource();

    final OutboxTable table = OutboxTable.named(TestDatabase.uniqueName("dt"));
    final JdbcOutbox outbox = JdbcOutbox.create(table);
    final ExecutorService threads = Executors.newCachedThreadPool();
    final List<AutoCloseable> closing = new ArrayList<>();

    DestinationTroubleTest() {
        OutboxSchema.create(db, table);
    }

    @AfterEach
    void close() throws Exception {
        Collections.reverse(closing);
        for (AutoCloseable c : closing) {
            c.close();
        }
        threads.shutdownNow();
    }

    /** Commit times of appended events, and when the relay recorded them published. */
    static final class Times implements RelayListener {
        final Map<UUID, Long> committed = new ConcurrentHashMap<>();
        final Map<UUID, Long> published = new ConcurrentHashMap<>();
        final AtomicInteger dead = new AtomicInteger();

        @Override
        public void published(List<Event> events) {
            long now = System.nanoTime();
            events.forEach(e -> published.putIfAbsent(e.id(), now));
        }

        @Override
        public void dead(Event event, int attempts, String reason) {
            dead.incrementAndGet();
        }

        /** @return commit-to-publish of the events committed in [from, to), in ms, sorted; -1 for unpublished */
        List<Long> latencies(List<Event> events, long from, long to) {
            List<Long> millis = new ArrayList<>();
            for (Event e : events) {
                Long at = committed.get(e.id());
                if (at != null && at >= from && at < to) {
                    Long done = published.get(e.id());
                    millis.add(done == null ? Long.MAX_VALUE : (done - at) / 1_000_000);
                }
            }
            Collections.sort(millis);
            return millis;
        }
    }

    /** Appends one event for each route every {@code everyMillis} until stopped. */
    final class Traffic implements AutoCloseable {
        final List<Event> healthy = Collections.synchronizedList(new ArrayList<>());
        final List<Event> troubled = Collections.synchronizedList(new ArrayList<>());
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        Traffic(Times times, long everyMillis) {
            thread = new Thread(() -> {
                int n = 0;
                while (running.get()) {
                    Event h = Event.of("account", "h" + (n % 20), "healthy_changed", "{\"n\":" + n + "}");
                    Event t = Event.of("account", "t" + (n % 20), "troubled_changed", "{\"n\":" + n + "}");
                    commit(db, c -> outbox.appendAll(c, List.of(h, t)));
                    long now = System.nanoTime();
                    times.committed.put(h.id(), now);
                    times.committed.put(t.id(), now);
                    healthy.add(h);
                    troubled.add(t);
                    n++;
                    sleep(everyMillis);
                }
            }, "traffic");
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join(5_000);
        }
    }

    RoutingPublisher router(Publisher healthy, Publisher troubled) {
        RoutingPublisher router = RoutingPublisher.builder()
                .route("healthy", e -> e.type().equals("healthy_changed"), healthy)
                .route("troubled", e -> true, troubled).build();
        closing.add(healthy);
        closing.add(troubled);
        closing.add(router);
        return router;
    }

    static Publisher sqs(SqsEndpoint endpoint, String queue) {
        return Publishers.create("sqs", Map.of("queueUrl", endpoint.queueUrl(queue),
                "endpoint", endpoint.endpoint().toString(), "region", "eu-west-1", "callTimeout", "PT2S",
                "attemptTimeout", "PT1S"));
    }

    JdbcRelay relay(Publisher publisher, Times times, Duration maxPause) {
        JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).listener(times)
                .pollInterval(Duration.ofMillis(100)).brokerPause(Duration.ofSeconds(1), maxPause).build();
        closing.add(relay);
        relay.start(threads);
        return relay;
    }

    long published() {
        return Transactions.queryLong(db, "SELECT count(*) FROM " + table.qualifiedName()
                + " WHERE published_at IS NOT NULL");
    }

    long total() {
        return Transactions.queryLong(db, "SELECT count(*) FROM " + table.qualifiedName());
    }

    /** Waits up to {@code seconds} for every appended event to be published; returns how long it took. */
    long awaitAllPublished(int seconds) {
        long started = System.nanoTime();
        long deadline = started + Duration.ofSeconds(seconds).toNanos();
        while (published() < total() && System.nanoTime() < deadline) {
            sleep(50);
        }
        return (System.nanoTime() - started) / 1_000_000;
    }

    /**
     * One queue refuses every call for 5 s with the status and code given, under steady traffic to both queues:
     * every event of the healthy queue committed meanwhile is published within a second of its commit.
     */
    void oneQueueRefusingFor5Seconds(int status, String code) throws Exception {
        SqsEndpoint sqs = SqsEndpoint.start();
        closing.add(sqs);
        Times times = new Times();
        JdbcRelay relay = relay(router(sqs(sqs, "healthy"), sqs(sqs, "troubled")), times, Duration.ofMinutes(1));
        Traffic traffic = new Traffic(times, 25);
        sleep(500);
        sqs.behave("troubled", SqsEndpoint.Behaviour.refusing(status, code));
        long outageStart = System.nanoTime();
        sleep(2_500);
        List<DestinationStatus> during = relay.destinations();
        sleep(2_500);
        long outageEnd = System.nanoTime();
        sqs.behave("troubled", SqsEndpoint.Behaviour.NORMAL);
        traffic.close();
        long drained = awaitAllPublished(30);

        List<Long> healthy = times.latencies(traffic.healthy, outageStart, outageEnd);
        assertTrue(healthy.size() > 100, "steady traffic during the outage: " + healthy.size());
        assertTrue(healthy.get(healthy.size() - 1) <= 1_000, "each healthy event within 1 s of its commit during the"
                + " outage; slowest " + healthy.subList(Math.max(0, healthy.size() - 5), healthy.size()) + " ms of "
                + healthy.size());
        assertEquals(total(), published(), "everything published after the outage, in " + drained + " ms");
        assertEquals(0, times.dead.get(), "nothing dead");
        assertEquals(traffic.healthy.size(), sqs.received("healthy").size(), "the healthy queue got each event once");
        assertEquals(traffic.troubled.size(), sqs.received("troubled").size(), "and the troubled one each once");
        assertTrue(during.stream().anyMatch(d -> d.destination().name().equals("troubled")
                && d.state() != JdbcRelay.BrokerState.CLOSED), "the troubled queue was paused: " + during);
        assertTrue(during.stream().anyMatch(d -> d.destination().name().equals("healthy")
                && d.state() == JdbcRelay.BrokerState.CLOSED), "the healthy one was not: " + during);
    }

    @Test
    void aQueueDenyingAccessPausesOnlyItsOwnEvents() throws Exception {
        oneQueueRefusingFor5Seconds(403, "AccessDenied");
    }

    @Test
    void aQueueThatIsUnavailablePausesOnlyItsOwnEvents() throws Exception {
        oneQueueRefusingFor5Seconds(503, "ServiceUnavailable");
    }

    @Test
    void aRouteWhosePublisherThrowsIsThatRoutesOutageAloneAndTheOtherRouteGetsEachEventOnce() throws Exception {
        SqsEndpoint sqs = SqsEndpoint.start();
        closing.add(sqs);
        AtomicBoolean down = new AtomicBoolean(true);
        List<Event> taken = Collections.synchronizedList(new ArrayList<>());
        Publisher throwing = events -> {
            if (down.get()) {
                throw new IllegalStateException("connection refused by the broker");
            }
            taken.addAll(events);
            return Collections.nCopies(events.size(), PublishOutcome.published());
        };
        Times times = new Times();
        JdbcRelay relay = relay(router(sqs(sqs, "healthy"), throwing), times, Duration.ofSeconds(2));
        Traffic traffic = new Traffic(times, 25);
        sleep(3_000);
        assertEquals(JdbcRelay.BrokerState.OPEN, relay.destinations().stream()
                .filter(d -> !d.destination().system().equals("aws_sqs")).findFirst().orElseThrow().state());
        down.set(false);
        traffic.close();
        awaitAllPublished(30);
        assertEquals(0, times.dead.get(), "no event charged for its route's outage");
        assertEquals(total(), published());
        assertEquals(traffic.healthy.size(), sqs.received("healthy").size(),
                "each healthy event sent once: the other route's failure sent none of them again");
        assertEquals(traffic.troubled.size(), taken.stream().map(Event::id).distinct().count());
    }

    @Test
    void oneQueueDownFor30SecondsUnderSteadyTrafficLeavesTheOtherQueueWithinASecond() throws Exception {
        // The healthy queue is a real SQS-compatible server; the other answers 503 for 30 s.
        SqsEndpoint down = SqsEndpoint.start();
        closing.add(down);
        String healthyQueue = LocalSqs.newQueue(false);
        Publisher healthy = Publishers.create("sqs", Map.of("queueUrl", healthyQueue,
                "endpoint", LocalSqs.endpoint().toString(), "region", "eu-west-1"));
        Times times = new Times();
        relay(router(healthy, sqs(down, "troubled")), times, Duration.ofSeconds(4));
        Traffic traffic = new Traffic(times, 50);
        sleep(1_000);
        down.behave("troubled", SqsEndpoint.Behaviour.refusing(503, "ServiceUnavailable"));
        long outageStart = System.nanoTime();
        sleep(30_000);
        long outageEnd = System.nanoTime();
        down.behave("troubled", SqsEndpoint.Behaviour.NORMAL);
        sleep(1_000);
        traffic.close();
        long afterTraffic = awaitAllPublished(30);

        List<Long> latencies = times.latencies(traffic.healthy, outageStart, outageEnd);
        long p99 = latencies.get((int) Math.ceil(latencies.size() * 0.99) - 1);
        System.out.printf("healthy queue during the 30 s outage: %d events, p50 %d ms, p99 %d ms, max %d ms%n",
                latencies.size(), latencies.get(latencies.size() / 2), p99, latencies.get(latencies.size() - 1));
        assertTrue(p99 <= 1_000, "healthy commit-to-publish p99 over the outage " + p99 + " ms");
        Map<String, Integer> arrived = new HashMap<>();
        for (software.amazon.awssdk.services.sqs.model.Message m : LocalSqs.drain(healthyQueue,
                traffic.healthy.size())) {
            arrived.merge(m.messageAttributes().get("outbox-event-id").stringValue(), 1, Integer::sum);
        }
        assertEquals(traffic.healthy.size(), arrived.size(), "every healthy event arrived");
        assertTrue(arrived.values().stream().allMatch(n -> n == 1), "none twice");
        assertEquals(traffic.troubled.size(), down.received("troubled").size(), "every troubled event, none twice");
        assertEquals(0, times.dead.get(), "nothing dead on either queue");
        long lastTroubled = traffic.troubled.stream().mapToLong(e -> times.published.getOrDefault(e.id(),
                Long.MAX_VALUE)).max().orElseThrow();
        assertTrue(lastTroubled - outageEnd <= Duration.ofSeconds(5).toNanos(), "the troubled queue's backlog was"
                + " published within 5 s of the outage's end: " + (lastTroubled - outageEnd) / 1_000_000 + " ms"
                + " (all published " + afterTraffic + " ms after the traffic stopped)");
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
