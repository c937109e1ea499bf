package dev.outbox.micrometer;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.RelayListener;
import dev.outbox.RelayLoop;
import dev.outbox.RelayResult;
import dev.outbox.jdbc.DestinationStatus;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.spi.Destination;
import dev.outbox.jdbc.OutboxOperations;
import dev.outbox.jdbc.OutboxStats;
import dev.outbox.jdbc.OutboxTable;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Micrometer meters for one relay and its outbox table. Pass it as the relay's listener, then let it watch the relay
 * for the gauges:
 *
 * <pre>{@code
 * OutboxMetrics metrics = OutboxMetrics.builder(registry, table).build();
 * JdbcRelay relay = JdbcRelay.builder(dataSource, publisher).table(table).listener(metrics).build();
 * metrics.watch(relay, new OutboxOperations(dataSource, table));
 * }</pre>
 *
 * <p>Meters (all tagged {@code table}):
 * <ul>
 * <li>{@code outbox.events} counter, tagged {@code event_type} and {@code outcome} ({@code published},
 *     {@code retried}, {@code throttled} (given back by a throttling broker, no attempt spent), {@code dead} (out of
 *     attempts), {@code rejected} (refused by the broker for good, also dead), {@code unreadable}): alert on the rate
 *     of {@code outcome=~"dead|rejected|unreadable"}.</li>
 * <li>{@code outbox.publish.lag} timer (with a histogram): from the row's creation (the appending transaction, by
 *     the database's clock) to the broker's confirmation, tagged {@code event_type}: the commit-to-publish
 *     latency.</li>
 * <li>{@code outbox.relay.batch} timer: one relay pass, claim to recorded outcomes; {@code outbox.relay.claim},
 *     {@code outbox.relay.publish} and {@code outbox.relay.record} timers: each claim statement (empty ones too),
 *     each publisher call, each statement recording outcomes.</li>
 * <li>{@code outbox.relay.failures} counter, tagged {@code stage} ({@code claim}, {@code record}).</li>
 * <li>Gauges from a snapshot refreshed every {@link Builder#refreshInterval} on a daemon thread, never a query per
 *     scrape: {@code outbox.events.pending}, {@code outbox.events.in_flight}, {@code outbox.events.dead},
 *     {@code outbox.events.oldest_pending_age} (seconds), {@code outbox.database.horizon_age} (seconds the database's
 *     horizon has been held, {@link dev.outbox.jdbc.OutboxOperations#horizon()}), {@code outbox.relay.loops} (running loops),
 *     {@code outbox.relay.listening} (1 while commits wake the relay), {@code outbox.relay.broker_open} (1 while any
 *     destination is paused as unavailable); per destination, tagged {@code destination_system} and
 *     {@code destination}: {@code outbox.destination.open} (1 while its events wait for an outage to end) and
 *     {@code outbox.destination.send_window} (the share of its events per call the relay sends while the broker
 *     throttles it, 1 when it does not).</li>
 * </ul>
 * Event types beyond {@link Builder#maxEventTypes} distinct ones are tagged {@code other}, so that a service with
 * generated type names cannot grow the registry without bound. Thread-safe; {@link #close()} stops the refresh thread.
 */
public final class OutboxMetrics implements RelayListener, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(OutboxMetrics.class);
    private static final String OTHER = "other";

    private final MeterRegistry registry;
    private final Tags tags;
    private final int maxEventTypes;
    private final Duration refreshInterval;
    private final Map<String, String> eventTypes = new ConcurrentHashMap<>();
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Timer> lags = new ConcurrentHashMap<>();
    private final Timer batch;
    private final Timer claim;
    private final Timer publish;
    private final Timer record;
    private final Counter claimFailures;
    private final Counter recordFailures;
    private volatile Snapshot snapshot = Snapshot.EMPTY;
    private ScheduledExecutorService refresher;

    /** What the gauges read, refreshed on an interval. */
    private record Snapshot(OutboxStats stats, int loops, boolean listening, boolean brokerOpen,
                            Map<Destination, DestinationStatus> destinations, double horizonAgeSeconds) {
        static final Snapshot EMPTY = new Snapshot(null, 0, false, false, Map.of(), Double.NaN);
    }

    /** Destinations whose gauges are registered. */
    private final java.util.Set<Destination> destinationGauges = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private OutboxMetrics(Builder b) {
        this.registry = b.registry;
        this.tags = Tags.of("table", b.table.toString());
        this.maxEventTypes = b.maxEventTypes;
        this.refreshInterval = b.refreshInterval;
        this.batch = Timer.builder("outbox.relay.batch").description("One relay pass, claim to recorded outcomes")
                .tags(tags).register(registry);
        this.claim = Timer.builder("outbox.relay.claim").description("One claim statement, empty or not")
                .tags(tags).register(registry);
        this.publish = Timer.builder("outbox.relay.publish").description("One publisher call")
                .tags(tags).register(registry);
        this.record = Timer.builder("outbox.relay.record").description("One statement recording outcomes")
                .tags(tags).register(registry);
        this.claimFailures = Counter.builder("outbox.relay.failures").description("Failed claims and records")
                .tags(tags).tag("stage", "claim").register(registry);
        this.recordFailures = Counter.builder("outbox.relay.failures").description("Failed claims and records")
                .tags(tags).tag("stage", "record").register(registry);
    }

    /**
     * @param registry where the meters go
     * @param table the outbox table, the {@code table} tag
     * @return a builder with the defaults
     */
    public static Builder builder(MeterRegistry registry, OutboxTable table) {
        return new Builder(registry, table);
    }

    /**
     * Registers the gauges and starts refreshing their snapshot from {@code relay} and {@code operations}' stats
     * every {@link Builder#refreshInterval}; the first refresh runs now.
     *
     * @param relay the relay whose loops, listener and broker circuit the gauges show
     * @param operations the same table's operations, for pending, in-flight, dead and oldest age
     * @return this
     * @throws InvalidConfigurationException when called twice, or with null
     */
    public synchronized OutboxMetrics watch(JdbcRelay relay, OutboxOperations operations) {
        if (relay == null || operations == null) {
            throw new InvalidConfigurationException("relay and operations must not be null");
        }
        if (refresher != null) {
            throw new InvalidConfigurationException("these metrics already watch a relay");
        }
        gauge("outbox.events.pending", "Events waiting to be claimed", s -> s.stats == null ? Double.NaN : s.stats.pending());
        gauge("outbox.events.in_flight", "Events claimed and being published",
                s -> s.stats == null ? Double.NaN : s.stats.inFlight());
        gauge("outbox.events.dead", "Dead events, holding back their aggregates",
                s -> s.stats == null ? Double.NaN : s.stats.dead());
        gauge("outbox.events.oldest_pending_age", "Age of the oldest pending event, seconds",
                s -> s.stats == null ? Double.NaN : s.stats.oldestPendingAge().toMillis() / 1000.0);
        gauge("outbox.database.horizon_age", "How long the oldest transaction, snapshot or slot has held the database's"
                + " horizon (vacuum cannot remove row versions newer than it), seconds", s -> s.horizonAgeSeconds);
        gauge("outbox.relay.loops", "Running relay loops", s -> s.loops);
        gauge("outbox.relay.listening", "1 while commits wake the relay", s -> s.listening ? 1 : 0);
        gauge("outbox.relay.broker_open", "1 while any destination is paused as unavailable",
                s -> s.brokerOpen ? 1 : 0);
        refresher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "outbox-metrics-" + relay.ownerId());
            t.setDaemon(true);
            return t;
        });
        refresher.scheduleWithFixedDelay(() -> refresh(relay, operations), 0, refreshInterval.toMillis(),
                TimeUnit.MILLISECONDS);
        return this;
    }

    private void refresh(JdbcRelay relay, OutboxOperations operations) {
        OutboxStats stats;
        try {
            stats = operations.stats();
        } catch (RuntimeException e) {
            log.debug("outbox metrics: stats unreadable, gauges show NaN: {}", e.getMessage());
            stats = null;
        }
        double horizonAge;
        try {
            horizonAge = operations.horizon().map(h -> h.age().toMillis() / 1000.0).orElse(0.0);
        } catch (RuntimeException e) {
            log.debug("outbox metrics: horizon unreadable, its gauge shows NaN: {}", e.getMessage());
            horizonAge = Double.NaN;
        }
        List<RelayLoop> loops = relay.loops();
        Map<Destination, DestinationStatus> destinations = new java.util.HashMap<>();
        for (DestinationStatus d : relay.destinations()) {
            destinations.put(d.destination(), d);
        }
        snapshot = new Snapshot(stats, (int) loops.stream().filter(RelayLoop::isRunning).count(), relay.isListening(),
                relay.brokerState() == JdbcRelay.BrokerState.OPEN, destinations, horizonAge);
        destinations.keySet().forEach(this::destinationGauges);
    }

    /** Registers a destination's gauges the first time it is seen. */
    private void destinationGauges(Destination d) {
        if (!destinationGauges.add(d)) {
            return;
        }
        Tags of = tags.and("destination_system", d.system(), "destination", d.name());
        Gauge.builder("outbox.destination.open", this, m -> {
            DestinationStatus s = m.snapshot.destinations().get(d);
            return s == null ? Double.NaN : s.state() == JdbcRelay.BrokerState.CLOSED ? 0 : 1;
        }).description("1 while the destination's events wait for an outage to end").tags(of).register(registry);
        Gauge.builder("outbox.destination.send_window", this, m -> {
            DestinationStatus s = m.snapshot.destinations().get(d);
            return s == null ? Double.NaN : s.eventsPerCall() / (double) s.maxEventsPerCall();
        }).description("Share of its events per call the relay sends while the broker throttles it").tags(of)
                .register(registry);
    }

    private interface Reading {
        double read(Snapshot s);
    }

    private void gauge(String name, String description, Reading reading) {
        Gauge.builder(name, this, m -> reading.read(m.snapshot)).description(description).tags(tags)
                .register(registry);
    }

    private String type(Event event) {
        String type = event.type();
        String known = eventTypes.get(type);
        if (known != null) {
            return known;
        }
        synchronized (eventTypes) {
            return eventTypes.computeIfAbsent(type, t -> eventTypes.size() < maxEventTypes ? t : OTHER);
        }
    }

    private Counter events(String eventType, String outcome) {
        return counters.computeIfAbsent(eventType + '\u0000' + outcome, k -> Counter.builder("outbox.events")
                .description("Events by outcome").tags(tags).tag("event_type", eventType).tag("outcome", outcome)
                .register(registry));
    }

    @Override
    public void publishedAfter(Event event, Duration sinceAppend) {
        String type = type(event);
        events(type, "published").increment();
        lags.computeIfAbsent(type, t -> Timer.builder("outbox.publish.lag")
                .description("From the row's creation to the broker's confirmation")
                .tags(tags).tag("event_type", t).publishPercentileHistogram().register(registry))
                .record(sinceAppend);
    }

    @Override
    public void rejected(Event event, int attempts, String reason) {
        events(type(event), "rejected").increment();
    }

    @Override
    public void claimed(int events, Duration elapsed) {
        claim.record(elapsed);
    }

    @Override
    public void publisherCalled(int events, Duration elapsed) {
        publish.record(elapsed);
    }

    @Override
    public void recorded(int outcomes, Duration elapsed) {
        record.record(elapsed);
    }

    @Override
    public void throttled(Event event, Duration delay, String reason) {
        events(type(event), "throttled").increment();
    }

    @Override
    public void retryScheduled(Event event, int attempts, Duration delay, String reason) {
        events(type(event), "retried").increment();
    }

    @Override
    public void dead(Event event, int attempts, String reason) {
        events(type(event), "dead").increment();
    }

    @Override
    public void unreadable(String eventId, String reason) {
        events("unknown", "unreadable").increment();
    }

    @Override
    public void claimFailed(Exception error) {
        claimFailures.increment();
    }

    @Override
    public void recordFailed(List<Event> events, Exception error) {
        recordFailures.increment();
    }

    @Override
    public void batchCompleted(RelayResult result, Duration elapsed) {
        batch.record(elapsed);
    }

    /** Stops the refresh thread; the meters stay registered with their last values. */
    @Override
    public synchronized void close() {
        if (refresher != null) {
            refresher.shutdownNow();
        }
    }

    /** Settings; every one has a default. */
    public static final class Builder {
        private final MeterRegistry registry;
        private final OutboxTable table;
        private int maxEventTypes = 100;
        private Duration refreshInterval = Duration.ofSeconds(15);

        private Builder(MeterRegistry registry, OutboxTable table) {
            if (registry == null || table == null) {
                throw new InvalidConfigurationException("registry and table must not be null");
            }
            this.registry = registry;
            this.table = table;
        }

        /**
         * @param max distinct event types tagged by name, 1 to 10,000; later ones are tagged {@code other}. Default 100
         * @return this builder
         */
        public Builder maxEventTypes(int max) {
            if (max < 1 || max > 10_000) {
                throw new InvalidConfigurationException("maxEventTypes must be from 1 to 10000, was " + max);
            }
            this.maxEventTypes = max;
            return this;
        }

        /**
         * @param interval how often the gauges' snapshot is refreshed, 100 ms to 10 min; default 15 s
         * @return this builder
         */
        public Builder refreshInterval(Duration interval) {
            if (interval == null || interval.compareTo(Duration.ofMillis(100)) < 0
                    || interval.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new InvalidConfigurationException("refreshInterval must be from 100 ms to 10 min, was " + interval);
            }
            this.refreshInterval = interval;
            return this;
        }

        /** @return the metrics, to pass as the relay's listener */
        public OutboxMetrics build() {
            return new OutboxMetrics(this);
        }
    }
}
