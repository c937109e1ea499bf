package dev.outbox.benchmarks;

import dev.outbox.Event;
import dev.outbox.RelayResult;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import dev.outbox.sqs.SqsPublisher;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import org.elasticmq.rest.sqs.SQSRestServer;
import org.elasticmq.rest.sqs.SQSRestServerBuilder;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * Benchmark 5: a relay draining a backlog into the embedded SQS-compatible server (ElasticMQ), through
 * {@link SqsPublisher} (SendMessageBatch, 10 per call, 4 calls at a time) against the same relay with a
 * publisher that sends one SendMessage per event, on the same client.
 */
final class SqsBatching {

    private final BenchDatabase db;
    private final int events;

    SqsBatching(BenchDatabase db, int events) {
        this.db = db;
        this.events = events;
    }

    List<Row> run() throws Exception {
        SQSRestServer server = SQSRestServerBuilder.withInterface("127.0.0.1").withDynamicPort().start();
        try (SqsClient client = SqsClient.builder()
                .endpointOverride(URI.create("http://127.0.0.1:" + server.waitUntilStarted().localAddress().getPort()))
                .region(Region.EU_WEST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("bench", "bench")))
                .build()) {
            String queue = client.createQueue(b -> b.queueName("outbox-bench")).queueUrl();
            try (SqsPublisher batched = SqsPublisher.builder().client(client).queueUrl(queue).build()) {
                drain(batched, Math.min(events, 1000)); // warm-up
                client.purgeQueue(b -> b.queueUrl(queue));
                double oneByOne = drain(new OneMessagePerCall(client, queue), events);
                client.purgeQueue(b -> b.queueUrl(queue));
                double batch = drain(batched, events);
                return List.of(new Row("5. SQS (embedded ElasticMQ), relay + publisher, " + events + " events",
                        Format.rate(batch, "events/s") + " SendMessageBatch",
                        Format.rate(oneByOne, "events/s") + " one SendMessage per event",
                        Format.ratio(batch / oneByOne) + " faster", ">= 5x"));
            }
        } finally {
            server.stopAndWait();
        }
    }

    private double drain(Publisher publisher, int count) {
        OutboxTable table = db.newOutboxTable();
        db.fill(table, count, RelayThroughput.AGGREGATES);
        long published = 0;
        long start = System.nanoTime();
        try (JdbcRelay relay = JdbcRelay.builder(db.pool(), publisher).table(table).build()) {
            while (published < count) {
                RelayResult result = relay.runOnce();
                published += result.published();
                if (result.dead() > 0) { // retried counts events a batch gave back unattempted, too
                    throw new IllegalStateException("SQS refused events: " + result);
                }
            }
        }
        long nanos = System.nanoTime() - start;
        db.drop(table);
        return count * 1e9 / nanos;
    }

    /** The baseline: one call per event, in order, the way a naive outbox forwards rows. */
    private record OneMessagePerCall(SqsClient client, String queueUrl) implements Publisher {
        @Override
        public List<PublishOutcome> publish(List<Event> events) {
            List<PublishOutcome> outcomes = new ArrayList<>(events.size());
            for (Event e : events) {
                try {
                    client.sendMessage(b -> b.queueUrl(queueUrl).messageBody(e.payload()));
                    outcomes.add(PublishOutcome.published());
                } catch (SdkException ex) {
                    outcomes.add(PublishOutcome.retry(ex.getMessage()));
                }
            }
            return outcomes;
        }

        @Override
        public void close() {
        }
    }
}
