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
     * Runs {@code claim}'s generic plan, as the relay runs it ({@link PostgresStatements#planning}), under
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
     * Runs {@code record}'s generic plans (the update marking events published: positions, then lease token; then the
     * release, no parameters) under {@code EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)}, one after the other in one
     * transaction as the relay runs them, JIT off, rolled back afterwards: the events stay leased.
     *
     * @return the two plans, as JSON, one after the other
     */
    static String explainRecord(DataSource db, String record, ClaimedBatch batch) throws SQLException {
        String[] statements = record.split(";\n", 2);
        if (statements.length != 2) {
            throw new IllegalArgumentException("a record is two statements: " + record);
        }
        String positions = batch.rows().stream().map(r -> Long.toString(r.position()))
                .collect(Collectors.joining(",", "'{", "}'::bigint[]"));
        return explain(db, List.of(statements[0], statements[1]),
                List.of(List.of(positions, "'" + batch.leaseToken() + "'::uuid"), List.of()));
    }

    private static String explain(DataSource db, String sql, List<String> values) throws SQLException {
        return explain(db, List.of(sql), List.of(values));
    }

    /**
     * Prepares each of {@code sqls} on the server (its {@code ?} numbered), then explains the execution of its generic
     * plan with its {@code values} (SQL literals: EXECUTE under EXPLAIN takes no protocol parameters), in order, in
     * one transaction.
     *
     * @return the plans, one after the other
     */
    private static String explain(DataSource db, List<String> sqls, List<List<String>> values) throws SQLException {
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(false);
            int prepared = 0;
            StringBuilder plans = new StringBuilder();
            try (Statement s = c.createStatement()) {
                s.execute("SET LOCAL jit = off");
                s.execute("SET LOCAL plan_cache_mode = force_generic_plan");
                for (int i = 0; i < sqls.size(); i++) {
                    s.execute("PREPARE explained" + i + " AS " + numbered(sqls.get(i)));
                    prepared++;
                    String arguments = values.get(i).isEmpty() ? "" : "(" + String.join(", ", values.get(i)) + ")";
                    try (ResultSet rs = s.executeQuery("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE explained"
                            + i + arguments)) {
                        rs.next();
                        plans.append(rs.getString(1)).append('\n');
                    }
                }
                return plans.toString();
            } finally {
                c.rollback(); // the statements' leases and parking; a prepared statement outlives it
                if (prepared > 0) {
                    try (Statement deallocate = c.createStatement()) {
                        for (int i = 0; i < prepared; i++) {
                            deallocate.execute("DEALLOCATE explained" + i); // not ALL: the driver's own stay
                        }
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
