package dev.outbox.jdbc;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Empties the partitions of a {@linkplain OutboxSchema#postgresRotated(OutboxTable) rotated table} with
 * {@code TRUNCATE} and moves appends from one partition to the next; run by each purge.
 *
 * <p>The slot sequence says where appends go: its value is a generation times four plus the partition's number, and
 * every append reads it through the slot function, which locks the sequence until the appending transaction ends. A
 * partition other than the current one is emptied when all of these hold, checked in this order:
 * <ol>
 * <li>every transaction that had read the sequence when this run began has ended ({@code pg_locks}, waiting up to
 * {@link #SETTLE} for them): an event can then no longer arrive in a partition that appends have left, because any
 * transaction that read that partition's number read it before they left, and holds the lock still or has ended;
 * <li>a later statement, so one whose snapshot sees what those transactions committed, finds no unpublished event in
 * the partition and none published within the retention;
 * <li>under the partition's {@code ACCESS EXCLUSIVE} lock, taken with a lock timeout of {@link #LOCK_WAIT} so that
 * appends, claims and records never queue behind it for longer, the sequence still has the value this run read: no
 * other purge moved appends meanwhile.
 * </ol>
 * Then, when the current partition holds anything, appends move to the first empty partition after it (in ring
 * order), set under that partition's lock, where its size is exact and no other purge can empty or move meanwhile.
 * A partition that a transaction still uses (one that read the outbox table holds a lock on every partition until it
 * ends) is left for a later purge. Nothing here waits longer than {@link #SETTLE} or {@link #LOCK_WAIT}.
 */
final class PartitionRotation {

    private static final Logger log = LoggerFactory.getLogger(PartitionRotation.class);

    /** Partitions of a rotated table. */
    static final int SLOTS = 4;

    /** The longest a truncation or a move waits for a partition's lock; appends and claims queue behind it meanwhile. */
    static final Duration LOCK_WAIT = Duration.ofMillis(100);

    /** The longest a run waits for the transactions that had read the slot sequence to end. */
    static final Duration SETTLE = Duration.ofSeconds(2);

    private static final String LOCK_NOT_AVAILABLE = "55P03";

    private final OutboxTable table;
    private final String state;
    private final String holdersLeft;
    private final String[] eligible = new String[SLOTS];
    private final String[] truncate = new String[SLOTS];
    private final String[] size = new String[SLOTS];
    private final String current;
    private final String move;

    PartitionRotation(OutboxTable table) {
        this.table = table;
        String seq = table.slotSequenceQualifiedName();
        StringBuilder sizes = new StringBuilder();
        for (int slot = 0; slot < SLOTS; slot++) {
            String p = table.partitionQualifiedName(slot);
            sizes.append(", pg_relation_size(to_regclass('").append(p).append("'))");
            eligible[slot] = """
                    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM %1$s WHERE published_at IS NULL)
                                 AND NOT EXISTS (SELECT 1 FROM %1$s WHERE published_at IS NOT NULL
                                                 AND published_at >= now() - ? * interval '1 millisecond')
                           THEN (SELECT count(*) FROM %1$s) END""".formatted(p);
            truncate[slot] = "TRUNCATE " + p;
            size[slot] = "SELECT pg_relation_size('" + p + "')";
        }
        // The value is null when the table has no slot sequence: not a rotated table.
        this.state = """
                SELECT v.value,
                       ARRAY(SELECT l.virtualtransaction FROM pg_locks l
                             WHERE l.locktype = 'relation' AND l.relation = v.seq
                               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                               AND l.pid IS DISTINCT FROM pg_backend_pid())%2$s
                FROM (SELECT s AS seq, coalesce(pg_sequence_last_value(s), 0) AS value
                      FROM to_regclass('%1$s') s WHERE s IS NOT NULL) v""".formatted(seq, sizes);
        this.holdersLeft = """
                SELECT count(*) FROM pg_locks
                WHERE locktype = 'relation' AND relation = to_regclass('%1$s') AND virtualtransaction = ANY (?)"""
                .formatted(seq);
        this.current = "SELECT coalesce(pg_sequence_last_value(to_regclass('" + seq + "')), 0)";
        this.move = "SELECT setval('" + seq + "', ?)";
    }

    /**
     * One run, on a connection in auto-commit mode (left in it).
     *
     * @param connection a connection to the table's database
     * @param retention how long published events are kept
     * @return the events in the partitions it emptied; 0 on a table that is not a rotated one
     * @throws SQLException from the database; a lock not granted in time is not one
     */
    long run(Connection connection, Duration retention) throws SQLException {
        long value;
        String[] holders;
        long[] sizes = new long[SLOTS];
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(state)) {
            if (!rs.next()) {
                return 0;
            }
            value = rs.getLong(1);
            Array array = rs.getArray(2);
            holders = (String[]) array.getArray();
            array.free();
            for (int slot = 0; slot < SLOTS; slot++) {
                sizes[slot] = rs.getLong(3 + slot);
                if (rs.wasNull()) {
                    return 0;
                }
            }
        }
        int currentSlot = (int) (value % SLOTS);
        List<Integer> emptied = new ArrayList<>();
        List<Integer> busy = new ArrayList<>();
        long rows = 0;
        boolean left = false; // anything in a partition appends have left: only then wait for the holders
        for (int slot = 0; slot < SLOTS; slot++) {
            left |= slot != currentSlot && sizes[slot] > 0;
        }
        boolean settled = !left || settle(connection, holders);
        if (left && settled) {
            for (int step = 1; step < SLOTS; step++) {
                int slot = (currentSlot + step) % SLOTS;
                if (sizes[slot] == 0) {
                    continue;
                }
                long count = countIfEligible(connection, slot, retention);
                if (count < 0) {
                    continue;
                }
                Boolean done = underLock(connection, slot, value, false);
                if (done == null) {
                    busy.add(slot);
                } else if (done) {
                    emptied.add(slot);
                    rows += count;
                    sizes[slot] = 0;
                } else {
                    break; // another purge moved appends: its run goes on from there
                }
            }
        }
        int movedTo = -1;
        if (sizes[currentSlot] > 0) {
            for (int step = 1; step < SLOTS && movedTo < 0; step++) {
                int slot = (currentSlot + step) % SLOTS;
                if (sizes[slot] == 0 && Boolean.TRUE.equals(underLock(connection, slot, value, true))) {
                    movedTo = slot;
                }
            }
        }
        if (!emptied.isEmpty() || movedTo >= 0) {
            log.info("rotated outbox table {}: emptied partitions {} ({} events), appends {}", table, emptied, rows,
                    movedTo >= 0 ? "moved to partition " + movedTo : "stay in partition " + currentSlot);
        }
        if (!busy.isEmpty()) {
            log.info("outbox table {}: partitions {} could be emptied but their lock was not granted within {} ms"
                    + " (a transaction is using them); a later purge tries again", table, busy, LOCK_WAIT.toMillis());
        }
        if (!settled) {
            log.info("outbox table {}: transactions that read where appends go are still open after {} s; a later"
                    + " purge empties partitions", table, SETTLE.toSeconds());
        }
        return rows;
    }

    /** @return whether the transactions holding the slot sequence's lock at the start of the run have all ended */
    private boolean settle(Connection connection, String[] holders) throws SQLException {
        if (holders.length == 0) {
            return true;
        }
        long deadline = System.nanoTime() + SETTLE.toNanos();
        try (PreparedStatement s = connection.prepareStatement(holdersLeft)) {
            Array array = connection.createArrayOf("text", holders);
            s.setArray(1, array);
            for (long pause = 5; ; pause = Math.min(pause * 2, 200)) {
                try (ResultSet rs = s.executeQuery()) {
                    rs.next();
                    if (rs.getLong(1) == 0) {
                        return true;
                    }
                }
                if (System.nanoTime() + pause * 1_000_000 > deadline) {
                    return false;
                }
                try {
                    Thread.sleep(pause);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
    }

    /** @return the partition's events when every one was published longer than {@code retention} ago, else -1 */
    private long countIfEligible(Connection connection, int slot, Duration retention) throws SQLException {
        try (PreparedStatement s = connection.prepareStatement(eligible[slot])) {
            s.setLong(1, retention.toMillis());
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                long count = rs.getLong(1);
                return rs.wasNull() ? -1 : count;
            }
        }
    }

    /**
     * Takes the partition's lock and, if appends still go where they went at the run's start, either empties it
     * (and moves appends to it when {@code move}) or, for a move alone, moves appends to it if it is empty.
     *
     * @return true when done, false when the sequence moved (or, for a move, the partition is not empty), null when
     *         the lock was not granted in time
     */
    private Boolean underLock(Connection connection, int slot, long value, boolean moveOnly) throws SQLException {
        connection.setAutoCommit(false);
        try (Statement s = connection.createStatement()) {
            s.execute("SELECT set_config('lock_timeout', '" + LOCK_WAIT.toMillis() + "ms', true)");
            try {
                s.execute("LOCK TABLE " + table.partitionQualifiedName(slot) + " IN ACCESS EXCLUSIVE MODE");
            } catch (SQLException e) {
                if (LOCK_NOT_AVAILABLE.equals(e.getSQLState())) {
                    connection.rollback();
                    return null;
                }
                throw e;
            }
            if (read(s, current) != value) {
                connection.rollback();
                return false;
            }
            if (moveOnly) {
                if (read(s, size[slot]) != 0) {
                    connection.rollback();
                    return false;
                }
                try (PreparedStatement m = connection.prepareStatement(move)) {
                    m.setLong(1, (value / SLOTS + 1) * SLOTS + slot);
                    m.executeQuery().close();
                }
            } else {
                s.execute(truncate[slot]);
            }
            connection.commit();
            return true;
        } catch (SQLException | RuntimeException e) {
            connection.rollback();
            throw e;
        } finally {
            connection.setAutoCommit(true);
        }
    }

    private static long read(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
