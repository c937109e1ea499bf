package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.RelayResult;
import dev.outbox.spi.CallLimits;
import dev.outbox.spi.Destination;
import dev.outbox.spi.PublishOutcome;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A batch's publisher calls overlap when one call cannot carry the batch, so an aggregate's next call starts when its
 * own previous call is answered, not when every call made before it is: never two calls in flight with one aggregate,
 * each aggregate in order, every call on rows the relay holds under a live lease ({@link LeaseWitness}), and a batch
 * whose first call finds the broker down makes that one call only.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class CallOverlapTest extends EachDatabase {

    private OutboxTable table;
    private JdbcOutbox outbox;
    private JdbcRelay relay;

    CallOverlapTest(TestDb tdb) {
        super(tdb);
    }

    @BeforeEach
    void freshOutbox() {
        table = tdb.newTable();
        outbox = JdbcOutbox.create(table);
    }

    @AfterEach
    void close() {
        if (relay != null) {
            relay.close();
        }
    }

    /** Appends {@code hot} events of aggregate "hot", then one event of each of {@code others} aggregates. */
    private void append(int hot, int others) {
        commit(db, c -> {
            for (int i = 0; i < hot; i++) {
                outbox.append(c, Event.of("order", "hot", "step", "{\"n\":" + i + "}"));
            }
            for (int i = 0; i < others; i++) {
                outbox.append(c, Event.of("order", "a" + i, "step", "{\"n\":0}"));
            }
        });
    }

    private JdbcRelay relay(LeaseWitness witness) {
        relay = JdbcRelay.builder(db, witness).table(table).ownerId("overlap").leaseDuration(Duration.ofSeconds(30))
                .wakeOnCommit(false).build();
        return relay;
    }

    /**
     * @param atOnce how many calls were in flight as each call began
     * @return a witnessed publisher of 10 events a call, 1 of an aggregate, whose calls take {@code millis}
     */
    private LeaseWitness counting(List<Integer> atOnce, long millis,
                                  Function<List<Event>, List<PublishOutcome>> answer) {
        AtomicInteger calling = new AtomicInteger();
        return new LeaseWitness(tdb, table, new CallLimits(10, 1, Duration.ofSeconds(2)), (owner, events) -> {
            atOnce.add(calling.incrementAndGet());
            try {
                LeaseWitness.sleep(millis);
            } finally {
                calling.decrementAndGet();
            }
            return answer.apply(events);
        });
    }

    @Test
    void callsOverlapWithoutAnAggregateInTwoCallsAtOnce() {
        append(10, 60);
        Set<String> inFlight = Collections.synchronizedSet(new HashSet<>());
        List<String> overlaps = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger calling = new AtomicInteger();
        AtomicInteger mostAtOnce = new AtomicInteger();
        // 10 events a call, 5 of one aggregate: the batch of 70 needs at least 7 calls.
        LeaseWitness witness = new LeaseWitness(tdb, table, new CallLimits(10, 5, Duration.ofSeconds(2)),
                (owner, events) -> {
                    List<String> aggregates = events.stream().map(Event::aggregateId).distinct().toList();
                    for (String a : aggregates) {
                        if (!inFlight.add(a)) {
                            overlaps.add(a);
                        }
                    }
                    mostAtOnce.accumulateAndGet(calling.incrementAndGet(), Math::max);
                    try {
                        LeaseWitness.sleep(100);
                    } finally {
                        calling.decrementAndGet();
                        aggregates.forEach(inFlight::remove);
                    }
                    return LeaseWitness.allPublished(events);
                });
        RelayResult result = relay(witness).runOnce();

        assertEquals(70, result.published(), witness.calls::toString);
        assertEquals(List.of(), witness.violations);
        assertEquals(List.of(), overlaps, "aggregates in two calls at once");
        assertTrue(mostAtOnce.get() >= 2, "calls overlapped: at most " + mostAtOnce.get() + " at once");
        assertTrue(mostAtOnce.get() <= BatchDelivery.MAX_CALLS_IN_FLIGHT, "at most " + mostAtOnce.get());
        Map<String, List<String>> order = witness.firstDeliveries();
        assertEquals(IntStream.range(0, 10).mapToObj(i -> "{\"n\":" + i + "}").toList(), order.get("hot"));
        assertEquals(61, order.size());
    }

    @Test
    void aBrokerDownAtTheFirstCallCostsOneCall() {
        append(0, 40);
        LeaseWitness witness = new LeaseWitness(tdb, table, new CallLimits(10, 1, Duration.ofSeconds(2)),
                (owner, events) -> new ArrayList<>(Collections.nCopies(events.size(),
                        PublishOutcome.unavailable("broker down"))));
        RelayResult result = relay(witness).runOnce();

        assertEquals(0, result.published());
        assertEquals(1, witness.calls.size(), witness.calls::toString);
        assertEquals(List.of(), witness.violations);
    }

    @Test
    void aBatchOverlapsFromItsFirstCallOnceTheRelaysLastCallPublishedEverything() {
        append(0, 5);
        List<Integer> atOnce = Collections.synchronizedList(new ArrayList<>());
        LeaseWitness witness = counting(atOnce, 100, LeaseWitness::allPublished);
        JdbcRelay overlapping = relay(witness);
        assertEquals(5, overlapping.runOnce().published());
        append(0, 30);
        atOnce.clear();
        assertEquals(30, overlapping.runOnce().published());

        assertEquals(3, atOnce.size(), atOnce::toString);
        assertEquals(3, Collections.max(atOnce), "the second batch's three calls at once: " + atOnce);
        assertEquals(List.of(), witness.violations);
    }

    @Test
    void aSlowBatchsTailOfSeveralAggregatesGoesToTheNextClaim() {
        // c1 and c2 have 8 events each, one a call; 44 others one each; 10 events a call taking 60 ms. Once the
        // others are out, the two chains are the batch's tail: at most 6 events (a tenth of 60) of two aggregates,
        // needing more calls one after another, go back unattempted for the next claim.
        commit(db, c -> {
            for (int i = 0; i < 8; i++) {
                outbox.append(c, Event.of("order", "c1", "step", "{\"n\":" + i + "}"));
                outbox.append(c, Event.of("order", "c2", "step", "{\"n\":" + i + "}"));
            }
            for (int i = 0; i < 44; i++) {
                outbox.append(c, Event.of("order", "a" + i, "step", "{\"n\":0}"));
            }
        });
        LeaseWitness witness = counting(Collections.synchronizedList(new ArrayList<>()), 60,
                LeaseWitness::allPublished);
        JdbcRelay tailing = relay(witness);
        RelayResult first = tailing.runOnce();

        assertTrue(first.published() >= 54 && first.published() < 60, "published " + first.published());
        assertTrue(first.moreWaiting(), "the tail is due at once");
        assertEquals(60 - first.published(), tdb.queryLong("SELECT count(*) FROM " + tdb.q(table)
                + " WHERE published_at IS NULL AND attempts = 0 AND claimed_by IS NULL"
                + " AND aggregate_id IN ('c1', 'c2')"), "the tail went back unattempted, and only the chains'");
        assertEquals(60 - first.published(), tailing.runOnce().published());
        Map<String, List<String>> order = witness.firstDeliveries();
        List<String> eight = IntStream.range(0, 8).mapToObj(i -> "{\"n\":" + i + "}").toList();
        assertEquals(eight, order.get("c1"));
        assertEquals(eight, order.get("c2"));
        assertEquals(List.of(), witness.violations);
    }

    @Test
    void afterAFailedCallTheNextCallsGoOneAtATime() {
        append(0, 60);
        List<Integer> atOnce = Collections.synchronizedList(new ArrayList<>());
        // The first two calls each retry one event; the rest publish. 60 events, 10 a call: 6 calls.
        AtomicInteger calls = new AtomicInteger();
        LeaseWitness witness = counting(atOnce, 50, events -> {
            List<PublishOutcome> outcomes = LeaseWitness.allPublished(events);
            if (calls.incrementAndGet() <= 2) {
                outcomes.set(0, PublishOutcome.retry("not now"));
            }
            return outcomes;
        });
        RelayResult result = relay(witness).runOnce();

        assertEquals(58, result.published(), witness.calls::toString);
        assertEquals(List.of(), witness.violations);
        // Calls 1 to 3 each start after the one before was answered: the first two had a failure, and the third is
        // the first after them to publish everything; calls 4 to 6 then overlap.
        assertEquals(6, atOnce.size(), atOnce::toString);
        assertEquals(List.of(1, 1, 1), atOnce.subList(0, 3), atOnce::toString);
        assertTrue(atOnce.stream().anyMatch(n -> n >= 2), atOnce::toString);
    }

    @Test
    void aFailingDestinationKeepsItsOwnCallsOneAtATimeAndNoOtherDestinations() {
        // 90 events of as many aggregates, every third one for a destination that takes none of them; 10 a call.
        commit(db, c -> {
            for (int i = 0; i < 90; i++) {
                outbox.append(c, Event.of(i % 3 == 0 ? "failing" : "order", "a" + i, "step", "{\"n\":0}"));
            }
        });
        List<Integer> atOnce = Collections.synchronizedList(new ArrayList<>());
        List<Integer> failingAtOnce = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger calling = new AtomicInteger();
        AtomicInteger callingFailing = new AtomicInteger();
        LeaseWitness witness = new LeaseWitness(tdb, table, new CallLimits(10, 1, Duration.ofSeconds(2)),
                (owner, events) -> {
                    atOnce.add(calling.incrementAndGet());
                    boolean failing = events.stream().anyMatch(e -> e.aggregateType().equals("failing"));
                    if (failing) {
                        failingAtOnce.add(callingFailing.incrementAndGet());
                    }
                    try {
                        LeaseWitness.sleep(50);
                    } finally {
                        calling.decrementAndGet();
                        if (failing) {
                            callingFailing.decrementAndGet();
                        }
                    }
                    return events.stream().map(e -> e.aggregateType().equals("failing")
                            ? PublishOutcome.retry("not now") : PublishOutcome.published()).toList();
                });
        witness.routed(e -> new Destination("test", e.aggregateType()));
        relay = relay(witness);
        RelayResult result = relay.runOnce();

        assertEquals(60, result.published(), witness.calls::toString);
        assertEquals(30, result.retried(), witness.calls::toString);
        assertEquals(List.of(), witness.violations);
        assertTrue(failingAtOnce.size() >= 3 && failingAtOnce.stream().allMatch(n -> n == 1),
                "the failing destination's calls went one at a time: " + failingAtOnce);
        assertTrue(Collections.max(atOnce) >= 2, "the other destination's calls overlapped: " + atOnce);
    }

    @Test
    void callsToAHealthyAndAFailingDestinationUnderAShortLeaseKeepEveryPromise() throws Exception {
        int aggregates = 40;
        int each = 6;
        LeasePressureTest.appendSteps(tdb, table, aggregates, each);
        // Odd aggregates go to a destination that retries a third of its events and at times throws; calls of 0-300 ms
        // against a 200 ms declared timeout and a 1 s lease. Per relay, the healthy destination's calls overlap.
        CallsPerRelay calls = new CallsPerRelay();
        Function<Event, Destination> route = e -> new Destination("test",
                Integer.parseInt(e.aggregateId().substring(1)) % 2 == 0 ? "healthy" : "failing");
        LeaseWitness witness = new LeaseWitness(tdb, table, new CallLimits(10, 1, Duration.ofMillis(200)),
                (owner, events) -> {
                    calls.begin(owner);
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    boolean failing = events.stream().anyMatch(e -> route.apply(e).name().equals("failing"));
                    try {
                        LeaseWitness.sleep(random.nextInt(0, 301));
                        if (failing && random.nextDouble() < 0.1) {
                            throw new IllegalStateException("connection reset by the failing broker");
                        }
                    } finally {
                        calls.end(owner);
                    }
                    return events.stream().map(e -> route.apply(e).name().equals("failing")
                            && random.nextDouble() < 0.33 ? PublishOutcome.retry("not now")
                            : PublishOutcome.published()).toList();
                }).routed(route);
        LeasePressureTest.runPressed(tdb, table, witness, "d", 2, aggregates * each, Duration.ofSeconds(90));
        assertEveryPromiseKept(witness, aggregates, each, calls.mostAtOnce());
    }

    @Test
    void overlappingCallsAgainstAShortLeaseKeepEveryPromise() throws Exception {
        int aggregates = 60;
        int each = 10;
        LeasePressureTest.appendSteps(tdb, table, aggregates, each);
        // Per relay: two loops make at most two calls at once without overlap.
        CallsPerRelay calls = new CallsPerRelay();
        LeaseWitness witness = new LeaseWitness(tdb, table, new CallLimits(15, 1, Duration.ofMillis(400)),
                (owner, events) -> {
                    calls.begin(owner);
                    try {
                        ThreadLocalRandom random = ThreadLocalRandom.current();
                        LeaseWitness.sleep(random.nextInt(0, 601)); // at times past the declared call timeout
                        if (random.nextDouble() < 0.05) {
                            throw new IllegalStateException("connection reset by the broker");
                        }
                    } finally {
                        calls.end(owner);
                    }
                    return LeaseWitness.allPublished(events);
                });
        LeasePressureTest.runPressed(tdb, table, witness, "p", 2, aggregates * each, Duration.ofSeconds(120));
        assertEveryPromiseKept(witness, aggregates, each, calls.mostAtOnce());
    }

    /** Publisher calls in flight per relay (by owner), and the most one relay had at once. */
    private static final class CallsPerRelay {
        private final Map<String, AtomicInteger> calling = new ConcurrentHashMap<>();
        private final AtomicInteger most = new AtomicInteger();

        void begin(String owner) {
            most.accumulateAndGet(calling.computeIfAbsent(owner, o -> new AtomicInteger()).incrementAndGet(),
                    Math::max);
        }

        void end(String owner) {
            calling.get(owner).decrementAndGet();
        }

        int mostAtOnce() {
            return most.get();
        }
    }

    /** After a pressure run: no broken promise, every aggregate first delivered whole and in order, calls overlapped. */
    private void assertEveryPromiseKept(LeaseWitness witness, int aggregates, int each, int mostAtOnce) {
        assertEquals(List.of(), witness.violations.stream().limit(10).toList(),
                witness.violations.size() + " broken promises");
        assertEquals(LeasePressureTest.steps(aggregates, each), witness.firstDeliveries(),
                "every aggregate first delivered whole and in order");
        assertEquals(aggregates * each, LeasePressureTest.published(tdb, table), "every event published");
        assertTrue(mostAtOnce >= 3, "one relay's calls overlapped: at most " + mostAtOnce + " at once");
    }
}
