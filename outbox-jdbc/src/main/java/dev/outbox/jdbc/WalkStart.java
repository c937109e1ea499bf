package dev.outbox.jdbc;

import java.time.Duration;
import java.time.OffsetDateTime;

/**
 * Where a repeated walk of an index by time starts: a margin before the latest time an earlier walk reached, so that
 * it does not step over the entries of rows that earlier walks already dealt with (they stay in the index until vacuum
 * removes them, which it cannot while a long transaction holds the horizon); from the earliest time at first and again
 * once per full-walk interval, which finds what committed later than the margin allows. One walk of an interval starts
 * from the earliest time: walks asked for while it runs start from the margin as before, so that under a held horizon,
 * where the full walk steps over every entry left since, a relay's other loops do not each make it too. Serves the
 * unpark before each claim and the purge. Safe to share between threads.
 */
final class WalkStart {

    /** Before every time the outbox writes. */
    static final OffsetDateTime EARLIEST = OffsetDateTime.parse("1970-01-01T00:00:00Z");

    private final Duration overlap;
    private final long fullWalkNanos;
    private OffsetDateTime reached;
    private long walkedAllAt;

    /**
     * @param overlap how far before the latest time reached a walk starts
     * @param fullWalkEvery how often a walk starts from the earliest time
     */
    WalkStart(Duration overlap, Duration fullWalkEvery) {
        this.overlap = overlap;
        this.fullWalkNanos = fullWalkEvery.toNanos();
    }

    /** @return where the walk about to run starts */
    synchronized OffsetDateTime from() {
        long now = System.nanoTime();
        if (reached == null || now - walkedAllAt > fullWalkNanos) {
            walkedAllAt = now;
            return EARLIEST;
        }
        return reached.minus(overlap);
    }

    /**
     * Says that a walk dealt with every row up to {@code time}.
     *
     * @param time that time; null when the walk found nothing, which moves nothing
     */
    synchronized void reached(OffsetDateTime time) {
        if (time != null && (reached == null || time.isAfter(reached))) {
            reached = time;
        }
    }
}
