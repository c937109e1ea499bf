package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static dev.outbox.testing.Transactions.queryLong;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.OutboxException;
import dev.outbox.RelayListener;
import dev.outbox.RelayResult;
import dev.outbox.RetryPolicy;
import dev.outbox.testing.RecordingPublisher;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class RelayTest extends EachDatabase {

    final List<JdbcRelay> relays = new ArrayList<>();
    OutboxTable table;
    JdbcOutbox outbox;
    OutboxOperations ops;

    RelayTest(TestDb tdb) {
        super(tdb);
    }

    @BeforeEach
    void freshOutbox() {
        table = tdb.newTable();
        outbox = JdbcOutbox.create(table);
        ops = new OutboxOperations(db, table);
    }

    @AfterEach
    void closeRelays() {
        relays.forEach(JdbcRelay::close);
    }

    JdbcRelay.Builder relay(Publisher publisher) {
        return JdbcRelay.builder(db, publisher).table(table);
    }

    JdbcRelay built(JdbcRelay.Builder builder) {
        JdbcRelay relay = builder.build();
        relays.add(relay);
        return relay;
    }

    Event append(String aggregateId) {
        Event e = Event.builder().aggregate("order", aggregateId).type("order_placed").payload("{}").build();
        commit(db, c -> outbox.append(c, e));
        return e;
    }

    long column(Event e, String expression) {
        return queryLong(db, "SELECT " + expression + " FROM " + tdb.q(table) + " WHERE id = '" + e.id() + "'");
    }

    @Test
    void claimOfADeadRelayIsPublishedByAnotherAfterItsLeaseExpires() throws Exception {
        Event e = append("o1");
        CountDownLatch claimed = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        // The first relay claims, then hangs in its publisher as if its process had frozen or died.
        Publisher hanging = events -> {
            claimed.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            return events.stream().map(x -> PublishOutcome.published()).toList();
        };
        JdbcRelay stuck = built(relay(hanging).leaseDuration(Duration.ofSeconds(1)));
        RecordingPublisher survivor = new RecordingPublisher();
        JdbcRelay rescuer = built(relay(survivor).leaseDuration(Duration.ofSeconds(30)));

        ExecutorService pool = Executors.newSingleThreadExecutor();
        Future<RelayResult> stuckRun = pool.submit(stuck::runOnce);
        assertTrue(claimed.await(10, TimeUnit.SECONDS));
        assertEquals(0, rescuer.runOnce().claimed(), "a live lease keeps others away");

        Thread.sleep(1200);
        assertEquals(1, rescuer.runOnce().published(), "an expired lease is claimed again");
        assertEquals(List.of(e.id()), survivor.deliveries().stream().map(Event::id).toList());

        release.countDown();
        RelayResult late = stuckRun.get(10, TimeUnit.SECONDS);
        assertEquals(0, late.published(), "the stale relay's outcome is refused: its lease token was replaced");
        pool.shutdown();
        assertEquals(2, column(e, "attempts"));
        assertEquals(1, column(e, "count(published_at)"));
    }

    @Test
    void retriesFollowTheBackoffScheduleAndTheLastFailureLeavesTheEventDeadWithItsError() throws Exception {
        Event e = append("o2");
        RecordingPublisher failing = new RecordingPublisher(x -> PublishOutcome.retry("broker says 503"));
        RetryPolicy policy = RetryPolicy.builder().initialDelay(Duration.ofMillis(300)).multiplier(2)
                .maxDelay(Duration.ofSeconds(10)).jitter(0).maxAttempts(3).build();
        JdbcRelay relay = built(relay(failing).retryPolicy(policy));

        String delayMs = tdb.millisUntil("next_attempt_at");
        assertEquals(1, relay.runOnce().retried());
        long first = column(e, delayMs);
        assertTrue(first > 200 && first <= 300, "first delay ~300 ms, was " + first);
        assertEquals(0, relay.runOnce().claimed(), "not claimed again before its delay");

        Thread.sleep(320);
        assertEquals(1, relay.runOnce().retried());
        long second = column(e, delayMs);
        assertTrue(second > 500 && second <= 600, "second delay ~600 ms, was " + second);

        Thread.sleep(620);
        RelayResult last = relay.runOnce();
        assertEquals(1, last.dead());
        assertEquals(3, failing.attempts(e.id()));

        List<DeadEvent> dead = ops.listDead(10);
        assertEquals(1, dead.size());
        assertEquals(e.id(), dead.get(0).event().id());
        assertEquals(3, dead.get(0).attempts());
        assertTrue(dead.get(0).lastError().contains("broker says 503"), dead.get(0).lastError());
        assertEquals(1, ops.stats().dead());
        assertEquals(0, relay.runOnce().claimed(), "dead events are not claimed");
    }

    @Test
    void requeueBringsDeadEventsBackByIdByTypeAndAll() {
        RecordingPublisher publisher = new RecordingPublisher(x -> PublishOutcome.rejected("invalid detail"));
        JdbcRelay relay = built(relay(publisher));
        Event a = append("o3");
        Event b = append("o4");
        Event c = append("o5");
        assertEquals(3, relay.runOnce().dead(), "a rejection is final at once");
        assertTrue(ops.listDead(10).get(0).lastError().startsWith("rejected: invalid detail"));

        publisher.decide(x -> PublishOutcome.published());
        assertEquals(1, ops.requeueDead(List.of(a.id(), UUID.randomUUID())));
        assertEquals(List.of(a.id()), publishedIds(relay, publisher));
        assertEquals(2, ops.requeueDeadOfType("order_placed"));
        assertEquals(0, ops.requeueAllDead());
        assertEquals(2, relay.runOnce().published());
        assertTrue(publisher.deliveries().stream().map(Event::id).toList().containsAll(List.of(b.id(), c.id())));
        assertEquals(0, ops.stats().dead());
        assertEquals(0, column(a, "attempts") - 1, "requeue resets attempts: one new attempt made");
    }

    @Test
    void aDeadEventHoldsBackItsAggregateButNotOthersUntilDiscarded() {
        RecordingPublisher publisher = new RecordingPublisher(
                x -> x.aggregateId().equals("poison") && x.payload().contains("bad")
                        ? PublishOutcome.rejected("poison") : PublishOutcome.published());
        JdbcRelay relay = built(relay(publisher).batchSize(2));
        Event poison = Event.builder().aggregate("order", "poison").type("t").payload("{\"bad\":1}").build();
        commit(db, c -> outbox.append(c, poison));
        List<Event> sameAggregate = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            sameAggregate.add(append("poison"));
        }
        List<Event> others = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            others.add(append("healthy-" + i));
        }
        relay.drain(Duration.ofSeconds(10));
        List<UUID> delivered = publisher.deliveries().stream().map(Event::id).toList();
        assertEquals(others.stream().map(Event::id).toList(), delivered,
                "other aggregates flow past the poison event even with a batch of 2");
        assertEquals(5, ops.stats().pending(), "the poisoned aggregate waits");

        assertEquals(1, ops.discardDead(List.of(poison.id())));
        relay.drain(Duration.ofSeconds(10));
        List<UUID> after = publisher.deliveries().stream().map(Event::id).toList();
        assertEquals(sameAggregate.stream().map(Event::id).toList(), after.subList(5, after.size()),
                "released in order once the dead event is discarded");
    }

    @Test
    void laterEventsOfAFailedAggregateInTheSameBatchDoNotSpendAttempts() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        RecordingPublisher publisher = new RecordingPublisher(
                x -> calls.incrementAndGet() == 1 ? PublishOutcome.retry("timeout") : PublishOutcome.published());
        JdbcRelay relay = built(relay(publisher).retryPolicy(RetryPolicy.builder()
                .initialDelay(Duration.ofMillis(1)).maxDelay(Duration.ofMillis(1)).jitter(0).build()));
        Event first = append("o6");
        Event second = append("o6");
        RelayResult result = relay.runOnce();
        assertEquals(2, result.retried());
        assertEquals(1, column(first, "attempts"));
        assertEquals(0, column(second, "attempts"), "held back, not attempted");
        Thread.sleep(20); // the 1 ms retry delay passes; a drain stops at the first claim that finds nothing due
        relay.drain(Duration.ofSeconds(5));
        assertEquals(List.of(first.id(), second.id()), publisher.deliveries().stream().map(Event::id).toList());
    }

    @Test
    void aPublisherThatThrowsOrMiscountsHasItsBatchRetried() throws Exception {
        RetryPolicy quick = RetryPolicy.builder().initialDelay(Duration.ofMillis(1)).maxDelay(Duration.ofMillis(1))
                .jitter(0).maxAttempts(5).build();
        Event e = append("o7");
        JdbcRelay throwing = built(relay(events -> {
            throw new IllegalStateException("socket closed");
        }).retryPolicy(quick));
        assertEquals(1, throwing.runOnce().retried());
        throwing.close();
        Thread.sleep(10);

        JdbcRelay miscounting = built(relay(events -> List.of()).retryPolicy(quick));
        assertEquals(1, miscounting.runOnce().retried());
        miscounting.close();
        Thread.sleep(10);

        JdbcRelay nulls = built(relay(events -> null).retryPolicy(quick));
        assertEquals(1, nulls.runOnce().retried());
        nulls.close();
        Thread.sleep(10);

        JdbcRelay nullOutcome = built(relay(events -> java.util.Arrays.asList((PublishOutcome) null)).retryPolicy(quick));
        assertEquals(1, nullOutcome.runOnce().retried());
        nullOutcome.close();
        Thread.sleep(10);

        RecordingPublisher good = new RecordingPublisher();
        JdbcRelay relay = built(relay(good).retryPolicy(quick));
        relay.drain(Duration.ofSeconds(5));
        assertEquals(List.of(e.id()), good.deliveries().stream().map(Event::id).toList());
        assertEquals(5, column(e, "attempts"));
    }

    @Test
    void purgeRemovesOnlyPublishedRowsOlderThanTheRetention() {
        JdbcRelay relay = built(relay(new RecordingPublisher()));
        for (int i = 0; i < 25; i++) {
            append("p" + i);
        }
        relay.drain(Duration.ofSeconds(10));
        Event pending = append("still-pending");
        tdb.execute(tdb.mysqlFamily()
                ? "UPDATE " + tdb.q(table) + " SET published_at = UTC_TIMESTAMP(6) - INTERVAL 2 DAY"
                        + " WHERE published_at IS NOT NULL ORDER BY position LIMIT 20"
                : "UPDATE " + tdb.q(table) + " SET published_at = now() - interval '2 days'"
                        + " WHERE position IN (SELECT position FROM " + tdb.q(table)
                        + " WHERE published_at IS NOT NULL ORDER BY position LIMIT 20)");

        assertEquals(20, ops.purgePublished(Duration.ofDays(1), 7), "in batches of 7 until none is left");
        assertEquals(6, queryLong(db, "SELECT count(*) FROM " + tdb.q(table)));
        assertEquals(1, column(pending, "count(*)"), "pending events are never purged");
        assertEquals(0, ops.purgePublished(Duration.ofDays(1), 7));
        assertThrows(InvalidConfigurationException.class, () -> ops.purgePublished(Duration.ofDays(-1), 7));
    }

    @Test
    void statsCountPendingInFlightDeadAndTheOldestAge() throws Exception {
        assertEquals(new OutboxStats(0, 0, 0, Duration.ZERO, true), ops.stats());
        append("s1");
        append("s2");
        Thread.sleep(50);
        OutboxStats stats = ops.stats();
        assertEquals(2, stats.pending());
        assertTrue(stats.oldestPendingAge().toMillis() >= 50, stats.toString());
    }

    @Test
    void listenerHearsEveryOutcome() {
        List<String> heard = new ArrayList<>();
        RelayListener listener = new RelayListener() {
            @Override
            public void published(List<Event> events) {
                heard.add("published " + events.size());
            }

            @Override
            public void dead(Event event, int attempts, String reason) {
                heard.add("dead " + attempts);
            }

            @Override
            public void batchCompleted(RelayResult result, Duration elapsed) {
                heard.add("batch " + result.claimed());
                throw new IllegalStateException("a broken listener changes nothing");
            }
        };
        RecordingPublisher publisher = new RecordingPublisher(
                x -> x.aggregateId().equals("bad") ? PublishOutcome.rejected("no") : PublishOutcome.published());
        JdbcRelay relay = built(relay(publisher).listener(listener));
        append("good");
        append("bad");
        RelayResult result = relay.runOnce();
        assertEquals(new RelayResult(2, 1, 0, 1, false), result);
        assertEquals(List.of("dead 1", "published 1", "batch 2"), heard);
    }

    @Test
    void closedRelayRefusesWorkAndConfigurationIsValidated() {
        JdbcRelay relay = relay(new RecordingPublisher()).ownerId("relay-a").build();
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> relay(new RecordingPublisher()).ownerId("relay-a").build()).getMessage().contains("relay-a"));
        relay.close();
        assertTrue(assertThrows(OutboxException.class, relay::runOnce).getMessage().contains("closed"));
        built(relay(new RecordingPublisher()).ownerId("relay-a")); // the name is free again

        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> relay(new RecordingPublisher()).batchSize(0).build()).getMessage().contains("batchSize"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> relay(new RecordingPublisher()).leaseDuration(Duration.ofMillis(10)).build())
                .getMessage().contains("leaseDuration"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> JdbcRelay.builder(null, new RecordingPublisher()).build()).getMessage().contains("dataSource"));
        assertTrue(assertThrows(InvalidConfigurationException.class,
                () -> relay(null).build()).getMessage().contains("publisher"));
    }

    @Test
    void aMissingTableIsAClearErrorFromRunOnce() {
        JdbcRelay relay = built(JdbcRelay.builder(db, new RecordingPublisher()).table(OutboxTable.named("absent_table")));
        OutboxException e = assertThrows(OutboxException.class, relay::runOnce);
        assertTrue(e.getMessage().contains("absent_table"), e.getMessage());
    }

    private static List<UUID> publishedIds(JdbcRelay relay, RecordingPublisher publisher) {
        int before = publisher.deliveries().size();
        relay.runOnce();
        List<Event> all = publisher.deliveries();
        return all.subList(before, all.size()).stream().map(Event::id).toList();
    }
}
