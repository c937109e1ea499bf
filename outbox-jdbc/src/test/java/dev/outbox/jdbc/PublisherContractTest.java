package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static dev.outbox.testing.Transactions.queryLong;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.RelayLoop;
import dev.outbox.RelayResult;
import dev.outbox.RetryPolicy;
import dev.outbox.spi.CallLimits;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
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
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Order is the relay's job: publishers written as simply as possible (one that sends a call's events in any order and
 * fails some, one that throws, one slower than the lease) still see each aggregate's events handed over in order.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class PublisherContractTest extends EachDatabase {

    PublisherContractTest(TestDb tdb) {
        super(tdb);
    }
    static final RetryPolicy FAST_RETRIES = RetryPolicy.builder().initialDelay(Duration.ofMillis(1))
            .maxDelay(Duration.ofMillis(20)).maxAttempts(1000).build();

    OutboxTable table;
    JdbcOutbox outbox;

    @BeforeEach
    void freshOutbox() {
        table = tdb.newTable();
        outbox = JdbcOutbox.create(table);
    }

    /** Records every hand-over, in the order the publisher saw them, and checks calls against the relay's promise. */
    static class Handovers {
        final List<Event> delivered = Collections.synchronizedList(new ArrayList<>());
        final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();
        final AtomicInteger overlaps = new AtomicInteger();
        final AtomicInteger tooManyPerCall = new AtomicInteger();

        void enter(List<Event> events, int allowedPerAggregate) {
            Map<String, Integer> perAggregate = new HashMap<>();
            for (Event e : events) {
                if (perAggregate.merge(e.aggregateId(), 1, Integer::sum) > allowedPerAggregate) {
                    tooManyPerCall.incrementAndGet();
                }
            }
            for (String aggregate : perAggregate.keySet()) {
                if (inFlight.computeIfAbsent(aggregate, a -> new AtomicInteger()).incrementAndGet() > 1) {
                    overlaps.incrementAndGet();
                }
            }
        }

        void leave(List<Event> events) {
            events.stream().map(Event::aggregateId).distinct().forEach(a -> inFlight.get(a).decrementAndGet());
        }
    }

    List<Event> appendRoundRobin(int aggregates, int perAggregate) {
        List<Event> appended = new ArrayList<>();
        for (int i = 0; i < perAggregate; i++) {
            List<Event> tx = new ArrayList<>();
            for (int a = 0; a < aggregates; a++) {
                tx.add(Event.of("order", "o" + a, "step", "{\"step\":" + i + "}"));
            }
            commit(db, c -> outbox.appendAll(c, tx));
            appended.addAll(tx);
        }
        return appended;
    }

    /** Every aggregate's first deliveries, in delivery order, are its events in append order. */
    static void assertOrderPerAggregate(List<Event> appended, List<Event> delivered) {
        Map<String, List<UUID>> expected = new HashMap<>();
        appended.forEach(e -> expected.computeIfAbsent(e.aggregateId(), a -> new ArrayList<>()).add(e.id()));
        Map<String, List<UUID>> got = new HashMap<>();
        java.util.Set<UUID> seen = new java.util.HashSet<>();
        for (Event e : delivered) {
            if (seen.add(e.id())) {
                got.computeIfAbsent(e.aggregateId(), a -> new ArrayList<>()).add(e.id());
            }
        }
        assertEquals(expected, got, "each aggregate delivered completely, in append order");
    }

    @Test
    void aPublisherThatShufflesAndFailsSomeEventsStillSeesEachAggregateInOrder() {
        List<Event> appended = appendRoundRobin(20, 15);
        Handovers handovers = new Handovers();
        // Written from the README alone: send the events in whatever order, fail a random fifth of them.
        Publisher careless = events -> {
            handovers.enter(events, 1);
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < events.size(); i++) {
                order.add(i);
            }
            Collections.shuffle(order);
            PublishOutcome[] outcomes = new PublishOutcome[events.size()];
            for (int i : order) {
                if (ThreadLocalRandom.current().nextInt(5) == 0) {
                    outcomes[i] = PublishOutcome.retry("broker said no");
                } else {
                    handovers.delivered.add(events.get(i));
                    outcomes[i] = PublishOutcome.published();
                }
            }
            handovers.leave(events);
            return List.of(outcomes);
        };
        try (JdbcRelay relay = JdbcRelay.builder(db, careless).table(table).retryPolicy(FAST_RETRIES).build()) {
            drainFully(relay, appended.size());
        }
        assertEquals(0, handovers.tooManyPerCall.get(), "no call held two events of one aggregate");
        assertOrderPerAggregate(appended, handovers.delivered);
        assertEquals(appended.size(), handovers.delivered.size(), "no event delivered twice");
    }

    @Test
    void aPublisherThatThrowsForSomeCallsStillSeesEachAggregateInOrder() {
        List<Event> appended = appendRoundRobin(10, 12);
        Handovers handovers = new Handovers();
        Publisher throwing = events -> {
            if (ThreadLocalRandom.current().nextInt(4) == 0) {
                throw new IllegalStateException("connection reset");
            }
            handovers.enter(events, 1);
            handovers.delivered.addAll(events);
            handovers.leave(events);
            return Collections.nCopies(events.size(), PublishOutcome.published());
        };
        try (JdbcRelay relay = JdbcRelay.builder(db, throwing).table(table).retryPolicy(FAST_RETRIES).build()) {
            drainFully(relay, appended.size());
        }
        assertOrderPerAggregate(appended, handovers.delivered);
    }

    @Test
    void aBrokerSlowerThanTheLeaseNeverHasOneAggregateInTwoRelaysHands() throws Exception {
        // Two relays, two loops each, a 1 s lease and 100 ms calls: 60 events of one aggregate take 6 s.
        List<Event> appended = appendRoundRobin(1, 60);
        Handovers handovers = new Handovers();
        Publisher slow = events -> {
            handovers.enter(events, 1);
            sleep(100);
            handovers.delivered.addAll(events);
            handovers.leave(events);
            return Collections.nCopies(events.size(), PublishOutcome.published());
        };
        ExecutorService threads = Executors.newFixedThreadPool(4);
        List<JdbcRelay> relays = new ArrayList<>();
        try {
            for (int r = 0; r < 2; r++) {
                JdbcRelay relay = JdbcRelay.builder(db, slow).table(table).leaseDuration(Duration.ofSeconds(1))
                        .pollInterval(Duration.ofMillis(20)).build();
                relays.add(relay);
                relay.start(threads);
                relay.start(threads);
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (handovers.delivered.size() < appended.size() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        } finally {
            relays.forEach(JdbcRelay::close);
            threads.shutdownNow();
        }
        assertEquals(0, handovers.overlaps.get(), "one aggregate was in two calls at once");
        assertEquals(appended.size(), handovers.delivered.size(), "every event once, none twice: "
                + handovers.delivered.size());
        assertOrderPerAggregate(appended, handovers.delivered);
    }

    @Test
    void eventsSettledEarlyInALongRoundKeepTheirLeaseUntilRecorded() throws Exception {
        // One round of 8 aggregates in calls of 2 events, 300 ms each: 1.2 s against a 1 s lease. The events of the
        // first call are published but not yet recorded when the lease would lapse; a second relay is waiting.
        List<Event> appended = appendRoundRobin(8, 1);
        Handovers handovers = new Handovers();
        Publisher slowSmallCalls = new Publisher() {
            @Override
            public List<PublishOutcome> publish(List<Event> events) {
                sleep(300);
                handovers.delivered.addAll(events);
                return Collections.nCopies(events.size(), PublishOutcome.published());
            }

            @Override
            public CallLimits callLimits() {
                return new CallLimits(2, 1, Duration.ofMillis(400));
            }
        };
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try (JdbcRelay first = JdbcRelay.builder(db, slowSmallCalls).table(table).leaseDuration(Duration.ofSeconds(1))
                .build();
             JdbcRelay second = JdbcRelay.builder(db, slowSmallCalls).table(table)
                     .leaseDuration(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(20)).build()) {
            java.util.concurrent.Future<RelayResult> running = threads.submit(first::runOnce);
            Thread.sleep(50);
            second.start(threads);
            assertEquals(8, running.get(30, java.util.concurrent.TimeUnit.SECONDS).published());
            Thread.sleep(1500); // the second relay's chance to republish anything whose lease lapsed
        } finally {
            threads.shutdownNow();
        }
        assertEquals(appended.size(), handovers.delivered.size(), "each event delivered once: "
                + handovers.delivered.size());
    }

    @Test
    void aHotAggregateTakesAtMostItsShareOfCallsPerBatch() {
        List<Event> hot = appendRoundRobin(1, 50);
        List<Event> others = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            Event e = Event.of("order", "cold" + i, "step", "{}");
            commit(db, c -> outbox.append(c, e));
            others.add(e);
        }
        AtomicInteger calls = new AtomicInteger();
        List<Event> delivered = Collections.synchronizedList(new ArrayList<>());
        Publisher counting = events -> {
            calls.incrementAndGet();
            delivered.addAll(events);
            return Collections.nCopies(events.size(), PublishOutcome.published());
        };
        try (JdbcRelay relay = JdbcRelay.builder(db, counting).table(table).maxCallsPerAggregate(5).build()) {
            RelayResult first = relay.runOnce();
            assertEquals(35, first.claimed(), "the claim leases no more of an aggregate than a batch sends");
            assertEquals(35, first.published(), "5 hot events and the 30 others");
            assertTrue(first.moreWaiting(), "the hot aggregate's rest is due at once");
            assertEquals(45, queryLong(db, "SELECT count(*) FROM " + tdb.q(table)
                    + " WHERE aggregate_id = 'o0' AND attempts = 0 AND published_at IS NULL"),
                    "the hot aggregate's rest was never leased");
            assertEquals(5, calls.get(), "the others went in the first call, beside the hot aggregate's first");
            assertTrue(delivered.containsAll(others));
            drainFully(relay, 45);
        }
        assertOrderPerAggregate(hot, delivered.stream().filter(e -> e.aggregateId().equals("o0")).toList());
    }

    @Test
    void aPublisherThatKeepsOrderWithinACallGetsAnAggregatesEventsTogether() {
        List<Event> appended = appendRoundRobin(3, 25);
        Handovers handovers = new Handovers();
        List<Integer> callSizes = Collections.synchronizedList(new ArrayList<>());
        Map<String, List<Long>> groups = new ConcurrentHashMap<>();
        Publisher fifo = new Publisher() {
            @Override
            public List<PublishOutcome> publish(List<Event> events) {
                handovers.enter(events, 10);
                callSizes.add(events.size());
                events.stream().collect(Collectors.groupingBy(Event::aggregateId, Collectors.counting()))
                        .forEach((aggregate, n) -> groups.computeIfAbsent(aggregate,
                                a -> Collections.synchronizedList(new ArrayList<>())).add(n));
                handovers.delivered.addAll(events);
                handovers.leave(events);
                return Collections.nCopies(events.size(), PublishOutcome.published());
            }

            @Override
            public CallLimits callLimits() {
                return new CallLimits(20, 10, Duration.ofSeconds(1));
            }
        };
        try (JdbcRelay relay = JdbcRelay.builder(db, fifo).table(table).build()) {
            assertEquals(75, relay.runOnce().published());
        }
        assertEquals(0, handovers.tooManyPerCall.get());
        assertTrue(callSizes.stream().allMatch(n -> n <= 20), "calls within maxEvents: " + callSizes);
        // Groups of 10, 10 and 5 events per aggregate, one group of an aggregate per call, calls of at most 20
        // without splitting a group.
        assertEquals(Map.of("o0", List.of(10L, 10L, 5L), "o1", List.of(10L, 10L, 5L), "o2", List.of(10L, 10L, 5L)),
                groups, "each aggregate's groups, call by call: " + callSizes);
        assertOrderPerAggregate(appended, handovers.delivered);
    }

    @Test
    void aLeaseShorterThanTwiceThePublishersCallTimeoutIsRefused() {
        Publisher declared = new Publisher() {
            @Override
            public List<PublishOutcome> publish(List<Event> events) {
                return Collections.nCopies(events.size(), PublishOutcome.published());
            }

            @Override
            public CallLimits callLimits() {
                return new CallLimits(10, 1, Duration.ofSeconds(10));
            }
        };
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                () -> JdbcRelay.builder(db, declared).table(table).leaseDuration(Duration.ofSeconds(15)).build());
        assertTrue(e.getMessage().contains("leaseDuration") && e.getMessage().contains("PT10S"), e.getMessage());
        assertFalse(e.getMessage().isBlank());
    }

    private static void drainFully(JdbcRelay relay, int expected) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        int published = 0;
        while (published < expected && System.nanoTime() < deadline) {
            RelayResult r = relay.drain(Duration.ofSeconds(5));
            published += r.published();
            if (r.claimed() == 0) {
                sleep(5);
            }
        }
        assertEquals(expected, published, "everything published in the end");
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
