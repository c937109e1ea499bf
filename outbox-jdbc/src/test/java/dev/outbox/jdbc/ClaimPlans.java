package dev.outbox.jdbc;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;
import javax.sql.DataSource;

/** What a PostgreSQL claim or record statement does, by EXPLAIN: for tests that bound the work they read. */
final class ClaimPlans {

    private ClaimPlans() {
    }

    /**
     * Runs {@code claim}'s generic plan, as the relay runs it ({@link PostgresStatements#PLANNING}), under
     * {@code EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)} from {@code floor}, JIT off, in a transaction rolled back
     * afterwards, so that its leases and parking leave nothing behind.
     *
     * @return the plan, as JSON
     */
    static String explain(DataSource db, String claim, long floor) throws SQLException {
        // No draw unread: from the floor.
        return explain(db, claim, List.of("'{" + Long.MAX_VALUE + "}'::bigint[]", Long.toString(floor), "'explain'",
                "'" + UUID.randomUUID() + "'::uuid", "1000"));
    }

    /**
     * Runs {@code record}'s generic plan (a statement marking events published: positions, then lease token) under
     * {@code EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)}, JIT off, in a transaction rolled back afterwards: the events
     * stay leased.
     *
     * @return the plan, as JSON
     */
    static String explainRecord(DataSource db, String record, ClaimedBatch batch) throws SQLException {
        String positions = batch.rows().stream().map(r -> Long.toString(r.position()))
                .collect(Collectors.joining(",", "'{", "}'::bigint[]"));
        return explain(db, record, List.of(positions, "'" + batch.leaseToken() + "'::uuid"));
    }

    /**
     * Prepares {@code sql} on the server (its {@code ?} numbered), then explains the execution of its generic plan with
     * {@code values} (SQL literals: EXECUTE under EXPLAIN takes no protocol parameters).
     */
    private static String explain(DataSource db, String sql, List<String> values) throws SQLException {
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(false);
            boolean prepared = false;
            try (Statement s = c.createStatement()) {
                s.execute("SET LOCAL jit = off");
                s.execute("SET LOCAL plan_cache_mode = force_generic_plan");
                s.execute("PREPARE explained AS " + numbered(sql));
                prepared = true;
                try (ResultSet rs = s.executeQuery("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE explained("
                        + String.join(", ", values) + ")")) {
                    rs.next();
                    return rs.getString(1);
                }
            } finally {
                c.rollback(); // the statement's leases and parking; a prepared statement outlives it
                if (prepared) {
                    try (Statement deallocate = c.createStatement()) {
                        deallocate.execute("DEALLOCATE explained"); // not ALL: the driver's own stay
                    }
                    c.commit();
                }
            }
        }
    }

    /** @return {@code sql} with its JDBC parameters ({@code ?} outside quotes) numbered $1, $2, ... */
    static String numbered(String sql) {
        StringBuilder out = new StringBuilder(sql.length() + 16);
        int n = 0;
        boolean quoted = false;
        for (int i = 0; i < sql.length(); i++) {
            char ch = sql.charAt(i);
            if (ch == '\'') {
                quoted = !quoted;
            }
            if (ch == '?' && !quoted) {
                out.append('$').append(++n);
            } else {
                out.append(ch);
            }
        }
        return out.toString();
    }
}
