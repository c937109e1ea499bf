package dev.outbox.jdbc;

import java.util.concurrent.ThreadLocalRandom;

/**
 * How many of one destination's events the relay hands over per call, as the broker's throttling allows: additive
 * increase, multiplicative decrease, like TCP's window and the AWS SDK's adaptive rate. After each call, the window
 * shrinks by half the share of the destination's events the broker throttled, and grows by a tenth of its largest
 * size times the share it took. A few percent throttled at random leaves it whole (the growth outweighs the
 * shrinking); a broker that throttles most of what it gets is sent little at a time, one event a call at the least,
 * and more again as it takes more. Throttled events wait a pause that grows with the share throttled: 100 ms when few
 * were, 1.6 s when all were. Thread-safe: a relay's loops share one window per destination.
 */
final class SendWindow {

    private static final long BASE_PAUSE_MILLIS = 100;

    private final int max;
    private double size;
    private double lastShare;

    /** @param max the largest window: the publisher's most events per call, or the batch size */
    SendWindow(int max) {
        this.max = Math.max(1, max);
        this.size = this.max;
    }

    /** @return how many of the destination's events may go in one call now, at least 1 */
    synchronized int size() {
        return Math.max(1, (int) size);
    }

    int max() {
        return max;
    }

    /**
     * @param sent the destination's events the broker answered for in one call
     * @param throttled how many of them it throttled
     */
    synchronized void answered(int sent, int throttled) {
        if (sent <= 0) {
            return;
        }
        double share = Math.min(1, throttled / (double) sent);
        lastShare = share;
        size = size * (1 - share / 2) + Math.max(1, max / 10.0) * (1 - share);
        size = Math.max(1, Math.min(max, size));
    }

    /** @return how long a throttled event waits before it is due again, with 20 % jitter */
    synchronized long pauseMillis() {
        double pause = BASE_PAUSE_MILLIS * Math.pow(2, 4 * lastShare);
        return Math.round(pause * (0.8 + 0.4 * ThreadLocalRandom.current().nextDouble()));
    }
}
