package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.RelayResult;
import dev.outbox.spi.CallLimits;
import dev.outbox.spi.PublishOutcome;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The batch's lease is one clock, taken from before the claim was sent: no publisher call starts on a row the relay
 * does not hold under a live lease, culprit searches included; a renewal that loses an event drops the rest of its
 * aggregate, and one that holds nothing ends the batch. Each test is one of the ways this went wrong, in its
 * scenario; {@link LeaseWitness} reads the rows at every call.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class LeaseClockTest extends EachDatabase {

    OutboxTable table;
    JdbcOutbox outbox;
    final List<JdbcRelay> relays = new ArrayList<>();
    final ExecutorService threads = Executors.newCachedThreadPool();

    LeaseClockTest(TestDb tdb) {
        super(tdb);
    }

    @BeforeEach
    void freshOutbox() {
        table = tdb.newTable();
        outbox = JdbcOutbox.create(table);
    }

    @AfterEach
    void closeAll() {
        relays.forEach(JdbcRelay::close);
        threads.shutdownNow();
    }

    JdbcRelay relay(DataSource dataSource, LeaseWitness publisher, String owner, Duration lease, int batchSize) {
        JdbcRelay relay = JdbcRelay.builder(dataSource, publisher).table(table).ownerId(owner).leaseDuration(lease)
                .batchSize(batchSize).pollInterval(Duration.ofMillis(20)).wakeOnCommit(false).build();
        relays.add(relay);
        return relay;
    }

    void append(String aggregate, int n) {
        Event e = Event.of("order", aggregate, "step", "{\"n\":" + n + "}");
        commit(db, c -> outbox.append(c, e));
    }

    /** Calls take 450 ms, and any call holding aggregate x1's event throws. */
    LeaseWitness slowWithAPoisonX1() {
        return new LeaseWitness(tdb, table, CallLimits.DEFAULT, (relay, events) -> {
            LeaseWitness.sleep(450);
            if (events.stream().anyMatch(e -> e.aggregateId().equals("x1"))) {
                throw new IllegalStateException("x1 cannot be sent");
            }
            return LeaseWitness.allPublished(events);
        });
    }

    @Test
    void aCulpritSearchLongerThanTheLeaseNeverHandsOverAnEventAnotherRelayTook() throws Exception {
        // 16 single-event aggregates, then A's two events. Calls take 450 ms and any call holding x1 throws, so the
        // first round's call of 17 events is searched in halves for some 4 s against a 2 s lease. A second relay that
        // claims 17 events at a time claims at 2.6 s.
        for (int i = 1; i <= 16; i++) {
            append("x" + i, 1);
        }
        append("A", 1);
        append("A", 2);
        LeaseWitness witness = slowWithAPoisonX1();
        JdbcRelay first = relay(db, witness, "r1", Duration.ofSeconds(2), 500);
        JdbcRelay second = relay(db, witness, "r2", Duration.ofSeconds(2), 17);
        Future<RelayResult> one = threads.submit(first::runOnce);
        Thread.sleep(2600);
        Future<RelayResult> two = threads.submit(second::runOnce);
        one.get(60, TimeUnit.SECONDS);
        two.get(60, TimeUnit.SECONDS);
        assertEquals(List.of(), witness.violations, "calls on rows not held, or out of order: " + witness.calls);
        assertEquals(List.of("{\"n\":1}", "{\"n\":2}"), witness.firstDeliveries().get("A"));
    }

    /**
     * What happened when the first relay's first call overran its 2 s lease and a second relay claimed meanwhile, at
     * 2.15 s, and held what it claimed until the first relay's batch was over.
     */
    record Takeover(LeaseWitness witness, JdbcRelay first, RelayResult firstResult, RelayResult secondResult) {
    }

    Takeover overrunAndTakeOver(CallLimits limits, int secondBatchSize) throws Exception {
        CountDownLatch firstDone = new CountDownLatch(1);
        AtomicBoolean overrun = new AtomicBoolean(true);
        LeaseWitness witness = new LeaseWitness(tdb, table, limits, (relay, events) -> {
            if (relay.equals("r1") && overrun.getAndSet(false)) {
                LeaseWitness.sleep(2400);
            } else if (relay.equals("r2")) {
                firstDone.await(30, TimeUnit.SECONDS);
            }
            return LeaseWitness.allPublished(events);
        });
        JdbcRelay first = relay(db, witness, "r1", Duration.ofSeconds(2), 500);
        JdbcRelay second = relay(db, witness, "r2", Duration.ofSeconds(2), secondBatchSize);
        Future<RelayResult> one = threads.submit(first::runOnce);
        Thread.sleep(2150);
        Future<RelayResult> two = threads.submit(second::runOnce);
        RelayResult firstResult = one.get(30, TimeUnit.SECONDS);
        firstDone.countDown();
        return new Takeover(witness, first, firstResult, two.get(30, TimeUnit.SECONDS));
    }

    @Test
    void aRenewalThatLosesOneEventOfAnAggregateDropsTheRestOfThatAggregate() throws Exception {
        // A1, three other aggregates, A2. The first call overruns the lease; meanwhile a second relay claims A1 alone
        // and is slow to publish it. A2 must not be handed over by the first relay while A1 is the second's.
        append("A", 1);
        for (int i = 1; i <= 3; i++) {
            append("x" + i, 1);
        }
        append("A", 2);
        Takeover run = overrunAndTakeOver(CallLimits.DEFAULT, 1);
        assertEquals(1, run.secondResult().published(), "the second relay published A1");
        drain(run.first(), 5);
        assertEquals(List.of(), run.witness().violations, "out of order: " + run.witness().calls);
        assertEquals(List.of("{\"n\":1}", "{\"n\":2}"), run.witness().firstDeliveries().get("A"));
        assertEquals(5, run.witness().distinctDelivered());
    }

    @Test
    void aRenewalThatHoldsNothingEndsTheBatch() throws Exception {
        // 12 aggregates in calls of 2: six calls in the first round. The first call overruns the lease, and a second
        // relay claims all 12 meanwhile; the first relay must make no further call.
        for (int i = 1; i <= 12; i++) {
            append("x" + i, 1);
        }
        Takeover run = overrunAndTakeOver(new CallLimits(2, 1, null), 500);
        assertEquals(12, run.secondResult().published());
        assertEquals(List.of(), run.witness().violations, "calls on rows not held: " + run.witness().calls);
        assertEquals(1, run.witness().calls.stream().filter(c -> c.startsWith("r1 ")).count(),
                "the first relay stopped after its lease was gone: " + run.witness().calls);
        assertEquals(0, run.firstResult().published(), "nothing recorded by the relay that lost every event");
    }

    @Test
    void aCulpritSearchStartsNoCallPastTheLease() {
        // One throwing call of 16 aggregates, calls of 450 ms, a 2 s lease: the search's calls reach past the lease
        // unless each is checked against it.
        for (int i = 1; i <= 16; i++) {
            append("x" + i, 1);
        }
        LeaseWitness witness = slowWithAPoisonX1();
        JdbcRelay relay = relay(db, witness, "r1", Duration.ofSeconds(2), 500);
        RelayResult result = relay.runOnce();
        assertEquals(List.of(), witness.violations, "calls after the lease ended: " + witness.calls);
        assertEquals(16, result.claimed());
        assertEquals(15, result.published(), "everything but the culprit went through: " + witness.calls);
    }

    @Test
    void aSlowClaimStatementShortensTheLeaseTheRelayCounts() throws Exception {
        // The claim statement's answer arrives 1.5 s after the database wrote a 2 s lease. Ten calls of 450 ms follow,
        // and a second relay claims from 2.05 s on.
        for (int i = 1; i <= 30; i++) {
            append("x" + i, 1);
        }
        LeaseWitness witness = new LeaseWitness(tdb, table, new CallLimits(3, 1, null), (relay, events) -> {
            LeaseWitness.sleep(450);
            return LeaseWitness.allPublished(events);
        });
        DataSource slowClaims = SlowStatements.delayingFirst(db, "SET claimed_by = ?", 1500);
        JdbcRelay first = relay(slowClaims, witness, "r1", Duration.ofSeconds(2), 500);
        JdbcRelay second = relay(db, witness, "r2", Duration.ofSeconds(2), 500);
        Future<RelayResult> one = threads.submit(first::runOnce);
        Thread.sleep(2050);
        second.start(threads);
        one.get(60, TimeUnit.SECONDS);
        assertEquals(List.of(), witness.violations, "calls on rows not held: " + witness.calls);
    }

    @Test
    void anErrorWhileProbingTheBrokerDoesNotStopTheRelayForGood() throws Exception {
        append("x1", 1);
        AtomicBoolean down = new AtomicBoolean(true);
        LeaseWitness witness = new LeaseWitness(tdb, table, CallLimits.DEFAULT, (relay, events) ->
                down.get() ? Collections.nCopies(events.size(), PublishOutcome.unavailable("broker down"))
                        : LeaseWitness.allPublished(events));
        AtomicBoolean failNext = new AtomicBoolean();
        DataSource failing = SlowStatements.failingConnections(db, failNext);
        JdbcRelay relay = JdbcRelay.builder(failing, witness).table(table).ownerId("r1").wakeOnCommit(false)
                .brokerPause(Duration.ofMillis(10), Duration.ofMillis(10)).build();
        relays.add(relay);
        assertEquals(0, relay.runOnce().published());
        assertEquals(JdbcRelay.BrokerState.OPEN, relay.brokerState());
        Thread.sleep(50);
        failNext.set(true);
        assertThrows(OutOfMemoryError.class, relay::runOnce, "the probe's connection could not be borrowed");
        down.set(false);
        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        int published = 0;
        while (published == 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
            published = relay.runOnce().published();
        }
        assertEquals(1, published, "published once the broker was back, state " + relay.brokerState());
        assertEquals(JdbcRelay.BrokerState.CLOSED, relay.brokerState());
    }

    /** Runs the relay until {@code events} events of the table are published, for at most 30 s. */
    void drain(JdbcRelay relay, int events) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            relay.runOnce();
            if (tdb.queryLong("SELECT count(*) FROM " + tdb.q(table) + " WHERE published_at IS NOT NULL") >= events) {
                return;
            }
            LeaseWitness.sleep(50);
        }
    }
}
