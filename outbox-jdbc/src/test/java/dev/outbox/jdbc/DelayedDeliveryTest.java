package dev.outbox.jdbc;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.OutboxException;
import dev.outbox.testing.RecordingPublisher;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/** An event appended with a delay is published no earlier than asked, and its aggregate's later events wait for it. */
@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class DelayedDeliveryTest extends EachDatabase {

    DelayedDeliveryTest(TestDb tdb) {
        super(tdb);
    }

    @Test
    void aDelayedEventWaitsAndHoldsBackOnlyItsOwnAggregate() throws Exception {
        OutboxTable table = tdb.newTable();
        JdbcOutbox outbox = JdbcOutbox.create(table);
        Event a1 = Event.of("order", "A", "reminder", "{\"n\":1}");
        Event a2 = Event.of("order", "A", "placed", "{\"n\":2}");
        Event b1 = Event.of("order", "B", "placed", "{}");
        commit(db, c -> {
            outbox.append(c, a1, Duration.ofMillis(1500));
            outbox.append(c, a2);
            outbox.append(c, b1);
        });
        RecordingPublisher publisher = new RecordingPublisher();
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).build()) {
            relay.runOnce();
            assertEquals(List.of(b1.id()), publisher.deliveries().stream().map(Event::id).toList(),
                    "B goes at once; A's delayed event and the one after it wait");
            OutboxStats stats = new OutboxOperations(db, table).stats();
            assertEquals(2, stats.pending());
            assertTrue(stats.oldestPendingAge().compareTo(Duration.ofMillis(500)) < 0,
                    "a delayed event is not counted late while it is not due: " + stats.oldestPendingAge());
            Thread.sleep(1600);
            relay.drain(Duration.ofSeconds(5));
        }
        assertEquals(List.of(b1.id(), a1.id(), a2.id()), publisher.deliveries().stream().map(Event::id).toList(),
                "A's events in append order, after the delay");
    }

    @Test
    void aNotBeforeInThePastMeansNow() {
        OutboxTable table = tdb.newTable();
        JdbcOutbox outbox = JdbcOutbox.create(table);
        commit(db, c -> outbox.append(c, Event.of("order", "A", "t", "{}"), Instant.now().minusSeconds(60)));
        RecordingPublisher publisher = new RecordingPublisher();
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).build()) {
            assertEquals(1, relay.runOnce().published());
        }
    }

    @Test
    void aDelayOutOfRangeIsRefusedBeforeAnySqlAndTheTransactionStaysUsable() {
        OutboxTable table = tdb.newTable();
        JdbcOutbox outbox = JdbcOutbox.create(table);
        Event e = Event.of("order", "A", "t", "{}");
        commit(db, c -> {
            OutboxException negative = assertThrows(OutboxException.class, () -> outbox.append(c, e, Duration.ofSeconds(-1)));
            assertTrue(negative.getMessage().contains("delay"), negative.getMessage());
            assertThrows(OutboxException.class, () -> outbox.append(c, e, Duration.ofDays(400)));
            assertThrows(OutboxException.class, () -> outbox.append(c, e, (Instant) null));
            outbox.append(c, e); // the transaction is still usable
        });
        assertEquals(1, new OutboxOperations(db, table).stats().pending());
    }
}
