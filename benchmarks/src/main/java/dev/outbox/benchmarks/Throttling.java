package dev.outbox.benchmarks;

import dev.outbox.Event;
import dev.outbox.RelayListener;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.spi.Publisher;
import dev.outbox.sqs.SqsPublisher;
import dev.outbox.testing.SqsEndpoint;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * Benchmark 14: throttling is backpressure, not an outage. One relay (2 loops) drains a backlog into an SQS queue
 * ({@link SqsEndpoint}, 20 ms a call) that throttles 0, 2 or 10 % of the entries of each call at random; the figure
 * is the drain's throughput against the run without throttling, each share drained twice, taking turns.
 */
final class Throttling {

    static final Duration DELAY = Duration.ofMillis(20);
    static final int AGGREGATES = 1000;
    static final int LOOPS = 2;
    static final int ROUNDS = 2;

    private final BenchDatabase db;
    private final int events;

    Throttling(BenchDatabase db, int events) {
        this.db = db;
        this.events = events;
    }

    /** One drain: events per second, events dead, entries throttled. */
    private record Drain(double rate, int dead, long throttled) {
    }

    List<Row> run() throws Exception {
        double[] shares = {0, 0.02, 0.10};
        double[] rates = new double[shares.length];
        int[] dead = new int[shares.length];
        long[] throttled = new long[shares.length];
        try (SqsEndpoint sqs = SqsEndpoint.start().keepMessages(false);
             SqsClient client = SlowBroker.client(sqs.endpoint())) {
            for (int round = 0; round < ROUNDS; round++) {
                for (int i = 0; i < shares.length; i++) {
                    Drain d = drain(sqs, client, shares[i]);
                    rates[i] += d.rate() / ROUNDS;
                    dead[i] += d.dead();
                    throttled[i] += d.throttled();
                }
            }
        }
        String setup = events + " events, " + AGGREGATES + " aggregates, 1 relay (" + LOOPS
                + " loops), SQS calls take 20 ms, mean of " + ROUNDS + " drains";
        return List.of(
                row("2 %", rates[1], rates[0], dead[1], throttled[1], ">= 0.90x, 0 dead", setup),
                row("10 %", rates[2], rates[0], dead[2], throttled[2], ">= 0.60x, 0 dead", setup));
    }

    private static Row row(String share, double rate, double baseline, int dead, long throttled, String target,
                           String setup) {
        return new Row("14. throttling: " + share + " of SQS entries throttled at random, " + setup,
                Format.rate(rate, "events/s") + ", " + dead + " dead, " + throttled + " entries throttled",
                Format.rate(baseline, "events/s") + " without throttling",
                Format.ratio(rate / baseline) + " of unthrottled", target);
    }

    private Drain drain(SqsEndpoint sqs, SqsClient client, double share) throws Exception {
        OutboxTable table = db.newOutboxTable();
        db.fill(table, events, i -> Event.builder()
                .aggregate("account", "a" + ThreadLocalRandom.current().nextInt(AGGREGATES)).type("changed")
                .payload("{\"n\":" + i + "}").build());
        String queue = "throttle-" + System.nanoTime();
        sqs.behave(queue, SqsEndpoint.Behaviour.throttling(share).after(DELAY));
        long throttledBefore = sqs.throttledEntries();
        AtomicLong published = new AtomicLong();
        AtomicInteger dead = new AtomicInteger();
        RelayListener counting = new RelayListener() {
            @Override
            public void published(List<Event> batch) {
                published.addAndGet(batch.size());
            }

            @Override
            public void dead(Event event, int attempts, String reason) {
                dead.incrementAndGet();
            }
        };
        long start = System.nanoTime();
        try (Publisher publisher = SqsPublisher.builder().client(client).queueUrl(sqs.queueUrl(queue))
                .maxConcurrentCalls(16).build()) {
            RelayLoops.runUntil(JdbcRelay.builder(db.pool(), publisher).table(table).listener(counting)
                    .wakeOnCommit(false).pollInterval(Duration.ofMillis(5)).build(), LOOPS,
                    () -> published.get() + dead.get(), events);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        db.drop(table);
        return new Drain(published.get() / seconds, dead.get(), sqs.throttledEntries() - throttledBefore);
    }
}
