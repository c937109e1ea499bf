package dev.outbox.jdbc;

import java.sql.SQLException;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How many rows of a kind (ready, pending, dead) there are beyond a counted stretch, estimated fresh at each call from
 * a sample, so that {@code stats()} costs the same whatever the backlog and is never stale: the first rows in position
 * order are counted; above the last of them, {@value #PROBES} distinct positions up to the highest a row can have are
 * drawn at random and looked up by primary key, and the share of them that are of the kind scales the rest of the range.
 *
 * <p>The relative error is about {@code sqrt((1 - d) / (d * 512))}, {@code d} being the share of positions in that
 * range that are of the kind: none for a backlog that is all pending (an outage's, a drain's), 1.5 % at d = 0.9,
 * 4 % at d = 0.5; it does not grow with the backlog's size. It grows when the rows are a thin scatter among others.
 */
final class PendingEstimate {

    static final int PROBES = 512;

    /** Counts the rows of the kind among the positions given. */
    @FunctionalInterface
    interface Probe {
        long count(List<Long> positions) throws SQLException;
    }

    private PendingEstimate() {
    }

    /**
     * @param counted how many rows of the kind the counted stretch held
     * @param limit the stretch's size: fewer than this counted means every row of the kind was counted
     * @param low the position of the last row counted
     * @param high the highest position a row of the kind can have
     * @param probe looks the drawn positions up
     * @return the estimated count, {@code counted} itself when the stretch held them all
     */
    static long of(long counted, long limit, long low, long high, Probe probe) throws SQLException {
        if (counted < limit || high <= low) {
            return counted;
        }
        long span = high - low;
        int wanted = (int) Math.min(PROBES, span);
        TreeSet<Long> drawn = new TreeSet<>();
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (drawn.size() < wanted) {
            drawn.add(low + 1 + random.nextLong(span));
        }
        long hits = probe.count(List.copyOf(drawn));
        return counted + Math.round((double) span * hits / wanted);
    }
}
