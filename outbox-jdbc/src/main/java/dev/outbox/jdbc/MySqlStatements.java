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

    /**
     * The parked_until of an event held back by an earlier event of its aggregate: for ever, until that event is
     * published, requeued or discarded (the largest DATETIME(6)).
     */
    static final String FOREVER = "'9999-12-31 23:59:59.999999'";

    /**
     * The oldest InnoDB transaction other than this session's (HorizonHolder): kind, age in milliseconds, the history
     * list length (undo records purge has yet to remove), who, thread id.
     */
    static final String HORIZON = """
            SELECT 'TRANSACTION', TIMESTAMPDIFF(MICROSECOND, t.trx_started, NOW(6)) DIV 1000,
                   COALESCE((SELECT `COUNT` FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'), 0),
                   CONCAT('thread ', t.trx_mysql_thread_id, ', ', t.trx_state, ' since ', t.trx_started, ': ',
                          COALESCE(LEFT(t.trx_query, 200), 'no statement running')),
                   t.trx_mysql_thread_id
            FROM information_schema.INNODB_TRX t
            WHERE t.trx_mysql_thread_id <> CONNECTION_ID()
            ORDER BY t.trx_started
            LIMIT 1""";

    /** A row the relay may claim now: pending, not parked, due, and not under a live lease. */
    private static final String CLAIMABLE = """
            t.published_at IS NULL AND t.dead_at IS NULL AND t.parked_until IS NULL
              AND t.next_attempt_at <= UTC_TIMESTAMP(6)
              AND (t.lease_until IS NULL OR t.lease_until < UTC_TIMESTAMP(6))""";

    /** Pending and not parked: the stretch of the ready index the claim walks. */
    private static final String READY = "published_at IS NULL AND dead_at IS NULL AND parked_until IS NULL";

    /** Most ready rows one claim looks at for parking; a longer stretch is parked over the next claims. */
    static final int PARK_PER_CLAIM = PostgresStatements.PARK_PER_CLAIM;

    /** Most parked rows one claim makes ready again, and most followers one claim parks. */
    static final int UNPARK_PER_CLAIM = PostgresStatements.UNPARK_PER_CLAIM;

    /** Row {@code b} cannot be published now: dead, backing off or delayed, or parked. */
    private static String holdsBack(String b) {
        return "(%1$s.dead_at IS NOT NULL OR %1$s.next_attempt_at > UTC_TIMESTAMP(6) OR %1$s.parked_until IS NOT NULL)"
                .formatted(b);
    }

    final String insert;
    final String insertDelayed;
    private final String insertManyPrefix;
    final String claimOrdered;
    final String claimUnordered;
    private final String lockCandidatesPrefix;
    /** Unpublished events of some aggregates before a position; one {@link #earlierTerm} per aggregate, OR-ed. */
    final String earlierPrefix;
    final String earlierTerm = "(b.aggregate_type = ? AND b.aggregate_id = ? AND b.position < ?)";
    final String walk;
    private final String blockersPrefix;
    private final String followersPrefix;
    private final String lockBlockersPrefix;
    private final String lockParkablePrefix;
    private final String parkForeverPrefix;
    private final String parkUntilRetryPrefix;
    final String anyForever;
    private final String releasePrefix;
    final String dueParked;
    private final String unparkPrefix;
    final String orphans;
    private final String releaseOrphansPrefix;
    final String lease;
    final String recordPublished;
    final String recordOne;
    final String renewLease;
    final String heldBy;
    final String stats;
    final String readyRange;
    final String readyProbe;
    final String parkedEstimate;
    final String deadEstimate;
    final String deadAggregatesById;
    final String deadAggregatesByType;
    private final String deadAggregates;
    final String releaseAll;
    final String listDead;
    final String requeueDeadById;
    final String requeueDeadByType;
    final String requeueAllDead;
    final String discardDeadById;
    final String purgePublished;

    MySqlStatements(OutboxTable table, Database database) {
        String t = table.qualifiedName(database);
        String ready = "`" + table.name() + "_ready`";

        insert = """
                INSERT INTO %s (id, aggregate_type, aggregate_id, event_type, payload, headers, occurred_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)""".formatted(t);

        // Due no earlier than an instant (parameter 8, UTC) or a delay in microseconds after now (parameter 9),
        // whichever is given, and never before now.
        // Parked until then when that is ahead, so that the claim does not walk it meanwhile. Its created_at is when
        // it is due: it waits, and its publish lag counts, from then on.
        insertDelayed = """
                INSERT INTO %s (id, aggregate_type, aggregate_id, event_type, payload, headers, occurred_at,
                                next_attempt_at, parked_until, created_at)
                SELECT e.*, CASE WHEN e.due > UTC_TIMESTAMP(6) THEN e.due END, e.due FROM (SELECT ? AS id, ? AS aggregate_type, ? AS aggregate_id, ? AS event_type,
                        ? AS payload, ? AS headers, ? AS occurred_at,
                        GREATEST(UTC_TIMESTAMP(6), COALESCE(?, UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND)) AS due) e"""
                .formatted(t);

        // Auto-increment values grow row by row within one statement, so positions keep the caller's order.
        insertManyPrefix = """
                INSERT INTO %s (id, aggregate_type, aggregate_id, event_type, payload, headers, occurred_at)
                VALUES\s""".formatted(t);

        // Per-aggregate order, as on PostgreSQL: the first claimable rows in position order whose aggregate is not
        // held back by an earlier event that is dead, backing off, parked or leased to a live claim (so that one
        // stuck aggregate cannot fill every batch). A plain read: it locks nothing. Parameter: how many, twice the
        // batch, so that a relay finding the first ones locked by another still fills its batch.
        // FORCE INDEX: with ORDER BY position and a LIMIT, both optimizers may prefer walking the primary key from
        // the start, past every published row kept (30 ms instead of 1.8 ms for 1,000 of 50,000 ready events behind
        // 100,000 published ones on MariaDB 10.11).
        claimOrdered = """
                SELECT t.position
                FROM %1$s t FORCE INDEX (%3$s)
                WHERE %2$s
                  AND NOT EXISTS (
                    SELECT 1 FROM %1$s b
                    WHERE b.aggregate_type = t.aggregate_type AND b.aggregate_id = t.aggregate_id
                      AND b.published_at IS NULL AND b.position < t.position
                      AND (%4$s OR b.lease_until >= UTC_TIMESTAMP(6)))
                ORDER BY t.position
                LIMIT ?""".formatted(t, CLAIMABLE, ready, holdsBack("b"));

        claimUnordered = """
                SELECT t.position
                FROM %1$s t FORCE INDEX (%3$s)
                WHERE %2$s
                ORDER BY t.position
                LIMIT ?""".formatted(t, CLAIMABLE, ready);

        // Parking, as on PostgreSQL (see PostgresStatements.park), in steps of the claim's transaction: what the
        // claim's walk passed over and could not take is set aside, so that later claims do not walk it again.
        // 1. walk: the ready rows not under a live lease before a position (the claim's last candidate, or none),
        //    each with whether its own retry or delay is ahead. A plain read of the ready index. Parameters: the
        //    position, the limit. Those the claim did not find are looked at further:
        walk = """
                SELECT h.position, h.next_attempt_at > UTC_TIMESTAMP(6)
                FROM %1$s h FORCE INDEX (%2$s)
                WHERE h.published_at IS NULL AND h.dead_at IS NULL AND h.parked_until IS NULL
                  AND (h.lease_until IS NULL OR h.lease_until < UTC_TIMESTAMP(6)) AND h.position < ?
                ORDER BY h.position
                LIMIT ?""".formatted(t, ready);
        //    for ordered relays, the earliest earlier event of each one's aggregate that holds it back (null when
        //    none). Followed by the positions and ")".
        blockersPrefix = """
                SELECT h.position, h.aggregate_type, h.aggregate_id,
                       (SELECT b.position FROM %1$s b
                        WHERE b.aggregate_type = h.aggregate_type AND b.aggregate_id = h.aggregate_id
                          AND b.published_at IS NULL AND b.position < h.position AND %2$s
                        ORDER BY b.position LIMIT 1)
                FROM %1$s h
                WHERE h.position IN (""".formatted(t, holdsBack("b"));
        // 2. the blockers are locked (FOR UPDATE SKIP LOCKED, by primary key) while their followers are parked, and
        //    only if they still hold them back: another relay can then not claim and publish one before the parking
        //    commits, which would leave its followers parked with nothing left to release them.
        lockBlockersPrefix = """
                SELECT b.position, b.aggregate_type, b.aggregate_id
                FROM %1$s b FORCE INDEX (PRIMARY)
                WHERE b.published_at IS NULL AND %2$s AND b.position IN (""".formatted(t, holdsBack("b"));
        // 3. the locked blockers' followers: the later ready events of their aggregates. A plain read. Followed by
        //    one followerTerm per blocker, OR-ed, and ") LIMIT ?".
        followersPrefix = """
                SELECT position FROM %s
                WHERE published_at IS NULL AND dead_at IS NULL AND parked_until IS NULL AND (""".formatted(t);
        // 4. the rows to park are locked, those still ready and not under a live lease, and parked: followers for
        //    ever, the others until their retry or delay is due.
        lockParkablePrefix = """
                SELECT position FROM %1$s FORCE INDEX (PRIMARY)
                WHERE %2$s AND (lease_until IS NULL OR lease_until < UTC_TIMESTAMP(6)) AND position IN ("""
                .formatted(t, READY);
        parkForeverPrefix = "UPDATE %s SET parked_until = %s WHERE position IN (".formatted(t, FOREVER);
        parkUntilRetryPrefix = """
                UPDATE %s SET parked_until = next_attempt_at
                WHERE next_attempt_at > UTC_TIMESTAMP(6) AND position IN (""".formatted(t);

        // Publishing, requeueing or discarding an event releases the events parked behind it: every event parked
        // for ever of its aggregate (one look-up each in the parked index), and only when some event is parked for
        // ever at all (anyForever), so that healthy traffic pays one index probe. An event still held back by
        // another is parked again by the next claim that walks it. Followed by one releaseTerm per aggregate, OR-ed.
        anyForever = "SELECT 1 FROM %s WHERE parked_until = %s LIMIT 1".formatted(t, FOREVER);
        releasePrefix = """
                UPDATE %s SET parked_until = NULL
                WHERE parked_until = %s AND published_at IS NULL AND (""".formatted(t, FOREVER);

        // Parked rows whose time has come go back to the claim's walk, at every claim: a plain read of the parked
        // index, then an update by primary key. Parameter: the limit.
        dueParked = """
                SELECT position FROM %s
                WHERE parked_until <= UTC_TIMESTAMP(6)
                ORDER BY parked_until
                LIMIT ?""".formatted(t);
        unparkPrefix = """
                UPDATE %s SET parked_until = NULL
                WHERE parked_until <= UTC_TIMESTAMP(6) AND position IN (""".formatted(t);
        // Rows parked for ever with no earlier unpublished event left in their aggregate: stranded, as nothing would
        // release them (publishing, requeueing or discarding an earlier event does). One behind an event that is ready
        // again, leased or backing off waits for that event's publish, as it should. Looked for now and then, as a
        // safety net. Parameter: the limit.
        orphans = """
                SELECT h.position FROM %1$s h
                WHERE h.parked_until = %2$s
                  AND NOT EXISTS (
                    SELECT 1 FROM %1$s b
                    WHERE b.aggregate_type = h.aggregate_type AND b.aggregate_id = h.aggregate_id
                      AND b.published_at IS NULL AND b.position < h.position)
                LIMIT ?""".formatted(t, FOREVER);
        releaseOrphansPrefix = "UPDATE %s SET parked_until = NULL WHERE parked_until = %s AND position IN ("
                .formatted(t, FOREVER);

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
                SET published_at = UTC_TIMESTAMP(6), claimed_by = NULL, lease_token = NULL, lease_until = NULL,
                    parked_until = NULL
                WHERE lease_token = ? AND position IN (""".formatted(t);

        // One outcome: published | retry (after a delay in microseconds) | dead | released (not attempted: the
        // claim's attempt is given back and the event is due again after the delay, at once when it is 0). A delay
        // parks the event until it is due. Parameters: outcome three times, the delay, the outcome, the delay twice,
        // the outcome, the error, the position, the token. MySQL assigns left to right; every right-hand side here
        // reads a column before its own assignment. UTC_TIMESTAMP(6) is the statement's start throughout.
        recordOne = """
                UPDATE %s
                SET published_at    = CASE WHEN ? = 'published' THEN UTC_TIMESTAMP(6) END,
                    dead_at         = CASE WHEN ? = 'dead' THEN UTC_TIMESTAMP(6) END,
                    next_attempt_at = CASE WHEN ? IN ('retry', 'released') THEN UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND
                                           ELSE next_attempt_at END,
                    parked_until    = CASE WHEN ? IN ('retry', 'released') AND ? > 0
                                           THEN UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND END,
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
        // up to EXACT_COUNT_LIMIT; beyond, ready ones are sampled (readyRange, readyProbe) and parked and dead ones
        // are the optimizer's estimate of the index range (EXPLAIN's rows, from index dives). Ready, in flight (among
        // the oldest ready ones, where relays claim), parked, dead, and the oldest pending event's age in
        // milliseconds (a delayed event counts from when it is due), in one round trip. Parked events are pending:
        // publishing and every other outcome clear parked_until.
        stats = """
                SELECT
                  (SELECT count(*) FROM (
                     SELECT 1 FROM %1$s FORCE INDEX (%5$s) WHERE %6$s LIMIT %2$d) p),
                  (SELECT count(*) FROM (
                     SELECT lease_until FROM %1$s FORCE INDEX (%5$s) WHERE %6$s
                     ORDER BY position LIMIT %3$d) f
                   WHERE lease_until >= UTC_TIMESTAMP(6)),
                  (SELECT count(*) FROM (
                     SELECT 1 FROM %1$s WHERE parked_until IS NOT NULL LIMIT %2$d) k),
                  (SELECT count(*) FROM (
                     SELECT 1 FROM %1$s WHERE dead_at IS NOT NULL AND published_at IS NULL LIMIT %2$d) d),
                  (SELECT TIMESTAMPDIFF(MICROSECOND, min(created_at), UTC_TIMESTAMP(6)) DIV 1000
                   FROM (SELECT created_at, next_attempt_at, attempts FROM %1$s
                         WHERE published_at IS NULL AND dead_at IS NULL
                         ORDER BY created_at LIMIT %4$d) o
                   WHERE created_at <= UTC_TIMESTAMP(6) AND (attempts > 0 OR next_attempt_at <= UTC_TIMESTAMP(6)))"""
                .formatted(t, PostgresStatements.EXACT_COUNT_LIMIT + 1,
                PostgresStatements.READY_SCAN, PostgresStatements.OLDEST_SCAN, ready, READY);
        // For PendingEstimate: how many of the first READY_SCAN ready events there are, the last one's position and
        // the highest position; then how many of the positions given are ready.
        readyRange = """
                SELECT count(*), max(f.position), (SELECT max(position) FROM %1$s)
                FROM (SELECT position FROM %1$s FORCE INDEX (%3$s) WHERE %4$s
                      ORDER BY position LIMIT %2$d) f""".formatted(t, PostgresStatements.READY_SCAN, ready, READY);
        // Followed by one "position BETWEEN ? AND ?" range per run, OR-ed, and a closing parenthesis.
        readyProbe = "SELECT count(*) FROM %s WHERE %s AND (".formatted(t, READY);
        parkedEstimate = "EXPLAIN SELECT position FROM %s WHERE parked_until IS NOT NULL".formatted(t);
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
        // The aggregates whose events requeueing or discarding releases, read first: neither database returns rows
        // from an UPDATE or a DELETE.
        deadAggregates = """
                SELECT DISTINCT aggregate_type, aggregate_id FROM %s
                WHERE dead_at IS NOT NULL AND published_at IS NULL AND\s""".formatted(t);
        deadAggregatesById = deadAggregates + "id IN (";
        deadAggregatesByType = deadAggregates + "event_type = ?";
        // Requeueing every dead event releases every event parked for ever; a claim parks again those still held.
        releaseAll = "UPDATE %s SET parked_until = NULL WHERE parked_until = %s".formatted(t, FOREVER);

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

    /** @return each of {@code n} positions with its aggregate and the earliest event holding it back, or null */
    String blockers(int n) {
        return blockersPrefix + in(n);
    }

    /** @return the followers of {@code blockers} blockers, three parameters each (aggregate, position), then a limit */
    String followers(int blockers) {
        StringBuilder query = new StringBuilder(followersPrefix);
        for (int i = 0; i < blockers; i++) {
            query.append(i == 0 ? "" : " OR ").append("(aggregate_type = ? AND aggregate_id = ? AND position > ?)");
        }
        return query.append(")\nLIMIT ?").toString();
    }

    /** @return the lock of {@code n} blockers that still hold their followers back */
    String lockBlockers(int n) {
        return lockBlockersPrefix + in(n) + " FOR UPDATE SKIP LOCKED";
    }

    /** @return the lock of those of {@code n} positions that may be parked */
    String lockParkable(int n) {
        return lockParkablePrefix + in(n) + " FOR UPDATE SKIP LOCKED";
    }

    /** @return the parking for ever of {@code n} positions */
    String parkForever(int n) {
        return parkForeverPrefix + in(n);
    }

    /** @return the parking of {@code n} positions until their retry or delay is due */
    String parkUntilRetry(int n) {
        return parkUntilRetryPrefix + in(n);
    }

    /** @return the release of the events parked for ever of {@code aggregates} aggregates, two parameters each */
    String release(int aggregates) {
        StringBuilder query = new StringBuilder(releasePrefix);
        for (int i = 0; i < aggregates; i++) {
            query.append(i == 0 ? "" : " OR ").append("(aggregate_type = ? AND aggregate_id = ?)");
        }
        return query.append(')').toString();
    }

    /** @return the unparking of those of {@code n} positions whose time has come */
    String unpark(int n) {
        return unparkPrefix + in(n);
    }

    /** @return the release of {@code n} positions parked for ever with no earlier unpublished event left */
    String releaseOrphans(int n) {
        return releaseOrphansPrefix + in(n);
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
