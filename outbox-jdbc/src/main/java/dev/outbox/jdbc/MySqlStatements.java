package dev.outbox.jdbc;

/**
 * Every SQL statement the outbox runs on MySQL and MariaDB, for one table, next to the DDL in {@code mysql.sql} that
 * they assume. All times are UTC from the database clock ({@code UTC_TIMESTAMP(6)}), so relays on hosts with skewed
 * clocks agree on leases and backoff, whatever a session's time zone.
 *
 * <p>Neither database has {@code UPDATE ... RETURNING}: a claim finds its candidates with a plain read of the pending
 * index, locks and reads them by primary key with {@code SELECT ... FOR UPDATE SKIP LOCKED}, and writes their lease,
 * in one short transaction at READ COMMITTED, which takes no gap locks that would hold appends up. Locking by primary
 * key only matters: a locking read through the pending index holds that index's entries while it waits for a row
 * that recording an outcome holds (MariaDB waits there despite SKIP LOCKED), and recording needs those entries, a
 * deadlock under concurrent relays. Statements whose list of positions or ids varies end in {@code IN (}, completed
 * by {@link #in(int)}.
 */
final class MySqlStatements {

    /** The columns an event is read from, in the order {@link ClaimedBatch#readEvent} reads them. */
    static final String EVENT_COLUMNS = """
            t.position, t.id, t.aggregate_type, t.aggregate_id, t.event_type, t.payload, t.headers,
            t.occurred_at, t.attempts""";

    /** A row the relay may claim now: pending, due, and not under a live lease. */
    private static final String CLAIMABLE = """
            t.published_at IS NULL AND t.dead_at IS NULL
              AND t.next_attempt_at <= UTC_TIMESTAMP(6)
              AND (t.lease_until IS NULL OR t.lease_until < UTC_TIMESTAMP(6))""";

    final String insert;
    final String insertDelayed;
    private final String insertManyPrefix;
    final String claimOrdered;
    final String claimUnordered;
    private final String lockCandidatesPrefix;
    /** Unpublished events of some aggregates before a position; one {@link #earlierTerm} per aggregate, OR-ed. */
    final String earlierPrefix;
    final String earlierTerm = "(b.aggregate_type = ? AND b.aggregate_id = ? AND b.position < ?)";
    final String lease;
    final String recordPublished;
    final String recordOne;
    final String renewLease;
    final String heldBy;
    final String stats;
    final String pendingRange;
    final String pendingProbe;
    final String deadEstimate;
    final String listDead;
    final String requeueDeadById;
    final String requeueDeadByType;
    final String requeueAllDead;
    final String discardDeadById;
    final String purgePublished;

    MySqlStatements(OutboxTable table, Database database) {
        String t = table.qualifiedName(database);

        insert = """
                INSERT INTO %s (id, aggregate_type, aggregate_id, event_type, payload, headers, occurred_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)""".formatted(t);

        // Due no earlier than an instant (parameter 8, UTC) or a delay in microseconds after now (parameter 9),
        // whichever is given, and never before now.
        // Its created_at is when it is due: it waits, and its publish lag counts, from then on. MySQL assigns left to
        // right, so created_at copies the next_attempt_at just set.
        insertDelayed = """
                INSERT INTO %s (id, aggregate_type, aggregate_id, event_type, payload, headers, occurred_at,
                                next_attempt_at, created_at)
                SELECT e.*, e.due FROM (SELECT ? AS id, ? AS aggregate_type, ? AS aggregate_id, ? AS event_type,
                        ? AS payload, ? AS headers, ? AS occurred_at,
                        GREATEST(UTC_TIMESTAMP(6), COALESCE(?, UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND)) AS due) e"""
                .formatted(t);

        // Auto-increment values grow row by row within one statement, so positions keep the caller's order.
        insertManyPrefix = """
                INSERT INTO %s (id, aggregate_type, aggregate_id, event_type, payload, headers, occurred_at)
                VALUES\s""".formatted(t);

        // Per-aggregate order, as on PostgreSQL: the first claimable rows in position order whose aggregate is not
        // held back by an earlier event that is dead, backing off or leased to a live claim (so that one stuck
        // aggregate cannot fill every batch). A plain read: it locks nothing. Parameter: how many, twice the batch,
        // so that a relay finding the first ones locked by another still fills its batch.
        claimOrdered = """
                SELECT t.position
                FROM %1$s t
                WHERE %2$s
                  AND NOT EXISTS (
                    SELECT 1 FROM %1$s b
                    WHERE b.aggregate_type = t.aggregate_type AND b.aggregate_id = t.aggregate_id
                      AND b.published_at IS NULL AND b.position < t.position
                      AND (b.dead_at IS NOT NULL OR b.next_attempt_at > UTC_TIMESTAMP(6)
                           OR b.lease_until >= UTC_TIMESTAMP(6)))
                ORDER BY t.position
                LIMIT ?""".formatted(t, CLAIMABLE);

        claimUnordered = """
                SELECT t.position
                FROM %1$s t
                WHERE %2$s
                ORDER BY t.position
                LIMIT ?""".formatted(t, CLAIMABLE);

        // Locks and reads candidates by primary key, those still claimable and not locked by another relay right
        // now, in position order. The relay then checks that every earlier unpublished event of each one's aggregate
        // is one too (earlierPrefix), which catches an earlier event skipped because it was locked. Parameters: the
        // batch size last, after the positions. The last column is the row's age in microseconds.
        lockCandidatesPrefix = """
                SELECT %1$s, TIMESTAMPDIFF(MICROSECOND, t.created_at, UTC_TIMESTAMP(6))
                FROM %2$s t FORCE INDEX (PRIMARY)
                WHERE %3$s AND t.position IN (""".formatted(EVENT_COLUMNS, t, CLAIMABLE);

        earlierPrefix = """
                SELECT b.position, b.aggregate_type, b.aggregate_id
                FROM %s b
                WHERE b.published_at IS NULL AND\s""".formatted(t);

        // Parameters: owner, lease token, lease in microseconds, then the positions.
        lease = """
                UPDATE %s
                SET claimed_by = ?, lease_token = ?, lease_until = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND,
                    attempts = attempts + 1
                WHERE position IN (""".formatted(t);

        // Outcomes are written only where this claim's lease token is still in place: a relay whose lease expired
        // and was taken over cannot overwrite the new owner's result. Parameters: the token, then the positions.
        recordPublished = """
                UPDATE %s
                SET published_at = UTC_TIMESTAMP(6), claimed_by = NULL, lease_token = NULL, lease_until = NULL
                WHERE lease_token = ? AND position IN (""".formatted(t);

        // One outcome: published | retry (after a delay in microseconds) | dead | released (not attempted: the
        // claim's attempt is given back and the event is due again after the delay, at once when it is 0).
        // Parameters: outcome four times, the delay, the error, the position, the token. MySQL assigns left to right;
        // every right-hand side here reads a column before its own assignment.
        recordOne = """
                UPDATE %s
                SET published_at    = CASE WHEN ? = 'published' THEN UTC_TIMESTAMP(6) END,
                    dead_at         = CASE WHEN ? = 'dead' THEN UTC_TIMESTAMP(6) END,
                    next_attempt_at = CASE WHEN ? IN ('retry', 'released') THEN UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND
                                           ELSE next_attempt_at END,
                    attempts        = CASE WHEN ? = 'released' THEN attempts - 1 ELSE attempts END,
                    last_error      = COALESCE(?, last_error),
                    claimed_by = NULL, lease_token = NULL, lease_until = NULL
                WHERE position = ? AND lease_token = ?""".formatted(t);

        // Parameters: the lease in microseconds, the token, then the positions.
        renewLease = """
                UPDATE %s
                SET lease_until = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND
                WHERE lease_token = ? AND position IN (""".formatted(t);

        // The positions still under a claim's token. Parameters: the token, then the positions.
        heldBy = """
                SELECT position FROM %s
                WHERE lease_token = ? AND position IN (""".formatted(t);

        // Each part reads a bounded stretch of an index, so the cost does not grow with the backlog: counts are exact
        // up to EXACT_COUNT_LIMIT, above which they are the optimizer's estimate of the index range (EXPLAIN's rows,
        // from index dives). Pending, in flight, dead, and the oldest pending event's age in milliseconds (a delayed
        // event counts from when it is due), in one round trip.
        stats = """
                SELECT
                  (SELECT count(*) FROM (
                     SELECT 1 FROM %1$s WHERE published_at IS NULL AND dead_at IS NULL LIMIT %2$d) p),
                  (SELECT count(*) FROM (
                     SELECT lease_until FROM %1$s WHERE published_at IS NULL AND dead_at IS NULL
                     ORDER BY position LIMIT %3$d) f
                   WHERE lease_until >= UTC_TIMESTAMP(6)),
                  (SELECT count(*) FROM (
                     SELECT 1 FROM %1$s WHERE dead_at IS NOT NULL AND published_at IS NULL LIMIT %2$d) d),
                  (SELECT TIMESTAMPDIFF(MICROSECOND, min(created_at), UTC_TIMESTAMP(6)) DIV 1000
                   FROM (SELECT created_at, next_attempt_at, attempts FROM %1$s
                         WHERE published_at IS NULL AND dead_at IS NULL
                         ORDER BY created_at LIMIT %4$d) o
                   WHERE created_at <= UTC_TIMESTAMP(6) AND (attempts > 0 OR next_attempt_at <= UTC_TIMESTAMP(6)))"""
                .formatted(t, PostgresStatements.EXACT_COUNT_LIMIT + 1,
                PostgresStatements.READY_SCAN, PostgresStatements.OLDEST_SCAN);
        // For PendingEstimate: how many of the first EXACT_COUNT_LIMIT pending events there are, the last one's
        // position and the highest position; then how many of the positions given are pending.
        pendingRange = """
                SELECT count(*), max(f.position), (SELECT max(position) FROM %1$s)
                FROM (SELECT position FROM %1$s WHERE published_at IS NULL AND dead_at IS NULL
                      ORDER BY position LIMIT %2$d) f""".formatted(t, PostgresStatements.EXACT_COUNT_LIMIT);
        // Followed by one "position BETWEEN ? AND ?" range per run, OR-ed, and a closing parenthesis.
        pendingProbe = "SELECT count(*) FROM %s WHERE published_at IS NULL AND dead_at IS NULL AND ("
                .formatted(t);
        deadEstimate = "EXPLAIN SELECT position FROM %s WHERE dead_at IS NOT NULL".formatted(t);

        listDead = """
                SELECT %s, t.last_error, t.dead_at
                FROM %s t
                WHERE t.dead_at IS NOT NULL AND t.published_at IS NULL
                ORDER BY t.position
                LIMIT ?""".formatted(EVENT_COLUMNS, t);

        String requeue = """
                UPDATE %s SET dead_at = NULL, attempts = 0, next_attempt_at = UTC_TIMESTAMP(6)
                WHERE dead_at IS NOT NULL AND published_at IS NULL AND\s""".formatted(t);
        requeueDeadById = requeue + "id IN (";
        requeueDeadByType = requeue + "event_type = ?";
        requeueAllDead = requeue + "TRUE";
        discardDeadById = """
                DELETE FROM %s WHERE dead_at IS NOT NULL AND published_at IS NULL AND id IN (""".formatted(t);

        // Parameters: the retention in microseconds, the batch size.
        purgePublished = """
                DELETE FROM %s
                WHERE published_at IS NOT NULL AND published_at < UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND
                ORDER BY published_at
                LIMIT ?""".formatted(t);
    }

    /** @return the unpublished events of {@code aggregates} aggregates before a position each */
    String earlier(int aggregates) {
        StringBuilder query = new StringBuilder(earlierPrefix).append('(');
        for (int i = 0; i < aggregates; i++) {
            query.append(i == 0 ? "" : " OR ").append(earlierTerm);
        }
        return query.append(')').toString();
    }

    /** @return the insert of {@code n} events, seven parameters each, in {@link #insert}'s order */
    String insertMany(int n) {
        StringBuilder sql = new StringBuilder(insertManyPrefix);
        for (int i = 0; i < n; i++) {
            sql.append(i == 0 ? "(?, ?, ?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?, ?, ?)");
        }
        return sql.toString();
    }

    /** @return the locking read of {@code n} candidates, the first {@code LIMIT ?} of them still claimable */
    String lockCandidates(int n) {
        return lockCandidatesPrefix + in(n) + "\nORDER BY t.position\nLIMIT ?\nFOR UPDATE SKIP LOCKED";
    }

    /** @return the lease update for {@code n} positions */
    String lease(int n) {
        return lease + in(n);
    }

    /** @return the lock of {@code n} positions still under a token */
    String lockHeld(int n) {
        return heldBy + in(n) + " FOR UPDATE";
    }

    /** @return the published mark of {@code n} positions under a token */
    String markPublished(int n) {
        return recordPublished + in(n);
    }

    /** @return {@code n} placeholders and the closing parenthesis, to end a statement that ends in {@code IN (} */
    static String in(int n) {
        StringBuilder s = new StringBuilder(n * 3);
        for (int i = 0; i < n; i++) {
            s.append(i == 0 ? "?" : ", ?");
        }
        return s.append(')').toString();
    }
}
