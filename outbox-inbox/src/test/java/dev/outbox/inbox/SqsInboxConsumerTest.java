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
import java.net.URI;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import javax.sql.DataSource;
import org.elasticmq.rest.sqs.SQSRestServer;
import org.elasticmq.rest.sqs.SQSRestServerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * End to end on a real SQS-compatible server (ElasticMQ) and PostgreSQL: the relay publishes, publishes a third of
 * the events again (as after a relay that died between its send and its record), a consumer is stopped in the middle
 * of its handlers, another takes over after the visibility timeout; the consumer's table holds each event's effect
 * exactly once, and the duplicates are counted.
 */
class SqsInboxConsumerTest {

    static final DataSource db = TestDatabase.dataSource();

    final SQSRestServer server = SQSRestServerBuilder.withInterface("127.0.0.1").withDynamicPort().start();
    final URI endpoint = URI.create("http://127.0.0.1:" + server.waitUntilStarted().localAddress().getPort());
    final SqsClient sqs = SqsClient.builder().endpointOverride(endpoint).region(Region.EU_WEST_1)
            .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test"))).build();
    final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        sqs.close();
        server.stopAndWait();
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
        try (Connection c = db.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return the messages on the queue, visible or in flight */
    int messagesOn(String queue) {
        return sqs.getQueueAttributes(b -> b.queueUrl(queue).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)).attributes().values().stream()
                .mapToInt(Integer::parseInt).sum();
    }

    @Test
    void everyEventTakesEffectOnceThroughRepublishingAndAConsumerStoppedMidHandler() throws Exception {
        String queue = sqs.createQueue(b -> b.queueName("orders-" + UUID.randomUUID().toString().substring(0, 8))
                .attributes(Map.of(QueueAttributeName.VISIBILITY_TIMEOUT, "2"))).queueUrl();
        OutboxTable outboxTable = OutboxTable.named(TestDatabase.uniqueName("ob"));
        OutboxSchema.create(db, outboxTable);
        OutboxTable inboxTable = OutboxTable.named(TestDatabase.uniqueName("ib"));
        InboxSchema.create(db, inboxTable);
        String counters = TestDatabase.uniqueName("counters");
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE " + counters + " (aggregate_id text PRIMARY KEY, events int NOT NULL)");
        }

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
            try (PreparedStatement p = connection.prepareStatement("INSERT INTO " + counters
                    + " VALUES (?, 1) ON CONFLICT (aggregate_id) DO UPDATE SET events = " + counters + ".events + 1")) {
                p.setString(1, message.aggregateId());
                p.executeUpdate();
            }
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
                == 300 && messagesOn(queue) == 0), "every event processed and every message deleted: "
                + first.counts() + ", " + second.counts());
        Thread.sleep(3_000); // past a visibility timeout: anything not deleted would come back now
        SqsInboxConsumer.Counts stopped = first.counts();
        SqsInboxConsumer.Counts rest = second.counts();

        assertEquals(300, count("SELECT sum(events) FROM " + counters), "each event counted once");
        assertEquals(10, count("SELECT count(*) FROM " + counters + " WHERE events = 30"),
                "every aggregate counted its 30 events");
        long processed = stopped.processed() + rest.processed();
        long duplicates = stopped.duplicates() + rest.duplicates();
        assertEquals(300, processed, "a handler committed once per event");
        assertTrue(duplicates >= 100, "the 100 republished events were dropped as duplicates: " + duplicates);
        assertEquals(0, messagesOn(queue), "nothing came back: every processed message was deleted");
        System.out.printf("400 deliveries of 300 events: first consumer %s, second %s%n", stopped, rest);
    }
}
