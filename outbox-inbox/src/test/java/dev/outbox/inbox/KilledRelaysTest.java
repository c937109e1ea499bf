package dev.outbox.inbox;

import static dev.outbox.testing.Transactions.commit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.testing.TestDatabase;
import dev.outbox.testing.Transactions;
import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * End to end with relays killed: two relay services, each a process of its own ({@code dev.outbox.relay.Main}),
 * publish to a real SQS-compatible server while writers append, and one of them is killed (SIGKILL) and started again
 * every second or so; a consumer takes everything through the inbox. Each event takes effect exactly once in the
 * consumer's table, whatever the kills made the relays send twice.
 */
class KilledRelaysTest {

    static final DataSource db = TestDatabase.dataSource();

    final LocalQueue local = new LocalQueue();
    final List<Process> relays = new ArrayList<>();
    final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        relays.forEach(Process::destroyForcibly);
        for (AutoCloseable c : closing) {
            c.close();
        }
        local.close();
    }

    Process startRelay(OutboxTable table, String queue) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        ProcessBuilder builder = new ProcessBuilder(java, "-cp", classpath, "dev.outbox.relay.Main", "serve");
        Map<String, String> env = builder.environment();
        env.keySet().removeIf(k -> k.startsWith("OUTBOX_"));
        env.put("OUTBOX_JDBC_URL", TestDatabase.jdbcUrl());
        env.put("OUTBOX_TABLE", table.name());
        env.put("OUTBOX_PUBLISHER", "sqs");
        env.put("OUTBOX_PUBLISHER_queueUrl", queue);
        env.put("OUTBOX_PUBLISHER_endpoint", local.endpoint.toString());
        env.put("OUTBOX_PUBLISHER_region", "eu-west-1");
        env.put("OUTBOX_PUBLISHER_callTimeout", "PT1S");
        env.put("OUTBOX_LEASE", "PT2S");
        env.put("OUTBOX_POLL_INTERVAL", "PT0.2S");
        env.put("OUTBOX_BATCH_SIZE", "50");
        env.put("OUTBOX_HTTP_PORT", "0");
        env.put("AWS_ACCESS_KEY_ID", "test");
        env.put("AWS_SECRET_ACCESS_KEY", "test");
        File log = File.createTempFile("relay", ".log");
        log.deleteOnExit();
        builder.redirectErrorStream(true).redirectOutput(log);
        return builder.start();
    }

    static long count(String sql) {
        return Transactions.queryLong(db, sql);
    }

    @Test
    void everyEventTakesEffectOnceWhileRelaysAreKilledAtRandom() throws Exception {
        String queue = local.newQueue("killed", 5);
        OutboxTable outboxTable = OutboxTable.named(TestDatabase.uniqueName("ko"));
        OutboxSchema.create(db, outboxTable);
        OutboxTable inboxTable = OutboxTable.named(TestDatabase.uniqueName("ki"));
        InboxSchema.create(db, inboxTable);
        AggregateCounters counters = new AggregateCounters(db);
        SqsInboxConsumer consumer = SqsInboxConsumer.builder(local.sqs, queue, db, counters.handler)
                .inbox(Inbox.create(inboxTable))
                .concurrency(2).waitTime(Duration.ofSeconds(1)).visibilityTimeout(Duration.ofSeconds(5)).build();
        closing.add(consumer);
        consumer.start();
        relays.add(startRelay(outboxTable, queue));
        relays.add(startRelay(outboxTable, queue));

        JdbcOutbox outbox = JdbcOutbox.create(outboxTable);
        int events = 0;
        int kills = 0;
        long nextKill = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1_500);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(6);
        while (System.nanoTime() < end) {
            List<Event> batch = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                batch.add(Event.of("order", "o" + ThreadLocalRandom.current().nextInt(20), "placed", "{}"));
            }
            commit(db, c -> outbox.appendAll(c, batch));
            events += batch.size();
            if (System.nanoTime() > nextKill) {
                int victim = ThreadLocalRandom.current().nextInt(relays.size());
                relays.get(victim).destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                relays.set(victim, startRelay(outboxTable, queue));
                kills++;
                nextKill = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(700 + ThreadLocalRandom.current()
                        .nextInt(800));
            }
            Thread.sleep(25);
        }
        int appended = events;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline && (count("SELECT count(*) FROM " + outboxTable.qualifiedName()
                + " WHERE published_at IS NULL") > 0 || count("SELECT count(*) FROM " + inboxTable.qualifiedName())
                < appended)) {
            Thread.sleep(200);
        }
        Thread.sleep(6_000); // past the visibility timeout: a message not deleted would be back by now
        assertEquals(0, count("SELECT count(*) FROM " + outboxTable.qualifiedName() + " WHERE published_at IS NULL"),
                "every event published");
        assertEquals(appended, count("SELECT count(*) FROM " + inboxTable.qualifiedName()), "every event received");
        assertEquals(appended, counters.total(),
                "each event counted exactly once");
        SqsInboxConsumer.Counts counts = consumer.counts();
        assertEquals(appended, counts.processed(), "one handler commit per event: " + counts);
        assertEquals(0, counts.failed(), counts.toString());
        System.out.printf("%d events, %d relay kills: %d processed, %d duplicates dropped%n", appended, kills,
                counts.processed(), counts.duplicates());
        assertTrue(kills >= 4, "relays were killed: " + kills);
    }
}
