package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.RelayLoop;
import dev.outbox.RetryPolicy;
import dev.outbox.testing.RecordingPublisher;
import dev.outbox.spi.PublishOutcome;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#allWithRotated")
class ConcurrentRelaysTest extends EachDatabase {

    ConcurrentRelaysTest(TestDb tdb) {
        super(tdb);
    }

    List<Event> appendInTransactions(JdbcOutbox outbox, int transactions, int perTransaction, int aggregates) {
        List<Event> all = new ArrayList<>();
        for (int t = 0; t < transactions; t++) {
            List<Event> batch = new ArrayList<>();
            for (int i = 0; i < perTransaction; i++) {
                int n = t * perTransaction + i;
                batch.add(Event.builder().aggregate("account", "a" + (n % aggregates)).type("credited")
                        .payload("{\"n\":" + n + "}").build());
            }
            commit(db, c -> outbox.appendAll(c, batch));
            all.addAll(batch);
        }
        return all;
    }

    static void awaitDrained(OutboxOperations ops, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            OutboxStats stats = ops.stats();
            if (stats.pending() == 0 && stats.inFlight() == 0) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("not drained within " + timeout + ": " + ops.stats());
    }

    @Test
    void fourRelaysDrainingTenThousandEventsPublishEachExactlyOnce() throws Exception {
        OutboxTable table = tdb.newTable();
        JdbcOutbox outbox = JdbcOutbox.create(table);
        List<Event> appended = appendInTransactions(outbox, 100, 100, 1_000);
        RecordingPublisher publisher = new RecordingPublisher();

        ExecutorService threads = Executors.newFixedThreadPool(4);
        List<JdbcRelay> relays = new ArrayList<>();
        List<Future<Integer>> published = new ArrayList<>();
        for (int r = 0; r < 4; r++) {
            JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).batchSize(100).build();
            relays.add(relay);
            published.add(threads.submit(() -> relay.drain(Duration.ofMinutes(1)).published()));
        }
        int total = 0;
        for (Future<Integer> f : published) {
            total += f.get(2, TimeUnit.MINUTES);
        }
        threads.shutdown();
        relays.forEach(JdbcRelay::close);

        List<UUID> delivered = publisher.deliveries().stream().map(Event::id).toList();
        assertEquals(10_000, total);
        assertEquals(10_000, delivered.size(), "no event delivered twice");
        assertEquals(new HashSet<>(appended.stream().map(Event::id).toList()), new HashSet<>(delivered),
                "every appended event delivered");
        assertEquals(new OutboxStats(0, 0, 0, Duration.ZERO, true), new OutboxOperations(db, table).stats());
    }

    @Test
    void perAggregateOrderHoldsWithConcurrentWritersRelaysAndAPublisherFailingAtRandom() throws Exception {
        OutboxTable table = tdb.newTable();
        JdbcOutbox outbox = JdbcOutbox.create(table);
        int aggregates = 40;
        int perAggregate = 50;
        RecordingPublisher publisher = new RecordingPublisher(e -> ThreadLocalRandom.current().nextInt(100) < 30
                ? PublishOutcome.retry("random broker failure") : PublishOutcome.published());
        RetryPolicy quick = RetryPolicy.builder().initialDelay(Duration.ofMillis(1)).maxDelay(Duration.ofMillis(20))
                .maxAttempts(1000).build();

        ExecutorService relayThreads = Executors.newFixedThreadPool(4);
        List<JdbcRelay> relays = new ArrayList<>();
        List<RelayLoop> loops = new ArrayList<>();
        for (int r = 0; r < 4; r++) {
            JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).batchSize(37).retryPolicy(quick)
                    .pollInterval(Duration.ofMillis(5)).build();
            relays.add(relay);
            loops.add(relay.start(relayThreads));
        }

        // On a rotated table a purge with no retention runs all the while, emptying partitions as soon as their
        // events are published and moving appends from one to the next under the writers and relays.
        ExecutorService writers = Executors.newFixedThreadPool(5);
        AtomicBoolean appending = new AtomicBoolean(true);
        String files = "SELECT string_agg(pg_relation_filenode(c.oid)::text, ',' ORDER BY c.relname) FROM pg_class c"
                + " JOIN pg_inherits i ON i.inhrelid = c.oid WHERE i.inhparent = '" + table.qualifiedName() + "'::regclass";
        String filesBefore = tdb.rotated() ? tdb.queryString(files) : null;
        Future<?> purging = !tdb.rotated() ? null : writers.submit(() -> {
            OutboxOperations purger = new OutboxOperations(db, table);
            while (appending.get()) {
                purger.purgePublished(Duration.ZERO, 500);
                Thread.sleep(20);
            }
            return null;
        });

        // Four writers append while the relays run; each writer owns its aggregates, as a service that locks
        // the aggregate row would, and writes 1 to 3 events per transaction.
        List<Future<?>> writing = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
            int writer = w;
            writing.add(writers.submit(() -> {
                int[] next = new int[aggregates];
                List<Integer> mine = new ArrayList<>();
                for (int a = writer; a < aggregates; a += 4) {
                    mine.add(a);
                }
                while (mine.stream().anyMatch(a -> next[a] < perAggregate)) {
                    int a = mine.get(ThreadLocalRandom.current().nextInt(mine.size()));
                    int count = Math.min(1 + ThreadLocalRandom.current().nextInt(3), perAggregate - next[a]);
                    List<Event> events = new ArrayList<>();
                    for (int i = 0; i < count; i++) {
                        events.add(Event.builder().aggregate("account", "a" + a).type("credited")
                                .payload("{\"seq\":" + next[a]++ + "}").build());
                    }
                    commit(db, c -> outbox.appendAll(c, events));
                }
                return null;
            }));
        }
        for (Future<?> f : writing) {
            f.get(2, TimeUnit.MINUTES);
        }
        appending.set(false);
        if (purging != null) {
            purging.get(1, TimeUnit.MINUTES);
            assertTrue(tdb.queryLong("SELECT pg_sequence_last_value('" + table.slotSequenceQualifiedName() + "') / 4")
                    >= 2, "appends moved at least twice");
            String filesAfter = tdb.queryString(files);
            long emptied = java.util.stream.IntStream.range(0, 4)
                    .filter(i -> !filesBefore.split(",")[i].equals(filesAfter.split(",")[i])).count();
            assertTrue(emptied >= 1, "partitions emptied by TRUNCATE: " + filesBefore + " -> " + filesAfter);
        }
        writers.shutdown();
        awaitDrained(new OutboxOperations(db, table), Duration.ofMinutes(2));
        loops.forEach(loop -> assertTrue(loop.stop(Duration.ofSeconds(10))));
        relays.forEach(JdbcRelay::close);
        relayThreads.shutdown();

        Map<String, List<Integer>> sequences = new HashMap<>();
        for (Event e : publisher.deliveries()) {
            int seq = Integer.parseInt(e.payload().replaceAll("\\D", ""));
            sequences.computeIfAbsent(e.aggregateId(), k -> new ArrayList<>()).add(seq);
        }
        assertEquals(aggregates, sequences.size());
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < perAggregate; i++) {
            expected.add(i);
        }
        for (Map.Entry<String, List<Integer>> entry : sequences.entrySet()) {
            assertEquals(expected, entry.getValue(), "deliveries of " + entry.getKey() + " in append order, once each");
        }
        assertTrue(publisher.batches() > 0);
    }

    @Test
    void unorderedModeDrainsEverythingWithTwoRelays() throws Exception {
        OutboxTable table = tdb.newTable();
        List<Event> appended = appendInTransactions(JdbcOutbox.create(table), 20, 100, 3);
        RecordingPublisher publisher = new RecordingPublisher();
        ExecutorService threads = Executors.newFixedThreadPool(2);
        List<Future<Integer>> published = new ArrayList<>();
        List<JdbcRelay> relays = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).ordering(Ordering.NONE).batchSize(50).build();
            relays.add(relay);
            published.add(threads.submit(() -> relay.drain(Duration.ofMinutes(1)).published()));
        }
        int total = 0;
        for (Future<Integer> f : published) {
            total += f.get(1, TimeUnit.MINUTES);
        }
        threads.shutdown();
        relays.forEach(JdbcRelay::close);
        Set<UUID> delivered = new HashSet<>(publisher.deliveries().stream().map(Event::id).toList());
        assertEquals(appended.size(), total);
        assertEquals(appended.size(), publisher.deliveries().size());
        assertEquals(new HashSet<>(appended.stream().map(Event::id).toList()), delivered);
    }

    @Test
    void aStartedLoopPublishesWhenWokenAndStopsWhenAsked() throws Exception {
        OutboxTable table = tdb.newTable();
        JdbcOutbox outbox = JdbcOutbox.create(table);
        RecordingPublisher publisher = new RecordingPublisher();
        JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).pollInterval(Duration.ofMinutes(10)).build();
        ExecutorService executor = Executors.newSingleThreadExecutor();
        RelayLoop loop = relay.start(executor);
        Thread.sleep(100); // the loop's first, empty pass; it now waits up to ten minutes
        Event e = Event.of("order", "1", "order_placed", "{}");
        commit(db, c -> outbox.append(c, e));
        long woken = System.nanoTime();
        loop.wakeUp();
        while (publisher.deliveries().isEmpty() && System.nanoTime() - woken < TimeUnit.SECONDS.toNanos(5)) {
            Thread.sleep(5);
        }
        assertEquals(List.of(e.id()), publisher.deliveries().stream().map(Event::id).toList(),
                "published right after the wake-up, not after the poll interval");
        assertTrue(loop.stop(Duration.ofSeconds(5)));
        assertTrue(!loop.isRunning());
        relay.close();
        executor.shutdown();
        assertTrue(executor.awaitTermination(5, TimeUnit.SECONDS), "the host's thread was given back");
    }
}
