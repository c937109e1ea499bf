package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.RelayListener;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.testing.RecordingPublisher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.MDC;

/** What the relay tells those who watch it: the MDC during publisher calls, and the listener's timings and outcomes. */
@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class RelayObservabilityTest extends EachDatabase {

    RelayObservabilityTest(TestDb tdb) {
        super(tdb);
    }

    @Test
    void thePublisherRunsWithTheRelayAndItsEventIdsInTheMdcAndTheMdcIsClearedAfter() throws Exception {
        assertEquals("dev.outbox.jdbc.MdcLoggingProvider", System.getProperty("slf4j.provider"),
                "the test runs with a working MDC");
        OutboxTable table = tdb.newTable();
        Event a = Event.of("order", "A", "placed", "{}");
        Event b = Event.of("order", "B", "placed", "{}");
        commit(db, c -> JdbcOutbox.create(table).appendAll(c, List.of(a, b)));
        List<String> seen = new CopyOnWriteArrayList<>();
        RecordingPublisher publisher = new RecordingPublisher(e -> {
            seen.add(MDC.get(JdbcRelay.MDC_RELAY) + " " + MDC.get(JdbcRelay.MDC_EVENT_IDS));
            return PublishOutcome.published();
        });
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).ownerId("relay-mdc").build()) {
            assertEquals(2, relay.runOnce().published());
        }
        String expected = "relay-mdc " + a.id() + "," + b.id();
        assertEquals(List.of(expected, expected), seen, "one call of both events");
        assertNull(MDC.get(JdbcRelay.MDC_RELAY), "cleared after the call");
        assertNull(MDC.get(JdbcRelay.MDC_EVENT_IDS));
    }

    @Test
    void theListenerHearsEachStepTimedRejectionsApartAndEachEventsTimeSinceAppend() throws Exception {
        OutboxTable table = tdb.newTable();
        Event good = Event.of("order", "A", "placed", "{}");
        Event bad = Event.of("order", "B", "poison", "{}");
        commit(db, c -> JdbcOutbox.create(table).appendAll(c, List.of(good, bad)));
        Thread.sleep(200);
        List<String> heard = new ArrayList<>();
        List<Duration> sinceAppend = new ArrayList<>();
        RelayListener listener = new RelayListener() {
            @Override
            public void claimed(int events, Duration elapsed) {
                heard.add("claimed " + events);
            }

            @Override
            public void publisherCalled(int events, Duration elapsed) {
                heard.add("called " + events);
            }

            @Override
            public void recorded(int outcomes, Duration elapsed) {
                heard.add("recorded " + outcomes);
            }

            @Override
            public void publishedAfter(Event event, Duration since) {
                heard.add("published " + event.type());
                sinceAppend.add(since);
            }

            @Override
            public void rejected(Event event, int attempts, String reason) {
                heard.add("rejected " + event.type() + ": " + reason);
            }

            @Override
            public void dead(Event event, int attempts, String reason) {
                heard.add("dead " + event.type());
            }
        };
        RecordingPublisher publisher = new RecordingPublisher(e -> e.type().equals("poison")
                ? PublishOutcome.rejected("schema mismatch") : PublishOutcome.published());
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).listener(listener).build()) {
            relay.runOnce();
        }
        assertEquals("claimed 2", heard.get(0), heard.toString());
        assertTrue(heard.contains("called 2"), heard.toString());
        assertTrue(heard.contains("recorded 2"), heard.toString());
        assertTrue(heard.contains("published placed"), heard.toString());
        assertTrue(heard.contains("rejected poison: rejected: schema mismatch"), heard.toString());
        assertTrue(heard.stream().noneMatch(h -> h.startsWith("dead")), "a rejection is heard as such: " + heard);
        assertTrue(sinceAppend.get(0).toMillis() >= 200 && sinceAppend.get(0).toMillis() < 30_000,
                "from the row's creation, 200 ms before the relay ran: " + sinceAppend);
    }
}
