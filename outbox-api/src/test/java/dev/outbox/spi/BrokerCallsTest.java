package dev.outbox.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

class BrokerCallsTest {

    static Event event(String aggregate, int n) {
        return Event.of("a", aggregate, "t", "{\"n\":" + n + "}");
    }

    @Test
    void callsRespectEntryAndByteLimitsAndNeverCarryOneAggregateTwice() {
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            events.add(event("agg" + (i % 5), i));
        }
        List<List<Event>> calls = Collections.synchronizedList(new ArrayList<>());
        BrokerCalls<Event> broker = new BrokerCalls<>(3, 250, null, false, null);
        List<PublishOutcome> outcomes = broker.publish(events, e -> BrokerCalls.Prepared.entry(e, 100), (entries, deadline) -> {
            calls.add(entries);
            return entries.stream().map(x -> PublishOutcome.published()).toList();
        });
        assertEquals(25, outcomes.stream().filter(PublishOutcome::isPublished).count());
        for (List<Event> call : calls) {
            assertTrue(call.size() <= 2, "250 bytes hold two 100-byte entries, call had " + call.size());
            assertEquals(call.size(), call.stream().map(Event::aggregateId).distinct().count());
        }
        List<Integer> agg0 = calls.stream().flatMap(List::stream).filter(e -> e.aggregateId().equals("agg0"))
                .map(e -> Integer.parseInt(e.payload().replaceAll("\\D", ""))).toList();
        assertEquals(List.of(0, 5, 10, 15, 20), agg0, "an aggregate's events go out in order");
    }

    @Test
    void aFailureHoldsBackTheAggregatesLaterEventsButNotOthers() throws Exception {
        List<Event> events = List.of(event("x", 0), event("y", 1), event("x", 2), event("y", 3), event("x", 4));
        ExecutorService pool = Executors.newFixedThreadPool(2);
        BrokerCalls<Event> broker = new BrokerCalls<>(1, 1000, pool, false, null);
        List<Event> sent = Collections.synchronizedList(new ArrayList<>());
        List<PublishOutcome> outcomes = broker.publish(events, e -> BrokerCalls.Prepared.entry(e, 10), (entries, deadline) -> {
            sent.addAll(entries);
            return entries.stream().map(e -> e.payload().contains("2")
                    ? PublishOutcome.retry("throttled") : PublishOutcome.published()).toList();
        });
        pool.shutdown();
        assertEquals(PublishOutcome.Status.PUBLISHED, outcomes.get(0).status());
        assertEquals(PublishOutcome.Status.RETRY, outcomes.get(2).status());
        assertEquals(PublishOutcome.Status.NOT_SENT, outcomes.get(4).status());
        assertTrue(outcomes.get(4).reason().startsWith("held back"));
        assertEquals(PublishOutcome.Status.PUBLISHED, outcomes.get(3).status());
        assertEquals(4, sent.size(), "the held-back event was never sent");
    }

    @Test
    void refusedEntriesAndThrowingCallsBecomeOutcomes() {
        List<Event> events = List.of(event("x", 0), event("x", 1), event("y", 2));
        BrokerCalls<Event> broker = new BrokerCalls<>(10, 1000, null, false, null);
        List<PublishOutcome> outcomes = broker.publish(events,
                e -> e.aggregateId().equals("x") && e.payload().contains("0")
                        ? BrokerCalls.Prepared.refused(PublishOutcome.rejected("too large"))
                        : BrokerCalls.Prepared.entry(e, 10),
                (entries, deadline) -> {
                    throw new IllegalStateException("connection reset");
                });
        assertEquals(PublishOutcome.rejected("too large"), outcomes.get(0));
        assertTrue(outcomes.get(1).reason().startsWith("held back"));
        assertTrue(outcomes.get(2).reason().contains("connection reset"));
    }

    @Test
    void aBrokerThatKeepsOrderWithinACallGetsAnAggregatesConsecutiveEventsInOneCall() {
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            events.add(event("hot", i));
        }
        events.add(event("cold", 99));
        List<List<Event>> calls = new ArrayList<>();
        BrokerCalls<Event> broker = new BrokerCalls<>(10, 100_000, null, true, null);
        List<PublishOutcome> outcomes = broker.publish(events, e -> BrokerCalls.Prepared.entry(e, 10), (entries, deadline) -> {
            calls.add(entries);
            return entries.stream().map(x -> PublishOutcome.published()).toList();
        });
        assertEquals(13, outcomes.stream().filter(PublishOutcome::isPublished).count());
        assertEquals(List.of(10, 1, 2), calls.stream().map(List::size).toList(),
                "ten hot events in one call and the cold one beside them; the hot overflow only after that call");
        assertEquals(events.subList(0, 10), calls.get(0));
        assertEquals(List.of(events.get(12)), calls.get(1));
        assertEquals(events.subList(10, 12), calls.get(2));
    }

    @Test
    void whenAnOrderKeepingCallFailsTheAggregatesOverflowIsHeldBack() {
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            events.add(event("hot", i));
        }
        List<List<Event>> calls = new ArrayList<>();
        BrokerCalls<Event> broker = new BrokerCalls<>(10, 100_000, null, true, null);
        List<PublishOutcome> outcomes = broker.publish(events, e -> BrokerCalls.Prepared.entry(e, 10), (entries, deadline) -> {
            calls.add(entries);
            return entries.stream().map(x -> PublishOutcome.retry("throttled")).toList();
        });
        assertEquals(1, calls.size(), "the second call is never made");
        assertTrue(outcomes.get(10).reason().startsWith("held back"));
        assertTrue(outcomes.get(11).reason().startsWith("held back"));
    }

    @Test
    void onePublishKeepsToTheCallTimeoutHoweverManyBrokerCallsItNeeds() {
        // 40 events, 10 per broker call, one call at a time, each taking 100 ms: 400 ms of calls against 250 ms.
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            events.add(event("agg" + i, i));
        }
        List<java.time.Duration> given = Collections.synchronizedList(new ArrayList<>());
        BrokerCalls<Event> broker = new BrokerCalls<>(10, 100_000, null, false, java.time.Duration.ofMillis(250));
        long started = System.nanoTime();
        List<PublishOutcome> outcomes = broker.publish(events, e -> BrokerCalls.Prepared.entry(e, 10),
                (entries, deadline) -> {
                    given.add(deadline.remaining());
                    sleep(100);
                    return entries.stream().map(x -> PublishOutcome.published()).toList();
                });
        long tookMillis = (System.nanoTime() - started) / 1_000_000;
        assertTrue(tookMillis < 350, "one publish took " + tookMillis + " ms against a 250 ms call timeout");
        long published = outcomes.stream().filter(PublishOutcome::isPublished).count();
        assertEquals(given.size() * 10L, published, "every call that started was answered");
        assertEquals(40 - published, outcomes.stream().filter(o -> o.status() == PublishOutcome.Status.NOT_SENT)
                .count(), "the rest came back not sent, to be sent again at once");
        assertTrue(given.get(given.size() - 1).toMillis() <= 150, "each later call is given only what is left: "
                + given);
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
