package dev.outbox.jdbc;

import dev.outbox.InvalidConfigurationException;
import dev.outbox.OutboxException;
import dev.outbox.RelayLoop;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether an outbox and its relay are healthy, from cheap signals, for any framework's health endpoint:
 * {@link Status#UP}, {@link Status#DEGRADED} (events still flow, or will once someone acts, but something needs
 * attention) or {@link Status#DOWN} (nothing is being published), with a reason for each finding.
 *
 * <pre>{@code
 * OutboxHealth health = OutboxHealth.builder(relay, new OutboxOperations(dataSource, table))
 *         .maxOldestPendingAge(Duration.ofMinutes(2)).maxDead(0).build();
 * OutboxHealth.Report report = health.check(); // report.status(), report.reasons()
 * }</pre>
 *
 * <p>Signals: the relay's started loops (none running, or none with a successful batch within
 * {@link Builder#maxSinceLastSuccess}: DOWN), or for a relay without started loops, driven by {@code runOnce} or
 * {@code drain} from a scheduler or a function, its passes ({@link JdbcRelay#runs()}: none succeeded within
 * {@link Builder#maxSinceLastSuccess}: DOWN; the last one failed: DEGRADED), each destination's circuit (open, naming the destination: DEGRADED) and
 * throttling (a quarter of its events per call or less: DEGRADED), its listener (a relay that should
 * wake on commit but polls: DEGRADED), and {@link OutboxOperations#stats()} (oldest pending event older than
 * {@link Builder#maxOldestPendingAge}, or more dead events than {@link Builder#maxDead}: DEGRADED; stats unreadable:
 * DOWN), and {@link OutboxOperations#horizon()} (the database's horizon held longer than {@link Builder#maxHorizonAge},
 * naming the holder: DEGRADED; the outbox still flows, but its table grows until the holder lets go). Stats are read at most once per {@link Builder#statsInterval}: a check between two reads answers from the
 * last one, so an endpoint scraped every second costs one query per interval. Thread-safe.
 */
public final class OutboxHealth {

    /** How healthy. */
    public enum Status {
        /** Nothing to report. */
        UP,
        /** Events flow or will once someone acts, but something needs attention: see the reasons. */
        DEGRADED,
        /** Nothing is being published: see the reasons. */
        DOWN
    }

    /**
     * One check's answer.
     *
     * @param status the worst finding
     * @param reasons one line per finding, empty when {@link Status#UP}
     * @param stats the snapshot the check used, or null when it could not be read
     */
    public record Report(Status status, List<String> reasons, OutboxStats stats) {
        /**
         * @param status the worst finding
         * @param reasons one line per finding
         * @param stats the snapshot used, or null
         */
        public Report {
            reasons = List.copyOf(reasons);
        }
    }

    private final JdbcRelay relay;
    private final OutboxOperations operations;
    private final Duration maxOldestPendingAge;
    private final long maxDead;
    private final Duration maxSinceLastSuccess;
    private final Duration maxHorizonAge;
    private final long statsIntervalNanos;
    private OutboxStats lastStats;
    private java.util.Optional<HorizonHolder> lastHorizon = java.util.Optional.empty();
    private long lastStatsAt;
    private String lastStatsFailure;

    private OutboxHealth(Builder b) {
        this.relay = b.relay;
        this.operations = b.operations;
        this.maxOldestPendingAge = b.maxOldestPendingAge;
        this.maxDead = b.maxDead;
        this.maxSinceLastSuccess = b.maxSinceLastSuccess;
        this.maxHorizonAge = b.maxHorizonAge;
        this.statsIntervalNanos = b.statsInterval.toNanos();
    }

    /**
     * @param relay the relay whose loops, circuit and listener are watched
     * @param operations the same table's operations, for its stats
     * @return a builder with the defaults
     */
    public static Builder builder(JdbcRelay relay, OutboxOperations operations) {
        return new Builder(relay, operations);
    }

    /** @return the current health; never throws for an unhealthy outbox, it says so */
    public Report check() {
        List<String> down = new ArrayList<>();
        List<String> degraded = new ArrayList<>();
        List<RelayLoop> loops = relay.loops();
        long running = loops.stream().filter(RelayLoop::isRunning).count();
        if (!loops.isEmpty() && running == 0) {
            down.add("no relay loop is running (" + loops.size() + " started, all stopped or still queued)");
        }
        if (running > 0 && loops.stream().filter(RelayLoop::isRunning)
                .allMatch(l -> l.sinceLastSuccess().compareTo(maxSinceLastSuccess) > 0)) {
            RelayLoop loop = loops.stream().filter(RelayLoop::isRunning).findFirst().orElseThrow();
            down.add("no relay loop has completed a batch for " + loop.sinceLastSuccess().toSeconds() + " s ("
                    + loop.consecutiveFailures() + " failures in a row, last: " + loop.lastFailure() + ")");
        }
        if (loops.isEmpty()) {
            judgePasses(relay.runs(), down, degraded);
        }
        for (DestinationStatus d : relay.destinations()) {
            String name = "destination " + d.destination().system() + " " + d.destination().name();
            if (d.state() != JdbcRelay.BrokerState.CLOSED) {
                degraded.add(name + " unavailable, its events wait (the others' go on): " + d.unavailableReason());
            } else if (d.throttled()) {
                degraded.add(name + " throttled: the relay sends " + d.eventsPerCall() + " of its events per call,"
                        + " of " + d.maxEventsPerCall());
            }
        }
        if (running > 0 && relay.wakesOnCommit() && !relay.isListening()) {
            degraded.add("not listening for commits: relays find new events only by polling");
        }
        OutboxStats stats = stats();
        if (stats == null) {
            down.add("outbox stats unreadable: " + lastStatsFailure);
        } else {
            if (stats.oldestPendingAge().compareTo(maxOldestPendingAge) > 0) {
                degraded.add("oldest pending event is " + stats.oldestPendingAge().toSeconds() + " s old (limit "
                        + maxOldestPendingAge.toSeconds() + " s), " + stats.pending() + " pending");
            }
            if (stats.dead() > maxDead) {
                degraded.add(stats.dead() + " dead events (limit " + maxDead + "): they hold back their aggregates"
                        + " until requeued or discarded");
            }
        }
        horizon().filter(h -> h.age().compareTo(maxHorizonAge) > 0).ifPresent(h -> degraded.add(
                "the database's horizon has been held for " + h.age().toSeconds() + " s (limit "
                        + maxHorizonAge.toSeconds() + " s) by " + h.kind() + " " + h.who() + ": vacuum cannot remove"
                        + " the outbox's old row versions, so its table grows until that ends"));
        List<String> reasons = new ArrayList<>(down);
        reasons.addAll(degraded);
        Status status = !down.isEmpty() ? Status.DOWN : !degraded.isEmpty() ? Status.DEGRADED : Status.UP;
        return new Report(status, reasons, stats);
    }

    /**
     * A relay without started loops, driven by {@code runOnce} or {@code drain} from a scheduler or a function: down
     * when no pass has succeeded within {@link Builder#maxSinceLastSuccess} (none having run counts from the relay's
     * creation), degraded when the last pass failed.
     */
    private void judgePasses(RelayRuns passes, List<String> down, List<String> degraded) {
        if (passes.sinceLastSuccess().compareTo(maxSinceLastSuccess) > 0) {
            down.add(passes.runs() == 0
                    ? "no runOnce or drain has run in the " + passes.sinceLastSuccess().toSeconds() + " s since the"
                            + " relay was built, and no loop is started"
                    : "no runOnce or drain has succeeded for " + passes.sinceLastSuccess().toSeconds() + " s ("
                            + passes.consecutiveFailures() + " failures in a row, last: " + passes.lastFailure() + ")");
        } else if (passes.consecutiveFailures() > 0) {
            degraded.add("the last " + passes.consecutiveFailures() + " runOnce or drain passes failed, last: "
                    + passes.lastFailure());
        }
    }

    private synchronized OutboxStats stats() {
        long now = System.nanoTime();
        if (lastStatsAt != 0 && now - lastStatsAt < statsIntervalNanos) {
            return lastStats;
        }
        lastStatsAt = now;
        try {
            lastStats = operations.stats();
            lastStatsFailure = null;
        } catch (OutboxException e) {
            lastStats = null;
            lastStatsFailure = e.getMessage();
        }
        try {
            lastHorizon = operations.horizon();
        } catch (OutboxException e) {
            lastHorizon = java.util.Optional.empty(); // a finding of its own only when it can be read
        }
        return lastStats;
    }

    /** @return the horizon's holder as of the last stats read */
    private synchronized java.util.Optional<HorizonHolder> horizon() {
        return lastHorizon;
    }

    /** Thresholds; every one has a default. */
    public static final class Builder {
        private final JdbcRelay relay;
        private final OutboxOperations operations;
        private Duration maxOldestPendingAge = Duration.ofMinutes(5);
        private long maxDead = 0;
        private Duration maxSinceLastSuccess = Duration.ofMinutes(2);
        private Duration statsInterval = Duration.ofSeconds(10);
        private Duration maxHorizonAge = Duration.ofMinutes(10);

        private Builder(JdbcRelay relay, OutboxOperations operations) {
            if (relay == null || operations == null) {
                throw new InvalidConfigurationException("relay and operations must not be null");
            }
            this.relay = relay;
            this.operations = operations;
        }

        /**
         * @param age oldest pending event allowed before DEGRADED, from 1 s to 7 days; default 5 min
         * @return this builder
         */
        public Builder maxOldestPendingAge(Duration age) {
            this.maxOldestPendingAge = within("maxOldestPendingAge", age, Duration.ofSeconds(1), Duration.ofDays(7));
            return this;
        }

        /**
         * @param dead dead events allowed before DEGRADED, 0 or more; default 0 (any dead event degrades)
         * @return this builder
         */
        public Builder maxDead(long dead) {
            if (dead < 0) {
                throw new InvalidConfigurationException("maxDead must be 0 or more, was " + dead);
            }
            this.maxDead = dead;
            return this;
        }

        /**
         * @param since how long every running loop may go without a successful batch before DOWN, from 1 s to 1 day;
         *        default 2 min. An idle loop succeeds at every poll, so keep this above the poll interval
         * @return this builder
         */
        public Builder maxSinceLastSuccess(Duration since) {
            this.maxSinceLastSuccess = within("maxSinceLastSuccess", since, Duration.ofSeconds(1), Duration.ofDays(1));
            return this;
        }

        /**
         * @param age how long the database's horizon may be held (by a transaction, snapshot, replication slot or
         *        prepared transaction anywhere on the server) before DEGRADED, from 1 s to 7 days; default 10 min
         * @return this builder
         */
        public Builder maxHorizonAge(Duration age) {
            this.maxHorizonAge = within("maxHorizonAge", age, Duration.ofSeconds(1), Duration.ofDays(7));
            return this;
        }

        /**
         * @param interval how long a stats snapshot (and the horizon's holder) is reused, from 0 (every check reads) to 10 min; default 10 s
         * @return this builder
         */
        public Builder statsInterval(Duration interval) {
            this.statsInterval = within("statsInterval", interval, Duration.ZERO, Duration.ofMinutes(10));
            return this;
        }

        /** @return the health check */
        public OutboxHealth build() {
            return new OutboxHealth(this);
        }

        private static Duration within(String name, Duration value, Duration min, Duration max) {
            JdbcRelay.Builder.checkRange(name, value, min, max);
            return value;
        }
    }
}
