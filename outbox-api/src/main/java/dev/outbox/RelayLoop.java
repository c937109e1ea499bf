package dev.outbox;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A relay running as a loop on one thread of the host's executor.
 *
 * <p>The loop calls {@link Relay#runOnce()} back to back while batches come back full, waits for a
 * {@link #wakeUp()} or the poll interval when the outbox is empty, and backs off (up to 30 s) after a batch fails.
 * It never spins: an idle loop sleeps. Nothing a batch throws ends it, not even an {@link Error}: it logs the failure,
 * keeps it for {@link #lastFailure()}, backs off and goes on. Only {@link #stop} (or an interrupt) ends it.
 *
 * <p><b>Each loop occupies one executor thread for its whole life</b>, from the moment the executor runs it until
 * it is stopped. An executor with fewer free threads than started loops keeps the extra loops
 * {@linkplain State#QUEUED queued}, never running; size the executor for the loops you start, plus whatever else
 * you give it.
 */
public final class RelayLoop implements AutoCloseable {

    /** Where a loop is in its life. */
    public enum State {
        /** Submitted to the executor, which has not run it yet (all its threads may be busy). */
        QUEUED,
        /** Running on an executor thread. */
        RUNNING,
        /** Exited after a stop, or stopped before it ever ran. */
        STOPPED
    }

    private static final Logger log = LoggerFactory.getLogger(RelayLoop.class);
    private static final Duration MAX_ERROR_BACKOFF = Duration.ofSeconds(30);
    private static final Duration DEFAULT_STOP_TIMEOUT = Duration.ofSeconds(30);

    private final Relay relay;
    private final String name;
    private final long pollNanos;
    private final AtomicReference<State> state = new AtomicReference<>(State.QUEUED);
    private final CountDownLatch finished = new CountDownLatch(1);
    private final Object signal = new Object();
    private boolean wakeRequested;
    private volatile boolean stopRequested;
    private volatile Throwable lastFailure;
    private volatile int consecutiveFailures;
    private volatile long lastSuccessNanos = System.nanoTime();

    private RelayLoop(Relay relay, String name, Duration pollInterval) {
        this.relay = relay;
        this.name = name;
        this.pollNanos = pollInterval.toNanos();
    }

    /**
     * Submits a loop over {@code relay} to {@code executor}.
     *
     * @param relay the relay whose {@link Relay#runOnce()} the loop calls
     * @param name used in log lines
     * @param pollInterval longest wait between two checks when nothing wakes the loop, at least 1 ms
     * @param executor runs the loop on one of its threads for the loop's whole life
     * @return the loop, to wake or stop
     * @throws InvalidConfigurationException for a null argument or a poll interval under 1 ms
     * @throws java.util.concurrent.RejectedExecutionException when the executor refuses the task
     */
    public static RelayLoop start(Relay relay, String name, Duration pollInterval, Executor executor) {
        if (relay == null || name == null || executor == null) {
            throw new InvalidConfigurationException("relay, name and executor must not be null");
        }
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

    /** @return where the loop is: queued behind a busy executor, running, or stopped */
    public State state() {
        return state.get();
    }

    /**
     * @return what the last batch threw, or null when the last batch succeeded; the loop goes on after any failure,
     *         backing off, so this is the place a health check learns of one
     */
    public Throwable lastFailure() {
        return lastFailure;
    }

    /** @return how many batches in a row have failed; 0 after a batch that succeeded */
    public int consecutiveFailures() {
        return consecutiveFailures;
    }

    /** @return how long ago a batch last succeeded (or the loop was created, before any) */
    public Duration sinceLastSuccess() {
        return Duration.ofNanos(System.nanoTime() - lastSuccessNanos);
    }

    /** @return true while the loop runs on an executor thread: not while it is still queued, nor after it exited */
    public boolean isRunning() {
        return state.get() == State.RUNNING;
    }

    /**
     * Asks the loop to stop after its current batch, without waiting. A loop still queued is stopped at once and
     * will exit immediately if the executor runs it later.
     */
    public void requestStop() {
        stopRequested = true;
        if (state.compareAndSet(State.QUEUED, State.STOPPED)) {
            finished.countDown();
        }
        wakeUp();
    }

    /**
     * Waits for the loop to exit after {@link #requestStop()}.
     *
     * @param timeout how long to wait at most
     * @return true when the loop has exited (or never ran)
     */
    public boolean awaitStopped(Duration timeout) {
        try {
            return finished.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * Asks the loop to stop after its current batch and waits for it.
     *
     * @param timeout how long to wait for the current batch to finish
     * @return true when the loop exited within {@code timeout}
     */
    public boolean stop(Duration timeout) {
        requestStop();
        return awaitStopped(timeout);
    }

    /** Stops the loop, waiting up to 30 s for its current batch. */
    @Override
    public void close() {
        if (!stop(DEFAULT_STOP_TIMEOUT)) {
            log.warn("relay loop {} did not stop within {}", name, DEFAULT_STOP_TIMEOUT);
        }
    }

    private void run() {
        if (!state.compareAndSet(State.QUEUED, State.RUNNING)) {
            return; // stopped while it waited for a thread
        }
        log.debug("relay loop {} started on {}", name, Thread.currentThread().getName());
        int failures = 0;
        try {
            while (!stopRequested && !Thread.currentThread().isInterrupted()) {
                long waitNanos;
                try {
                    RelayResult result = relay.runOnce();
                    failures = 0;
                    consecutiveFailures = 0;
                    lastFailure = null;
                    lastSuccessNanos = System.nanoTime();
                    if (result.moreWaiting()) {
                        continue;
                    }
                    waitNanos = pollNanos;
                } catch (Throwable e) { // the loop outlives every failure of a batch; only a stop ends it
                    if (stopRequested) {
                        break;
                    }
                    failures++;
                    consecutiveFailures = failures;
                    lastFailure = e;
                    waitNanos = Math.min(MAX_ERROR_BACKOFF.toNanos(), pollNanos << Math.min(failures, 20));
                    if (e instanceof OutboxException) {
                        log.warn("relay loop {}: batch failed ({} in a row), next try in {} ms: {}", name, failures,
                                TimeUnit.NANOSECONDS.toMillis(waitNanos), e.toString());
                    } else {
                        log.error("relay loop {}: batch failed unexpectedly ({} in a row), next try in {} ms", name,
                                failures, TimeUnit.NANOSECONDS.toMillis(waitNanos), e);
                    }
                }
                await(waitNanos);
            }
        } finally {
            state.set(State.STOPPED);
            finished.countDown();
            log.info("relay loop {} stopped", name);
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
