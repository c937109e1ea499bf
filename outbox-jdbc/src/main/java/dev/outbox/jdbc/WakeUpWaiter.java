package dev.outbox.jdbc;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * One relay loop's side of the wake-up: whether it waits for a notification (it set the wake sequence back, so
 * that the next append notifies), and how long it holds off after wake-ups that found nothing. A loop says so only
 * when it is about to wait: a loop at work finds what is committed meanwhile with its next claim anyway. Used by its
 * loop's thread only, but for the looks of {@link #scheduleRecheck}, which run on a timer.
 */
final class WakeUpWaiter {

    /** Longest hold-off after wake-ups that found nothing. */
    private static final long MAX_HOLD_OFF_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long FIRST_HOLD_OFF_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    /**
     * How long after going to sleep a loop first looks whether the transactions it saw running have ended (appends
     * that raced its registration); the pause doubles up to {@value #MAX_RECHECK_MILLIS} ms (or the poll interval)
     * while some still run.
     */
    static final long RECHECK_MILLIS = 10;
    static final long MAX_RECHECK_MILLIS = 100;
    /** How long a loop that ran out of work waits before its last claim and before asking for notifications. */
    static final long LINGER_MICROS = 2_000;
    /** Fewest events in the loop's last claim for it to linger: fewer is a trickle, where waking costs little. */
    static final int LINGER_AFTER = 4;
    /**
     * A wait this short says commits come close together: the loop lingers after its next batch too, whatever its
     * size, rather than have a writer notify it again a moment later.
     */
    static final long SHORT_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private final long maxHoldOffNanos;
    private final long maxRecheckMillis;
    /** Counts the loop's waits; a look scheduled for an earlier wait does nothing. */
    private long wait;
    /** The transactions running when the loop began to wait that have not been seen to end. */
    private long[] racing = new long[0];
    private long recheckMillis;
    /** Whether the loop waits for a notification. */
    volatile boolean listening;
    private volatile boolean recheck;
    private long holdOffNanos;
    private long quietUntil;
    /** Events the loop's last claim found. */
    int lastFound;
    private long waitStartedNanos;
    private boolean lastWaitShort;

    WakeUpWaiter(Duration pollInterval) {
        this.maxHoldOffNanos = Math.min(MAX_HOLD_OFF_NANOS, pollInterval.toNanos());
        this.maxRecheckMillis = Math.max(1, Math.min(MAX_RECHECK_MILLIS, pollInterval.toMillis()));
    }

    /**
     * Waits out the hold-off: notifications that arrive meanwhile are coalesced by the loop into one claim. Commits of
     * events that cannot move yet (behind a dead event, say) then cost one claim per hold-off, not one per commit.
     */
    void holdOff() {
        long left = quietUntil - System.nanoTime();
        if (left > 0) {
            sleepNanos(left);
        }
    }

    /** Just out of a batch of several events: the next ones are a moment away. */
    static void linger() {
        sleepNanos(TimeUnit.MICROSECONDS.toNanos(LINGER_MICROS));
    }

    /**
     * @return whether the loop lingers before waiting: its last claim found several events, or its last wait was
     *         short, both signs that the next commit is a moment away
     */
    boolean lingers() {
        return lastFound >= LINGER_AFTER || lastWaitShort;
    }

    /**
     * The loop says that it waits from now.
     *
     * @param running the transactions running just after it said so ({@link RelayStore#listen})
     */
    synchronized void waiting(long[] running) {
        listening = true;
        recheck = false;
        waitStartedNanos = System.nanoTime();
        wait++;
        racing = running;
        recheckMillis = RECHECK_MILLIS;
    }

    /** The loop was woken from its wait: notes how long it waited. */
    void woken() {
        lastWaitShort = System.nanoTime() - waitStartedNanos < SHORT_WAIT_NANOS;
    }

    /**
     * A wake-up found nothing: hold off longer before the next one, from 1 ms doubling up to 100 ms while wake-ups
     * keep finding nothing; any claim that finds something ends it.
     */
    void foundNothing() {
        holdOffNanos = holdOffNanos == 0 ? FIRST_HOLD_OFF_NANOS : Math.min(maxHoldOffNanos, holdOffNanos * 2);
        quietUntil = System.nanoTime() + holdOffNanos;
    }

    /** A claim found {@code events}; any at all ends the hold-off. */
    void found(int events) {
        lastFound = events;
        if (events > 0) {
            holdOffNanos = 0;
            quietUntil = 0;
        }
    }

    /** @return the transactions running when the loop began to wait that have not been seen to end */
    synchronized long[] racing() {
        return racing;
    }

    /**
     * Where the looks run: each borrows a connection and runs a statement, which must not hold up the common pool the
     * host's own tasks share. Daemon threads, made as needed and ended after a minute idle.
     */
    private static final Executor LOOKS = Executors.newCachedThreadPool(task -> {
        Thread thread = new Thread(task, "outbox-wake-look");
        thread.setDaemon(true);
        return thread;
    });

    /** Which of some transactions still run ({@link RelayStore#stillRunning}). */
    @FunctionalInterface
    interface StillRunning {
        long[] of(long[] transactions) throws Exception;
    }

    /**
     * While the loop waits and some of the transactions it saw running as it began to wait still run, looks again a
     * moment from now ({@value #RECHECK_MILLIS} ms, then twice as long each time, up to {@value #MAX_RECHECK_MILLIS}
     * ms): once some have ended, wakes the loops for a claim that keeps this loop waiting (one of them may have
     * appended without notifying). A look that fails wakes them too, and ends the looks.
     */
    synchronized void scheduleRecheck(StillRunning stillRunning, Runnable wakeUp) {
        if (!listening || racing.length == 0) {
            return;
        }
        long scheduledFor = wait;
        long delay = recheckMillis;
        recheckMillis = Math.min(maxRecheckMillis, recheckMillis * 2);
        CompletableFuture.delayedExecutor(delay, TimeUnit.MILLISECONDS, LOOKS)
                .execute(() -> look(scheduledFor, stillRunning, wakeUp));
    }

    private void look(long scheduledFor, StillRunning stillRunning, Runnable wakeUp) {
        long[] before;
        synchronized (this) {
            if (scheduledFor != wait || !listening) {
                return;
            }
            before = racing;
        }
        long[] running;
        try {
            running = stillRunning.of(before);
        } catch (Exception e) {
            running = new long[0];
        }
        boolean someEnded = running.length < before.length;
        synchronized (this) {
            if (scheduledFor != wait || !listening) {
                return;
            }
            racing = running;
            if (someEnded) {
                recheck = true;
            }
        }
        if (someEnded) {
            wakeUp.run();
        }
        scheduleRecheck(stillRunning, wakeUp);
    }

    /** @return whether this claim is the recheck after going to sleep; clears it */
    boolean takeRecheck() {
        boolean due = recheck;
        recheck = false;
        return due;
    }

    private static void sleepNanos(long nanos) {
        try {
            TimeUnit.NANOSECONDS.sleep(nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
