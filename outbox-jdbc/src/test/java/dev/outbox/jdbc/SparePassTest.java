package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.RelayListener;
import dev.outbox.RelayResult;
import dev.outbox.RetryPolicy;
import dev.outbox.spi.CallLimits;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A loop whose batch is down to one busy aggregate's chain of calls is spared: a spare pass publishes the other
 * aggregates' events meanwhile, under leases of its own ({@link LeaseWitness}), every aggregate in order; closing the
 * relay waits for the spare pass's batch; a pass the host calls starts none; under a short lease, with calls that
 * overrun it or throw, two relays' loops and spare passes keep every promise.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class SparePassTest extends EachDatabase {

    /** One publisher call: when it started and ended (nanoTime), and its events as aggregate:payload. */
    private record Call(long started, long ended, List<String> events) {
        boolean carries(String event) {
            return events.contains(event);
        }

        boolean carriesOthers() {
            return events.stream().anyMatch(e -> e.startsWith("a"));
        }
    }

    private OutboxTable table;
    private JdbcOutbox outbox;
    private JdbcRelay relay;
    private ExecutorService threads;
    private final List<Call> calls = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger calling = new AtomicInteger();
    private final CountDownLatch firstCall = new CountDownLatch(1);
    private volatile long closedAt = Long.MAX_VALUE;
    private final List<String> lateCalls = Collections.synchronizedList(new ArrayList<>());

    SparePassTest(TestDb tdb) {
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
        if (threads != null) {
            threads.shutdownNow();
        }
    }

    private void appendHot(int count) {
        commit(db, c -> {
            for (int i = 0; i < count; i++) {
                outbox.append(c, Event.of("order", "hot", "step", "{\"n\":" + i + "}"));
            }
        });
    }

    private void appendOthers(int count) {
        commit(db, c -> {
            for (int i = 0; i < count; i++) {
                outbox.append(c, Event.of("order", "a" + i, "step", "{\"n\":0}"));
            }
        });
    }

    /** A witnessed publisher of 10 events a call, one of an aggregate, whose calls take {@code millis}. */
    private LeaseWitness slow(long millis) {
        return new LeaseWitness(tdb, table, new CallLimits(10, 1, Duration.ofSeconds(2)), (owner, events) -> {
            long started = System.nanoTime();
            calling.incrementAndGet();
            firstCall.countDown();
            try {
                LeaseWitness.sleep(millis);
            } finally {
                calling.decrementAndGet();
            }
            calls.add(new Call(started, System.nanoTime(),
                    events.stream().map(e -> e.aggregateId() + ":" + e.payload()).toList()));
            if (started > closedAt) {
                lateCalls.add(events.toString());
            }
            return LeaseWitness.allPublished(events);
        });
    }

    private JdbcRelay relay(LeaseWitness witness) {
        relay = JdbcRelay.builder(db, witness).table(table).ownerId("spared").leaseDuration(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(50)).wakeOnCommit(false).build();
        return relay;
    }

    private long published() {
        return LeasePressureTest.published(tdb, table);
    }

    private Call callWith(String event) {
        synchronized (calls) {
            return calls.stream().filter(c -> c.carries(event)).findFirst().orElseThrow(() -> new AssertionError(
                    "no call carried " + event + ": " + calls));
        }
    }

    @Test
    void aLoopHeldByOneAggregatesChainIsSparedForTheOthers() throws Exception {
        appendHot(30); // the first batch: the hot aggregate's share of 10, ten calls of 40 ms one after another
        LeaseWitness witness = slow(40);
        threads = Executors.newSingleThreadExecutor();
        relay(witness).start(threads);
        assertTrue(firstCall.await(10, TimeUnit.SECONDS), "the loop made a call");
        appendOthers(40); // committed after the loop's claim: only another claim can take them

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (published() < 70 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(70, published(), calls::toString);
        assertEquals(List.of(), witness.violations);
        Map<String, List<String>> order = witness.firstDeliveries();
        assertEquals(IntStream.range(0, 30).mapToObj(i -> "{\"n\":" + i + "}").toList(), order.get("hot"));
        assertEquals(41, order.size());
        // One loop, and the others were committed after its claim: without a spare pass none of them could go before
        // the loop's batch made its last call.
        long lastOfChain = callWith("hot:{\"n\":9}").started();
        List<Call> spared;
        synchronized (calls) {
            spared = calls.stream().filter(c -> c.carriesOthers() && c.started() < lastOfChain).toList();
        }
        assertTrue(!spared.isEmpty(), "no other aggregate's event went while the chain ran alone: " + calls);
    }

    @Test
    void closingWaitsForTheSparePassesBatch() throws Exception {
        appendHot(10);
        LeaseWitness witness = slow(100);
        threads = Executors.newSingleThreadExecutor();
        relay(witness).start(threads);
        assertTrue(firstCall.await(10, TimeUnit.SECONDS), "the loop made a call");
        appendOthers(40);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        boolean othersGoing = false;
        while (!othersGoing && System.nanoTime() < deadline) {
            synchronized (calls) {
                othersGoing = calls.stream().anyMatch(Call::carriesOthers);
            }
            Thread.sleep(5);
        }
        assertTrue(othersGoing, "a spare pass published the others: " + calls);

        boolean stopped = relay.close(Duration.ofSeconds(20));
        closedAt = System.nanoTime();
        assertTrue(stopped, "the loop and its spare pass ended within the timeout");
        assertEquals(0, calling.get(), "no call in flight once close returned");
        Thread.sleep(300);
        assertEquals(List.of(), lateCalls, "no call started after close returned");
        assertEquals(List.of(), witness.violations);
        // What was claimed was published or given back: nothing is left under a lease.
        assertEquals(0, tdb.queryLong("SELECT count(*) FROM " + tdb.q(table) + " WHERE published_at IS NULL AND"
                + " lease_until > " + tdb.now()));
    }

    @Test
    void aPassTheHostCallsStartsNoSparePass() throws Exception {
        appendHot(10);
        LeaseWitness witness = slow(40);
        Thread writer = new Thread(() -> {
            try {
                firstCall.await(10, TimeUnit.SECONDS);
                appendOthers(40);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        writer.start();
        RelayResult result = relay(witness).runOnce();
        writer.join(10_000);

        assertEquals(10, result.published());
        assertEquals(10, published(), "the others wait for the host's next pass: " + calls);
        assertEquals(0, calling.get());
        assertEquals(List.of(), witness.violations);
    }

    @Test
    void sparePassesUnderAShortLeaseAndFailingCallsKeepEveryPromise() throws Exception {
        // A hot aggregate of 60 events and one of 3, one event a call: a batch (20 events at most) holds a share of 10
        // of the first, and is down to its chain after 3 calls. Behind them 400 single events of other aggregates,
        // for the two relays' loops (one each) and their spare passes to claim. Calls of 20-60 ms, 3 % of them 400-700 ms (past the declared 200 ms,
        // against a 1 s lease), 3 % throwing.
        Map<String, Integer> counts = Map.of("h0", 60, "h1", 3);
        int singles = 400;
        commit(db, c -> {
            for (int step = 0; step < 60; step++) {
                for (Map.Entry<String, Integer> hot : counts.entrySet()) {
                    if (step < hot.getValue()) {
                        outbox.append(c, Event.of("order", hot.getKey(), "step", "{\"n\":" + step + "}"));
                    }
                }
            }
            for (int i = 0; i < singles; i++) {
                outbox.append(c, Event.of("order", "s" + i, "step", "{\"n\":0}"));
            }
        });
        int total = 63 + singles;
        LeaseWitness witness = new LeaseWitness(tdb, table, new CallLimits(10, 1, Duration.ofMillis(200)),
                (owner, events) -> {
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    double roll = random.nextDouble();
                    LeaseWitness.sleep(roll < 0.03 ? random.nextInt(400, 701) : random.nextInt(20, 61));
                    if (roll > 0.97) {
                        throw new IllegalStateException("connection reset by the broker");
                    }
                    return LeaseWitness.allPublished(events);
                });
        Set<String> batchThreads = ConcurrentHashMap.newKeySet();
        RelayListener threadsSeen = new RelayListener() {
            @Override
            public void batchCompleted(RelayResult result, Duration elapsed) {
                batchThreads.add(Thread.currentThread().getName());
            }
        };
        threads = Executors.newFixedThreadPool(2);
        List<JdbcRelay> relays = new ArrayList<>();
        try {
            for (int r = 0; r < 2; r++) {
                JdbcRelay started = JdbcRelay.builder(db, witness).table(table).ownerId("pressed" + r)
                        .leaseDuration(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(50)).wakeOnCommit(false)
                        .batchSize(20).listener(threadsSeen)
                        .retryPolicy(RetryPolicy.builder().initialDelay(Duration.ofMillis(10))
                                .maxDelay(Duration.ofMillis(200)).maxAttempts(20).build())
                        .build();
                relays.add(started);
                started.start(threads);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (published() < total && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
        } finally {
            relays.forEach(JdbcRelay::close);
        }

        assertEquals(List.of(), witness.violations.stream().limit(10).toList(),
                witness.violations.size() + " broken promises");
        Map<String, List<String>> expected = new HashMap<>();
        counts.forEach((hot, count) -> expected.put(hot,
                IntStream.range(0, count).mapToObj(n -> "{\"n\":" + n + "}").toList()));
        for (int i = 0; i < singles; i++) {
            expected.put("s" + i, List.of("{\"n\":0}"));
        }
        assertEquals(expected, witness.firstDeliveries(), "every aggregate first delivered whole and in order");
        assertEquals(total, published(), "every event published");
        assertEquals(0, tdb.queryLong("SELECT count(*) FROM " + tdb.q(table) + " WHERE dead_at IS NOT NULL"));
        assertTrue(batchThreads.contains("outbox-spare-pass"), "spare passes ran batches: " + batchThreads);
    }
}
