package dev.outbox.benchmarks;

import dev.outbox.jdbc.JdbcRelay;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.LongSupplier;

/** Runs a relay's loops through one drain, as the benchmarks against a broker do. */
final class RelayLoops {

    private static final Duration PATIENCE = Duration.ofMinutes(10);

    private RelayLoops() {
    }

    /**
     * Starts {@code loops} loops of {@code relay}, waits until {@code done} reaches {@code target} (at most 10
     * minutes), then closes the relay and stops the loops' threads.
     *
     * @throws IllegalStateException when {@code done} fell short of {@code target}
     */
    static void runUntil(JdbcRelay relay, int loops, LongSupplier done, long target) throws InterruptedException {
        ExecutorService threads = Executors.newFixedThreadPool(loops);
        try (relay) {
            for (int i = 0; i < loops; i++) {
                relay.start(threads);
            }
            long deadline = System.nanoTime() + PATIENCE.toNanos();
            while (done.getAsLong() < target && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
        } finally {
            threads.shutdownNow();
        }
        if (done.getAsLong() < target) {
            throw new IllegalStateException("only " + done.getAsLong() + " of " + target + " published");
        }
    }
}
