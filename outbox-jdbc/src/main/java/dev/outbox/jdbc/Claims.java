package dev.outbox.jdbc;

import dev.outbox.OutboxException;
import dev.outbox.RelayListener;
import java.sql.SQLException;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a relay claims its next batch, and, for loops that commits can wake, when each says that it waits (so that
 * appends notify it) and when it stops: a loop that was waiting stops with the claim it was woken for; a loop whose
 * claim found nothing says that it waits, then looks once more, so that nothing committed in between waits for the
 * poll. The waiting state is per loop thread ({@link WakeUpWaiter}).
 */
final class Claims {

    private static final Logger log = LoggerFactory.getLogger(Claims.class);
    /** Set on the threads of the relay's own loops, which alone wait for commits. */
    private static final ThreadLocal<Boolean> LOOP_THREAD = ThreadLocal.withInitial(() -> false);

    private final RelayStore store;
    private final OutboxTable table;
    private final String ownerId;
    private final Duration leaseDuration;
    private final Duration pollInterval;
    private final RelayListener listener;
    private final BooleanSupplier commitsWake;
    private final Runnable wakeUp;
    private final ThreadLocal<WakeUpWaiter> waiters = new ThreadLocal<>();

    /**
     * @param commitsWake whether the relay's listener has its LISTEN in place, so commits can wake loops
     * @param wakeUp wakes the relay's loops
     */
    Claims(RelayStore store, OutboxTable table, String ownerId, Duration leaseDuration, Duration pollInterval,
           RelayListener listener, BooleanSupplier commitsWake, Runnable wakeUp) {
        this.store = store;
        this.table = table;
        this.ownerId = ownerId;
        this.leaseDuration = leaseDuration;
        this.pollInterval = pollInterval;
        this.listener = listener;
        this.commitsWake = commitsWake;
        this.wakeUp = wakeUp;
    }

    /**
     * Claims the next batch for the calling thread's loop.
     *
     * @throws OutboxException when the claim failed; the listener heard it
     */
    ClaimedBatch next() {
        WakeUpWaiter waiter = waiter();
        if (waiter == null) {
            return claim(null);
        }
        boolean wasWaiting = waiter.listening;
        boolean recheck = wasWaiting && waiter.takeRecheck();
        if (wasWaiting && !recheck) {
            waiter.woken();
            waiter.holdOff();
        }
        // A loop that was waiting stops asking for notifications as it claims (a recheck keeps waiting): while it
        // works, what is committed is found by the claims that follow, so those commits notify nobody.
        ClaimedBatch batch = claim(wasWaiting && !recheck ? waiter : null);
        if (batch.size() == 0 && !waiter.listening) {
            if (wasWaiting) {
                waiter.foundNothing();
            } else if (waiter.lingers()) {
                // Just out of a batch of several events: under a stream like that the next events are a moment away,
                // and fetching them with one more claim is cheaper for everyone than having every writer notify.
                WakeUpWaiter.linger();
                batch = claim(null);
            }
        }
        if (batch.size() == 0 && !waiter.listening) {
            // About to wait: say so first, then look once more, so that nothing committed in between waits for the
            // poll. An append that read the wake sequence before it was set back, by a transaction that commits after
            // the claim below, sends nothing and is not seen by it: that transaction is among those running just after
            // (it has an id before it reads the sequence), and the loop claims again once some of those have ended.
            try {
                waiter.waiting(store.listen());
            } catch (SQLException | RuntimeException e) {
                throw failed("registering for wake-ups", e);
            }
            batch = claim(null);
            if (batch.size() == 0) {
                waiter.scheduleRecheck(store::stillRunning, wakeUp);
            }
        }
        waiter.found(batch.size());
        return batch;
    }

    /** @return true when the calling loop does not wait for notifications, so it hears of nothing committed */
    boolean callerNotWaiting() {
        WakeUpWaiter waiter = commitsWake.getAsBoolean() ? waiters.get() : null;
        return waiter != null && !waiter.listening;
    }

    /** @param stopsWaiting a loop that stops waiting for notifications with this claim, or null */
    private ClaimedBatch claim(WakeUpWaiter stopsWaiting) {
        long started = System.nanoTime();
        try {
            ClaimedBatch batch = store.claim(ownerId, leaseDuration);
            listener.claimed(batch.size(), Duration.ofNanos(System.nanoTime() - started));
            return batch;
        } catch (SQLException | RuntimeException e) {
            throw failed("claiming events", e);
        } finally {
            if (stopsWaiting != null) {
                // It no longer waits. The wake sequence stays as it is (other loops may still wait): the next append
                // that draws 1 notifies, once.
                stopsWaiting.listening = false;
            }
        }
    }

    private OutboxException failed(String what, Exception e) {
        listener.claimFailed(e);
        if (e instanceof SQLException sql) {
            return RelayStore.failure(what, table, sql);
        }
        return new OutboxException(what + " on outbox table " + table + " failed: " + e, e);
    }

    /**
     * The waiter of the calling loop thread while commits can wake it (the listener has its LISTEN in place), else
     * null; a thread that is not one of the relay's loops (a scheduler's, a function's) never waits for commits and
     * has none.
     */
    private WakeUpWaiter waiter() {
        if (!commitsWake.getAsBoolean() || !onLoop()) {
            return null;
        }
        WakeUpWaiter waiter = waiters.get();
        if (waiter == null) {
            waiter = new WakeUpWaiter(pollInterval);
            waiters.set(waiter);
        }
        return waiter;
    }

    /** @return whether the calling thread is one of a relay's loops */
    static boolean onLoop() {
        return LOOP_THREAD.get();
    }

    /** Marks the calling thread as one of a relay's loops, which may wait for commits. */
    static void onLoopThread() {
        LOOP_THREAD.set(true);
    }

}
