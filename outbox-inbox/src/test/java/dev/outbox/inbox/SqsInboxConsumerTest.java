package dev.outbox.inbox;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.sqs.SqsPublisher;
import dev.outbox.testing.TestDatabase;
import dev.outbox.testing.Transactions;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * End to end on a real SQS-compatible server (ElasticMQ) and PostgreSQL: the relay publishes, publishes a third of
 * the events again (as after a relay that died between its send and its record), a consumer is stopped in the middle
 * of its handlers, another takes over after the visibility timeout; the consumer's table holds each event's effect
 * exactly once, and the duplicates are counted.
 */
class SqsInboxConsumerTest {

    static final DataSource db = TestDatabase.dataSource();

    final LocalQueue local = new LocalQueue();
    final SqsClient sqs = local.sqs;
    final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        local.close();
    }

    static boolean eventually(Duration within, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(50);
        }
        return condition.getAsBoolean();
    }

    static long count(String sql) {
        return Transactions.queryLong(db, sql);
    }

    @Test
    void everyEventTakesEffectOnceThroughRepublishingAndAConsumerStoppedMidHandler() throws Exception {
        String queue = local.newQueue("orders", 2);
        OutboxTable outboxTable = OutboxTable.named(TestDatabase.uniqueName("ob"));
        OutboxSchema.create(db, outboxTable);
        OutboxTable inboxTable = OutboxTable.named(TestDatabase.uniqueName("ib"));
        InboxSchema.create(db, inboxTable);
        AggregateCounters counters = new AggregateCounters(db);

        // The producer: 300 events over 10 aggregates, published; then 100 of them published again.
        JdbcOutbox outbox = JdbcOutbox.create(outboxTable);
        for (int tx = 0; tx < 30; tx++) {
            List<Event> events = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                events.add(Event.of("order", "o" + i, "placed", "{\"tx\":" + tx + "}"));
            }
            commit(db, c -> outbox.appendAll(c, events));
        }
        SqsPublisher publisher = SqsPublisher.builder().client(sqs).queueUrl(queue).build();
        JdbcRelay relay = JdbcRelay.builder(db, publisher).table(outboxTable).build();
        closing.add(0, relay);
        assertEquals(300, relay.drain(Duration.ofSeconds(30)).published());
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            s.execute("UPDATE " + outboxTable.qualifiedName() + " SET published_at = NULL WHERE position % 3 = 0");
        }
        assertEquals(100, relay.drain(Duration.ofSeconds(30)).published());

        // The consumer: each event adds one to its aggregate's counter.
        AtomicInteger handled = new AtomicInteger();
        InboxHandler countIt = (connection, message) -> {
            counters.handler.handle(connection, message);
            handled.incrementAndGet();
            Thread.sleep(10);
        };
        Inbox inbox = Inbox.create(inboxTable);
        SqsInboxConsumer first = SqsInboxConsumer.builder(sqs, queue, db, countIt).inbox(inbox).concurrency(3)
                .waitTime(Duration.ofSeconds(1)).visibilityTimeout(Duration.ofSeconds(2)).build();
        first.start();
        assertTrue(eventually(Duration.ofSeconds(30), () -> handled.get() >= 60), "the first consumer at work");
        first.close(Duration.ZERO); // stopped in the middle of its handlers: those roll back, their messages return

        SqsInboxConsumer second = SqsInboxConsumer.builder(sqs, queue, db, countIt).inbox(inbox).concurrency(3)
                .waitTime(Duration.ofSeconds(1)).visibilityTimeout(Duration.ofSeconds(2)).build();
        closing.add(0, second);
        second.start();
        assertTrue(eventually(Duration.ofSeconds(60), () -> count("SELECT count(*) FROM " + inboxTable.qualifiedName())
                == 300 && local.messagesOn(queue) == 0), "every event processed and every message deleted: "
                + first.counts() + ", " + second.counts());
        Thread.sleep(3_000); // past a visibility timeout: anything not deleted would come back now
        SqsInboxConsumer.Counts stopped = first.counts();
        SqsInboxConsumer.Counts rest = second.counts();

        assertEquals(300, counters.total(), "each event counted once");
        assertEquals(10, counters.aggregatesWith(30),
                "every aggregate counted its 30 events");
        long processed = stopped.processed() + rest.processed();
        long duplicates = stopped.duplicates() + rest.duplicates();
        assertEquals(300, processed, "a handler committed once per event");
        assertTrue(duplicates >= 100, "the 100 republished events were dropped as duplicates: " + duplicates);
        assertEquals(0, local.messagesOn(queue), "nothing came back: every processed message was deleted");
        System.out.printf("400 deliveries of 300 events: first consumer %s, second %s%n", stopped, rest);
    }
}
