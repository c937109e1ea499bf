package dev.outbox.jdbc;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/**
 * The relay's statements on PostgreSQL ({@link PostgresStatements}): claim and record, each one round trip on a
 * connection borrowed for it alone. Nothing is held between them, so no connection or transaction stays open while
 * the publisher runs.
 */
final class PostgresRelayStore implements RelayStore {

    private final DataSource dataSource;
    private final OutboxTable table;
    private final PostgresStatements sql;
    private final String claimSql;
    private final String parkingClaimSql;
    private final String recordPublishedSql;
    private final String recordOutcomesSql;
    private final String sightSql;
    private final String orphansSql;
    private final ParkingSchedule schedule = new ParkingSchedule();
    private final ClaimFloor floor = new ClaimFloor();
    /** The walk below the floor, a slice of about 2 ms beside each claim while it is under way. */
    private final FloorSweep sweep = new FloorSweep(Duration.ofMillis(2).toNanos());
    /**
     * Where the unpark before a claim starts its walk of parked events by due time: a few seconds before the previous
     * one's time (commits that park as they become due), from the start once per orphan sweep interval.
     */
    private final WalkStart unparkWalk = new WalkStart(Duration.ofSeconds(5), ParkingSchedule.ORPHAN_SWEEP);
    private final int timeoutSeconds;
    /** Where the last trim of the re-entry log stopped: rows below it are gone. Read and written by the sweeping claim. */
    private volatile long trimmedBelow;

    /**
     * @param batchSize most events per claim; the claim statement is fixed for it once, here
     * @param perAggregate most events of one aggregate per claim
     */
    PostgresRelayStore(DataSource dataSource, OutboxTable table, Ordering ordering, int batchSize, long maxBatchBytes,
               int perAggregate, Duration statementTimeout) {
        this.dataSource = dataSource;
        this.table = table;
        this.sql = new PostgresStatements(table);
        // Each sent after the planning settings, in the same round trip (see PostgresStatements.planning).
        this.claimSql = sql.planning
                + sql.claim(ordering, batchSize, maxBatchBytes, false, perAggregate);
        this.parkingClaimSql = sql.parkingClaim(ordering, batchSize, maxBatchBytes, perAggregate);
        // A claim that leases a share of an aggregate parks the rest behind it; publishing releases the next share.
        int share = PostgresStatements.share(ordering, batchSize, perAggregate);
        this.recordPublishedSql = sql.planning + sql.recordPublished(share);
        this.recordOutcomesSql = sql.planning + sql.recordOutcomes(share);
        this.sightSql = sql.planning + sql.unparkDue;
        this.orphansSql = sql.planning + sql.unparkOrphans;
        this.timeoutSeconds = (int) Math.max(1, statementTimeout.toSeconds());
    }

    /**
     * Makes parked events whose time has come ready and sights the table for the floor, then claims from the floor;
     * now and then, first looks for events left parked with nothing holding them back and begins a walk below the
     * floor, whose slices run before the claims that follow until it reaches the floor; after a claim that found
     * nothing, every few seconds, only looks for such events ({@link ParkingSchedule#idleOrphanLookNow}).
     */
    @Override
    public ClaimedBatch claim(String owner, Duration lease) throws SQLException {
        UUID token = UUID.randomUUID();
        boolean parking = schedule.parkNow();
        try (Connection connection = dataSource.getConnection()) {
            boolean autoCommit = connection.getAutoCommit();
            try {
                if (schedule.sweepNow()) {
                    unparkOrphans(connection, autoCommit);
                    trimReentries(connection);
                    commitUnlessAuto(connection, autoCommit);
                    sweep.begin();
                } else if (schedule.idleOrphanLookNow()) {
                    unparkOrphans(connection, autoCommit);
                }
                boolean passable = sight(connection);
                commitUnlessAuto(connection, autoCommit);
                if (sweepBelowFloor(connection)) {
                    commitUnlessAuto(connection, autoCommit);
                }
                ClaimedBatch batch;
                long sent = System.nanoTime();
                Array unread = connection.createArrayOf("bigint", floor.unread()); // before the floor: see unread()
                try (PreparedStatement claim = connection.prepareStatement(parking ? parkingClaimSql : claimSql)) {
                    claim.setQueryTimeout(timeoutSeconds);
                    claim.setArray(1, unread);
                    claim.setLong(2, floor.from());
                    claim.setString(3, owner);
                    claim.setObject(4, token);
                    claim.setLong(5, lease.toMillis());
                    try (ResultSet rs = rows(claim, "the claim")) {
                        batch = ClaimedBatch.read(token, rs, sent);
                    }
                } finally {
                    unread.free();
                }
                commitUnlessAuto(connection, autoCommit);
                schedule.claimed(batch.size(), parking, passable);
                return batch;
            } catch (SQLException | RuntimeException e) {
                RelayStore.rollbackQuietly(connection, autoCommit, e);
                throw e;
            }
        }
    }

    /**
     * Makes ready the stranded events (parked behind an earlier event, none left unpublished), commits (unless
     * autocommit did), lowers the floor to the lowest of them and warns of them ({@link RelayStore#orphansReleased}).
     */
    private void unparkOrphans(Connection connection, boolean autoCommit) throws SQLException {
        long[] orphans = null; // the lowest position made ready, the re-entry draw, how many
        try (PreparedStatement unpark = connection.prepareStatement(orphansSql)) {
            unpark.setQueryTimeout(timeoutSeconds);
            try (ResultSet rs = rows(unpark, "the orphan sweep")) {
                if (rs.next()) {
                    orphans = new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3)};
                }
            }
        }
        commitUnlessAuto(connection, autoCommit);
        if (orphans != null) {
            floor.reentered(orphans[0], orphans[1]);
            RelayStore.orphansReleased(table, orphans[2]);
        }
    }

    /**
     * Runs {@code statement}, which follows {@link PostgresStatements#PLANNING}, and returns its rows.
     *
     * @param what the statement, for the error when it returns no rows
     */
    private static ResultSet rows(PreparedStatement statement, String what) throws SQLException {
        statement.execute();
        boolean rows = statement.getMoreResults(); // past the settings' row
        if (!rows) {
            throw new SQLException(what + " returned no rows to read");
        }
        return statement.getResultSet();
    }

    /**
     * Runs the next slice of the walk below the floor, if one is under way, and lowers the floor to a ready event it
     * finds.
     *
     * @return whether a slice ran
     */
    private boolean sweepBelowFloor(Connection connection) throws SQLException {
        FloorSweep.Slice slice = sweep.next(floor.from());
        if (slice == null) {
            return false;
        }
        long began = System.nanoTime();
        try (PreparedStatement walk = connection.prepareStatement(sql.readyBelowFloor)) {
            walk.setQueryTimeout(timeoutSeconds);
            walk.setLong(1, slice.from());
            walk.setLong(2, slice.to());
            try (ResultSet rs = walk.executeQuery()) {
                if (rs.next()) {
                    floor.foundReady(rs.getLong(1));
                }
            }
        }
        sweep.took(System.nanoTime() - began);
        return true;
    }

    /** Deletes the re-entry log's rows far behind the newest, from where the last trim stopped. */
    private void trimReentries(Connection connection) throws SQLException {
        try (PreparedStatement trim = connection.prepareStatement(sql.trimReentries)) {
            trim.setQueryTimeout(timeoutSeconds);
            trim.setLong(1, trimmedBelow);
            try (ResultSet rs = trim.executeQuery()) {
                if (rs.next()) {
                    trimmedBelow = Math.max(trimmedBelow, rs.getLong(1));
                }
            }
        }
    }

    /** @return whether a walk below the floor is under way */
    boolean sweeping() {
        return sweep.walking();
    }

    /** Makes the next claim sweep (orphans, then a walk below the floor), as it does once a minute. */
    void sweepAtNextClaim() {
        schedule.sweepNext();
    }

    /** @return where the next claim walks from, unless a re-entry sends it to the first position */
    long floor() {
        return floor.from();
    }

    /**
     * Runs the statement that unparks what is due and sights the table, and tells the floor what it saw.
     *
     * @return whether a ready event at or above the floor was under no live lease: one the claim can take, or must
     *         pass over
     */
    private boolean sight(Connection connection) throws SQLException {
        ClaimFloor.Start start = floor.start();
        try (PreparedStatement sight = connection.prepareStatement(sightSql)) {
            sight.setQueryTimeout(timeoutSeconds);
            sight.setObject(1, unparkWalk.from());
            sight.setLong(2, start.from());
            sight.setLong(3, start.from());
            sight.setLong(4, start.seen());
            try (ResultSet rs = rows(sight, "the sighting")) {
                rs.next();
                if (rs.getLong(8) < PostgresStatements.UNPARK_PER_CLAIM) { // else more are due: look again from here
                    unparkWalk.reached(rs.getObject(7, OffsetDateTime.class));
                }
                Array writers = rs.getArray(5);
                ClaimFloor.Sighting seen = new ClaimFloor.Sighting(orNone(rs, 3), orNone(rs, 4),
                        ClaimFloor.writers((Object[]) writers.getArray()), orNone(rs, 1), orNone(rs, 2), rs.getLong(6),
                        logged(rs.getArray(10), rs.getArray(11)));
                writers.free();
                floor.sighted(start, seen);
                return rs.getBoolean(9);
            }
        }
    }

    /** @return the re-entry log's rows a sighting read, draw to position, from its two arrays (null when none) */
    private static Map<Long, Long> logged(Array draws, Array positions) throws SQLException {
        if (draws == null) {
            return Map.of();
        }
        Long[] d = (Long[]) draws.getArray();
        Long[] p = (Long[]) positions.getArray();
        Map<Long, Long> logged = new HashMap<>(d.length * 2);
        for (int i = 0; i < d.length; i++) {
            logged.put(d[i], p[i]);
        }
        draws.free();
        positions.free();
        return logged;
    }

    private static long orNone(ResultSet rs, int column) throws SQLException {
        long value = rs.getLong(column);
        return rs.wasNull() ? ClaimFloor.NONE : value;
    }

    private static void commitUnlessAuto(Connection connection, boolean autoCommit) throws SQLException {
        if (!autoCommit) {
            connection.commit();
        }
    }

    /**
     * Says that a loop waits for a notification: the next append notifies. Then reads the transactions running, in a
     * transaction of its own (so that its snapshot is taken after the sequence was set back, whatever the pool's
     * isolation level): an append reads the wake sequence after its transaction has an id, so one that read it before
     * it was set back either committed already or is among them.
     */
    @Override
    public long[] listen() throws SQLException {
        return onConnection(connection -> {
            try (PreparedStatement listen = connection.prepareStatement(sql.listen)) {
                listen.setQueryTimeout(timeoutSeconds);
                listen.execute();
            }
            commitUnlessAuto(connection, connection.getAutoCommit());
            return longs(connection, sql.running, null);
        });
    }

    @Override
    public long[] stillRunning(long[] transactions) throws SQLException {
        if (transactions.length == 0) {
            return transactions;
        }
        return onConnection(connection -> longs(connection, sql.stillRunning, transactions));
    }

    private interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    /**
     * Runs {@code work} on a connection borrowed for it alone and commits, unless the pool hands out auto-commit
     * connections; on a failure rolls back and rethrows.
     */
    private <T> T onConnection(Work<T> work) throws SQLException {
        try (Connection connection = dataSource.getConnection()) {
            boolean autoCommit = connection.getAutoCommit();
            try {
                T result = work.run(connection);
                commitUnlessAuto(connection, autoCommit);
                return result;
            } catch (SQLException | RuntimeException e) {
                RelayStore.rollbackQuietly(connection, autoCommit, e);
                throw e;
            }
        }
    }

    /** @return the one bigint[] column of {@code query}'s one row, given {@code ids} as its one parameter, if any */
    private long[] longs(Connection connection, String query, long[] ids) throws SQLException {
        try (PreparedStatement read = connection.prepareStatement(query)) {
            read.setQueryTimeout(timeoutSeconds);
            Array array = null;
            if (ids != null) {
                array = connection.createArrayOf("bigint", java.util.Arrays.stream(ids).boxed().toArray());
                read.setArray(1, array);
            }
            try (ResultSet rs = read.executeQuery()) {
                rs.next();
                Array result = rs.getArray(1);
                Object[] values = (Object[]) result.getArray();
                long[] longs = new long[values.length];
                for (int i = 0; i < values.length; i++) {
                    longs[i] = ((Number) values[i]).longValue();
                }
                result.free();
                return longs;
            } finally {
                if (array != null) {
                    array.free();
                }
            }
        }
    }

    /** @return the positions whose lease was extended by {@code lease}; a missing one had lost its lease */
    @Override
    public Set<Long> renew(UUID token, List<Long> positions, Duration lease) throws SQLException {
        return onConnection(connection -> {
            try (PreparedStatement renew = connection.prepareStatement(sql.renewLease)) {
                renew.setQueryTimeout(timeoutSeconds);
                Array array = connection.createArrayOf("bigint", positions.toArray(Long[]::new));
                renew.setLong(1, lease.toMillis());
                renew.setArray(2, array);
                renew.setObject(3, token);
                Set<Long> held = new HashSet<>();
                try (ResultSet rs = renew.executeQuery()) {
                    while (rs.next()) {
                        held.add(rs.getLong(1));
                    }
                }
                array.free();
                return held;
            }
        });
    }

    /**
     * @param released counts the events that publishing released from behind the published ones (they are ready now)
     * @return the positions whose outcome was written; a missing one had lost its lease
     */
    @Override
    public Set<Long> record(UUID token, List<Settlement> settlements, AtomicInteger released)
            throws SQLException {
        boolean allPublished = settlements.stream().allMatch(s -> s.kind() == Settlement.Kind.PUBLISHED);
        int n = settlements.size();
        Long[] positions = new Long[n];
        for (int i = 0; i < n; i++) {
            positions[i] = settlements.get(i).row().position();
        }
        long[] freed = {0, ClaimFloor.NONE, ClaimFloor.NONE}; // how many released, the lowest, the draw
        Set<Long> written = onConnection(connection -> {
            try (PreparedStatement record = connection.prepareStatement(
                    allPublished ? recordPublishedSql : recordOutcomesSql)) {
                record.setQueryTimeout(timeoutSeconds);
                Array[] arrays;
                if (allPublished) {
                    arrays = new Array[] {connection.createArrayOf("bigint", positions)};
                    record.setArray(1, arrays[0]);
                    record.setObject(2, token);
                } else {
                    String[] kinds = new String[n];
                    Long[] delays = new Long[n];
                    String[] errors = new String[n];
                    for (int i = 0; i < n; i++) {
                        Settlement s = settlements.get(i);
                        kinds[i] = s.kind().sql;
                        delays[i] = s.delayMillis();
                        errors[i] = s.error();
                    }
                    arrays = new Array[] {
                        connection.createArrayOf("bigint", positions),
                        connection.createArrayOf("text", kinds),
                        connection.createArrayOf("bigint", delays),
                        connection.createArrayOf("text", errors)};
                    for (int i = 0; i < arrays.length; i++) {
                        record.setArray(i + 1, arrays[i]);
                    }
                    record.setObject(5, token);
                }
                Set<Long> recorded = new HashSet<>();
                try (ResultSet rs = rows(record, "the record")) {
                    while (rs.next()) {
                        recorded.add(rs.getLong(1));
                    }
                }
                if (!record.getMoreResults()) { // the release, the record's second statement
                    throw new SQLException("the record's release returned no rows to read");
                }
                try (ResultSet rs = record.getResultSet()) {
                    rs.next();
                    freed[0] = rs.getInt(1);
                    freed[1] = orNone(rs, 2);
                    freed[2] = orNone(rs, 3);
                }
                for (Array array : arrays) {
                    array.free();
                }
                return recorded;
            }
        });
        if (freed[0] > 0) {
            released.addAndGet((int) freed[0]);
            floor.reentered(freed[1], freed[2]);
        }
        return written;
    }
}
