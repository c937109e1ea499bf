package dev.outbox;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A relay running as a loop on one thread of the host's executor.
 *
 * <p>The loop calls {@link Relay#runOnce()} back to back while batches come back full, waits for a
 * {@link #wakeUp()} or the poll interval when the outbox is empty, and backs off (up to 30 s) while the
 * database is unreachable. It never spins: an idle loop sleeps.
 */
public final class RelayLoop implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RelayLoop.class);
    private static final Duration MAX_ERROR_BACKOFF = Duration.ofSeconds(30);
    private static final Duration DEFAULT_STOP_TIMEOUT = Duration.ofSeconds(30);

    private final Relay relay;
    private final String name;
    private final long pollNanos;
    private final CountDownLatch finished = new CountDownLatch(1);
    private final Object signal = new Object();
    private boolean wakeRequested;
    private volatile boolean stopRequested;

    private RelayLoop(Relay relay, String name, Duration pollInterval) {
        this.relay = relay;
        this.name = name;
        this.pollNanos = pollInterval.toNanos();
    }

    /**
     * Submits a loop over {@code relay} to {@code executor}.
     *
     * @param name used in log lines
     * @param pollInterval longest wait between two checks when nothing wakes the loop, at least 1 ms
     * @throws java.util.concurrent.RejectedExecutionException when the executor refuses the task
     */
    public static RelayLoop start(Relay relay, String name, Duration pollInterval, Executor executor) {
        if (pollInterval == null || pollInterval.toMillis() < 1) {
            throw new InvalidConfigurationException("pollInterval must be at least 1 ms, was " + pollInterval);
        }
        RelayLoop loop = new RelayLoop(relay, name, pollInterval);
        executor.execute(loop::run);
        return loop;
    }

    /** Ends the current wait at once, because new events were committed. Cheap; callable from any thread. */
    public void wakeUp() {
        synchronized (signal) {
            wakeRequested = true;
            signal.notifyAll();
        }
    }

    /** @return true until the loop has exited */
    public boolean isRunning() {
        return finished.getCount() > 0;
    }

    /**
     * Asks the loop to stop after its current batch and waits for it.
     *
     * @return true when the loop exited within {@code timeout}
     */
    public boolean stop(Duration timeout) {
        stopRequested = true;
        wakeUp();
        try {
            return finished.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Stops the loop, waiting up to 30 s for its current batch. */
    @Override
    public void close() {
        if (!stop(DEFAULT_STOP_TIMEOUT)) {
            log.warn("relay loop {} did not stop within {}", name, DEFAULT_STOP_TIMEOUT);
        }
    }

    private void run() {
        log.debug("relay loop {} started on {}", name, Thread.currentThread().getName());
        int failures = 0;
        try {
            while (!stopRequested && !Thread.currentThread().isInterrupted()) {
                long waitNanos;
                try {
                    RelayResult result = relay.runOnce();
                    failures = 0;
                    if (result.moreWaiting()) {
                        continue;
                    }
                    waitNanos = pollNanos;
                } catch (RuntimeException e) {
                    if (stopRequested) {
                        break;
                    }
                    failures++;
                    waitNanos = Math.min(MAX_ERROR_BACKOFF.toNanos(), pollNanos << Math.min(failures, 20));
                    log.warn("relay loop {}: batch failed ({} in a row), next try in {} ms: {}", name, failures,
                            TimeUnit.NANOSECONDS.toMillis(waitNanos), e.toString());
                }
                await(waitNanos);
            }
        } finally {
            finished.countDown();
            log.debug("relay loop {} stopped", name);
        }
    }

    private void await(long nanos) {
        long deadline = System.nanoTime() + nanos;
        synchronized (signal) {
            try {
                while (!wakeRequested && !stopRequested) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        break;
                    }
                    TimeUnit.NANOSECONDS.timedWait(signal, left);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            wakeRequested = false;
        }
    }
}
