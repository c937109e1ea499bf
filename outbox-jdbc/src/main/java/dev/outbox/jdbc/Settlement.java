package dev.outbox.jdbc;

/**
 * How the relay settles one claimed event after publishing, as written to the table.
 *
 * @param row the claimed event
 * @param kind what to record
 * @param delayMillis for {@link Kind#RETRY}, {@link Kind#RELEASED} and {@link Kind#THROTTLED}, how long until the event
 *        is due again
 * @param error the reason the event was not published, or null
 * @param settledAtNanos {@link System#nanoTime()} when the outcome was decided: for a published event, the broker's
 *        confirmation
 */
record Settlement(ClaimedBatch.Row row, Kind kind, long delayMillis, String error, long settledAtNanos) {

    /** Longest error text kept in {@code last_error}. */
    static final int MAX_ERROR_LENGTH = 2000;

    /** What can be recorded; {@link #sql} is the value the outcome statement matches on. */
    enum Kind {
        PUBLISHED("published"),
        RETRY("retry"),
        DEAD("dead"),
        /** Dead because the broker refused it for good; recorded as {@link #DEAD}. */
        REJECTED("dead"),
        /**
         * Not attempted, or not answered: the attempt is given back, and the event is due again after the delay (at
         * once when it is 0; the rest of its destination's pause when the destination is unavailable).
         */
        RELEASED("released"),
        /** Throttled by the broker: as {@link #RELEASED}, due again after a short pause. */
        THROTTLED("released");

        final String sql;

        Kind(String sql) {
            this.sql = sql;
        }
    }

    /** An outcome decided now. */
    Settlement(ClaimedBatch.Row row, Kind kind, long delayMillis, String error) {
        this(row, kind, delayMillis, error, System.nanoTime());
    }

    Settlement {
        if (error != null && error.length() > MAX_ERROR_LENGTH) {
            error = error.substring(0, MAX_ERROR_LENGTH - 3) + "...";
        }
    }
}
