package dev.outbox.jdbc;

import dev.outbox.OutboxException;
import dev.outbox.RelayListener;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
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
    private static final AtomicLong KEYS = new AtomicLong();
    /** Set on the threads of the relay's own loops, which alone wait for commits. */
    private static final ThreadLocal<Boolean> LOOP_THREAD = ThreadLocal.withInitial(() -> false);

    private final RelayStore store;
    private final OutboxTable table;
    private final String ownerId;
    private final Duration leaseDuration;
    private final Duration pollInterval;
    private final Duration listenTtl;
    private final RelayListener listener;
    private final BooleanSupplier commitsWake;
    private final Runnable wakeUp;
    private final ThreadLocal<WakeUpWaiter> waiters = new ThreadLocal<>();
    private final List<WakeUpWaiter> registered = new CopyOnWriteArrayList<>();

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
        // Refreshed at every poll while idle; a relay that died stops counting as waiting after this.
        this.listenTtl = pollInterval.multipliedBy(2).plusSeconds(10);
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
            // poll. An append that ran before the row below was written by a transaction that commits after the
            // claim below sends nothing and is not seen: the recheck a few milliseconds later finds it, or, if the
            // transaction commits later still, the next poll.
            try {
                store.listen(waiter.nextKey(), listenTtl);
                waiter.listening = true;
            } catch (SQLException | RuntimeException e) {
                throw failed("registering for wake-ups", e);
            }
            batch = claim(null);
            if (batch.size() == 0) {
                waiter.scheduleRecheck(wakeUp);
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
            ClaimedBatch batch = store.claim(ownerId, leaseDuration, stopsWaiting == null ? null : stopsWaiting.key());
            listener.claimed(batch.size(), Duration.ofNanos(System.nanoTime() - started));
            return batch;
        } catch (SQLException | RuntimeException e) {
            throw failed("claiming events", e);
        } finally {
            if (stopsWaiting != null) {
                // Whether or not its row went: a stale row only costs notifications until it expires, and the loop
                // writes it again before it next waits.
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
     * has none. A waiter left registered while the listener is down stops being counted when its row expires.
     */
    private WakeUpWaiter waiter() {
        if (!commitsWake.getAsBoolean() || !LOOP_THREAD.get()) {
            return null;
        }
        WakeUpWaiter waiter = waiters.get();
        if (waiter == null) {
            waiter = new WakeUpWaiter(ownerId + "#" + KEYS.incrementAndGet(), pollInterval);
            waiters.set(waiter);
            registered.add(waiter);
        }
        return waiter;
    }

    /** Marks the calling thread as one of a relay's loops, which may wait for commits. */
    static void onLoopThread() {
        LOOP_THREAD.set(true);
    }

    /** Removes every loop's row from the listeners table; a row that cannot be removed expires by itself. */
    void close() {
        for (WakeUpWaiter waiter : registered) {
            try {
                store.unlisten(waiter.key());
            } catch (SQLException | RuntimeException e) {
                log.debug("relay {}: could not remove wake-up registration {}; it expires by itself: {}", ownerId,
                        waiter.key(), e.getMessage());
            }
        }
    }
}
