package dev.outbox.benchmarks;

import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.Ordering;
import dev.outbox.jdbc.OutboxStatements;
import dev.outbox.jdbc.OutboxTable;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The floor for relay throughput: the relay's own unpark, claim and mark-published statements, issued by a bare JDBC
 * loop with no library code around them (no events built, no publisher, no outcome bookkeeping). The SQL text
 * comes from {@link OutboxStatements}, so it is exactly what the relay sends.
 */
final class BareClaimLoop {

    private final DataSource dataSource;
    private final String unparkDue;
    private final String claim;
    private final String claimAndPark;
    private final java.util.concurrent.atomic.AtomicLong claims = new java.util.concurrent.atomic.AtomicLong();
    private final String markPublished;
    private final int batchSize;

    BareClaimLoop(DataSource dataSource, OutboxTable table, boolean ordered, int batchSize) {
        OutboxStatements sql = OutboxStatements.postgres(table);
        this.dataSource = dataSource;
        this.unparkDue = sql.unparkDue();
        this.claim = sql.claim(ordered ? Ordering.PER_AGGREGATE : Ordering.NONE, batchSize,
                JdbcRelay.DEFAULT_MAX_BATCH_BYTES);
        this.claimAndPark = sql.claimAndPark(ordered ? Ordering.PER_AGGREGATE : Ordering.NONE, batchSize,
                JdbcRelay.DEFAULT_MAX_BATCH_BYTES);
        this.markPublished = sql.markPublished();
        this.batchSize = batchSize;
    }

    /** Claims one batch, reads every column and marks it published. @return how many were claimed */
    int runOnce(String owner) throws SQLException {
        UUID token = UUID.randomUUID();
        Long[] positions;
        boolean parking = claims.getAndIncrement() % 8 == 0; // as often as the relay parks
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(
                parking ? claimAndPark : claim)) {
            try (PreparedStatement unpark = c.prepareStatement(unparkDue)) {
                unpark.setObject(1, java.time.OffsetDateTime.parse("1970-01-01T00:00:00Z")); // every event due
                unpark.setLong(2, 0); // walks from the first position: the loop keeps no floor
                unpark.setLong(3, 0);
                unpark.setLong(4, Long.MAX_VALUE); // no re-entry log rows past it to read
                unpark.executeQuery().close();
            }
            s.setArray(1, c.createArrayOf("bigint", new Long[] {Long.MAX_VALUE})); // no draw unread: from the floor
            s.setLong(2, 0);
            s.setString(3, owner);
            s.setObject(4, token);
            s.setLong(5, 30_000);
            List<Long> claimed = new ArrayList<>(batchSize);
            s.execute();
            if (parking) {
                s.getMoreResults(); // past the JIT setting's row, as the relay does
            }
            try (ResultSet rs = s.getResultSet()) {
                while (rs.next()) {
                    claimed.add(rs.getLong(1));
                    for (int column = 2; column <= 9; column++) {
                        rs.getString(column);
                    }
                }
            }
            positions = claimed.toArray(Long[]::new);
        }
        if (positions.length == 0) {
            return 0;
        }
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(markPublished)) {
            Array array = c.createArrayOf("bigint", positions);
            s.setArray(1, array);
            s.setObject(2, token);
            s.execute();
            try (ResultSet rs = s.getResultSet()) {
                while (rs.next()) {
                    rs.getLong(1);
                }
            }
            s.getMoreResults(); // the release's row
            try (ResultSet rs = s.getResultSet()) {
                rs.next();
            }
            array.free();
        }
        return positions.length;
    }
}
