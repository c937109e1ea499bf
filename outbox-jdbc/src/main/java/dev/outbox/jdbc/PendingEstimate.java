package dev.outbox.jdbc;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The number of pending events beyond the first {@value #EXACT} in position order, estimated fresh at each call from a
 * sample, so that {@code stats()} costs the same whatever the backlog and is never stale: the first {@value #EXACT}
 * pending events are counted; above the last of them, {@value #PROBES} positions up to the table's highest are drawn at
 * random and looked up by primary key, and the share found pending scales the rest of the range.
 *
 * <p>The relative error is about {@code sqrt((1 - d) / (d * 1024))}, {@code d} being the share of positions in that
 * range that are pending: none for a backlog that is all pending (an outage's, a drain's), 1 % at d = 0.9, 3 % at
 * d = 0.5, 5 % at d = 0.28; it does not grow with the backlog's size. It grows when pending events are a thin scatter
 * among published ones.
 */
final class PendingEstimate {

    static final int EXACT = PostgresStatements.EXACT_COUNT_LIMIT;
    static final int PROBES = 1024;

    private PendingEstimate() {
    }

    /**
     * @param range the query answering the position of the {@value #EXACT}th pending event and the highest position
     * @param probe the query counting pending events among positions: an array parameter on PostgreSQL, else
     *        {@link MySqlStatements#in} completed for {@value #PROBES} positions
     * @return the estimated count of all pending events the range and probe queries see
     */
    static long estimate(Connection connection, String range, String probe, boolean mysql) throws SQLException {
        long low;
        long high;
        try (PreparedStatement s = connection.prepareStatement(range); ResultSet rs = s.executeQuery()) {
            rs.next();
            low = rs.getLong(1);
            high = rs.getLong(2);
        }
        if (high <= low) {
            return EXACT;
        }
        Set<Long> positions = new TreeSet<>();
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long span = high - low;
        int wanted = (int) Math.min(PROBES, span);
        while (positions.size() < wanted) {
            positions.add(low + 1 + random.nextLong(span));
        }
        long hits = mysql ? probeMySql(connection, probe, positions) : probePostgres(connection, probe, positions);
        return EXACT + Math.round((double) span * hits / positions.size());
    }

    private static long probePostgres(Connection connection, String probe, Set<Long> positions) throws SQLException {
        try (PreparedStatement s = connection.prepareStatement(probe)) {
            Array array = connection.createArrayOf("bigint", positions.toArray(Long[]::new));
            s.setArray(1, array);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            } finally {
                array.free();
            }
        }
    }

    private static long probeMySql(Connection connection, String probe, Set<Long> positions) throws SQLException {
        try (PreparedStatement s = connection.prepareStatement(probe + MySqlStatements.in(positions.size()))) {
            int i = 1;
            for (long p : positions) {
                s.setLong(i++, p);
            }
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }
}
