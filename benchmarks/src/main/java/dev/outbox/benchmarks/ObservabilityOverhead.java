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

        double addedCpu = cpuPerEvent(tracing, Math.max(200_000, relayEvents * 4));
        drain(false, false, tracing); // warm-up
        drain(true, true, tracing);
        double bareRelay = 0;
        double metricsRelay = 0;
        double tracingRelay = 0;
        double observedRelay = 0;
        int relayRounds = Math.min(rounds, 4);
        for (int r = 0; r < relayRounds; r++) {
            double[] round = {drain(false, false, tracing), drain(true, false, tracing), drain(false, true, tracing),
                drain(true, true, tracing)};
            System.out.printf("  round %d: off %,.0f, metrics %,.0f, tracing %,.0f, both %,.0f events/s%n", r + 1,
                    round[0], round[1], round[2], round[3]);
            bareRelay += round[0];
            metricsRelay += round[1];
            tracingRelay += round[2];
            observedRelay += round[3];
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
        double captureCpu = captureCpuPerAppend(tracing, tracer, 500_000);
        long withContext = BenchDatabase.queryLong(db.pool(), "SELECT count(*) FROM " + table.qualifiedName()
                + " WHERE headers ? 'traceparent'");
        db.drop(table);
        provider.forceFlush().join(10, java.util.concurrent.TimeUnit.SECONDS);
        provider.close();
        System.out.printf("  spans exported: %,d; events appended with a trace context: %,d%n", exported.get(),
                withContext);
        double plainRate = plainCommits * 1e9 / plainNanos;
        double tracedRate = tracedCommits * 1e9 / tracedNanos;
        String relay = "9. relay, 1 ordered relay, " + relayEvents + " events, ";
        String off = Format.rate(bareRelay / relayRounds, "events/s") + " off";
        double relayNanosPerEvent = 1e9 / (bareRelay / relayRounds);
        return List.of(
                new Row("9. relay, CPU per event that metrics + tracing add (no database; export thread included)",
                        String.format(java.util.Locale.ROOT, "%.1f us", addedCpu / 1000),
                        String.format(java.util.Locale.ROOT, "%.1f us per event, relay off, wall time", relayNanosPerEvent / 1000),
                        Format.ratio(relayNanosPerEvent / (relayNanosPerEvent + addedCpu)) + " implied", ">= 0.95x"),
                new Row(relay + "metrics on", Format.rate(metricsRelay / relayRounds, "events/s"), off,
                        Format.ratio(metricsRelay / bareRelay) + " of off", "-"),
                new Row(relay + "tracing on", Format.rate(tracingRelay / relayRounds, "events/s"), off,
                        Format.ratio(tracingRelay / bareRelay) + " of off", "-"),
                new Row(relay + "metrics + tracing on", Format.rate(observedRelay / relayRounds, "events/s"), off,
                        Format.ratio(observedRelay / bareRelay) + " of off", ">= 0.95x"),
                new Row("9. append, CPU per append that trace capture adds (no database)",
                        String.format(java.util.Locale.ROOT, "%.2f us", captureCpu / 1000),
                        String.format(java.util.Locale.ROOT, "%.0f us per transaction, capture off, wall time",
                                1e6 * WRITERS / plainRate),
                        Format.ratio((1e9 * WRITERS / plainRate) / (1e9 * WRITERS / plainRate + captureCpu)) + " implied",
                        ">= 0.97x"),
                new Row("9. append, " + WRITERS + " writers, each transaction in a span, trace capture on",
                        Format.rate(tracedRate, "tx/s"), Format.rate(plainRate, "tx/s") + " off",
                        Format.ratio(tracedRate / plainRate) + " of off", ">= 0.97x"));
    }

    /**
     * The JVM's CPU time per event of what metrics and tracing add to a relay, without a database: the listener calls
     * a batch makes and the tracing publisher around the no-op one, for batches of 500 events carrying a
     * traceparent. Process CPU, so the span processor's export thread counts too.
     *
     * @return nanoseconds of CPU per event
     */
    private double cpuPerEvent(OutboxTracing tracing, int events) {
        List<dev.outbox.Event> batch = new ArrayList<>();
        for (int i = 0; i < RelayThroughput.BATCH_SIZE; i++) {
            batch.add(BenchDatabase.event(i % RelayThroughput.AGGREGATES).withHeaders(java.util.Map.of("traceparent",
                    "00-" + String.format("%032x", i + 1) + "-" + String.format("%016x", i + 1) + "-01")));
        }
        Publisher traced = tracing.publisher(RelayThroughput.NO_OP);
        OutboxMetrics metrics = OutboxMetrics.builder(new SimpleMeterRegistry(), OutboxTable.DEFAULT).build();
        com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long cpu = 0;
        int done = 0;
        for (int pass = 0; pass < 3; pass++) { // the first passes warm up
            long start = os.getProcessCpuTime();
            for (done = 0; done < events; done += batch.size()) {
                metrics.claimed(batch.size(), Duration.ofMillis(10));
                traced.publish(batch);
                metrics.publisherCalled(batch.size(), Duration.ofMillis(1));
                metrics.recorded(batch.size(), Duration.ofMillis(5));
                for (dev.outbox.Event e : batch) {
                    metrics.publishedAfter(e, Duration.ofMillis(20));
                }
                metrics.published(batch);
                metrics.batchCompleted(new RelayResult(batch.size(), batch.size(), 0, 0, true), Duration.ofMillis(20));
            }
            cpu = os.getProcessCpuTime() - start;
        }
        return (double) cpu / done;
    }

    /** @return the CPU time per append that trace capture adds, under a current span, without a database */
    private static double captureCpuPerAppend(OutboxTracing tracing, Tracer tracer, int appends) {
        dev.outbox.Event event = BenchDatabase.event(1);
        com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long cpu = 0;
        long sink = 0;
        Span request = tracer.spanBuilder("POST /deposits").startSpan();
        try (Scope ignored = request.makeCurrent()) {
            for (int pass = 0; pass < 2; pass++) {
                long start = os.getProcessCpuTime();
                for (int i = 0; i < appends; i++) {
                    sink += tracing.withCurrentContext(event).headers().size();
                }
                cpu = os.getProcessCpuTime() - start;
            }
        } finally {
            request.end();
        }
        if (sink == 0) {
            throw new IllegalStateException("no context captured");
        }
        return (double) cpu / appends;
    }

    /** @return events per second draining a fresh backlog with one ordered relay */
    private double drain(boolean measured, boolean traced, OutboxTracing tracing) throws Exception {
        OutboxTable table = db.newOutboxTable();
        db.fill(table, relayEvents, RelayThroughput.AGGREGATES);
        BenchDatabase.execute(db.pool(), "UPDATE " + table.qualifiedName() + " SET headers = jsonb_build_object("
                + "'traceparent', '00-' || md5(id::text) || '-' || left(md5(position::text), 16) || '-01')");
        BenchDatabase.execute(db.pool(), "VACUUM ANALYZE " + table.qualifiedName());
        BenchDatabase.execute(db.pool(), "CHECKPOINT"); // so that no variant pays for another's writes
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        OutboxMetrics metrics = measured ? OutboxMetrics.builder(registry, table).build() : null;
        Publisher publisher = traced ? tracing.publisher(RelayThroughput.NO_OP) : RelayThroughput.NO_OP;
        JdbcRelay.Builder builder = JdbcRelay.builder(db.pool(), publisher).table(table)
                .ordering(Ordering.PER_AGGREGATE).batchSize(RelayThroughput.BATCH_SIZE).ownerId("bench-observed");
        if (measured) {
            builder.listener(metrics);
        }
        long published = 0;
        long start;
        try (JdbcRelay relay = builder.build()) {
            if (measured) {
                metrics.watch(relay, new OutboxOperations(db.pool(), table));
            }
            start = System.nanoTime();
            while (published < relayEvents) {
                RelayResult result = relay.runOnce();
                published += result.published();
            }
        }
        double rate = relayEvents * 1e9 / (System.nanoTime() - start);
        if (measured) {
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
