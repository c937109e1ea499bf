package dev.outbox.spi;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
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
 * Splits a relay's batch into broker calls that respect the broker's limits and the publisher contract, so
 * each publisher only has to build entries and send one call.
 *
 * <p>Calls go out in waves: wave {@code k} holds the {@code k}-th event of every aggregate in the batch, so
 * one call never carries two events of the same aggregate and an aggregate's events are sent strictly one
 * after the other. Within a wave, events are packed in batch order into calls of at most
 * {@code maxEntries} entries and {@code maxBytes} bytes, and the calls of a wave may run concurrently.
 * Once an event fails (retry or rejected), its aggregate's later events are not sent and come back as retry.
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
         * @return one outcome per entry, in order; an exception makes every entry of the call a retry
         */
        List<PublishOutcome> send(List<T> entries);
    }

    /** Most calls of one batch a publisher may send at once. */
    public static final int MAX_CONCURRENT_CALLS = 64;

    private final int maxEntries;
    private final long maxBytes;
    private final Executor executor;

    /**
     * @param maxEntries most entries per call
     * @param maxBytes most bytes per call, as the broker counts them
     * @param executor runs the calls of a wave concurrently; null runs them one after another on the caller's thread
     */
    public BrokerCalls(int maxEntries, long maxBytes, Executor executor) {
        if (maxEntries < 1 || maxBytes < 1) {
            throw new IllegalArgumentException("maxEntries and maxBytes must be positive");
        }
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
        this.executor = executor;
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
        int n = events.size();
        PublishOutcome[] outcomes = new PublishOutcome[n];
        List<Prepared<T>> prepared = new ArrayList<>(n);
        String[] aggregates = new String[n];
        int[] wave = new int[n];
        Map<String, Integer> seen = new HashMap<>();
        int waves = 0;
        for (int i = 0; i < n; i++) {
            prepared.add(prepare.apply(events.get(i)));
            aggregates[i] = aggregate(events.get(i));
            wave[i] = seen.merge(aggregates[i], 1, Integer::sum) - 1;
            waves = Math.max(waves, wave[i] + 1);
        }
        Set<String> failed = new HashSet<>();
        for (int w = 0; w < waves; w++) {
            List<List<Integer>> calls = new ArrayList<>();
            List<Integer> current = new ArrayList<>();
            long currentBytes = 0;
            for (int i = 0; i < n; i++) {
                if (wave[i] != w) {
                    continue;
                }
                String aggregate = aggregates[i];
                if (failed.contains(aggregate)) {
                    outcomes[i] = PublishOutcome.retry("held back: an earlier event of its aggregate failed");
                    continue;
                }
                Prepared<T> p = prepared.get(i);
                if (p.refusal() != null) {
                    outcomes[i] = p.refusal();
                    failed.add(aggregate);
                    continue;
                }
                if (!current.isEmpty() && (current.size() == maxEntries || currentBytes + p.bytes() > maxBytes)) {
                    calls.add(current);
                    current = new ArrayList<>();
                    currentBytes = 0;
                }
                current.add(i);
                currentBytes += p.bytes();
            }
            if (!current.isEmpty()) {
                calls.add(current);
            }
            runWave(calls, events, prepared, call, outcomes);
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
                         PublishOutcome[] outcomes) {
        if (executor == null || calls.size() == 1) {
            for (List<Integer> c : calls) {
                send(c, events, prepared, call, outcomes);
            }
            return;
        }
        List<CompletableFuture<Void>> running = new ArrayList<>(calls.size());
        for (List<Integer> c : calls) {
            running.add(CompletableFuture.runAsync(() -> send(c, events, prepared, call, outcomes), executor));
        }
        // send() never throws, and each call writes only its own indexes of outcomes; join() publishes them.
        CompletableFuture.allOf(running.toArray(CompletableFuture[]::new)).join();
    }

    private void send(List<Integer> indexes, List<Event> events, List<Prepared<T>> prepared, Call<T> call,
                      PublishOutcome[] outcomes) {
        List<T> entries = new ArrayList<>(indexes.size());
        for (int i : indexes) {
            entries.add(prepared.get(i).entry());
        }
        List<PublishOutcome> result;
        try {
            result = call.send(entries);
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
