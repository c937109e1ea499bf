package dev.outbox.benchmarks;

import dev.outbox.Event;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.spi.CallLimits;
import dev.outbox.spi.CallTimeouts;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import dev.outbox.sqs.SqsPublisher;
import dev.outbox.testing.SqsEndpoint;
import java.net.URI;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * Benchmark 7: one relay draining into SQS whose every call takes 20 ms ({@link SqsEndpoint}, speaking SQS's
 * JSON protocol to the real SDK client), on a standard queue, a FIFO queue, and a FIFO queue where one aggregate
 * carries 30 % of the events. The baseline is the previous release's batching, reproduced exactly by {@link PreviousBatching}:
 * the whole claimed batch in one publisher call, sent in waves of one event per aggregate, 4 calls at a time.
 */
final class SlowBroker {

    static final Duration DELAY = Duration.ofMillis(20);
    static final int AGGREGATES = 1000;
    static final int LOOPS = 2;
    /** SendMessageBatch calls at once per publisher call: with 20 ms calls, 16 of them were the drain's limit. */
    static final int CONCURRENT_CALLS = 32;

    private final BenchDatabase db;
    private final int events;

    SlowBroker(BenchDatabase db, int events) {
        this.db = db;
        this.events = events;
    }

    /** Events per second, overall and for the hot aggregate and the rest separately. */
    record Rates(double all, double hot, double others) {
    }

    List<Row> run() throws Exception {
        try (SqsEndpoint sqs = SqsEndpoint.start().keepMessages(false)
                     .behaveByDefault(SqsEndpoint.Behaviour.NORMAL.after(DELAY));
             SqsClient client = client(sqs.endpoint())) {
            String standard = sqs.queueUrl("slow-bench");
            String fifo = sqs.queueUrl("slow-bench.fifo");
            Rates oldStandard = drain(client, standard, 0, true);
            Rates newStandard = drain(client, standard, 0, false);
            Rates oldFifo = drain(client, fifo, 0, true);
            Rates newFifo = drain(client, fifo, 0, false);
            Rates oldHot = drain(client, fifo, 0.3, true);
            Rates newHot = drain(client, fifo, 0.3, false);
            String setup = events + " events, 1 relay (" + LOOPS + " loops), SQS calls take 20 ms";
            return List.of(
                    new Row("7. slow SQS, standard queue, " + AGGREGATES + " aggregates, " + setup,
                            Format.rate(newStandard.all(), "events/s"),
                            Format.rate(oldStandard.all(), "events/s") + " previous batching",
                            Format.ratio(newStandard.all() / oldStandard.all()) + " faster", ">= 5,000 events/s"),
                    new Row("7. slow SQS, FIFO queue, " + AGGREGATES + " aggregates, " + setup,
                            Format.rate(newFifo.all(), "events/s"),
                            Format.rate(oldFifo.all(), "events/s") + " previous batching",
                            Format.ratio(newFifo.all() / oldFifo.all()) + " faster", ">= 5,000 events/s"),
                    new Row("7. slow SQS, FIFO, one aggregate with 30 % of the events, " + setup,
                            "hot " + Format.rate(newHot.hot(), "events/s") + ", others "
                                    + Format.rate(newHot.others(), "events/s"),
                            "hot " + Format.rate(oldHot.hot(), "events/s") + " previous batching; others without a"
                                    + " hot aggregate " + Format.rate(newFifo.all(), "events/s"),
                            "others " + Format.ratio(newHot.others() / newFifo.all()) + " of the run without",
                            "hot >= 400 events/s; others within 20 %"));
        }
    }

    /** @return an SDK client on {@code endpoint}, bounded as the SQS publisher bounds the clients it builds */
    static SqsClient client(URI endpoint) {
        CallTimeouts t = CallTimeouts.DEFAULT;
        return SqsClient.builder().endpointOverride(endpoint).region(Region.EU_WEST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("bench", "bench")))
                .overrideConfiguration(o -> o.apiCallTimeout(t.callTimeout()).apiCallAttemptTimeout(t.attemptTimeout())
                        .retryStrategy(r -> r.maxAttempts(t.maxAttempts())))
                .httpClientBuilder(software.amazon.awssdk.http.apache.ApacheHttpClient.builder().maxConnections(128))
                .build();
    }

    private Rates drain(SqsClient client, String queue, double hotShare, boolean previous) throws Exception {
        OutboxTable table = db.newOutboxTable();
        fill(table, hotShare);
        Set<String> hotIds = Set.of("hot");
        int hotCount = countHot(table);
        try (SqsPublisher sqs = SqsPublisher.builder().client(client).queueUrl(queue)
                .maxConcurrentCalls(previous ? 4 : CONCURRENT_CALLS).build()) {
            Timed timed = new Timed(previous ? new PreviousBatching(sqs) : sqs, hotIds);
            DrainProfile profile = new DrainProfile();
            profile.start();
            long start = System.nanoTime();
            RelayLoops.runUntil(JdbcRelay.builder(db.pool(), timed).table(table).wakeOnCommit(false)
                    .listener(profile).pollInterval(Duration.ofMillis(5)).build(), LOOPS, timed.published::get, events);
            profile.stop(events);
            System.out.printf("  profile (%s queue%s, %s): %s%n", queue.endsWith(".fifo") ? "FIFO" : "standard",
                    hotShare > 0 ? ", hot aggregate" : "", previous ? "previous batching" : "this release", profile);
            db.drop(table);
            double hotSeconds = (timed.lastHot.get() - start) / 1e9;
            double otherSeconds = (timed.lastOther.get() - start) / 1e9;
            double allSeconds = (Math.max(timed.lastHot.get(), timed.lastOther.get()) - start) / 1e9;
            return new Rates(events / allSeconds, hotCount == 0 ? 0 : hotCount / hotSeconds,
                    (events - hotCount) / otherSeconds);
        }
    }

    private void fill(OutboxTable table, double hotShare) {
        db.fill(table, events, i -> {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            String aggregate = random.nextDouble() < hotShare ? "hot" : "a" + random.nextInt(AGGREGATES);
            return Event.builder().aggregate("account", aggregate).type("changed").payload("{\"n\":" + i + "}").build();
        });
    }

    private int countHot(OutboxTable table) throws SQLException {
        try (Connection c = db.pool().getConnection(); var s = c.createStatement();
             var rs = s.executeQuery("SELECT count(*) FROM " + table.qualifiedName() + " WHERE aggregate_id = 'hot'")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** Counts what was published and when the last hot and the last other event were. */
    private static final class Timed implements Publisher {
        final Publisher inner;
        final Set<String> hot;
        final AtomicLong published = new AtomicLong();
        final AtomicLong lastHot = new AtomicLong();
        final AtomicLong lastOther = new AtomicLong();

        Timed(Publisher inner, Set<String> hot) {
            this.inner = inner;
            this.hot = hot;
        }

        @Override
        public List<PublishOutcome> publish(List<Event> events) {
            List<PublishOutcome> outcomes = inner.publish(events);
            long now = System.nanoTime();
            for (int i = 0; i < events.size(); i++) {
                if (outcomes.get(i).isPublished()) {
                    published.incrementAndGet();
                    (hot.contains(events.get(i).aggregateId()) ? lastHot : lastOther).accumulateAndGet(now, Math::max);
                }
            }
            return outcomes;
        }

        @Override
        public CallLimits callLimits() {
            return inner.callLimits();
        }
    }

    /**
     * The previous release's batching, as the baseline: the relay handed the whole claimed batch to one publisher call,
     * which sent it in waves, wave k holding the k-th event of every aggregate, 4 calls at a time, each wave after the
     * previous one, an aggregate's later events held back after a failure.
     */
    private static final class PreviousBatching implements Publisher {
        final Publisher sqs;

        PreviousBatching(Publisher sqs) {
            this.sqs = sqs;
        }

        @Override
        public List<PublishOutcome> publish(List<Event> events) {
            PublishOutcome[] outcomes = new PublishOutcome[events.size()];
            Map<String, Integer> seen = new HashMap<>();
            List<List<Integer>> waves = new ArrayList<>();
            for (int i = 0; i < events.size(); i++) {
                int wave = seen.merge(events.get(i).aggregateId(), 1, Integer::sum) - 1;
                while (waves.size() <= wave) {
                    waves.add(new ArrayList<>());
                }
                waves.get(wave).add(i);
            }
            Set<String> failed = new HashSet<>();
            for (List<Integer> wave : waves) {
                List<Integer> send = new ArrayList<>();
                for (int i : wave) {
                    if (failed.contains(events.get(i).aggregateId())) {
                        outcomes[i] = PublishOutcome.retry("held back");
                    } else {
                        send.add(i);
                    }
                }
                if (send.isEmpty()) {
                    continue;
                }
                List<PublishOutcome> result = sqs.publish(send.stream().map(events::get).toList());
                for (int k = 0; k < send.size(); k++) {
                    outcomes[send.get(k)] = result.get(k);
                    if (!result.get(k).isPublished()) {
                        failed.add(events.get(send.get(k)).aggregateId());
                    }
                }
            }
            return List.of(outcomes);
        }

        /** The whole batch in one call, as the previous relay handed it. */
        @Override
        public CallLimits callLimits() {
            return new CallLimits(10_000, 10_000, null);
        }
    }
}
