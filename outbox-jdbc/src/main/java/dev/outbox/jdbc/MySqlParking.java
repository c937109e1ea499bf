package dev.outbox.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parking on MySQL and MariaDB, the same design as on PostgreSQL in steps of the caller's transaction: events a claim
 * cannot take (backing off, delayed, held behind a dead or backing-off event of their aggregate) are set aside from
 * the ready index the claim walks ({@code parked_until}), and come back when they can move: at their retry or delay
 * ({@link #unparkDue}), when the event holding them back is published, requeued or discarded ({@link #release}), or,
 * for those a race left behind, at the next sweep ({@link #releaseOrphans}).
 *
 * <p>Parking only takes rows out of the walk; whether an event may be claimed is still decided by the claim's own
 * per-aggregate check, so a row parked or released at the wrong moment costs a claim, never the order. Every lock
 * here is taken by primary key with {@code SKIP LOCKED} or by an update of rows already locked, so parking never
 * waits for a relay's claim or record.
 */
final class MySqlParking {

    /** Aggregates or positions per statement, so that no statement grows without bound. */
    static final int CHUNK = 500;

    private final MySqlStatements sql;
    private final int timeoutSeconds;

    MySqlParking(MySqlStatements sql, int timeoutSeconds) {
        this.sql = sql;
        this.timeoutSeconds = timeoutSeconds;
    }

    /** An aggregate, as the statements name it. */
    record Aggregate(String type, String id) {
    }

    /**
     * Makes ready again the parked events whose retry or delay is due, at most {@value
     * MySqlStatements#UNPARK_PER_CLAIM}. @return how many
     */
    int unparkDue(Connection connection) throws SQLException {
        // In primary key order: relays unparking at once lock in the same order.
        return updateInChunks(connection, positions(connection, sql.dueParked), MySqlStatements::unpark);
    }

    /**
     * Parks what the claim's walk passed over and could not take: the ready rows before {@code bound} that are not
     * under a live lease and that the claim did not find ({@code found}), at most {@value
     * MySqlStatements#PARK_PER_CLAIM} looked at. A row held back by an earlier event of its aggregate is parked for
     * ever, with every later ready event of that aggregate (up to {@value MySqlStatements#UNPARK_PER_CLAIM} per
     * claim), but only while that event is locked here and still holds them back; a row whose own retry or delay is
     * ahead is parked until then. A healthy backlog, where the claim found every row it walked, costs one plain read.
     *
     * @return how many rows were parked
     */
    int park(Connection connection, Ordering ordering, long bound, Collection<Long> found) throws SQLException {
        Set<Long> claimable = new HashSet<>(found);
        List<Long> passed = new ArrayList<>();
        Set<Long> later = new HashSet<>();
        try (PreparedStatement walk = connection.prepareStatement(sql.walk)) {
            walk.setQueryTimeout(timeoutSeconds);
            walk.setLong(1, bound);
            walk.setInt(2, MySqlStatements.PARK_PER_CLAIM);
            try (ResultSet rs = walk.executeQuery()) {
                while (rs.next()) {
                    long position = rs.getLong(1);
                    if (!claimable.contains(position)) {
                        passed.add(position);
                        if (rs.getBoolean(2)) {
                            later.add(position);
                        }
                    }
                }
            }
        }
        if (passed.isEmpty()) {
            return 0;
        }
        Map<Aggregate, Long> blockers = new LinkedHashMap<>();
        List<Long> untilRetry = new ArrayList<>();
        if (ordering == Ordering.PER_AGGREGATE) {
            for (List<Long> chunk : chunks(passed)) {
                try (PreparedStatement read = connection.prepareStatement(sql.blockers(chunk.size()))) {
                    read.setQueryTimeout(timeoutSeconds);
                    for (int i = 0; i < chunk.size(); i++) {
                        read.setLong(i + 1, chunk.get(i));
                    }
                    try (ResultSet rs = read.executeQuery()) {
                        while (rs.next()) {
                            long blocker = rs.getLong(4);
                            if (!rs.wasNull()) {
                                blockers.merge(new Aggregate(rs.getString(2), rs.getString(3)), blocker, Math::min);
                            } else if (later.contains(rs.getLong(1))) {
                                untilRetry.add(rs.getLong(1));
                            }
                        }
                    }
                }
            }
        } else {
            untilRetry.addAll(later);
        }
        List<Long> forever = followersOfLocked(connection, blockers);
        if (forever.isEmpty() && untilRetry.isEmpty()) {
            return 0;
        }
        List<Long> candidates = new ArrayList<>(forever);
        candidates.addAll(untilRetry);
        candidates.sort(null);
        Set<Long> locked = new HashSet<>();
        for (List<Long> chunk : chunks(candidates)) {
            try (PreparedStatement lock = connection.prepareStatement(sql.lockParkable(chunk.size()))) {
                lock.setQueryTimeout(timeoutSeconds);
                for (int i = 0; i < chunk.size(); i++) {
                    lock.setLong(i + 1, chunk.get(i));
                }
                try (ResultSet rs = lock.executeQuery()) {
                    while (rs.next()) {
                        locked.add(rs.getLong(1));
                    }
                }
            }
        }
        forever.retainAll(locked);
        untilRetry.retainAll(locked);
        untilRetry.sort(null);
        return updateInChunks(connection, forever, MySqlStatements::parkForever)
                + updateInChunks(connection, untilRetry, MySqlStatements::parkUntilRetry);
    }

    /** Locks the blockers that still hold their aggregates back and reads their followers, in position order. */
    private List<Long> followersOfLocked(Connection connection, Map<Aggregate, Long> blockers) throws SQLException {
        if (blockers.isEmpty()) {
            return new ArrayList<>();
        }
        List<Long> positions = new ArrayList<>(blockers.values());
        positions.sort(null);
        Map<Aggregate, Long> locked = new LinkedHashMap<>();
        for (List<Long> chunk : chunks(positions)) {
            try (PreparedStatement lock = connection.prepareStatement(sql.lockBlockers(chunk.size()))) {
                lock.setQueryTimeout(timeoutSeconds);
                for (int i = 0; i < chunk.size(); i++) {
                    lock.setLong(i + 1, chunk.get(i));
                }
                try (ResultSet rs = lock.executeQuery()) {
                    while (rs.next()) {
                        locked.put(new Aggregate(rs.getString(2), rs.getString(3)), rs.getLong(1));
                    }
                }
            }
        }
        List<Long> followers = new ArrayList<>();
        List<Map.Entry<Aggregate, Long>> entries = new ArrayList<>(locked.entrySet());
        for (int from = 0; from < entries.size() && followers.size() < MySqlStatements.UNPARK_PER_CLAIM;
                from += CHUNK) {
            List<Map.Entry<Aggregate, Long>> chunk = entries.subList(from, Math.min(entries.size(), from + CHUNK));
            try (PreparedStatement read = connection.prepareStatement(sql.followers(chunk.size()))) {
                read.setQueryTimeout(timeoutSeconds);
                int p = 1;
                for (Map.Entry<Aggregate, Long> e : chunk) {
                    read.setString(p++, e.getKey().type());
                    read.setString(p++, e.getKey().id());
                    read.setLong(p++, e.getValue());
                }
                read.setInt(p, MySqlStatements.UNPARK_PER_CLAIM - followers.size());
                try (ResultSet rs = read.executeQuery()) {
                    while (rs.next()) {
                        followers.add(rs.getLong(1));
                    }
                }
            }
        }
        return followers;
    }

    /**
     * Releases the events parked for ever of {@code aggregates}, whose event holding them back was just published,
     * requeued or discarded; nothing when no event is parked for ever at all. @return how many were released
     */
    int release(Connection connection, Collection<Aggregate> aggregates) throws SQLException {
        if (aggregates.isEmpty() || !anyForever(connection)) {
            return 0;
        }
        List<Aggregate> all = new ArrayList<>(aggregates);
        int released = 0;
        for (int from = 0; from < all.size(); from += CHUNK) {
            List<Aggregate> chunk = all.subList(from, Math.min(all.size(), from + CHUNK));
            try (PreparedStatement release = connection.prepareStatement(sql.release(chunk.size()))) {
                release.setQueryTimeout(timeoutSeconds);
                int p = 1;
                for (Aggregate a : chunk) {
                    release.setString(p++, a.type());
                    release.setString(p++, a.id());
                }
                released += release.executeUpdate();
            }
        }
        return released;
    }

    private boolean anyForever(Connection connection) throws SQLException {
        try (PreparedStatement any = connection.prepareStatement(sql.anyForever)) {
            any.setQueryTimeout(timeoutSeconds);
            try (ResultSet rs = any.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Releases events parked for ever with no earlier unpublished event left (see {@link MySqlStatements#orphans}). */
    int releaseOrphans(Connection connection) throws SQLException {
        return updateInChunks(connection, positions(connection, sql.orphans), MySqlStatements::releaseOrphans);
    }

    /** @return the positions {@code query} reads, at most {@value MySqlStatements#UNPARK_PER_CLAIM}, sorted */
    private List<Long> positions(Connection connection, String query) throws SQLException {
        List<Long> positions = new ArrayList<>();
        try (PreparedStatement read = connection.prepareStatement(query)) {
            read.setQueryTimeout(timeoutSeconds);
            read.setInt(1, MySqlStatements.UNPARK_PER_CLAIM);
            try (ResultSet rs = read.executeQuery()) {
                while (rs.next()) {
                    positions.add(rs.getLong(1));
                }
            }
        }
        positions.sort(null);
        return positions;
    }

    /** @return the aggregates {@code query} reads (aggregate type and id, in that order) */
    static Set<Aggregate> aggregates(PreparedStatement query) throws SQLException {
        Set<Aggregate> aggregates = new HashSet<>();
        try (ResultSet rs = query.executeQuery()) {
            while (rs.next()) {
                aggregates.add(new Aggregate(rs.getString(1), rs.getString(2)));
            }
        }
        return aggregates;
    }

    @FunctionalInterface
    private interface ByPositions {
        String statement(MySqlStatements sql, int n);
    }

    private int updateInChunks(Connection connection, List<Long> positions, ByPositions statement)
            throws SQLException {
        int updated = 0;
        for (List<Long> chunk : chunks(positions)) {
            try (PreparedStatement update = connection.prepareStatement(statement.statement(sql, chunk.size()))) {
                update.setQueryTimeout(timeoutSeconds);
                for (int i = 0; i < chunk.size(); i++) {
                    update.setLong(i + 1, chunk.get(i));
                }
                updated += update.executeUpdate();
            }
        }
        return updated;
    }

    private static List<List<Long>> chunks(List<Long> positions) {
        List<List<Long>> chunks = new ArrayList<>();
        for (int from = 0; from < positions.size(); from += CHUNK) {
            chunks.add(positions.subList(from, Math.min(positions.size(), from + CHUNK)));
        }
        return chunks;
    }

    /** @return the aggregates of {@code rows}, each once, what {@link #release} takes */
    static Set<Aggregate> aggregatesOf(Collection<ClaimedBatch.Row> rows) {
        Set<Aggregate> aggregates = new LinkedHashSet<>();
        for (ClaimedBatch.Row row : rows) {
            aggregates.add(new Aggregate(row.aggregateType(), row.aggregateId()));
        }
        return aggregates;
    }
}
