package dev.outbox.jdbc;

import dev.outbox.InvalidConfigurationException;
import dev.outbox.OutboxException;
import dev.outbox.Relay;
import dev.outbox.RelayListener;
import dev.outbox.RelayLoop;
import dev.outbox.RelayResult;
import dev.outbox.RetryPolicy;
import dev.outbox.spi.CallLimits;
import dev.outbox.spi.Publisher;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Relay} on PostgreSQL, MySQL and MariaDB.
 *
 * <p>One {@link #runOnce()} claims a batch ({@code FOR UPDATE SKIP LOCKED}, writing a lease: owner, token, expiry),
 * hands it to the publisher with no connection held, and records each outcome, guarded by the lease token. A relay
 * that dies leaves its claims to expire after {@link Builder#leaseDuration}; another relay then claims and publishes
 * them again.
 *
 * <p>The relay, not the publisher, keeps each aggregate's order: one publisher call holds at most
 * {@link dev.outbox.spi.CallLimits#eventsPerAggregate()} events of an aggregate (usually one), an aggregate's next
 * events go only after the previous ones were published, and after a failure its later events are held back. Nothing
 * is handed to the publisher past the batch's lease: the lease's end is counted from before the claim was sent, it is
 * renewed once half of it is gone, and a call starts only if the publisher's whole call bound fits before it ends. A
 * renewal that finds an event taken by another relay drops that event's aggregate from the batch.
 *
 * <p>Each destination ({@link Publisher#destination}) has its own circuit and send window: one that takes nothing is
 * paused while the others' events flow, and one whose broker throttles is sent fewer events at a time
 * ({@link #destinations()}).
 *
 * <p>A busy aggregate's share of a batch goes out one call after another. When a started loop's batch is down to
 * such a chain alone (it has run 50 ms and needs two calls more at least), a spare pass claims and publishes the next
 * batches on a thread of the relay's own until a claim finds nothing or the chain ends, so one busy aggregate does not
 * hold a loop from every other aggregate's events. A relay thus runs at most one spare pass per loop; passes called
 * by the host ({@link #runOnce()}, {@code drain}) start none.
 *
 * <pre>{@code
 * JdbcRelay relay = JdbcRelay.builder(dataSource, publisher).build();
 * RelayLoop loop = relay.start(executor);   // or call relay.runOnce() from your scheduler
 * }</pre>
 */
public final class JdbcRelay implements Relay {

    private static final Logger log = LoggerFactory.getLogger(JdbcRelay.class);
    private static final Set<String> OPEN_OWNERS = ConcurrentHashMap.newKeySet();
    private static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(30);

    /** MDC key holding the relay's owner id while a publisher call runs, for the publisher's own log lines. */
    public static final String MDC_RELAY = "outbox.relay";

    /** MDC key holding the ids of the events of the publisher call that runs, comma-separated. */
    public static final String MDC_EVENT_IDS = "outbox.event_ids";

    /** Default of {@link Builder#maxBatchBytes}: 32 MiB of payload per batch. */
    public static final long DEFAULT_MAX_BATCH_BYTES = 32L * 1024 * 1024;

    private final OutboxTable table;
    private final Claims claims;
    private final BatchDelivery delivery;
    private final BatchReport report;
    private final Destinations destinations;
    private final SparePasses spares;
    private final Duration pollInterval;
    private final String ownerId;
    private final RelayListener listener;
    private final String ownerKey;
    private final DataSource dataSource;
    private final boolean wakeOnCommit;
    /** The database, once known: set by the builder, or found by the first claim. */
    private final KnownDatabase database;
    private final List<RelayLoop> loops = new CopyOnWriteArrayList<>();
    private volatile ChannelListener channelListener;
    private volatile boolean closed;
    private final long builtNanos = System.nanoTime();
    private volatile long runs;
    private volatile long lastSuccessNanos;
    private volatile long lastRunNanos;
    private volatile int consecutiveFailures;
    private volatile Throwable lastFailure;

    private JdbcRelay(Builder b) {
        this.table = b.table;
        this.ownerId = b.ownerId;
        this.pollInterval = b.pollInterval;
        this.dataSource = b.dataSource;
        this.wakeOnCommit = b.wakeOnCommit;
        this.listener = RelayListener.all(b.listener); // one that throws is logged, never changes an outcome
        this.database = new KnownDatabase(b.database);
        int perAggregate = BatchDelivery.perBatch(b.callLimits, b.ordering, b.maxCallsPerAggregate);
        RelayStore store = b.database != null
                ? RelayStore.of(b.database, b.dataSource, b.table, b.ordering, b.batchSize, b.maxBatchBytes,
                        perAggregate, b.statementTimeout)
                : RelayStore.detecting(database, b.dataSource, b.table, b.ordering, b.batchSize, b.maxBatchBytes,
                        perAggregate, b.statementTimeout);
        this.claims = new Claims(store, b.table, b.ownerId, b.leaseDuration, b.pollInterval, listener,
                this::isListening, this::wakeUp);
        this.destinations = new Destinations(b.ownerId, b.brokerPause, b.maxBrokerPause,
                Math.min(b.callLimits.maxEvents(), b.batchSize));
        this.spares = new SparePasses(b.ownerId, this::sparePass);
        PublisherCall calls = new PublisherCall(b.publisher, b.ownerId,
                BatchDelivery.callBound(b.callLimits, b.leaseDuration).toNanos(),
                (events, nanos) -> listener.publisherCalled(events, Duration.ofNanos(nanos)));
        this.delivery = new BatchDelivery(b.publisher, calls, b.callLimits, b.ordering,
                new OutcomeRules(b.retryPolicy, b.ownerId, DeliveryPlan.keys(b.ordering)), b.maxCallsPerAggregate,
                b.leaseDuration, store::renew, new OutcomeRecorder(store, b.table, b.ownerId, listener), destinations,
                b.ownerId, spares);
        this.report = new BatchReport(listener, b.ownerId, b.batchSize, b.maxBatchBytes, perAggregate);
        this.ownerKey = table + "|" + ownerId;
        if (!OPEN_OWNERS.add(ownerKey)) {
            throw new InvalidConfigurationException("ownerId '" + ownerId + "' is already used by an open relay on "
                    + table + "; give each relay its own ownerId, or close the other relay first");
        }
    }

    /**
     * @param dataSource where the outbox table lives; a pool is recommended, the relay borrows a connection
     *        per statement
     * @param publisher where events go; the relay does not close it
     * @return a builder with the defaults
     */
    public static Builder builder(DataSource dataSource, Publisher publisher) {
        return new Builder(dataSource, publisher);
    }

    /** Whether the relay hands a destination's events to the broker now; see {@link #brokerState()}. */
    public enum BrokerState {
        /** Calls go through; the relay publishes as usual. */
        CLOSED,
        /** The destination took nothing of a call; its events wait until the pause is over, the others' go on. */
        OPEN,
        /** The pause is over; one batch probes whether the destination takes events again. */
        HALF_OPEN
    }

    /**
     * @return the state of the destination that fares worst: {@link BrokerState#OPEN} while any destination is paused
     *         because it could take nothing (an outage, permissions, configuration), else half-open while one is being
     *         probed, else closed; with a single destination, simply whether the relay publishes now. See
     *         {@link #destinations()} for each destination on its own.
     */
    public BrokerState brokerState() {
        return destinations.worst();
    }

    /** @return why the worst-faring destination is unavailable, naming it, while {@link #brokerState()} is not closed */
    public String brokerUnavailableReason() {
        return destinations.worstReason();
    }

    /**
     * @return each destination this relay has published to, in name order: whether its events go through, and how
     *         many of them the relay hands over per call while its broker throttles
     */
    public List<DestinationStatus> destinations() {
        return destinations.statuses();
    }

    /** @return the id written into each claim's {@code claimed_by} */
    public String ownerId() {
        return ownerId;
    }

    /**
     * {@inheritDoc}
     *
     * <p>While every destination the relay knows is paused (a single destination that is unavailable, say) this claims
     * nothing and returns {@link RelayResult#EMPTY}. While only some are, it claims as usual and their events wait.
     *
     * @throws OutboxException for every failure: the outbox unreachable, a statement timing out, the relay closed, or
     *         anything unexpected; the listener hears each
     */
    @Override
    public RelayResult runOnce() {
        if (closed) {
            throw new OutboxException("relay " + ownerId + " on " + table + " is closed");
        }
        try {
            RelayResult result = pass();
            ran(null);
            return result;
        } catch (RuntimeException | Error e) {
            ran(e);
            throw e;
        }
    }

    /** Notes how a pass ended, for {@link #runs()}. */
    private synchronized void ran(Throwable failure) {
        long now = System.nanoTime();
        runs++;
        lastRunNanos = now;
        if (failure == null) {
            lastSuccessNanos = now;
            consecutiveFailures = 0;
        } else {
            consecutiveFailures++;
        }
        lastFailure = failure;
    }

    /**
     * @return how this relay's passes have fared, whoever called them: its loops, {@link #drain}, or your own
     *         scheduler; {@link OutboxHealth} judges a relay without started loops by it
     */
    public RelayRuns runs() {
        long now = System.nanoTime();
        long success = lastSuccessNanos;
        long run = lastRunNanos;
        return new RelayRuns(runs, Duration.ofNanos(now - (success == 0 ? builtNanos : success)),
                Duration.ofNanos(now - (run == 0 ? builtNanos : run)), consecutiveFailures, lastFailure);
    }

    private RelayResult pass() {
        if (destinations.allPaused()) {
            return RelayResult.EMPTY; // a claim would only give its events back
        }
        long started = System.nanoTime();
        ClaimedBatch batch = claims.next();
        if (batch.size() == 0) {
            return RelayResult.EMPTY;
        }
        BatchDelivery.Result delivered = deliver(batch);
        // A loop that is not waiting for notifications hears of nothing committed meanwhile: it claims again at once
        // until a claim finds nothing, and only then waits.
        RelayResult result = report.report(batch, delivered, claims.callerNotWaiting());
        listener.batchCompleted(result, Duration.ofNanos(System.nanoTime() - started));
        return result;
    }

    private BatchDelivery.Result deliver(ClaimedBatch batch) {
        try {
            return delivery.deliver(batch, Claims.onLoop());
        } catch (OutboxException e) {
            throw e;
        } catch (RuntimeException e) {
            listener.claimFailed(e);
            throw new OutboxException("publishing a batch of " + batch.size() + " events from " + table
                    + " failed unexpectedly; their leases expire and they are published again: " + e, e);
        }
    }

    /** A spare pass's batch ({@link SparePasses}): a pass as any other, and nothing once the relay is closed. */
    private RelayResult sparePass() {
        if (closed) {
            return RelayResult.EMPTY;
        }
        try {
            return runOnce();
        } catch (OutboxException e) {
            if (closed) {
                return RelayResult.EMPTY;
            }
            throw e;
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>The first call also starts the listener thread, unless {@link Builder#wakeOnCommit} is off.
     */
    @Override
    public synchronized RelayLoop start(Executor executor) {
        if (closed) {
            throw new OutboxException("relay " + ownerId + " on " + table + " is closed");
        }
        RelayLoop loop = RelayLoop.start(new LoopPass(), ownerId, pollInterval, executor);
        loops.add(loop);
        Database known = database.orNull();
        if (wakeOnCommit && channelListener == null && (known == null || known == Database.POSTGRESQL)) {
            channelListener = new ChannelListener(dataSource, table.channel(), "outbox-listen-" + ownerId, this::wakeUp);
            channelListener.start();
        }
        return loop;
    }

    /** What a started loop runs: the relay's pass, on a thread marked as a loop's, which may wait for commits. */
    private final class LoopPass implements Relay {
        @Override
        public RelayResult runOnce() {
            Claims.onLoopThread();
            return JdbcRelay.this.runOnce();
        }

        @Override
        public RelayLoop start(Executor executor) {
            throw new UnsupportedOperationException("a loop's pass starts no loop");
        }

        @Override
        public void close() {
        }
    }

    /**
     * Wakes every loop this relay started, to claim at once: for a host that knows it just committed events and
     * runs without notifications. Cheap; callable from any thread.
     */
    public void wakeUp() {
        for (RelayLoop loop : loops) {
            loop.wakeUp();
        }
    }

    /** @return the loops {@link #start} started, running or not, in the order they were started */
    public List<RelayLoop> loops() {
        return List.copyOf(loops);
    }

    /**
     * @return whether started loops wake on commit notifications: {@link Builder#wakeOnCommit} on PostgreSQL; never on
     *         MySQL and MariaDB, which have no notifications (known once the relay has claimed, or from
     *         {@link Builder#database})
     */
    public boolean wakesOnCommit() {
        Database known = database.orNull();
        return wakeOnCommit && (known == null || known == Database.POSTGRESQL);
    }

    /** @return the database the relay runs on: set on the builder, or found by its first claim; null until then */
    public Database database() {
        return database.orNull();
    }

    /** @return true while the listener has a LISTEN in place, so commits wake the loops without polling */
    public boolean isListening() {
        ChannelListener listening = channelListener;
        return listening != null && listening.isListening();
    }

    /**
     * Stops the loops this relay started, all at once, waiting up to 30 s in total for their current batches; then
     * stops the listener thread and refuses further {@link #runOnce()} calls. Equivalent to
     * {@code close(Duration.ofSeconds(30))}.
     *
     * <p>Does not close the publisher, which the caller created: close it after the relay. Shut down in this
     * order: the relay (which stops its loops), then the publisher, then the executor and the data source.
     */
    @Override
    public void close() {
        close(DEFAULT_CLOSE_TIMEOUT);
    }

    /**
     * Stops the loops together and waits for their current batches, and those of the spare passes they started,
     * up to {@code timeout} in total, not per loop. A loop still publishing when the time is up keeps running its
     * batch in the background and exits after it; events it has not recorded by then are published again once their
     * lease expires (at-least-once).
     *
     * @param timeout the longest wait for all loops together
     * @return true when every loop and spare pass exited within {@code timeout}
     * @throws InvalidConfigurationException for a null or negative timeout
     */
    public boolean close(Duration timeout) {
        if (timeout == null || timeout.isNegative()) {
            throw new InvalidConfigurationException("timeout must be zero or more, was " + timeout);
        }
        ChannelListener listening;
        synchronized (this) {
            if (closed) {
                return loops.stream().noneMatch(RelayLoop::isRunning) && spares.awaitEnded(System.nanoTime());
            }
            closed = true;
            listening = channelListener;
        }
        spares.close();
        long deadline = System.nanoTime() + timeout.toNanos();
        for (RelayLoop loop : loops) {
            loop.requestStop();
        }
        boolean allStopped = true;
        for (RelayLoop loop : loops) {
            long left = Math.max(0, deadline - System.nanoTime());
            if (!loop.awaitStopped(Duration.ofNanos(left))) {
                allStopped = false;
            }
        }
        if (!allStopped) {
            log.warn("relay {}: {} of {} loops still finishing their batch after {}; they exit when it ends",
                    ownerId, loops.stream().filter(RelayLoop::isRunning).count(), loops.size(), timeout);
        }
        if (!spares.awaitEnded(deadline)) {
            allStopped = false;
            log.warn("relay {}: a spare pass still finishing its batch after {}; it ends with it", ownerId, timeout);
        }
        if (listening != null) {
            listening.close();
        }
        OPEN_OWNERS.remove(ownerKey);
        return allStopped;
    }

    /** Configures a {@link JdbcRelay}; every setting is checked in {@link #build()}. */
    public static final class Builder {
        private final DataSource dataSource;
        private final Publisher publisher;
        private OutboxTable table = OutboxTable.DEFAULT;
        private Ordering ordering = Ordering.PER_AGGREGATE;
        private int batchSize = 500;
        private Duration leaseDuration = Duration.ofSeconds(30);
        private RetryPolicy retryPolicy = RetryPolicy.DEFAULT;
        private Duration pollInterval = Duration.ofSeconds(1);
        private Duration statementTimeout = Duration.ofSeconds(30);
        private String ownerId = defaultOwnerId();
        private RelayListener listener = RelayListener.NONE;
        private boolean wakeOnCommit = true;
        private Database database;
        private int maxCallsPerAggregate = 10;
        private long maxBatchBytes = DEFAULT_MAX_BATCH_BYTES;
        private Duration brokerPause = Duration.ofSeconds(1);
        private Duration maxBrokerPause = Duration.ofMinutes(1);
        private CallLimits callLimits;

        private Builder(DataSource dataSource, Publisher publisher) {
            this.dataSource = dataSource;
            this.publisher = publisher;
        }

        /**
         * The outbox table; {@link OutboxTable#DEFAULT} if not set.
         *
         * @param table the outbox table
         * @return this builder
         */
        public Builder table(OutboxTable table) {
            this.table = table;
            return this;
        }

        /**
         * {@link Ordering#PER_AGGREGATE} (default) or {@link Ordering#NONE}.
         *
         * @param ordering the ordering
         * @return this builder
         */
        public Builder ordering(Ordering ordering) {
            this.ordering = ordering;
            return this;
        }

        /**
         * Most events claimed and published per {@link #runOnce()}: 1 to 10,000, default 500.
         *
         * @param batchSize events per claim
         * @return this builder
         */
        public Builder batchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /**
         * How long a claim is exclusive: 1 s to 1 h, default 30 s. A crashed relay's events wait this long.
         *
         * @param leaseDuration how long a claim is exclusive
         * @return this builder
         */
        public Builder leaseDuration(Duration leaseDuration) {
            this.leaseDuration = leaseDuration;
            return this;
        }

        /**
         * Backoff and attempts for failed publications; {@link RetryPolicy#DEFAULT} if not set.
         *
         * @param retryPolicy the policy
         * @return this builder
         */
        public Builder retryPolicy(RetryPolicy retryPolicy) {
            this.retryPolicy = retryPolicy;
            return this;
        }

        /**
         * Longest idle wait of a started loop: 1 ms to 1 h, default 1 s.
         *
         * @param pollInterval the longest idle wait
         * @return this builder
         */
        public Builder pollInterval(Duration pollInterval) {
            this.pollInterval = pollInterval;
            return this;
        }

        /**
         * Limit on each claim or record statement: 1 s to 10 min, default 30 s.
         *
         * @param statementTimeout the limit
         * @return this builder
         */
        public Builder statementTimeout(Duration statementTimeout) {
            this.statementTimeout = statementTimeout;
            return this;
        }

        /**
         * The name written into claims: 1 to 200 characters, default host, process id and a random suffix.
         *
         * @param ownerId the name, unique per open relay on a table
         * @return this builder
         */
        public Builder ownerId(String ownerId) {
            this.ownerId = ownerId;
            return this;
        }

        /**
         * Whether started loops wake on the notifications {@link JdbcOutbox} sends at commit (default true). Costs
         * one thread and one connection, held while the relay is open. Turn it off behind a pooler in transaction
         * mode, which cannot LISTEN; the loops then poll. PostgreSQL only: on MySQL and MariaDB loops poll, or are
         * woken by {@link JdbcRelay#wakeUp()} after the host's commit.
         *
         * @param wakeOnCommit whether to listen for commits
         * @return this builder
         */
        public Builder wakeOnCommit(boolean wakeOnCommit) {
            this.wakeOnCommit = wakeOnCommit;
            return this;
        }

        /**
         * The database the outbox table is on; found from the first connection the relay borrows if not set.
         *
         * @param database PostgreSQL, MySQL or MariaDB
         * @return this builder
         */
        public Builder database(Database database) {
            this.database = database;
            return this;
        }

        /**
         * Hears outcomes, for metrics; {@link RelayListener#NONE} if not set.
         *
         * @param listener the listener
         * @return this builder
         */
        public Builder listener(RelayListener listener) {
            this.listener = listener;
            return this;
        }

        /**
         * Most payload bytes one batch holds: 1 MiB to 1 GiB, default 32 MiB. A claim takes events in order until
         * their payloads reach this, but always at least one, so memory stays bounded however large events are (500
         * events of 1 MiB are claimed 32 at a time by default).
         *
         * @param maxBatchBytes the budget in bytes
         * @return this builder
         */
        public Builder maxBatchBytes(long maxBatchBytes) {
            this.maxBatchBytes = maxBatchBytes;
            return this;
        }

        /**
         * Most publisher calls one aggregate's events take in one batch: 1 to 1,000, default 10. With a publisher that
         * takes one event of an aggregate per call (the default), a batch publishes at most this many events of one
         * aggregate, one call after another; with SQS FIFO (10 per call), ten times as many. The rest wait for the
         * next claim, so one hot aggregate cannot make a batch long.
         *
         * @param maxCallsPerAggregate the cap
         * @return this builder
         */
        public Builder maxCallsPerAggregate(int maxCallsPerAggregate) {
            this.maxCallsPerAggregate = maxCallsPerAggregate;
            return this;
        }

        /**
         * How long a destination's events wait when it takes none of a call's events (an outage, a timeout, access
         * denied, an unknown queue): {@code initial} after the first such answer, doubling after each one that
         * follows, up to {@code max}; every other destination's events go on meanwhile. Defaults 1 s and 1 min. No
         * event spends an attempt while its destination is unavailable, however long that lasts.
         *
         * @param initial the first pause, 10 ms to 1 h
         * @param max the longest pause, from {@code initial} to 1 h
         * @return this builder
         */
        public Builder brokerPause(Duration initial, Duration max) {
            this.brokerPause = initial;
            this.maxBrokerPause = max;
            return this;
        }

        /**
         * @return a relay, which the caller closes
         * @throws InvalidConfigurationException naming the first setting that is missing or out of range, or an
         *         ownerId already used by an open relay on the same table in this JVM
         */
        public JdbcRelay build() {
            require(dataSource, "dataSource");
            require(publisher, "publisher");
            require(table, "table");
            require(ordering, "ordering");
            require(retryPolicy, "retryPolicy");
            require(listener, "listener");
            if (batchSize < 1 || batchSize > 10_000) {
                throw new InvalidConfigurationException("batchSize must be from 1 to 10000, was " + batchSize);
            }
            checkRange("leaseDuration", leaseDuration, Duration.ofSeconds(1), Duration.ofHours(1));
            checkRange("pollInterval", pollInterval, Duration.ofMillis(1), Duration.ofHours(1));
            checkRange("statementTimeout", statementTimeout, Duration.ofSeconds(1), Duration.ofMinutes(10));
            checkRange("brokerPause initial", brokerPause, Duration.ofMillis(10), Duration.ofHours(1));
            checkRange("brokerPause max", maxBrokerPause, brokerPause, Duration.ofHours(1));
            if (maxBatchBytes < 1024L * 1024 || maxBatchBytes > 1024L * 1024 * 1024) {
                throw new InvalidConfigurationException("maxBatchBytes must be from 1048576 (1 MiB) to 1073741824"
                        + " (1 GiB), was " + maxBatchBytes);
            }
            if (maxCallsPerAggregate < 1 || maxCallsPerAggregate > 1000) {
                throw new InvalidConfigurationException("maxCallsPerAggregate must be from 1 to 1000, was "
                        + maxCallsPerAggregate);
            }
            callLimits = publisher.callLimits();
            if (callLimits == null) {
                throw new InvalidConfigurationException("publisher " + publisher.getClass().getName()
                        + " returned null from callLimits()");
            }
            Duration bound = BatchDelivery.callBound(callLimits, leaseDuration);
            if (leaseDuration.compareTo(bound.multipliedBy(2)) < 0) {
                throw new InvalidConfigurationException("leaseDuration must be at least twice the publisher's call"
                        + " timeout (" + bound + "), so that a call started within the lease ends within it; was "
                        + leaseDuration);
            }
            if (ownerId == null || ownerId.isBlank() || ownerId.length() > 200) {
                throw new InvalidConfigurationException("ownerId must be 1 to 200 characters, was "
                        + (ownerId == null ? "null" : ownerId.length() + " characters"));
            }
            return new JdbcRelay(this);
        }

        private static void require(Object value, String name) {
            if (value == null) {
                throw new InvalidConfigurationException(name + " must not be null");
            }
        }

        static void checkRange(String name, Duration value, Duration min, Duration max) {
            if (value == null || value.compareTo(min) < 0 || value.compareTo(max) > 0) {
                throw new InvalidConfigurationException(name + " must be from " + min + " to " + max + ", was " + value);
            }
        }

        private static String defaultOwnerId() {
            String runtime = ManagementFactory.getRuntimeMXBean().getName(); // pid@host
            return runtime + ":" + UUID.randomUUID().toString().substring(0, 8);
        }
    }
}
