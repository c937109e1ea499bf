package dev.outbox.jdbc;

import java.sql.SQLException;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How many rows of a kind (ready, pending, dead) there are beyond a counted stretch, estimated fresh at each call from
 * a sample, so that {@code stats()} costs the same whatever the backlog and is never stale: the first rows in position
 * order are counted; the rest of the range, up to the highest position a row can have, is cut into runs of
 * {@value #RUN} positions, {@value #RUNS} of them are drawn at random, the rows of the kind in them are counted with
 * one index range each, and the share found scales the rest of the range.
 *
 * <p>The sample is {@value #RUNS} x {@value #RUN} = 512 positions, drawn in runs so that one index descent looks up
 * eight. The relative error is about {@code sqrt((1 - d) / (d * 512))}, {@code d} being the share of positions in
 * that range that are of the kind: none for a backlog that is all pending (an outage's, a drain's), 1.5 % at d = 0.9,
 * 4 % at d = 0.5; it does not grow with the backlog's size. It grows when the rows are a thin scatter among others,
 * and somewhat when neighbouring positions tend to be alike (runs of one aggregate's events published together).
 */
final class PendingEstimate {

    /** Runs drawn. */
    static final int RUNS = 64;
    /** Consecutive positions per run. */
    static final int RUN = 8;

    /** Counts the rows of the kind in the runs of {@value #RUN} positions that start at the positions given. */
    @FunctionalInterface
    interface Probe {
        long count(List<Long> runStarts) throws SQLException;
    }

    private PendingEstimate() {
    }

    /**
     * The runs drawn beyond a counted stretch, and how to scale what they hold.
     *
     * @param counted how many rows of the kind the counted stretch held
     * @param span how many positions lie beyond it, up to the highest a row of the kind can have
     * @param starts the first position of each run drawn; empty when the stretch held every row of the kind
     * @param looked how many positions the runs cover
     */
    record Sample(long counted, long span, List<Long> starts, long looked) {

        /** @return true when the counted stretch held every row of the kind, so that nothing needs looking up */
        boolean exact() {
            return starts.isEmpty();
        }

        /**
         * @param hits how many rows of the kind the runs hold
         * @return the estimated count, {@code counted} itself when the stretch held them all
         */
        long estimate(long hits) {
            return exact() ? counted : counted + Math.round((double) span * hits / looked);
        }
    }

    /**
     * @param counted how many rows of the kind the counted stretch held
     * @param limit the stretch's size: fewer than this counted means every row of the kind was counted
     * @param low the position of the last row counted
     * @param high the highest position a row of the kind can have
     * @return the runs to look up, none when the stretch held them all
     */
    static Sample draw(long counted, long limit, long low, long high) {
        if (counted < limit || high <= low) {
            return new Sample(counted, 0, List.of(), 0);
        }
        long span = high - low;
        long runs = (span + RUN - 1) / RUN;
        int wanted = (int) Math.min(RUNS, runs);
        TreeSet<Long> drawn = new TreeSet<>();
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (drawn.size() < wanted) {
            drawn.add(wanted == runs ? drawn.size() : random.nextLong(runs));
        }
        List<Long> starts = drawn.stream().map(run -> low + 1 + run * RUN).toList();
        long looked = 0;
        for (long start : starts) {
            looked += Math.min(RUN, high - start + 1); // the last run may stop at high
        }
        return new Sample(counted, span, starts, looked);
    }

    /**
     * @param counted how many rows of the kind the counted stretch held
     * @param limit the stretch's size: fewer than this counted means every row of the kind was counted
     * @param low the position of the last row counted
     * @param high the highest position a row of the kind can have
     * @param probe looks the drawn runs up
     * @return the estimated count, {@code counted} itself when the stretch held them all
     */
    static long of(long counted, long limit, long low, long high, Probe probe) throws SQLException {
        Sample sample = draw(counted, limit, low, high);
        return sample.exact() ? counted : sample.estimate(probe.count(sample.starts()));
    }
}
