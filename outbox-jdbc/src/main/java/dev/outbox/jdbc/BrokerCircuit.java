package dev.outbox.jdbc;

import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the relay may hand one destination's events to the broker now: closed while calls go through; open, its
 * events waiting, for a pause that doubles from {@code initialPause} up to {@code maxPause} after each call the
 * destination took none of; half-open once the pause is over, letting one batch's calls through to probe. A probe that
 * is answered closes it, one that is not opens it again for longer. No event spends an attempt on any of this, so an
 * outage of any length makes no event dead. One line is logged per change of state.
 *
 * <p>A batch admitted as the probe must end the probe on every path: {@link #wentThrough} or {@link #unavailable} when a call answered, else
 * {@link #probeEnded()} (in a {@code finally}, so that an {@link Error} cannot leave the circuit waiting for a probe
 * that will never end).
 */
final class BrokerCircuit {

    /** Whether a call may carry the destination's events now. */
    enum Admission {
        /** The destination is paused: its events wait. */
        REFUSED,
        /** Calls go through. */
        GRANTED,
        /** The pause is over and this batch probes the destination: it must end the probe on every path. */
        PROBE
    }

    private static final Logger log = LoggerFactory.getLogger(BrokerCircuit.class);

    /** Names the relay and the destination in log lines. */
    private final String ownerId;
    private final long initialPauseNanos;
    private final long maxPauseNanos;
    private JdbcRelay.BrokerState state = JdbcRelay.BrokerState.CLOSED;
    private long pauseNanos;
    private long openUntil;
    private long openedAt;
    private boolean probing;
    private String reason;

    BrokerCircuit(String ownerId, Duration initialPause, Duration maxPause) {
        this.ownerId = ownerId;
        this.initialPauseNanos = initialPause.toNanos();
        this.maxPauseNanos = maxPause.toNanos();
    }

    /** @return whether a batch may be claimed now; the first caller after a pause becomes the probe */
    synchronized Admission admit() {
        if (state == JdbcRelay.BrokerState.CLOSED) {
            return Admission.GRANTED;
        }
        if (state == JdbcRelay.BrokerState.OPEN && System.nanoTime() >= openUntil) {
            state = JdbcRelay.BrokerState.HALF_OPEN;
            probing = false;
        }
        if (state == JdbcRelay.BrokerState.HALF_OPEN && !probing) {
            probing = true;
            return Admission.PROBE;
        }
        return Admission.REFUSED;
    }


    /** The broker could take nothing: open, for longer than last time. */
    synchronized void unavailable(String why) {
        long now = System.nanoTime();
        pauseNanos = state == JdbcRelay.BrokerState.CLOSED ? initialPauseNanos
                : Math.min(maxPauseNanos, Math.max(initialPauseNanos, pauseNanos * 2));
        if (state == JdbcRelay.BrokerState.CLOSED) {
            openedAt = now;
            log.warn("relay {}: destination unavailable, its events paused for {} ms and retried with growing pauses;"
                    + " no event spends an attempt meanwhile: {}", ownerId, pauseNanos / 1_000_000, why);
        } else {
            log.info("relay {}: destination still unavailable after {} s, next try in {} ms: {}", ownerId,
                    (now - openedAt) / 1_000_000_000, pauseNanos / 1_000_000, why);
        }
        state = JdbcRelay.BrokerState.OPEN;
        openUntil = now + pauseNanos;
        probing = false;
        reason = why;
    }

    /** A call went through: close. */
    synchronized void wentThrough() {
        if (state != JdbcRelay.BrokerState.CLOSED) {
            log.warn("relay {}: destination available again after {} s; publishing resumed", ownerId,
                    (System.nanoTime() - openedAt) / 1_000_000_000);
        }
        state = JdbcRelay.BrokerState.CLOSED;
        probing = false;
        reason = null;
    }

    /**
     * @return true while the circuit refuses calls: open with its pause not over, or half-open with a probe under way
     */
    synchronized boolean paused() {
        if (state == JdbcRelay.BrokerState.OPEN) {
            return System.nanoTime() < openUntil;
        }
        return state == JdbcRelay.BrokerState.HALF_OPEN && probing;
    }

    /** @return how long until the pause is over, in milliseconds; 0 when it is */
    synchronized long pauseLeftMillis() {
        return state == JdbcRelay.BrokerState.CLOSED ? 0 : Math.max(0, (openUntil - System.nanoTime()) / 1_000_000);
    }

    /** A probe ended without an answer (nothing was due, or the batch failed): let the next claim probe. */
    synchronized void probeEnded() {
        probing = false;
    }

    synchronized JdbcRelay.BrokerState state() {
        return state;
    }

    /** @return why the broker is unavailable, or null while closed */
    synchronized String reason() {
        return reason;
    }
}
