package dev.outbox.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.UUID;
import javax.sql.DataSource;

/** What a PostgreSQL claim or record statement does, by EXPLAIN: for tests that bound the work they read. */
final class ClaimPlans {

    private ClaimPlans() {
    }

    /**
     * Runs {@code claim} under {@code EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)} from {@code floor}, JIT off, in a
     * transaction rolled back afterwards, so that its leases and parking leave nothing behind.
     *
     * @return the plan, as JSON
     */
    static String explain(DataSource db, String claim, long floor) throws SQLException {
        return explain(db, claim, (c, s) -> {
            s.setArray(1, c.createArrayOf("bigint", new Long[] {Long.MAX_VALUE})); // no draw unread: from the floor
            s.setLong(2, floor);
            s.setString(3, "explain");
            s.setObject(4, UUID.randomUUID());
            s.setLong(5, 1000);
        });
    }

    /**
     * Runs {@code record} (a statement marking events published: positions, then lease token) under
     * {@code EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)}, JIT off, in a transaction rolled back afterwards: the events
     * stay leased.
     *
     * @return the plan, as JSON
     */
    static String explainRecord(DataSource db, String record, ClaimedBatch batch) throws SQLException {
        Long[] positions = batch.rows().stream().map(ClaimedBatch.Row::position).toArray(Long[]::new);
        return explain(db, record, (c, s) -> {
            s.setArray(1, c.createArrayOf("bigint", positions));
            s.setObject(2, batch.leaseToken());
        });
    }

    /** Sets a statement's parameters; the connection creates arrays. */
    @FunctionalInterface
    private interface Binder {
        void bind(Connection c, PreparedStatement s) throws SQLException;
    }

    private static String explain(DataSource db, String sql, Binder binder) throws SQLException {
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement jit = c.prepareStatement(PostgresStatements.JIT_OFF)) {
                jit.execute();
            }
            try (PreparedStatement s = c.prepareStatement("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)) {
                binder.bind(c, s);
                try (ResultSet rs = s.executeQuery()) {
                    rs.next();
                    return rs.getString(1);
                }
            } finally {
                c.rollback();
            }
        }
    }
}
