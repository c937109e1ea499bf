package dev.outbox.relay;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.outbox.jdbc.OutboxHealth;
import dev.outbox.jdbc.OutboxStats;
import dev.outbox.micrometer.OutboxMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay as a service of its own: its loops, {@code /health} (the {@link OutboxHealth} answer as JSON; 200 for UP
 * and DEGRADED, 503 for DOWN) and {@code /metrics} (Prometheus text from {@link OutboxMetrics}) on the JDK's HTTP
 * server, and a purge of old published events on a schedule. A database that is down at start or later is retried by
 * the loops with growing pauses while {@code /health} says DOWN; the process never exits for it. {@link #stop()} stops
 * claiming, waits for the batches in flight (each bounded by its lease), so that nothing is left leased, and stops the
 * rest.
 */
public final class RelayService implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RelayService.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final RelayConfig config;
    private final RelayResources resources;
    private final PrometheusMeterRegistry registry;
    private final OutboxMetrics metrics;
    private final OutboxHealth health;
    private final HttpServer http;
    private final ExecutorService loops;
    private final ExecutorService httpThreads;
    private final ScheduledExecutorService purger;

    private RelayService(RelayConfig config) throws IOException {
        this.config = config;
        this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        this.metrics = OutboxMetrics.builder(registry, config.table()).build();
        this.resources = RelayResources.open(config, true, metrics);
        this.health = OutboxHealth.builder(resources.relay(), resources.operations()).build();
        this.loops = Executors.newFixedThreadPool(config.loops(), named("outbox-relay-loop"));
        this.httpThreads = Executors.newFixedThreadPool(2, named("outbox-relay-http"));
        this.purger = Executors.newSingleThreadScheduledExecutor(named("outbox-relay-purge"));
        this.http = HttpServer.create(new InetSocketAddress(config.httpPort()), 16);
        http.setExecutor(httpThreads);
        http.createContext("/health", this::health);
        http.createContext("/metrics", this::metrics);
    }

    /**
     * Starts the HTTP server, the relay's loops, the metrics and the purge schedule.
     *
     * @param config the settings
     * @return the running service
     * @throws dev.outbox.InvalidConfigurationException for a setting the publisher or the relay refuses
     * @throws IOException when the HTTP port cannot be bound
     */
    public static RelayService start(RelayConfig config) throws IOException {
        RelayService service = new RelayService(config);
        service.http.start();
        for (int i = 0; i < config.loops(); i++) {
            service.resources.relay().start(service.loops);
        }
        service.metrics.watch(service.resources.relay(), service.resources.operations());
        if (!config.purgeInterval().isZero()) {
            long every = config.purgeInterval().toMillis();
            service.purger.scheduleWithFixedDelay(service::purge, every, every, TimeUnit.MILLISECONDS);
        }
        log.info("outbox relay serving on port {}: {} loops on {} ({})", service.port(), config.loops(),
                config.table(), config);
        return service;
    }

    /** @return the port {@code /health} and {@code /metrics} are served on */
    public int port() {
        return http.getAddress().getPort();
    }

    /** @return the current health, as {@code /health} answers it */
    public OutboxHealth.Report health() {
        return health.check();
    }

    private void purge() {
        try {
            long purged = resources.operations().purgePublished(config.purgeRetention(), 10_000);
            log.info("purged {} events published more than {} ago", purged, config.purgeRetention());
        } catch (RuntimeException e) {
            log.warn("purge failed; it runs again in {}: {}", config.purgeInterval(), e.getMessage());
        }
    }

    private void health(HttpExchange exchange) throws IOException {
        OutboxHealth.Report report = health.check();
        ObjectNode body = JSON.createObjectNode();
        body.put("status", report.status().name());
        ArrayNode reasons = body.putArray("reasons");
        report.reasons().forEach(reasons::add);
        OutboxStats stats = report.stats();
        if (stats != null) {
            ObjectNode s = body.putObject("stats");
            s.put("pending", stats.pending());
            s.put("inFlight", stats.inFlight());
            s.put("dead", stats.dead());
            s.put("oldestPendingAgeSeconds", stats.oldestPendingAge().toMillis() / 1000.0);
            s.put("exact", stats.exact());
        }
        ArrayNode destinations = body.putArray("destinations");
        resources.relay().destinations().forEach(d -> destinations.addObject()
                .put("system", d.destination().system()).put("name", d.destination().name())
                .put("state", d.state().name()).put("eventsPerCall", d.eventsPerCall()));
        int status = report.status() == OutboxHealth.Status.DOWN ? 503 : 200;
        answer(exchange, status, "application/json", JSON.writeValueAsBytes(body));
    }

    private void metrics(HttpExchange exchange) throws IOException {
        answer(exchange, 200, "text/plain; version=0.0.4; charset=utf-8",
                registry.scrape().getBytes(StandardCharsets.UTF_8));
    }

    private static void answer(HttpExchange exchange, int status, String type, byte[] body) throws IOException {
        try (exchange) {
            exchange.getResponseHeaders().set("Content-Type", type);
            exchange.sendResponseHeaders(status, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /**
     * Stops claiming and waits for the batches in flight, each of which ends within its lease, so that every event
     * this relay held is recorded or given back; then stops the purge, the metrics, the HTTP server and the pool.
     *
     * @return true when every batch ended within the wait
     */
    public boolean stop() {
        log.info("outbox relay stopping: no new claims; waiting up to {} for the batches in flight",
                resources.stopTimeout());
        purger.shutdownNow();
        boolean stopped = resources.relay().close(resources.stopTimeout());
        metrics.close();
        http.stop(0);
        httpThreads.shutdownNow();
        loops.shutdownNow();
        resources.closeAll();
        log.info("outbox relay stopped{}", stopped ? "" : "; a batch was still running: its events are published"
                + " again after their lease");
        return stopped;
    }

    /** Stops the service; see {@link #stop()}. */
    @Override
    public void close() {
        stop();
    }

    private static java.util.concurrent.ThreadFactory named(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
