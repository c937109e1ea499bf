package dev.outbox.benchmarks;

import dev.outbox.Event;
import dev.outbox.RetryPolicy;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.spi.CallLimits;
import dev.outbox.spi.Destination;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import dev.outbox.sqs.SqsPublisher;
import dev.outbox.testing.SqsEndpoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * Benchmark 13: one destination's trouble is its own. One relay (2 loops) drains a backlog into an SQS queue
 * ({@link SqsEndpoint}, 20 ms a call) beside a second destination that refuses every event it is sent (each answered
 * retry, and retried after 0.1 to 0.5 s): a fifth as many events as the healthy queue's, of their own aggregates,
 * interleaved. The SQS publisher makes one {@code SendMessageBatch} per call ({@code maxConcurrentCalls(1)}), so the
 * relay's overlapping calls are the drain's only concurrency. The figure is the healthy queue's drain against the same
 * drain with no failing destination, each drained twice, taking turns.
 */
final class FailingDestination {

    static final Duration DELAY = Duration.ofMillis(20);
    static final int AGGREGATES = 1000;
    static final int LOOPS = 2;
    static final int ROUNDS = 2;
    private static final Destination FAILING = new Destination("aws_sqs", "failing");

    private final BenchDatabase db;
    private final int events;

    FailingDestination(BenchDatabase db, int events) {
        this.db = db;
        this.events = events;
    }

    List<Row> run() throws Exception {
        double alone = 0;
        double beside = 0;
        try (SqsEndpoint sqs = SqsEndpoint.start().keepMessages(false)
                     .behaveByDefault(SqsEndpoint.Behaviour.NORMAL.after(DELAY));
             SqsClient client = SlowBroker.client(sqs.endpoint())) {
            for (int round = 0; round < ROUNDS; round++) {
                alone += drain(sqs, client, false) / ROUNDS;
                beside += drain(sqs, client, true) / ROUNDS;
            }
        }
        return List.of(new Row("13. one destination failing: " + events + " events to SQS (20 ms a call, one"
                + " SendMessageBatch per publisher call, " + AGGREGATES + " aggregates) beside " + events / 5 + " to a destination that refuses every event, 1"
                + " relay (" + LOOPS + " loops), mean of " + ROUNDS + " drains",
                Format.rate(beside, "events/s") + " to SQS",
                Format.rate(alone, "events/s") + " with no failing destination",
                Format.ratio(beside / alone) + " of it", ">= 0.80x"));
    }

    /** @return the healthy queue's events per second, until all of them are published */
    private double drain(SqsEndpoint sqs, SqsClient client, boolean withFailing) throws Exception {
        OutboxTable table = db.newOutboxTable();
        int failing = withFailing ? events / 5 : 0;
        long[] healthyCount = new long[1];
        db.fill(table, events + failing, i -> {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            boolean bad = random.nextInt(events + failing) < failing;
            healthyCount[0] += bad ? 0 : 1;
            return Event.builder().aggregate(bad ? "refused" : "account", "a" + random.nextInt(AGGREGATES))
                    .type("changed").payload("{\"n\":" + i + "}").build();
        });
        long healthy = healthyCount[0];
        long start = System.nanoTime();
        try (SqsPublisher queue = SqsPublisher.builder().client(client).queueUrl(sqs.queueUrl("healthy"))
                .maxConcurrentCalls(1).build()) {
            Routing routing = new Routing(queue);
            // Quick retries, so the refused events keep coming back into batches, as a steady stream of new events
            // for that destination would.
            RelayLoops.runUntil(JdbcRelay.builder(db.pool(), routing).table(table).wakeOnCommit(false)
                    .pollInterval(Duration.ofMillis(5)).retryPolicy(RetryPolicy.builder()
                            .initialDelay(Duration.ofMillis(100)).maxDelay(Duration.ofMillis(500)).maxAttempts(1_000)
                            .build()).build(), LOOPS, routing.published::get, healthy);
            double seconds = (System.nanoTime() - start) / 1e9;
            db.drop(table);
            return healthy / seconds;
        }
    }

    /** The healthy queue's events to SQS; the refused aggregates' events answered retry, never sent. */
    private static final class Routing implements Publisher {
        final SqsPublisher queue;
        final AtomicLong published = new AtomicLong();

        Routing(SqsPublisher queue) {
            this.queue = queue;
        }

        private static boolean refused(Event e) {
            return e.aggregateType().equals("refused");
        }

        @Override
        public List<PublishOutcome> publish(List<Event> events) {
            List<Event> healthy = events.stream().filter(e -> !refused(e)).toList();
            List<PublishOutcome> sent = healthy.isEmpty() ? List.of() : queue.publish(healthy);
            List<PublishOutcome> outcomes = new ArrayList<>(events.size());
            int next = 0;
            for (Event e : events) {
                if (refused(e)) {
                    outcomes.add(PublishOutcome.retry("the queue refuses it"));
                } else {
                    PublishOutcome o = sent.get(next++);
                    if (o.isPublished()) {
                        published.incrementAndGet();
                    }
                    outcomes.add(o);
                }
            }
            return outcomes;
        }

        @Override
        public CallLimits callLimits() {
            return queue.callLimits();
        }

        @Override
        public Destination destination(Event event) {
            return refused(event) ? FAILING : queue.destination(event);
        }
    }
}
