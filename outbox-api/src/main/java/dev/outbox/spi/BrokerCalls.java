package dev.outbox.spi;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Splits what a publisher is handed into broker calls that respect the broker's limits, so each publisher only has
 * to build entries and send one call.
 *
 * <p>Calls go out in waves, one wave after another; the calls of one wave may run concurrently. Where the broker
 * does not keep order within a call, wave {@code k} holds the {@code k}-th event of every aggregate, so one call
 * never carries two events of the same aggregate. Where it does ({@code keepsOrderWithinCall}, SQS FIFO), an
 * aggregate's consecutive events travel together in one call, as many as fit, and only what does not fit goes in
 * a later wave. Calls are packed in the order given, up to {@code maxEntries} entries and {@code maxBytes} bytes.
 * Once an event fails (retry or rejected), its aggregate's events of later waves are not sent and come back
 * {@linkplain PublishOutcome#notSent not sent}.
 *
 * <p>One {@link #publish} keeps to the publisher's call timeout as a whole, however many broker calls it makes: each
 * call is handed the {@link Deadline} of the whole, to bound its SDK call by the time left, and a call that would
 * start with less than a tenth of the timeout left is not made; its events come back not sent.
 *
 * @param <T> the broker's entry type
 */
public final class BrokerCalls<T> {

    private static final Logger log = LoggerFactory.getLogger(BrokerCalls.class);

    /**
     * An event made ready for the broker, or refused before sending.
     *
     * @param entry the broker's entry; null when refused
     * @param bytes the entry's size as the broker counts it
     * @param refusal why the event cannot be sent at all; null when it can
     */
    public record Prepared<T>(T entry, long bytes, PublishOutcome refusal) {

        /**
         * @param <T> the broker's entry type
         * @param entry the broker's entry
         * @param bytes its size as the broker counts it
         * @return an entry to send
         */
        public static <T> Prepared<T> entry(T entry, long bytes) {
            return new Prepared<>(entry, bytes, null);
        }

        /**
         * @param <T> the broker's entry type
         * @param refusal why the event cannot be sent
         * @return a refusal, reported without a call
         */
        public static <T> Prepared<T> refused(PublishOutcome refusal) {
            return new Prepared<>(null, 0, refusal);
        }
    }

    /** Sends one call. */
    @FunctionalInterface
    public interface Call<T> {
        /**
         * @param entries 1 to {@code maxEntries} entries within {@code maxBytes}
         * @param deadline when the whole {@link #publish} must be over: bound the broker call by its
         *        {@link Deadline#remaining()}
         * @return one outcome per entry, in order; an exception makes every entry of the call a retry
         */
        List<PublishOutcome> send(List<T> entries, Deadline deadline);
    }

    /** Most calls of one batch a publisher may send at once. */
    public static final int MAX_CONCURRENT_CALLS = 64;

    private final int maxEntries;
    private final long maxBytes;
    private final Executor executor;
    private final boolean keepsOrderWithinCall;
    private final Duration callTimeout;
    private final Duration leastToStart;

    /**
     * @param maxEntries most entries per call
     * @param maxBytes most bytes per call, as the broker counts them
     * @param executor runs the calls of a wave concurrently; null runs them one after another on the caller's thread
     * @param keepsOrderWithinCall whether the broker delivers one call's entries of an aggregate in order and none
     *        after an earlier one of them failed, so that an aggregate's consecutive events may share a call
     * @param callTimeout the longest one {@link #publish} may take, all its broker calls together (the call timeout
     *        the publisher declares in its {@link CallLimits}); null when unbounded
     */
    public BrokerCalls(int maxEntries, long maxBytes, Executor executor, boolean keepsOrderWithinCall,
                       Duration callTimeout) {
        if (maxEntries < 1 || maxBytes < 1) {
            throw new IllegalArgumentException("maxEntries and maxBytes must be positive");
        }
        if (callTimeout != null && (callTimeout.isNegative() || callTimeout.isZero())) {
            throw new IllegalArgumentException("callTimeout must be positive or null, was " + callTimeout);
        }
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
        this.executor = executor;
        this.keepsOrderWithinCall = keepsOrderWithinCall;
        this.callTimeout = callTimeout;
        this.leastToStart = callTimeout == null ? Duration.ZERO : callTimeout.dividedBy(10);
    }

    /**
     * Publishes {@code events} through {@code call}.
     *
     * @param prepare builds each event's entry, or refuses it (too large, not representable)
     * @return one outcome per event, in order
     * @param events the batch, as the relay handed it over
     * @param call sends one call
     */
    public List<PublishOutcome> publish(List<Event> events, Function<Event, Prepared<T>> prepare, Call<T> call) {
        Deadline deadline = Deadline.in(callTimeout);
        int n = events.size();
        PublishOutcome[] outcomes = new PublishOutcome[n];
        List<Prepared<T>> prepared = new ArrayList<>(n);
        String[] aggregates = new String[n];
        int[] wave = new int[n];
        // Per aggregate: the wave its last event went to, and that wave's entries and bytes so far.
        Map<String, long[]> open = new HashMap<>();
        int waves = 0;
        for (int i = 0; i < n; i++) {
            Prepared<T> p = prepare.apply(events.get(i));
            prepared.add(p);
            aggregates[i] = aggregate(events.get(i));
            long[] last = open.get(aggregates[i]);
            if (last == null) {
                wave[i] = 0;
                last = new long[] {0, 0, 0};
                open.put(aggregates[i], last);
            } else if (keepsOrderWithinCall && last[1] < maxEntries && last[2] + p.bytes() <= maxBytes) {
                wave[i] = (int) last[0];
            } else {
                wave[i] = (int) last[0] + 1;
                last[1] = 0;
                last[2] = 0;
            }
            last[0] = wave[i];
            last[1]++;
            last[2] += p.bytes();
            waves = Math.max(waves, wave[i] + 1);
        }
        Set<String> failed = new HashSet<>();
        for (int w = 0; w < waves; w++) {
            // Each aggregate's events of this wave, in order, as one group that must not be split between calls.
            Map<String, List<Integer>> groups = new java.util.LinkedHashMap<>();
            for (int i = 0; i < n; i++) {
                if (wave[i] != w) {
                    continue;
                }
                String aggregate = aggregates[i];
                if (failed.contains(aggregate)) {
                    outcomes[i] = PublishOutcome.notSent("held back: an earlier event of its aggregate failed");
                    continue;
                }
                Prepared<T> p = prepared.get(i);
                if (p.refusal() != null) {
                    outcomes[i] = p.refusal();
                    failed.add(aggregate);
                    continue;
                }
                groups.computeIfAbsent(aggregate, a -> new ArrayList<>()).add(i);
            }
            List<List<Integer>> calls = new ArrayList<>();
            List<Integer> current = new ArrayList<>();
            long currentBytes = 0;
            for (List<Integer> group : groups.values()) {
                long groupBytes = 0;
                for (int i : group) {
                    groupBytes += prepared.get(i).bytes();
                }
                if (!current.isEmpty()
                        && (current.size() + group.size() > maxEntries || currentBytes + groupBytes > maxBytes)) {
                    calls.add(current);
                    current = new ArrayList<>();
                    currentBytes = 0;
                }
                current.addAll(group);
                currentBytes += groupBytes;
            }
            if (!current.isEmpty()) {
                calls.add(current);
            }
            runWave(calls, events, prepared, call, outcomes, deadline);
            for (List<Integer> c : calls) {
                for (int i : c) {
                    if (!outcomes[i].isPublished()) {
                        failed.add(aggregates[i]);
                    }
                }
            }
        }
        return List.of(outcomes);
    }

    private void runWave(List<List<Integer>> calls, List<Event> events, List<Prepared<T>> prepared, Call<T> call,
                         PublishOutcome[] outcomes, Deadline deadline) {
        if (executor == null || calls.size() == 1) {
            for (List<Integer> c : calls) {
                send(c, events, prepared, call, outcomes, deadline);
            }
            return;
        }
        List<CompletableFuture<Void>> running = new ArrayList<>(calls.size());
        for (List<Integer> c : calls) {
            running.add(CompletableFuture.runAsync(() -> send(c, events, prepared, call, outcomes, deadline),
                    executor));
        }
        // send() never throws, and each call writes only its own indexes of outcomes; join() publishes them.
        CompletableFuture.allOf(running.toArray(CompletableFuture[]::new)).join();
    }

    private void send(List<Integer> indexes, List<Event> events, List<Prepared<T>> prepared, Call<T> call,
                      PublishOutcome[] outcomes, Deadline deadline) {
        if (!mayStart(deadline)) {
            // Too little of the call timeout is left to start another broker call: give these back unsent, so that
            // the whole publish keeps to the timeout the publisher declared.
            PublishOutcome notSent = outOfTime();
            for (int i : indexes) {
                outcomes[i] = notSent;
            }
            return;
        }
        List<T> entries = new ArrayList<>(indexes.size());
        for (int i : indexes) {
            entries.add(prepared.get(i).entry());
        }
        List<PublishOutcome> result;
        try {
            result = call.send(entries, deadline);
            if (result == null || result.size() != entries.size()) {
                throw new IllegalStateException("call returned " + (result == null ? "null" : result.size())
                        + " outcomes for " + entries.size() + " entries");
            }
        } catch (RuntimeException e) {
            log.warn("broker call of {} entries failed, first event {}; retrying them: {}", entries.size(),
                    events.get(indexes.get(0)).id(), e.toString());
            String reason = "broker call failed: " + e;
            for (int i : indexes) {
                outcomes[i] = PublishOutcome.retry(reason);
            }
            return;
        }
        for (int k = 0; k < indexes.size(); k++) {
            outcomes[indexes.get(k)] = result.get(k);
        }
    }

    /**
     * @param deadline the deadline of the publish call under way
     * @return true when enough of it is left to start another broker call: a tenth of the call timeout
     */
    public boolean mayStart(Deadline deadline) {
        return deadline.allows(leastToStart);
    }

    /** @return the outcome of an event given back because its publish call's time was used up */
    public PublishOutcome outOfTime() {
        return PublishOutcome.notSent("not sent: the publish call's " + (callTimeout == null ? "time"
                : callTimeout.toMillis() + " ms") + " were used up by its earlier broker calls");
    }

    /**
     * @param deadline the deadline of the publish call under way
     * @return true when a broker call started now is given clearly less than the whole call timeout (earlier calls
     *         of the same publish used more than a tenth of it), so that its timing out says nothing about the broker:
     *         its events are then {@linkplain PublishOutcome#notSent not sent}, not unavailable
     */
    public boolean cutShort(Deadline deadline) {
        return callTimeout != null && deadline.remaining().compareTo(callTimeout.minus(leastToStart)) < 0;
    }

    /**
     * Checks a publisher's {@code maxConcurrentCalls} setting.
     *
     * @param publisher names the publisher in the message, such as {@code sqs publisher}
     * @param maxConcurrentCalls the setting's value
     * @throws InvalidConfigurationException when the value is not from 1 to {@value #MAX_CONCURRENT_CALLS}
     */
    public static void checkConcurrentCalls(String publisher, int maxConcurrentCalls) {
        if (maxConcurrentCalls < 1 || maxConcurrentCalls > MAX_CONCURRENT_CALLS) {
            throw new InvalidConfigurationException(publisher + ": maxConcurrentCalls must be from 1 to "
                    + MAX_CONCURRENT_CALLS + ", was " + maxConcurrentCalls);
        }
    }

    /**
     * A fixed pool of named daemon threads for a publisher's concurrent calls; the publisher shuts it down on
     * close.
     *
     * @param name thread name prefix, such as {@code outbox-sqs-call}
     * @param threads how many threads
     * @return the pool
     */
    public static ExecutorService callThreads(String name, int threads) {
        AtomicInteger n = new AtomicInteger();
        return Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    private static String aggregate(Event e) {
        return e.aggregateType() + '\0' + e.aggregateId();
    }
}
