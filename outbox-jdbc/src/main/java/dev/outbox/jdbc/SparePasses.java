package dev.outbox.jdbc;

import dev.outbox.RelayResult;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Passes a relay runs beside a loop whose batch is down to one aggregate's chain of calls.
 *
 * <p>A busy aggregate's share of a batch goes out one call after another, each waiting for the previous one's answer;
 * while that chain runs alone, its loop only waits. A spare pass then claims and publishes batches on a thread of its
 * own until a claim finds nothing or the chain is told to {@link Cover#end end}, so a busy aggregate holds no loop
 * from the other aggregates' events. A spare pass is an ordinary pass: its own claim and lease, outcomes written by
 * the relay's rules; the chain's aggregate is not claimable meanwhile, its events being leased to the chain's batch.
 * Only a loop's batch starts spare passes, one at a time, so a relay runs at most one per loop.
 */
final class SparePasses {

    /** One loop's spare pass; it ends by itself when a claim finds nothing or a pass fails. */
    @FunctionalInterface
    interface Cover {
        /** Starts no further batch; the batch in progress ends as usual. */
        void end();
    }

    private static final Logger log = LoggerFactory.getLogger(SparePasses.class);
    /** Where spare passes run: daemon threads, made as needed and ended after a minute idle. */
    private static final Executor THREADS = Executors.newCachedThreadPool(task -> {
        Thread thread = new Thread(task, "outbox-spare-pass");
        thread.setDaemon(true);
        return thread;
    });
    /** A spare pass that never ran. */
    private static final Cover NONE = () -> { };

    private final String ownerId;
    private final Supplier<RelayResult> pass;
    private final Executor threads;
    private int running;
    private boolean closed;

    /** @param pass the relay's pass: claims a batch and publishes it */
    SparePasses(String ownerId, Supplier<RelayResult> pass) {
        this(ownerId, pass, THREADS);
    }

    /** @param threads where spare passes run */
    SparePasses(String ownerId, Supplier<RelayResult> pass, Executor threads) {
        this.ownerId = ownerId;
        this.pass = pass;
        this.threads = threads;
    }

    /**
     * @return a spare pass, started; one that is not running once the spare passes are closed, or when no thread could
     *         be had for it (logged): the chain goes on without
     */
    Cover begin() {
        synchronized (this) {
            if (closed) {
                return NONE;
            }
            running++;
        }
        Spare spare = new Spare();
        try {
            threads.execute(spare);
        } catch (RuntimeException | Error e) {
            spare.done();
            log.warn("relay {}: could not start a spare pass, the loop's chain goes on alone: {}", ownerId,
                    e.toString());
            return NONE;
        }
        return spare;
    }

    /** Starts no further spare pass, nor a batch of one that runs. */
    synchronized void close() {
        closed = true;
    }

    /**
     * Waits until no spare pass runs: their batches in progress have ended.
     *
     * @param deadlineNanos when to stop waiting, on {@link System#nanoTime()}'s clock
     * @return whether none runs any more
     */
    synchronized boolean awaitEnded(long deadlineNanos) {
        boolean interrupted = false;
        try {
            while (running > 0) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            return true;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private synchronized boolean mayClaim() {
        return !closed;
    }

    private final class Spare implements Cover, Runnable {
        private volatile boolean ended;

        @Override
        public void run() {
            try {
                while (!ended && mayClaim()) {
                    if (pass.get().claimed() == 0) {
                        break;
                    }
                }
            } catch (RuntimeException | Error e) {
                // The relay's listener heard it, and its runs count it; the loops go on.
                log.warn("relay {}: a spare pass failed and ends: {}", ownerId, e.toString());
            } finally {
                done();
            }
        }

        void done() {
            synchronized (SparePasses.this) {
                SparePasses.this.running--;
                SparePasses.this.notifyAll();
            }
        }

        @Override
        public void end() {
            ended = true;
        }
    }
}
