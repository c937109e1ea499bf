package dev.outbox;

/**
 * What one {@link Relay#runOnce()} did.
 *
 * @param claimed events claimed and handed to the publisher
 * @param published events the publisher confirmed, now marked published
 * @param retried events scheduled for another attempt later: failed ones, and those given back unattempted (a
 *        paused or throttled destination's, a slow batch's tail, events beyond the lease's time)
 * @param dead events that used their last attempt or were rejected for good; they hold back their aggregate
 * @param moreWaiting true when the batch was full, so more events are probably due now
 */
public record RelayResult(int claimed, int published, int retried, int dead, boolean moreWaiting) {

    /** Nothing was due. */
    public static final RelayResult EMPTY = new RelayResult(0, 0, 0, 0, false);

    /**
     * Checks the counts are consistent.
     *
     * @param claimed events claimed
     * @param published events marked published
     * @param retried events scheduled for another attempt
     * @param dead events made dead
     * @param moreWaiting whether more events are probably due now
     */
    public RelayResult {
        if (claimed < 0 || published < 0 || retried < 0 || dead < 0) {
            throw new IllegalArgumentException("counts must not be negative");
        }
        if (published + retried + dead > claimed) {
            throw new IllegalArgumentException("published + retried + dead (" + (published + retried + dead)
                    + ") exceeds claimed (" + claimed + ")");
        }
    }
}
