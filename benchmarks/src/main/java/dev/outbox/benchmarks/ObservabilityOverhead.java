package dev.outbox.benchmarks;

import dev.outbox.Outbox;
import dev.outbox.RelayResult;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxOperations;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.jdbc.Ordering;
import dev.outbox.micrometer.OutboxMetrics;
import dev.outbox.opentelemetry.OutboxTracing;
import dev.outbox.spi.Publisher;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Benchmark 9: what observability costs. The relay drains the same backlog (every event carrying a {@code traceparent},
 * as appended under a trace) bare, and with {@link OutboxMetrics} as its listener, watching it, and
 * {@link OutboxTracing}'s publisher around the no-op publisher; and {@value #WRITERS} writers append, each transaction
 * under a request span, through the plain outbox and through the tracing one. Spans go to the SDK's batch processor and
 * an exporter that drops them, as a production SDK would hand them to its exporter. Variants take turns in rounds.
 */
final class ObservabilityOverhead {

    static final int WRITERS = 4;

    private final BenchDatabase db;
    private final int relayEvents;
    private final Duration appendPhase;
    private final int rounds;
    private final AtomicLong exported = new AtomicLong();

    ObservabilityOverhead(BenchDatabase db, int relayEvents, Duration appendPhase, int rounds) {
        this.db = db;
        this.relayEvents = relayEvents;
        this.appendPhase = appendPhase;
        this.rounds = rounds;
    }

    List<Row> run() throws Exception {
        SdkTracerProvider provider = SdkTracerProvider.builder()
                .addSpanProcessor(BatchSpanProcessor.builder(new Dropping()).build()).build();
        OpenTelemetrySdk otel = OpenTelemetrySdk.builder().setTracerProvider(provider)
                .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance())).build();
        OutboxTracing tracing = OutboxTracing.create(otel);
        Tracer tracer = otel.getTracer("bench");

        drain(false, tracing); // warm-up
        drain(true, tracing);
        double bareRelay = 0;
        double observedRelay = 0;
        int relayRounds = Math.min(rounds, 3);
        for (int r = 0; r < relayRounds; r++) {
            bareRelay += drain(false, tracing);
            observedRelay += drain(true, tracing);
        }

        OutboxTable table = db.newOutboxTable();
        JdbcOutbox plain = JdbcOutbox.builder().table(table).notifyOnCommit(false).build();
        Outbox traced = tracing.outbox(plain);
        append(plain, tracer, Duration.ofSeconds(1)); // warm-up
        append(traced, tracer, Duration.ofSeconds(1));
        long plainCommits = 0;
        long tracedCommits = 0;
        long plainNanos = 0;
        long tracedNanos = 0;
        for (int r = 0; r < rounds; r++) {
            long start = System.nanoTime();
            plainCommits += append(plain, tracer, appendPhase);
            plainNanos += System.nanoTime() - start;
            start = System.nanoTime();
            tracedCommits += append(traced, tracer, appendPhase);
            tracedNanos += System.nanoTime() - start;
        }
        long withContext = BenchDatabase.queryLong(db.pool(), "SELECT count(*) FROM " + table.qualifiedName()
                + " WHERE headers ? 'traceparent'");
        db.drop(table);
        provider.forceFlush().join(10, java.util.concurrent.TimeUnit.SECONDS);
        provider.close();
        System.out.printf("  spans exported: %,d; events appended with a trace context: %,d%n", exported.get(),
                withContext);
        double plainRate = plainCommits * 1e9 / plainNanos;
        double tracedRate = tracedCommits * 1e9 / tracedNanos;
        return List.of(
                new Row("9. relay, 1 ordered relay, " + relayEvents + " events, metrics + tracing on",
                        Format.rate(observedRelay / relayRounds, "events/s"),
                        Format.rate(bareRelay / relayRounds, "events/s") + " off",
                        Format.ratio(observedRelay / bareRelay) + " of off", ">= 0.95x"),
                new Row("9. append, " + WRITERS + " writers, each transaction in a span, trace capture on",
                        Format.rate(tracedRate, "tx/s"), Format.rate(plainRate, "tx/s") + " off",
                        Format.ratio(tracedRate / plainRate) + " of off", ">= 0.97x"));
    }

    /** @return events per second draining a fresh backlog with one ordered relay */
    private double drain(boolean observed, OutboxTracing tracing) throws Exception {
        OutboxTable table = db.newOutboxTable();
        db.fill(table, relayEvents, RelayThroughput.AGGREGATES);
        BenchDatabase.execute(db.pool(), "UPDATE " + table.qualifiedName() + " SET headers = jsonb_build_object("
                + "'traceparent', '00-' || md5(id::text) || '-' || left(md5(position::text), 16) || '-01')");
        BenchDatabase.execute(db.pool(), "VACUUM ANALYZE " + table.qualifiedName());
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        OutboxMetrics metrics = observed ? OutboxMetrics.builder(registry, table).build() : null;
        Publisher publisher = observed ? tracing.publisher(RelayThroughput.NO_OP) : RelayThroughput.NO_OP;
        JdbcRelay.Builder builder = JdbcRelay.builder(db.pool(), publisher).table(table)
                .ordering(Ordering.PER_AGGREGATE).batchSize(RelayThroughput.BATCH_SIZE).ownerId("bench-observed");
        if (observed) {
            builder.listener(metrics);
        }
        long published = 0;
        long start;
        try (JdbcRelay relay = builder.build()) {
            if (observed) {
                metrics.watch(relay, new OutboxOperations(db.pool(), table));
            }
            start = System.nanoTime();
            while (published < relayEvents) {
                RelayResult result = relay.runOnce();
                published += result.published();
            }
        }
        double rate = relayEvents * 1e9 / (System.nanoTime() - start);
        if (observed) {
            metrics.close();
            if (registry.get("outbox.events").counter().count() != relayEvents) {
                throw new IllegalStateException("metrics counted " + registry.get("outbox.events").counter().count());
            }
        }
        db.drop(table);
        return rate;
    }

    private long append(Outbox outbox, Tracer tracer, Duration duration) throws Exception {
        ExecutorService writers = Executors.newFixedThreadPool(WRITERS);
        long deadline = System.nanoTime() + duration.toNanos();
        List<Future<Long>> done = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            done.add(writers.submit(() -> write(outbox, tracer, deadline)));
        }
        long total = 0;
        for (Future<Long> f : done) {
            total += f.get();
        }
        writers.shutdown();
        return total;
    }

    private long write(Outbox outbox, Tracer tracer, long deadline) throws SQLException {
        long n = 0;
        try (Connection c = db.pool().getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement insert = c.prepareStatement("SELECT 1")) {
                while (System.nanoTime() < deadline) {
                    Span request = tracer.spanBuilder("POST /deposits").startSpan();
                    try (Scope ignored = request.makeCurrent()) {
                        insert.execute(); // stands in for the business statement
                        outbox.append(c, BenchDatabase.event(ThreadLocalRandom.current().nextInt(1000)));
                        c.commit();
                    } finally {
                        request.end();
                    }
                    n++;
                }
            }
            c.setAutoCommit(true);
        }
        return n;
    }

    /** Counts spans and drops them. */
    private final class Dropping implements SpanExporter {
        @Override
        public CompletableResultCode export(Collection<SpanData> spans) {
            exported.addAndGet(spans.size());
            return CompletableResultCode.ofSuccess();
        }

        @Override
        public CompletableResultCode flush() {
            return CompletableResultCode.ofSuccess();
        }

        @Override
        public CompletableResultCode shutdown() {
            return CompletableResultCode.ofSuccess();
        }
    }
}
