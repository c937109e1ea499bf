package dev.outbox.jdbc;

import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the relay may hand events to the broker now: closed while calls go through; open, claiming nothing, for a
 * pause that doubles from {@code initialPause} up to {@code maxPause} after each call the broker could not take at
 * all; half-open once the pause is over, letting one batch through to probe. A probe that goes through closes it, one
 * that does not opens it again for longer. No event spends an attempt on any of this, so an outage of any length
 * makes no event dead. One line is logged per change of state.
 *
 * <p>A batch admitted as the probe must end the probe on every path: {@link #settle} when its calls answered, else
 * {@link #probeEnded()} (in a {@code finally}, so that an {@link Error} cannot leave the circuit waiting for a probe
 * that will never end).
 */
final class BrokerCircuit {

    /** Whether a batch may start now. */
    enum Admission {
        /** The broker is paused: claim nothing. */
        REFUSED,
        /** Calls go through. */
        GRANTED,
        /** The pause is over and this batch probes the broker: it must end the probe on every path. */
        PROBE
    }

    private static final Logger log = LoggerFactory.getLogger(BrokerCircuit.class);

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

    /** @param unavailable why the broker could take nothing in the batch's calls, or null when they went through */
    void settle(String unavailable) {
        if (unavailable != null) {
            unavailable(unavailable);
        } else {
            wentThrough();
        }
    }

    /** The broker could take nothing: open, for longer than last time. */
    synchronized void unavailable(String why) {
        long now = System.nanoTime();
        pauseNanos = state == JdbcRelay.BrokerState.CLOSED ? initialPauseNanos
                : Math.min(maxPauseNanos, Math.max(initialPauseNanos, pauseNanos * 2));
        if (state == JdbcRelay.BrokerState.CLOSED) {
            openedAt = now;
            log.warn("relay {}: broker unavailable, publishing paused for {} ms and retried with growing pauses; no"
                    + " event spends an attempt meanwhile: {}", ownerId, pauseNanos / 1_000_000, why);
        } else {
            log.info("relay {}: broker still unavailable after {} s, next try in {} ms: {}", ownerId,
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
            log.warn("relay {}: broker available again after {} s; publishing resumed", ownerId,
                    (System.nanoTime() - openedAt) / 1_000_000_000);
        }
        state = JdbcRelay.BrokerState.CLOSED;
        probing = false;
        reason = null;
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
