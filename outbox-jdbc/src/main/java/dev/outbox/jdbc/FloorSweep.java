package dev.outbox.jdbc;

/**
 * The walk below a PostgreSQL relay's floor ({@link ClaimFloor}) that finds events made ready again by statements that
 * drew nothing from the re-entry sequence (a hand-written update, a relay of an earlier version). It walks the ready
 * index from the first position up to the floor in slices of positions, one slice beside each claim, rather than all
 * at once: while a long transaction holds the database's horizon, that stretch holds an entry for every event published
 * since, and one walk of it took a claim from milliseconds to seconds once a minute. A slice's span adapts to what it
 * costs: it doubles after a slice that took less than half the target time and halves after one that took more, so a
 * stretch of few entries is crossed in a few slices and a dense one costs each claim about the target.
 *
 * <p>A walk begins at most once per {@link #begin} and ends when it reaches the floor; one that is still under way
 * when the next begins goes on where it was. Safe for the relay's loops to share: each slice is handed out once.
 */
final class FloorSweep {

    /** The positions of the first slice of a relay's first walk. */
    static final long FIRST_SPAN = 1024;
    /** The fewest positions a slice covers. */
    static final long MIN_SPAN = 64;

    /**
     * Positions {@code from} (inclusive) to {@code to} (exclusive) of the ready index.
     *
     * @param from the slice's first position
     * @param to the position after its last
     */
    record Slice(long from, long to) {
    }

    private final long targetNanos;
    private long next = -1;
    private long span = FIRST_SPAN;

    /** @param targetNanos what one slice should cost, about */
    FloorSweep(long targetNanos) {
        if (targetNanos <= 0) {
            throw new IllegalArgumentException("targetNanos must be positive: " + targetNanos);
        }
        this.targetNanos = targetNanos;
    }

    /** Begins a walk from the first position, unless one is under way. */
    synchronized void begin() {
        if (next < 0) {
            next = 0;
        }
    }

    /** @return whether a walk is under way */
    synchronized boolean walking() {
        return next >= 0;
    }

    /**
     * @param floor the floor the claims walk from now
     * @return the next slice of the walk, below the floor, or null when no walk is under way; the walk ends with the
     *         slice that reaches the floor, or here when the floor fell below where it was
     */
    synchronized Slice next(long floor) {
        if (next < 0) {
            return null;
        }
        if (next >= floor) {
            next = -1;
            return null;
        }
        long to = floor - next <= span ? floor : next + span;
        Slice slice = new Slice(next, to);
        next = to == floor ? -1 : to; // the last slice: what lies above the floor, the claims walk
        return slice;
    }

    /**
     * Says what a slice cost, which sets the span of the slices after it.
     *
     * @param nanos how long its statement took
     */
    synchronized void took(long nanos) {
        if (nanos < targetNanos / 2) {
            span = span > Long.MAX_VALUE / 2 ? Long.MAX_VALUE : span * 2;
        } else if (nanos > targetNanos) {
            span = Math.max(MIN_SPAN, span / 2);
        }
    }

    /** @return the positions the next slice covers at most */
    synchronized long span() {
        return span;
    }
}
