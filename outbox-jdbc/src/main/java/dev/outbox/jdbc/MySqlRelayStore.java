package dev.outbox.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/**
 * The relay's statements on MySQL and MariaDB ({@link MySqlStatements}). Neither has {@code UPDATE ... RETURNING}, so a
 * claim is one short transaction: find candidates (a plain read), lock and read them by primary key
 * ({@code FOR UPDATE SKIP LOCKED}), check their aggregates' earlier events, write the lease, commit. It runs at READ
 * COMMITTED, so the locking read takes no gap locks that would hold appends up, and the check reads what is committed
 * by then.
 *
 * <p>Parking as on PostgreSQL ({@link MySqlParking}): the claim first makes parked events whose time has come ready
 * again, and now and then ({@link ParkingSchedule}) parks what it walked past and could not take, in the same
 * transaction; recording a publish releases what the published events held back. No wake-ups on commit: relays
 * poll, or are woken in process.
 */
final class MySqlRelayStore implements RelayStore {

    private static final String READ_COMMITTED = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED";

    private final DataSource dataSource;
    private final OutboxTable table;
    private final Database database;
    private final MySqlStatements sql;
    private final Ordering ordering;
    private final int batchSize;
    private final long maxBatchBytes;
    private final int perAggregate;
    private final int timeoutSeconds;
    private final MySqlParking parking;
    private final ParkingSchedule schedule = new ParkingSchedule();

    /** @param perAggregate most events of one aggregate a claim leases; the rest stay for a later claim */
    MySqlRelayStore(DataSource dataSource, OutboxTable table, Database database, Ordering ordering, int batchSize,
                    long maxBatchBytes, int perAggregate, Duration statementTimeout) {
        this.dataSource = dataSource;
        this.table = table;
        this.database = database;
        this.sql = new MySqlStatements(table, database);
        this.ordering = ordering;
        this.batchSize = batchSize;
        this.maxBatchBytes = maxBatchBytes;
        this.perAggregate = perAggregate;
        this.timeoutSeconds = (int) Math.max(1, statementTimeout.toSeconds());
        this.parking = new MySqlParking(sql, timeoutSeconds);
    }

    private interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    /** Runs {@code work} in one READ COMMITTED transaction on a borrowed connection, restoring its auto-commit. */
    private <T> T inTransaction(Work<T> work) throws SQLException {
        try (Connection connection = dataSource.getConnection()) {
            boolean autoCommit = connection.getAutoCommit();
            if (autoCommit) {
                connection.setAutoCommit(false);
            } else {
                connection.rollback(); // nothing of ours can be pending; start clean
            }
            try {
                try (Statement s = connection.createStatement()) {
                    s.execute(READ_COMMITTED); // the next transaction only
                }
                T result = work.run(connection);
                connection.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                RelayStore.rollbackQuietly(connection, false, e);
                throw e;
            } finally {
                if (autoCommit) {
                    connection.setAutoCommit(true);
                }
            }
        }
    }

    @Override
    public ClaimedBatch claim(String owner, Duration lease) throws SQLException {
        UUID token = UUID.randomUUID();
        boolean parks = schedule.parkNow();
        if (schedule.sweepNow() || schedule.idleOrphanLookNow()) {
            RelayStore.orphansReleased(table, inTransaction(parking::releaseOrphans));
        }
        ClaimedBatch batch = inTransaction(connection -> {
            parking.unparkDue(connection);
            long sent = System.nanoTime();
            int asked = batchSize * 2;
            List<Long> found = new ArrayList<>(asked);
            try (PreparedStatement find = connection.prepareStatement(
                    ordering == Ordering.PER_AGGREGATE ? sql.claimOrdered : sql.claimUnordered)) {
                find.setQueryTimeout(timeoutSeconds);
                find.setInt(1, asked);
                try (ResultSet rs = find.executeQuery()) {
                    while (rs.next()) {
                        found.add(rs.getLong(1));
                    }
                }
            }
            if (parks) {
                // What the walk passed over: the rows before the last candidate, or all when it found fewer than asked.
                parking.park(connection, ordering, found.size() < asked ? Long.MAX_VALUE : found.get(found.size() - 1),
                        found);
            }
            if (found.isEmpty()) {
                return new ClaimedBatch(token, List.of(), sent);
            }
            ClaimedBatch candidates;
            try (PreparedStatement lock = connection.prepareStatement(sql.lockCandidates(found.size()))) {
                lock.setQueryTimeout(timeoutSeconds);
                for (int i = 0; i < found.size(); i++) {
                    lock.setLong(i + 1, found.get(i));
                }
                lock.setInt(found.size() + 1, batchSize);
                try (ResultSet rs = lock.executeQuery()) {
                    candidates = ClaimedBatch.read(token, rs, sent, database, 1);
                }
            }
            List<ClaimedBatch.Row> admitted = admitted(candidates.rows());
            if (ordering == Ordering.PER_AGGREGATE && !admitted.isEmpty()) {
                admitted = firstOfEachAggregate(inOrder(connection, candidates.rows(), admitted));
            }
            if (admitted.isEmpty()) {
                return new ClaimedBatch(token, List.of(), sent);
            }
            try (PreparedStatement write = connection.prepareStatement(sql.lease(admitted.size()))) {
                write.setQueryTimeout(timeoutSeconds);
                write.setString(1, owner);
                write.setString(2, token.toString());
                write.setLong(3, lease.toMillis() * 1000);
                for (int i = 0; i < admitted.size(); i++) {
                    write.setLong(4 + i, admitted.get(i).position());
                }
                write.executeUpdate();
            }
            return new ClaimedBatch(token, admitted, sent);
        });
        schedule.claimed(batch.size(), parks);
        return batch;
    }

    /**
     * Each aggregate's first {@link #perAggregate} rows: a batch sends no more of one aggregate, so the rest are not
     * leased (they stay locked only until this transaction ends) and wait for a later claim.
     */
    private List<ClaimedBatch.Row> firstOfEachAggregate(List<ClaimedBatch.Row> rows) {
        if (rows.size() <= perAggregate) {
            return rows;
        }
        Map<String, Integer> taken = new HashMap<>();
        List<ClaimedBatch.Row> kept = new ArrayList<>(rows.size());
        for (ClaimedBatch.Row row : rows) {
            if (taken.merge(key(row.aggregateType(), row.aggregateId()), 1, Integer::sum) <= perAggregate) {
                kept.add(row);
            }
        }
        return kept;
    }

    /** The longest prefix whose payloads fit the byte budget, and always the first row. */
    private List<ClaimedBatch.Row> admitted(List<ClaimedBatch.Row> rows) {
        List<ClaimedBatch.Row> admitted = new ArrayList<>(rows.size());
        long bytes = 0;
        for (ClaimedBatch.Row row : rows) {
            bytes += row.readable() ? row.event().payloadBytes() : 0;
            if (!admitted.isEmpty() && bytes > maxBatchBytes) {
                break;
            }
            admitted.add(row);
        }
        return admitted;
    }

    /**
     * Keeps an admitted row only if every earlier unpublished event of its aggregate is a candidate of this claim. The
     * claim's own check cannot see an earlier event that SKIP LOCKED passed over because another relay was claiming it
     * right then; this read, after the locking one, sees it.
     */
    private List<ClaimedBatch.Row> inOrder(Connection connection, List<ClaimedBatch.Row> candidates,
                                           List<ClaimedBatch.Row> admitted) throws SQLException {
        Map<String, Long> lastByAggregate = new LinkedHashMap<>();
        Map<String, String[]> names = new HashMap<>();
        for (ClaimedBatch.Row row : admitted) {
            String key = key(row.aggregateType(), row.aggregateId());
            lastByAggregate.put(key, row.position());
            names.putIfAbsent(key, new String[] {row.aggregateType(), row.aggregateId()});
        }
        Set<Long> candidatePositions = new HashSet<>();
        candidates.forEach(r -> candidatePositions.add(r.position()));
        Map<String, Long> firstMissing = new HashMap<>();
        try (PreparedStatement earlier = connection.prepareStatement(sql.earlier(lastByAggregate.size()))) {
            earlier.setQueryTimeout(timeoutSeconds);
            int p = 1;
            for (Map.Entry<String, Long> e : lastByAggregate.entrySet()) {
                String[] name = names.get(e.getKey());
                earlier.setString(p++, name[0]);
                earlier.setString(p++, name[1]);
                earlier.setLong(p++, e.getValue());
            }
            try (ResultSet rs = earlier.executeQuery()) {
                while (rs.next()) {
                    long position = rs.getLong(1);
                    if (!candidatePositions.contains(position)) {
                        firstMissing.merge(key(rs.getString(2), rs.getString(3)), position, Math::min);
                    }
                }
            }
        }
        if (firstMissing.isEmpty()) {
            return admitted;
        }
        List<ClaimedBatch.Row> kept = new ArrayList<>(admitted.size());
        for (ClaimedBatch.Row row : admitted) {
            Long missing = firstMissing.get(key(row.aggregateType(), row.aggregateId()));
            if (missing == null || row.position() < missing) {
                kept.add(row);
            }
        }
        return kept;
    }

    private static String key(String aggregateType, String aggregateId) {
        return aggregateType + '\0' + aggregateId;
    }

    /** Relays on MySQL and MariaDB poll: there is nothing to listen to. */
    @Override
    public long[] listen() {
        return new long[0];
    }

    @Override
    public long[] stillRunning(long[] transactions) {
        return new long[0];
    }

    @Override
    public Set<Long> renew(UUID token, List<Long> positions, Duration lease) throws SQLException {
        return inTransaction(connection -> {
            try (PreparedStatement renew = connection.prepareStatement(sql.renewLease
                    + MySqlStatements.in(positions.size()))) {
                renew.setQueryTimeout(timeoutSeconds);
                renew.setLong(1, lease.toMillis() * 1000);
                renew.setString(2, token.toString());
                for (int i = 0; i < positions.size(); i++) {
                    renew.setLong(3 + i, positions.get(i));
                }
                renew.executeUpdate();
            }
            return held(connection, token, positions, false);
        });
    }

    /** @return the positions still under {@code token}, locked first when {@code lock} */
    private Set<Long> held(Connection connection, UUID token, List<Long> positions, boolean lock) throws SQLException {
        String query = lock ? sql.lockHeld(positions.size()) : sql.heldBy + MySqlStatements.in(positions.size());
        try (PreparedStatement held = connection.prepareStatement(query)) {
            held.setQueryTimeout(timeoutSeconds);
            held.setString(1, token.toString());
            for (int i = 0; i < positions.size(); i++) {
                held.setLong(2 + i, positions.get(i));
            }
            Set<Long> result = new HashSet<>();
            try (ResultSet rs = held.executeQuery()) {
                while (rs.next()) {
                    result.add(rs.getLong(1));
                }
            }
            return result;
        }
    }

    @Override
    public Set<Long> record(UUID token, List<Settlement> settlements, AtomicInteger released) throws SQLException {
        boolean allPublished = settlements.stream().allMatch(s -> s.kind() == Settlement.Kind.PUBLISHED);
        List<Long> positions = new ArrayList<>(settlements.size());
        settlements.forEach(s -> positions.add(s.row().position()));
        return inTransaction(connection -> {
            if (allPublished) {
                // Locks first, so that what is counted as held is what the update writes.
                Set<Long> held = held(connection, token, positions, true);
                if (held.isEmpty()) {
                    return held;
                }
                List<Long> mine = new ArrayList<>(held);
                try (PreparedStatement publish = connection.prepareStatement(sql.markPublished(mine.size()))) {
                    publish.setQueryTimeout(timeoutSeconds);
                    publish.setString(1, token.toString());
                    for (int i = 0; i < mine.size(); i++) {
                        publish.setLong(2 + i, mine.get(i));
                    }
                    publish.executeUpdate();
                }
                released.addAndGet(parking.release(connection, MySqlParking.aggregatesOf(settlements.stream()
                        .map(Settlement::row).filter(r -> held.contains(r.position())).toList())));
                return held;
            }
            Set<Long> recorded = new HashSet<>();
            try (PreparedStatement one = connection.prepareStatement(sql.recordOne)) {
                one.setQueryTimeout(timeoutSeconds);
                for (Settlement s : settlements) {
                    String kind = s.kind().sql;
                    long delayMicros = s.delayMillis() * 1000;
                    one.setString(1, kind);
                    one.setString(2, kind);
                    one.setString(3, kind);
                    one.setLong(4, delayMicros);
                    one.setString(5, kind);
                    one.setLong(6, delayMicros);
                    one.setLong(7, delayMicros);
                    one.setString(8, kind);
                    one.setString(9, s.error());
                    one.setLong(10, s.row().position());
                    one.setString(11, token.toString());
                    if (one.executeUpdate() > 0) {
                        recorded.add(s.row().position());
                    }
                }
            }
            released.addAndGet(parking.release(connection, MySqlParking.aggregatesOf(settlements.stream()
                    .filter(s -> s.kind() == Settlement.Kind.PUBLISHED && recorded.contains(s.row().position()))
                    .map(Settlement::row).toList())));
            return recorded;
        });
    }
}
