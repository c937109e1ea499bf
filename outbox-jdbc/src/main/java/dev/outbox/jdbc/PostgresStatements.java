package dev.outbox.jdbc;

/**
 * Every SQL statement the outbox runs on PostgreSQL, for one table, next to the DDL in
 * {@code postgresql.sql} that they assume. All times come from the database clock ({@code now()}), so relays
 * on hosts with skewed clocks agree on leases and backoff.
 */
final class PostgresStatements {

    /** The columns a claim returns, in the order {@link ClaimedBatch} reads them. */
    private static final String EVENT_COLUMNS = """
            t.position, t.id, t.aggregate_type, t.aggregate_id, t.event_type, t.payload::text, t.headers::text,
            t.occurred_at, t.attempts""";

    /** What a claim returns: the event columns, then the row's age in microseconds (the database's clock). */
    private static final String CLAIM_COLUMNS = EVENT_COLUMNS
            + ", (extract(epoch FROM now() - t.created_at) * 1000000)::bigint";

    /** A row the relay may claim now: pending, not parked, due, and not under a live lease. */
    private static final String CLAIMABLE = """
            c.published_at IS NULL AND c.dead_at IS NULL AND c.parked_until IS NULL
              AND c.next_attempt_at <= now()
              AND (c.lease_until IS NULL OR c.lease_until < now())""";

    /**
     * The candidates that fit the batch's byte budget: the longest prefix, in position order, whose payloads add up to
     * at most :maxBytes, and always the first, so that no event is too large to be claimed. Candidates left out are
     * not leased; they stay locked only until the claim's statement ends.
     */
    private static final String ADMITTED = """
            admitted AS (
              SELECT position FROM (
                SELECT position, sum(bytes) OVER (ORDER BY position) AS running,
                       row_number() OVER (ORDER BY position) AS n
                FROM candidate) sized
              WHERE running <= :maxBytes OR n = 1
            )""";

    /**
     * Row {@code a} is pending, neither dead nor parked, and under no live lease: what a claim could take once nothing
     * holds it back, and what parking may set aside.
     */
    private static String unleasedReady(String a) {
        return ("%1$s.published_at IS NULL AND %1$s.dead_at IS NULL AND %1$s.parked_until IS NULL"
                + " AND (%1$s.lease_until IS NULL OR %1$s.lease_until < now())").formatted(a);
    }

    /** Row {@code a} cannot be published now: dead, backing off or delayed, or parked. */
    private static String holdsBack(String a) {
        return "(%1$s.dead_at IS NOT NULL OR %1$s.next_attempt_at > now() OR %1$s.parked_until IS NOT NULL)".formatted(a);
    }

    /**
     * Row {@code a} is pending and set aside from the claim's walk: dead or parked. The set-aside index holds the dead
     * and parked rows by aggregate, and is the only index whose predicate this matches: the unpublished test is inside
     * a CASE, which implies no index predicate. Written as {@code published_at IS NULL AND ...}, it also matched the
     * per-aggregate index of unpublished events, and once the small index of set-aside events had many pages for its
     * few rows (events parked for a retry and unparked leave it so), the planner took the other one and walked the
     * aggregate's whole history for each candidate: under a held horizon, in benchmark 12 with two relays and
     * retries, a claim of 100 events read 210,000 buffers (0.9 s) after 400 s, and claims stalled.
     */
    private static String aside(String a) {
        return setAside(a) + " AND " + unpublished(a);
    }

    /**
     * Row {@code a} is parked behind an earlier event of its aggregate ('infinity'), written so that of the indexes
     * only the set-aside one fits a look by aggregate: its predicate is implied by the OR, while the 'infinity' test is
     * inside a CASE, which implies no index predicate and is no index condition. Written as
     * {@code parked_until = 'infinity'}, the look also fitted the parked index, keyed by that column, and under a held
     * horizon the planner took it and read every entry parked 'infinity' since the horizon was taken, of every
     * aggregate, for each aggregate looked at: 2,000 buffers for a record of four events after three minutes of
     * benchmark 12 with two relays and retries, growing with the time pinned.
     */
    private static String held(String a) {
        return setAside(a) + " AND CASE WHEN %1$s.parked_until = 'infinity' THEN true ELSE false END".formatted(a);
    }

    /**
     * Row {@code a} is dead or parked: the set-aside index's predicate, written as that index declares it, so that the
     * looks built on it ({@link #aside}, {@link #held}) fit that index.
     */
    private static String setAside(String a) {
        return "(%1$s.dead_at IS NOT NULL OR %1$s.parked_until IS NOT NULL)".formatted(a);
    }

    /** Row {@code a} is unpublished, in a CASE that implies no index predicate (see {@link #aside}). */
    private static String unpublished(String a) {
        return "CASE WHEN %1$s.published_at IS NULL THEN true ELSE false END".formatted(a);
    }

    /**
     * An earlier unpublished event of {@code h}'s aggregate, whatever its state: publishing, requeueing or discarding
     * it releases the events parked behind it ('infinity'), {@code h} among them (or, with a share, a later publish of
     * the aggregate does). An event parked 'infinity' with none is stranded: nothing would ever release it. One
     * behind an event that is ready again, leased or backing off is waiting, as it should, for that event's publish.
     */
    private static String behindAnother(String table, String h) {
        return """
                EXISTS (
                  SELECT 1 FROM %1$s b
                  WHERE b.aggregate_type = %2$s.aggregate_type AND b.aggregate_id = %2$s.aggregate_id
                    AND b.position < %2$s.position AND b.published_at IS NULL
                  OFFSET 0)""".formatted(table, h);
    }

    /**
     * Parks what the claim's walk passed over and could not take, so that later claims do not walk it again: the
     * ready rows before the last candidate, or all of them when the claim found fewer than it asked for (at most
     * {@value #PARK_PER_CLAIM} rows looked at per claim).
     * <ul>
     * <li>An event held back by an earlier event of its aggregate (see {@link #holdsBack}) is parked until released
     *     ('infinity'), and so is every later unparked event of that aggregate: they move when that event is
     *     published ({@link #release}), requeued or discarded, whatever its retries do meanwhile.</li>
     * <li>An event whose own retry or delay is still ahead is parked until then.</li>
     * </ul>
     * Rows held back only by another relay's live lease are left alone: that clears within a lease.
     *
     * <p>The earliest event holding an aggregate back is locked FOR SHARE while its followers are parked, and they are
     * parked only if that lock is had and the event still holds them back: another relay can then not claim and
     * publish it before the parking commits, which would leave the followers parked with nothing left to release
     * them.
     */
    private static String park(String table, boolean ordered) {
        // Whether an earlier event holds h back, looking no lower than the walk's start (the floor) but for the dead
        // and parked events below it, which the set-aside index finds by aggregate. Above the floor, the first earlier
        // event that holds h back or is under a live lease decides: a lease is left alone (see above). Both looks are
        // made once for each aggregate walked (firsts), from the walk's start with no upper bound, and compared with
        // each row's position: the first such event of the aggregate is the first before h exactly when it is before
        // h. Bounded by each row's position instead, the look fitted the primary key too, which the planner took
        // under a held horizon (see the claim), and made for each row it costs a busy aggregate's followers a walk of
        // the others each wherever it cannot stop at the first.
        String blocked = !ordered ? """
                walked AS (
                  SELECT position, aggregate_type, aggregate_id, next_attempt_at, false AS blocked FROM walked_rows
                )""" : """
                firsts AS MATERIALIZED (
                  SELECT a.aggregate_type, a.aggregate_id, f.position AS first, f.holds, s.position AS aside
                  FROM (SELECT DISTINCT aggregate_type, aggregate_id FROM walked_rows) a
                  LEFT JOIN LATERAL (
                    SELECT b.position, %2$s AS holds FROM %1$s b
                    WHERE b.aggregate_type = a.aggregate_type AND b.aggregate_id = a.aggregate_id
                      AND b.position >= (SELECT position FROM walk)
                      AND b.published_at IS NULL AND (%2$s OR b.lease_until >= now())
                    ORDER BY b.aggregate_type, b.aggregate_id, b.position
                    LIMIT 1) f ON true
                  LEFT JOIN LATERAL (
                    SELECT b.position FROM %1$s b
                    WHERE b.aggregate_type = a.aggregate_type AND b.aggregate_id = a.aggregate_id AND %3$s
                    ORDER BY b.aggregate_type, b.aggregate_id, b.position
                    LIMIT 1) s ON true
                ), walked AS (
                  SELECT w.position, w.aggregate_type, w.aggregate_id, w.next_attempt_at,
                         coalesce(f.first < w.position AND f.holds, false) OR coalesce(f.aside < w.position, false)
                           AS blocked
                  FROM walked_rows w
                  JOIN firsts f ON f.aggregate_type = w.aggregate_type AND f.aggregate_id = w.aggregate_id
                )""".formatted(table, holdsBack("b"), aside("b"));
        return """
                walked_rows AS (
                  SELECT h.position, h.aggregate_type, h.aggregate_id, h.next_attempt_at
                  FROM %1$s h
                  WHERE %7$s
                    AND h.position >= (SELECT position FROM walk)
                    AND h.position < (SELECT CASE WHEN count(*) < :limit THEN 9223372036854775807 ELSE max(position) END
                                      FROM candidate)
                    AND h.position NOT IN (SELECT position FROM candidate)
                  ORDER BY h.position
                  LIMIT %2$d
                ), %3$s, blocker AS (
                  SELECT b.position, b.aggregate_type, b.aggregate_id
                  FROM unnest(ARRAY(
                      SELECT LEAST(
                          (SELECT min(x.position) FROM %1$s x
                           WHERE x.aggregate_type = w.aggregate_type AND x.aggregate_id = w.aggregate_id
                             AND x.position >= (SELECT position FROM walk) AND x.published_at IS NULL AND %4$s),
                          (SELECT min(x.position) FROM %1$s x
                           WHERE x.aggregate_type = w.aggregate_type AND x.aggregate_id = w.aggregate_id
                             AND %6$s))
                      FROM (SELECT DISTINCT aggregate_type, aggregate_id FROM walked WHERE blocked) w)) p(position)
                  JOIN %1$s b ON b.position = p.position
                  WHERE CASE WHEN b.published_at IS NULL THEN %5$s ELSE false END
                  FOR SHARE OF b SKIP LOCKED
                ), held AS (
                  SELECT position, next_attempt_at AS until FROM walked WHERE NOT blocked AND next_attempt_at > now()
                  UNION ALL
                  SELECT f.position, 'infinity'::timestamptz
                  FROM blocker k
                  CROSS JOIN LATERAL (
                    SELECT f.position FROM %1$s f
                    WHERE f.aggregate_type = k.aggregate_type AND f.aggregate_id = k.aggregate_id
                      AND f.position > k.position AND %8$s
                    ORDER BY f.aggregate_type, f.aggregate_id, f.position) f
                ), parked AS (
                  UPDATE %1$s t SET parked_until = held.until
                  FROM held
                  WHERE t.position = held.position AND (t.lease_until IS NULL OR t.lease_until < now())
                    AND t.position IN (SELECT position FROM %1$s WHERE position IN (SELECT position FROM held)
                                       FOR UPDATE SKIP LOCKED)
                )""".formatted(table, PARK_PER_CLAIM, blocked, holdsBack("x"), holdsBack("b"), aside("x"),
                unleasedReady("h"), unleasedReady("f"));
    }

    /**
     * Releases the events parked behind an earlier event ('infinity') of the aggregates in {@code cte}, whose event
     * was just published, requeued or discarded. An event still held back by another is parked again by the next
     * claim that walks it. When it releases any, it draws from the re-entry sequence
     * ({@code drawn}): relays then know that events became ready again, maybe below their floor.
     *
     * <p>With a {@code share}, each aggregate's first {@code share} held events are released, in position order, unless
     * a share released before is still waiting (the aggregate's first unpublished event under no live lease is not
     * parked), and the rest stay for a later publish of the aggregate's events: a claim that leases no more of an
     * aggregate than a batch sends parks the rest of its backlog behind the leased ones (see {@link #claim}), so that
     * the next share is ready, and no more. Releasing all of it at each publish, or a share at each of a slow batch's
     * several records, would have the next claim find a batch's worth of the aggregate's events in front of every
     * other's, lease a share of them and park the rest again, batch after batch. The look at the first event starts
     * after the last one published of the aggregate and steps over its leased events only, at most a share, and is
     * made only for aggregates that hold events back.
     *
     * <p>ARRAY(...) computes the positions first, and LATERAL with OFFSET 0 makes each aggregate one lookup in the
     * set-aside index ({@link #held}; with a share, in position order, LIMIT being the fence; its unpublished test
     * is in a CASE, as in {@link #aside}): the planner, which cannot estimate the CTE, would otherwise loop over every
     * held row once per aggregate (0.9 s for 500 published events with 7,500 held). The positions are joined by
     * primary key, with the unpublished test inside a CASE: written as
     * {@code position = ANY(...) AND published_at IS NULL}, the planner took the partial per-aggregate index, whose
     * predicate that matches, and walked it whole (a second under a held horizon); a CASE implies no index predicate,
     * so only the primary key fits. The park's blocker does the same.
     */
    private static String release(String table, String cte, String reentry, String reentries, int share) {
        boolean shared = share != Integer.MAX_VALUE;
        String fence = !shared ? "OFFSET 0" : """
                AND %3$s
                        ORDER BY h.aggregate_type, h.aggregate_id, h.position
                        LIMIT CASE WHEN (SELECT f.parked_until IS NULL FROM %1$s f
                                         WHERE f.aggregate_type = r.aggregate_type AND f.aggregate_id = r.aggregate_id
                                           AND f.position > r.last AND f.published_at IS NULL
                                           AND (f.lease_until IS NULL OR f.lease_until < now())
                                         ORDER BY f.aggregate_type, f.aggregate_id, f.position
                                         LIMIT 1) THEN 0 ELSE %2$d END""".formatted(table, share, unpublished("h"));
        // With a share, only aggregates that hold events back (one look in the set-aside index each: OFFSET 0, or the
        // planner makes it a semi-join that reads every held row, 50,000 behind a dead event, at every record), each
        // with the last position published of it, from which the look for a waiting share starts.
        String aggregates = !shared ? "SELECT DISTINCT aggregate_type, aggregate_id FROM " + cte : """
                SELECT d.aggregate_type, d.aggregate_id, max(d.position) AS last FROM (SELECT * FROM %2$s) d
                      WHERE EXISTS (SELECT 1 FROM %1$s x
                                    WHERE x.aggregate_type = d.aggregate_type AND x.aggregate_id = d.aggregate_id
                                      AND %3$s
                                    OFFSET 0)
                      GROUP BY d.aggregate_type, d.aggregate_id""".formatted(table, cte, held("x"));
        return """
                released AS (
                  UPDATE %1$s t SET parked_until = NULL
                  FROM unnest(ARRAY(
                    SELECT h.position
                    FROM (%4$s) r
                    CROSS JOIN LATERAL (
                      SELECT position FROM %1$s h
                      WHERE h.aggregate_type = r.aggregate_type AND h.aggregate_id = r.aggregate_id
                        AND %5$s
                      %3$s) h)) p(position)
                  WHERE t.position = p.position AND CASE WHEN t.published_at IS NULL THEN true ELSE false END
                  RETURNING t.position
                ), %2$s""".formatted(table, reentered(reentry, reentries, "released"), fence, aggregates, held("h"));
    }

    /**
     * When the statement's CTE {@code cte} (of positions) made any events ready again, draws from the re-entry
     * sequence ({@code drawn}: relays then know that events became ready again, maybe below their floor) and logs the
     * draw with the lowest of them in the table's re-entry log ({@code logged}), so that another relay lowers its
     * floor to that position rather than walking from the first one. In the statement's transaction: the row is
     * visible when the events are.
     */
    private static String reentered(String reentry, String reentries, String cte) {
        return """
                drawn AS (
                  SELECT nextval('%1$s') AS n WHERE EXISTS (SELECT 1 FROM %3$s)
                ), logged AS (
                  INSERT INTO %2$s (draw, position) SELECT n, coalesce((SELECT min(position) FROM %3$s), 0) FROM drawn
                )""".formatted(reentry, reentries, cte);
    }

    /**
     * The oldest holder of the horizon (HorizonHolder): kind, age in milliseconds, xid age, who, pid. Sessions with a
     * snapshot or transaction id (this one and autovacuum's workers left out), replication slots and prepared
     * transactions, the one with the oldest xmin first.
     */
    static final String HORIZON = """
            SELECT kind, age_ms, age(x), who, pid FROM (
              SELECT 'SESSION' AS kind, (extract(epoch FROM now() - coalesce(a.xact_start, a.query_start)) * 1000)::bigint
                     AS age_ms,
                     CASE WHEN a.backend_xid IS NULL THEN a.backend_xmin
                          WHEN a.backend_xmin IS NULL THEN a.backend_xid
                          WHEN age(a.backend_xid) > age(a.backend_xmin) THEN a.backend_xid
                          ELSE a.backend_xmin END AS x,
                     format('pid %s, user %s, application %s, client %s, %s since %s: %s', a.pid, a.usename,
                            nullif(a.application_name, ''), a.client_addr, a.state,
                            to_char(coalesce(a.xact_start, a.query_start), 'YYYY-MM-DD HH24:MI:SS TZ'),
                            left(regexp_replace(a.query, '\s+', ' ', 'g'), 200)) AS who,
                     a.pid::bigint AS pid
              FROM pg_stat_activity a
              WHERE (a.backend_xmin IS NOT NULL OR a.backend_xid IS NOT NULL) AND a.pid <> pg_backend_pid()
                AND a.backend_type <> 'autovacuum worker' -- vacuum ignores vacuum's own snapshot
              UNION ALL
              SELECT 'REPLICATION_SLOT', 0, s.xmin,
                     format('replication slot %s (%s, %s)', s.slot_name, s.slot_type,
                            CASE WHEN s.active THEN 'active' ELSE 'inactive' END), NULL
              FROM pg_replication_slots s
              WHERE s.xmin IS NOT NULL
              UNION ALL
              SELECT 'PREPARED_TRANSACTION', (extract(epoch FROM now() - p.prepared) * 1000)::bigint, p.transaction,
                     format('prepared transaction %s of %s', p.gid, p.owner), NULL
              FROM pg_prepared_xacts p
            ) h
            ORDER BY age(x) DESC
            LIMIT 1""";

    /** Counts up to this are exact in {@link #stats}; larger ones are estimates. */
    static final int EXACT_COUNT_LIMIT = 1_000;

    /**
     * How many of the oldest ready events stats() counts, exactly, and looks at for live leases: relays claim from
     * there, so that in-flight events are among them.
     */
    static final int READY_SCAN = EXACT_COUNT_LIMIT + 1;

    /** How many of the oldest pending events stats() looks at for the oldest pending age. */
    static final int OLDEST_SCAN = 100;

    /** Most ready rows one claim looks at for parking; a longer stretch is parked over the next claims. */
    static final int PARK_PER_CLAIM = 5_000;

    /** Most parked rows one claim makes ready again. */
    static final int UNPARK_PER_CLAIM = 10_000;

    final String insert;
    final String insertMany;
    final String insertNotifying;
    final String insertDelayed;
    final String insertDelayedNotifying;
    final String insertManyNotifying;
    private final String claimOrdered;
    private final String claimUnordered;
    final String unparkDue;
    final String unparkOrphans;
    final String readyBelowFloor;
    final String trimReentries;
    final String listen;
    final String running;
    final String stillRunning;
    final String recordPublished;
    final String renewLease;
    final String recordOutcomes;
    final String stats;
    final String probes;
    final String listDead;
    final String requeueDeadById;
    final String requeueDeadByType;
    final String requeueAllDead;
    final String discardDeadById;
    final String releaseBehind;
    final String purgePublished;

    /** Writes the lease on the rows of {@code claimed} (a CTE of positions) and returns the events. */
    private static String lease(String table, String claimed) {
        return """
                UPDATE %1$s t
                SET claimed_by = ?, lease_token = ?, lease_until = now() + ? * interval '1 millisecond',
                    attempts = t.attempts + 1
                FROM %2$s
                WHERE t.position = %2$s.position
                RETURNING %3$s""".formatted(table, claimed, CLAIM_COLUMNS);
    }

    /**
     * The claim for {@code ordering}, at most {@code limit} events and {@code maxBytes} of payload (but always one
     * event), with its parameters owner, lease token and lease in milliseconds.
     *
     * <p>The batch size is written in as a literal, not a parameter: once pgjdbc prepares the statement on the
     * server, PostgreSQL may switch to a generic plan, and with an unknown LIMIT the ordered claim's generic plan
     * took 520 to 680 ms on 100,000 pending events where the custom plan took 25 to 29 ms.
     *
     * <p>With {@code parking} the claim also parks what its walk passed over and could not take ({@link #park}); that
     * walks the stretch a second time, so the relay asks for it only now and then.
     */
    String claim(Ordering ordering, int limit, long maxBytes, boolean parking) {
        return claim(ordering, limit, maxBytes, parking, Integer.MAX_VALUE);
    }

    /**
     * The claim, as above, leasing at most {@code perAggregate} events of one aggregate (the first ones, in position
     * order). A batch takes no more of one aggregate than it can send, so a hot aggregate's backlog is not leased and
     * given back batch after batch. An aggregate that fills its share has the rest of its ready backlog parked behind
     * the leased events ('infinity', up to {@value #PARK_PER_CLAIM} rows a claim): every one of them is held back by
     * an event this statement leases, so no other claim could take them, and out of the ready index they cost later
     * claims nothing while the aggregate is in flight. Parking only the candidates beyond the share was not enough:
     * once the share was published, the next claim's candidates were the aggregate's next ready events, a whole
     * batch's worth of them, and it leased a share of them and nothing else, batch after batch, while every other
     * aggregate waited for the other loops. Publishing the leased events releases the next share
     * ({@link #recordPublished(int)}); an outcome other than published keeps them parked until the event holding them
     * back is published, requeued or discarded, as for any held event.
     */
    String claim(Ordering ordering, int limit, long maxBytes, boolean parking, int perAggregate) {
        boolean ordered = ordering == Ordering.PER_AGGREGATE;
        String template = ordered ? claimOrdered : claimUnordered;
        String park = parking ? ", " + park(table.qualifiedName(), ordered) : "";
        boolean capped = share(ordering, limit, perAggregate) != Integer.MAX_VALUE;
        String cap = !capped ? "" : """
                , kept AS (
                  SELECT position FROM (
                    SELECT c.position,
                           row_number() OVER (PARTITION BY c.aggregate_type, c.aggregate_id ORDER BY c.position) AS n
                    FROM claimable k JOIN candidate c ON c.position = k.position) ranked
                  WHERE n <= %1$d
                ), full_share AS (
                  SELECT c.aggregate_type, c.aggregate_id, max(c.position) AS last
                  FROM kept k JOIN candidate c ON c.position = k.position
                  GROUP BY c.aggregate_type, c.aggregate_id
                  HAVING count(*) >= %1$d
                ), beyond AS (
                  UPDATE %2$s t SET parked_until = 'infinity'
                  FROM unnest(ARRAY(
                    SELECT f.position FROM full_share a
                    CROSS JOIN LATERAL (
                      SELECT f.position FROM %2$s f
                      WHERE f.aggregate_type = a.aggregate_type AND f.aggregate_id = a.aggregate_id
                        AND f.position > a.last AND %4$s
                      ORDER BY f.aggregate_type, f.aggregate_id, f.position
                      LIMIT %3$d) f)) p(position)
                  WHERE t.position = p.position
                    AND t.position IN (SELECT position FROM %2$s WHERE position = p.position FOR UPDATE SKIP LOCKED)
                )""".formatted(perAggregate, table.qualifiedName(), PARK_PER_CLAIM, unleasedReady("f"));
        return template.replace(":park", park)
                .replace(":cap", cap)
                .replace(":leased", capped ? "kept" : "claimable")
                .replace(":limit", Integer.toString(limit))
                .replace(":maxBytes", Long.toString(maxBytes));
    }

    /**
     * @return how many events of one aggregate a claim of {@code limit} leases and a publish releases, the rest of a
     *         busy aggregate's backlog parked behind them: {@code perAggregate} when ordered and below the limit,
     *         else {@link Integer#MAX_VALUE} (no share: claims are not capped and a publish releases all)
     */
    static int share(Ordering ordering, int limit, int perAggregate) {
        return ordering == Ordering.PER_AGGREGATE && perAggregate < limit ? perAggregate : Integer.MAX_VALUE;
    }

    /**
     * The parking claim as the relay sends it: two statements in one round trip, which PostgreSQL runs as one implicit
     * transaction: the {@link #planning} settings (JIT compilation off, generic plans), then the claim.
     */
    String parkingClaim(Ordering ordering, int limit, long maxBytes) {
        return parkingClaim(ordering, limit, maxBytes, Integer.MAX_VALUE);
    }

    /** The parking claim, leasing at most {@code perAggregate} events of one aggregate. */
    String parkingClaim(Ordering ordering, int limit, long maxBytes, int perAggregate) {
        return planning + claim(ordering, limit, maxBytes, true, perAggregate);
    }

    /**
     * Marks events published (parameters: positions, lease token), releasing the events held behind them: all of
     * them, or each aggregate's first {@code share} (see {@link #release}). Two statements: see {@link #recording}.
     */
    String recordPublished(int share) {
        return recording("""
                UPDATE %s t
                SET published_at = now(), claimed_by = NULL, lease_token = NULL, lease_until = NULL,
                    parked_until = NULL
                WHERE t.position = ANY(?::bigint[]) AND t.lease_token = ?
                RETURNING t.position""".formatted(table.qualifiedName()), share);
    }

    /**
     * Writes outcomes (parameters: positions, outcomes, delays, errors, lease token), releasing the events held behind
     * the published ones: all of them, or each aggregate's first {@code share} (see {@link #release}). Two statements:
     * see {@link #recording}.
     */
    String recordOutcomes(int share) {
        return recording("""
                UPDATE %s t
                SET published_at    = CASE WHEN o.outcome = 'published' THEN now() END,
                    dead_at         = CASE WHEN o.outcome = 'dead' THEN now() END,
                    next_attempt_at = CASE WHEN o.outcome IN ('retry', 'released')
                                           THEN now() + o.delay_ms * interval '1 millisecond'
                                           ELSE t.next_attempt_at END,
                    parked_until    = CASE WHEN o.outcome IN ('retry', 'released') AND o.delay_ms > 0
                                           THEN now() + o.delay_ms * interval '1 millisecond' END,
                    attempts        = CASE WHEN o.outcome = 'released' THEN t.attempts - 1 ELSE t.attempts END,
                    last_error      = COALESCE(o.error, t.last_error),
                    claimed_by = NULL, lease_token = NULL, lease_until = NULL
                FROM unnest(?::bigint[], ?::text[], ?::bigint[], ?::text[]) AS o(position, outcome, delay_ms, error)
                WHERE t.position = o.position AND t.lease_token = ?
                RETURNING t.position""".formatted(table.qualifiedName()), share);
    }

    /**
     * A record: two statements, sent in one round trip and so run in one transaction. First {@code update}, returning
     * each position written; then the release of what the events it published held back, returning how many were
     * released, the lowest of them and the re-entry draw. The second statement finds the events published by the
     * first as those whose {@code published_at} is the transaction's time (the published-at index, one entry each).
     *
     * <p>Two statements, not one, because a statement sees the table as of its start. A parking claim that parks
     * events behind one being published locks it ({@code FOR SHARE}, {@link #park}) until the claim commits, and the
     * update of that event waits for the lock; a release in the same statement as the update then looked at the held
     * events as they were before the claim committed, and left the ones it had just parked behind an event that was
     * published, until the relays' look for such events. The second statement starts after the first has its locks,
     * so it sees every park that committed before: a claim either parks before the publish can lock the event, and
     * the release sees it, or finds the event locked or published, and parks nothing behind it.
     */
    private String recording(String update, int share) {
        String t = table.qualifiedName();
        return update + ";\n" + """
                WITH done AS (
                  SELECT position, aggregate_type, aggregate_id FROM %1$s WHERE published_at = now()
                ), %2$s
                SELECT (SELECT count(*) FROM released), (SELECT min(position) FROM released), (SELECT n FROM drawn)"""
                .formatted(t, release(t, "done", table.reentrySequenceQualifiedName(), table.reentriesQualifiedName(),
                        share));
    }

    /** How many of the newest rows the re-entry log keeps when relays trim it. */
    static final int REENTRIES_KEPT = 100_000;

    /**
     * How the relay's statements that run at every claim and record are planned, set for the rest of the transaction
     * (the implicit one of statements sent in one round trip too, so the relay sends it before each of them): JIT
     * compilation off, and generic plans. The parking claim's plan is estimated expensive enough for PostgreSQL's
     * default {@code jit_above_cost}, and compiling it took a second for a statement that runs in milliseconds. Once
     * pgjdbc prepares a statement on the server (its {@code prepareThreshold}, 5 uses on a connection by default),
     * PostgreSQL plans it for each execution's parameters for five executions and then keeps a generic plan only if
     * that plan's estimated cost is no higher; the claim's generic plan is estimated higher (it cannot know that the
     * floor is near the newest position), so every claim, sighting and record was planned afresh: 1.5 to 3 ms of CPU
     * for statements that execute in 0.2 to 0.4 ms, more while a long transaction holds the horizon. In benchmark 12
     * with two relays the mean claim went from 2.7 to 4.0 ms free to 4.1 to 9.6 ms in the last five minutes pinned;
     * with generic plans, 1.2 to 1.7 ms free and 0.9 to 3.0 ms pinned. Their LIMITs are literals and their walks start
     * from positions computed inside the statement, so the generic plans walk the same indexes and cost the same to
     * execute; the plan tests explain the generic plans ({@code ClaimPlans}). Where statements are not prepared on the
     * server ({@code prepareThreshold=0}), each is planned at each execution, as before.
     *
     * <p>On a {@linkplain OutboxSchema#postgresRotated(OutboxTable) rotated table} (partitioned: the statement looks at
     * the table's kind, a cache lookup) each is planned afresh instead: a generic plan is made once, when the
     * partition that appends just moved to is empty or nearly so, and kept while it grows; in benchmark 12 such a plan
     * took the claim from 2 ms to seconds within a minute of the first move (a walk that sorted every ready event of
     * that partition), where plans made at each execution size each partition as it is. Sequential scans are off for
     * them there too: a partition analyzed while empty has no column statistics, and with custom plans alone the
     * relay still stalled for some 40 s after the third move of one run; with both, no window of two runs did.
     */
    final String planning;

    private final OutboxTable table;

    PostgresStatements(OutboxTable table) {
        this.table = table;
        String t = table.qualifiedName();
        this.planning = ("SELECT set_config('jit', 'off', true), set_config('plan_cache_mode', CASE WHEN p"
                + " THEN 'force_custom_plan' ELSE 'force_generic_plan' END, true), set_config('enable_seqscan',"
                + " CASE WHEN p THEN 'off' ELSE current_setting('enable_seqscan') END, true)"
                + " FROM (SELECT relkind = 'p' AS p FROM pg_class WHERE oid = '%s'::regclass) k;\n").formatted(t);
        String reentry = table.reentrySequenceQualifiedName();
        String reentries = table.reentriesQualifiedName();
        // Where the claim's walk starts: the relay's floor (parameter 2), or below it the lowest position the re-entry
        // log holds for draws the relay has not taken in (parameter 1, an array: the highest draw it has taken in,
        // then the draws it waits for, ReentryAccount): statements it has not heard of made events ready again there.
        // A draw whose row the claim's snapshot does not see made nothing ready that the snapshot sees (its statement
        // has not committed, or rolled back). More draws than the relay reads one by one: from the first position.
        String walk = """
                walk AS (
                  SELECT CASE WHEN s.last - s.seen[1] > %3$d THEN 0
                              ELSE least(r.low, s.floor) END AS position
                  FROM (SELECT coalesce(pg_sequence_last_value('%1$s'), 0) AS last, ?::bigint[] AS seen,
                               ?::bigint AS floor) s
                  CROSS JOIN LATERAL (SELECT min(x.position) AS low FROM (
                                        SELECT position FROM %2$s WHERE draw > s.seen[1] AND draw <= s.last
                                        UNION ALL
                                        SELECT position FROM %2$s WHERE draw = ANY(s.seen[2:])) x) r
                )""".formatted(reentry, reentries, ReentryAccount.MAX_UNACCOUNTED);

        insert = """
                INSERT INTO %s (id, aggregate_type, aggregate_id, event_type, payload, headers, occurred_at)
                VALUES (?, ?, ?, ?, ?::json, ?::jsonb, ?)""".formatted(t);

        // Due no earlier than an instant (parameter 8) or a delay in milliseconds after now() (parameter 9), whichever
        // is given, and never before now().
        // Parked until then when that is ahead, so that the claim does not walk it meanwhile. Its created_at is when
        // it is due: it waits, and its publish lag counts, from then on.
        insertDelayed = """
                INSERT INTO %s (id, aggregate_type, aggregate_id, event_type, payload, headers, occurred_at, next_attempt_at,
                                parked_until, created_at)
                SELECT e.*, CASE WHEN e.due > now() THEN e.due END, e.due
                FROM (VALUES (?::uuid, ?, ?, ?, ?::json, ?::jsonb, ?::timestamptz,
                              GREATEST(now(), COALESCE(?::timestamptz, now() + ? * interval '1 millisecond'))))
                     AS e(id, aggregate_type, aggregate_id, event_type, payload, headers, occurred_at, due)""".formatted(t);

        // One round trip for many events; WITH ORDINALITY + ORDER BY keeps positions in the caller's order.
        insertMany = """
                INSERT INTO %s (id, aggregate_type, aggregate_id, event_type, payload, headers, occurred_at)
                SELECT e.id::uuid, e.aggregate_type, e.aggregate_id, e.event_type, e.payload::json,
                       e.headers::jsonb, e.occurred_at::timestamptz
                FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
                     WITH ORDINALITY AS e(id, aggregate_type, aggregate_id, event_type, payload, headers, occurred_at, n)
                ORDER BY e.n""".formatted(t);

        // The same inserts, sending a notification that PostgreSQL delivers to listening relays when the caller's
        // transaction commits, and drops when it rolls back. Identical notifications of one transaction are
        // delivered once, so a transaction appending many events wakes each relay once. PostgreSQL commits notifying
        // transactions one at a time, so a notification nobody waits for would cost every writer for nothing: it is
        // sent only by the first append after a relay loop started to wait. A loop about to wait sets the table's
        // wake sequence back to its start (listen, below); the append that draws 1 from it notifies, and every later
        // one draws more and sends nothing, until a loop waits again; one notification wakes every waiting loop of
        // every relay on the table. While no loop waits, an append only reads the sequence (is_called), which takes
        // no lock that another append waits for and writes nothing; it draws only while the sequence is set back.
        // A sequence is outside transactions: the append that draws 1 has taken the
        // wake-up whatever its isolation level and whether it commits, and appends running meanwhile never wait for
        // it. If that append's transaction rolls back, the notification is gone with it, and loops waiting then find
        // later commits at their next poll.
        // The appending transaction takes its id (txid_current) before it reads the sequence (CASE evaluates in
        // order; the statement's insert runs after its condition): an append that read it just before a loop set it
        // back, and commits after that loop's last claim, is among the transactions the loop saw running, which it
        // looks at until they end (Claims). pg_sequence_last_value is null while the sequence is set back: it reads
        // is_called as a function, cheaper per append than a subquery on the sequence (pgbench, one INSERT a
        // transaction, commits not flushed: about 0.9x of the bare insert's rate against 0.8x).
        String notify = """

                SELECT pg_notify('%1$s', '')
                WHERE CASE WHEN txid_current() IS NULL THEN false
                           WHEN pg_sequence_last_value('%2$s') IS NOT NULL THEN false
                           ELSE nextval('%2$s') = 1 END""".formatted(
                table.channel(), table.wakeSequenceQualifiedName());
        insertNotifying = "WITH appended AS (\n" + insert + "\n)" + notify;
        insertManyNotifying = "WITH appended AS (\n" + insertMany + "\n)" + notify;
        insertDelayedNotifying = "WITH appended AS (\n" + insertDelayed + "\n)" + notify;

        // Per-aggregate order, in two steps.
        // 1. candidate: the first claimable rows in position order whose aggregate's first unpublished event (from
        //    the walk's start) is not dead, backing off or leased to a live claim, and that have no earlier dead or
        //    parked event. Filtering blocked rows here keeps one stuck aggregate from filling every batch; it looks
        //    at the aggregate's first event only, one index entry, so that a busy aggregate's rows do not each step
        //    over all the others. SKIP LOCKED passes over rows another relay is claiming.
        // 2. claimable: a candidate is taken only if every earlier unpublished event of its aggregate is also a
        //    candidate of this claim: before the aggregate's first unpublished event that is not a candidate (gap,
        //    one walk of the aggregate's index entries per aggregate, not one per candidate: MATERIALIZED, or the
        //    planner inlines it and runs the walk for each candidate, twice). That is the test that
        //    keeps the order: it catches whatever step 1 does not look at, an earlier event that holds back or is
        //    leased behind the first one, or an event skipped because another relay holds its lock right now.
        // 3. kept (when the relay caps an aggregate's share of a batch): the first claimable events of each aggregate.
        // Then the lease is written. Rows come back in any order; ClaimedBatch sorts them by position.
        // Every walk starts at the relay's floor (walk, ClaimFloor): no event at or below it is ready, and an
        // unpublished event below it is dead or parked, which the set-aside index finds by aggregate. So neither the
        // walk nor the aggregate checks step over the index entries of events published before the floor, which
        // stay until vacuum removes them, and vacuum cannot while a long transaction holds the horizon.
        // The look at the aggregate's first event has no upper bound (c is unpublished, so the first event from the
        // walk's start is c or an earlier one), so that only the per-aggregate index serves it well: bounded by the
        // walk's start and c's position, the primary key fitted it too with a narrow range as the planner estimates
        // one, and under a held horizon, whose dead entries leave the per-aggregate index with many pages for its few
        // rows, the planner took the primary key and walked every event between the walk's start and each candidate
        // (3.4 million buffers, 1.5 s, for a claim of 202 events in benchmark 12 with two relays and retries).
        // OFFSET 0 (LIMIT 1 for the first event) keeps each NOT EXISTS a per-row lookup on an aggregate index:
        // without it the planner turns them into anti-joins over every unpublished row, which makes each claim cost
        // as much as the whole backlog (141 ms instead of 31 ms for 500 of 100,000 pending events).
        claimOrdered = """
                WITH %5$s, candidate AS (
                  SELECT c.position, c.aggregate_type, c.aggregate_id, octet_length(c.payload::text) AS bytes
                  FROM %1$s c
                  WHERE %2$s AND c.position >= (SELECT position FROM walk)
                    AND NOT EXISTS (
                      SELECT 1 FROM (
                        SELECT b.position, b.dead_at, b.next_attempt_at, b.parked_until, b.lease_until FROM %1$s b
                        WHERE b.aggregate_type = c.aggregate_type AND b.aggregate_id = c.aggregate_id
                          AND b.position >= (SELECT position FROM walk) AND b.published_at IS NULL
                        ORDER BY b.aggregate_type, b.aggregate_id, b.position
                        LIMIT 1) b
                      WHERE b.position < c.position AND (%4$s OR b.lease_until >= now()))
                    AND NOT EXISTS (
                      SELECT 1 FROM %1$s b
                      WHERE b.aggregate_type = c.aggregate_type AND b.aggregate_id = c.aggregate_id
                        AND b.position < c.position AND %6$s
                      OFFSET 0)
                  ORDER BY c.position
                  LIMIT :limit
                  FOR UPDATE SKIP LOCKED
                ), %3$s, gap AS MATERIALIZED (
                  SELECT a.aggregate_type, a.aggregate_id,
                         (SELECT b.position FROM %1$s b
                          WHERE b.aggregate_type = a.aggregate_type AND b.aggregate_id = a.aggregate_id
                            AND b.position >= (SELECT position FROM walk) AND b.published_at IS NULL
                            AND b.position NOT IN (SELECT position FROM candidate)
                          ORDER BY b.aggregate_type, b.aggregate_id, b.position
                          LIMIT 1) AS position
                  FROM (SELECT DISTINCT aggregate_type, aggregate_id FROM candidate) a
                ), claimable AS (
                  SELECT c.position
                  FROM admitted k JOIN candidate c ON c.position = k.position
                  JOIN gap g ON g.aggregate_type = c.aggregate_type AND g.aggregate_id = c.aggregate_id
                  WHERE g.position IS NULL OR c.position < g.position
                ):cap:park
                """.formatted(t, CLAIMABLE, ADMITTED, holdsBack("b"), walk, aside("b")) + lease(t, ":leased");

        claimUnordered = """
                WITH %4$s, candidate AS (
                  SELECT c.position, octet_length(c.payload::text) AS bytes
                  FROM %1$s c
                  WHERE %2$s AND c.position >= (SELECT position FROM walk)
                  ORDER BY c.position
                  LIMIT :limit
                  FOR UPDATE SKIP LOCKED
                ), %3$s:park
                """.formatted(t, CLAIMABLE, ADMITTED, walk) + lease(t, "admitted");

        // Parked rows whose time has come go back to the claim's walk, a part of every claim. A row may come back
        // while still held (its aggregate's head failed again): a claim then parks it anew.
        // Parameter 1: due after this time. The relay passes a few seconds before its last such statement's time, so that
        // the walk of the parked index does not step over the entries left by events unparked before, which stay until
        // vacuum removes them; now and then (its sweep) it passes the earliest time, and every event due is found.
        // The same statement sights the table for the relay's floor (ClaimFloor), walking from it (parameter 2): the
        // lowest position it made ready and what it drew from the re-entry sequence, the first ready position, the
        // highest position, the transactions that drew positions or re-entries and have not ended (nextval locks the
        // sequence until the transaction ends, and takes the lock before it draws; pg_locks is read after the
        // snapshot; purges and claims draw none): a floor sent back to the start for a re-entry does not rise past
        // the events it made ready before they are visible; and the re-entry sequence's last value; then the
        // statement's time, how many events it unparked, and whether a ready event at or above the floor the claim
        // walks from (parameter 3) is under no live lease: if the claim then takes nothing, it passed over something it
        // could not take, which the next claim parks. Each part orders by position, so that it walks the ready index
        // from the floor: an EXISTS without an order was planned on the pending_since index, which it walked whole
        // (124 ms under a held horizon).
        unparkDue = """
                WITH unparked AS (
                  UPDATE %1$s SET parked_until = NULL
                  WHERE position IN (
                    SELECT position FROM %1$s
                    WHERE parked_until <= now() AND parked_until > ?
                    ORDER BY parked_until
                    LIMIT %2$d
                    FOR UPDATE SKIP LOCKED)
                  RETURNING position
                ), %4$s
                SELECT (SELECT min(position) FROM unparked),
                       (SELECT n FROM drawn),
                       (SELECT position FROM %1$s
                        WHERE published_at IS NULL AND dead_at IS NULL AND parked_until IS NULL AND position >= ?
                        ORDER BY position LIMIT 1),
                       (SELECT max(position) FROM %1$s),
                       ARRAY(SELECT l.virtualtransaction FROM pg_locks l
                             WHERE l.locktype = 'relation'
                               AND l.relation IN (pg_get_serial_sequence('%1$s', 'position')::regclass,
                                                  '%3$s'::regclass)
                               AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()),
                       coalesce(pg_sequence_last_value('%3$s'), 0),
                       now(), (SELECT count(*) FROM unparked),
                       (SELECT position FROM %1$s
                        WHERE published_at IS NULL AND dead_at IS NULL AND parked_until IS NULL AND position >= ?
                          AND (lease_until IS NULL OR lease_until < now())
                        ORDER BY position LIMIT 1) IS NOT NULL,
                       r.draws, r.positions
                FROM (SELECT array_agg(draw ORDER BY draw) AS draws, array_agg(position ORDER BY draw) AS positions
                      FROM (SELECT draw, position FROM %5$s WHERE draw > ? ORDER BY draw LIMIT %6$d) x) r"""
                .formatted(t, UNPARK_PER_CLAIM, reentry, reentered(reentry, reentries, "unparked"),
                        reentries, ReentryAccount.MAX_UNACCOUNTED);

        // Rows parked behind an earlier event ('infinity') with no earlier unpublished event left in their aggregate
        // (behindAnother): stranded. Publishing, requeueing and discarding release what is parked behind an event,
        // seeing whatever a claim parked while they waited for its lock (recording), so only something else strands
        // one (RelayStore.orphansReleased). Run now and then, as a safety net. Returns the lowest position made ready,
        // the draw from the re-entry sequence and how many, or no row when none.
        unparkOrphans = """
                WITH unparked AS (
                  UPDATE %1$s SET parked_until = NULL
                  WHERE position IN (
                    SELECT h.position FROM %1$s h
                    WHERE h.parked_until = 'infinity' AND NOT %3$s
                    LIMIT %2$d
                    FOR UPDATE SKIP LOCKED)
                  RETURNING position
                ), %4$s
                SELECT (SELECT min(position) FROM unparked), n, (SELECT count(*) FROM unparked) FROM drawn"""
                .formatted(t, UNPARK_PER_CLAIM,
                behindAnother(t, "h"), reentered(reentry, reentries, "unparked"));

        // One slice of the walk below the floor (FloorSweep): the first ready event from parameter 1 up to, not
        // including, parameter 2. It walks the ready index over that stretch only, so its cost is bounded by the
        // slice's span, however many entries of published events lie below it.
        readyBelowFloor = """
                SELECT position FROM %s
                WHERE published_at IS NULL AND dead_at IS NULL AND parked_until IS NULL AND position >= ? AND position < ?
                ORDER BY position LIMIT 1""".formatted(t);

        // The re-entry log's rows far behind the newest go, from where the last trim stopped (parameter 1), so that
        // the delete does not walk the entries of rows deleted before. A relay whose account of re-entries is older
        // than the rows kept finds a draw without its row and walks from the first position once. Returns where
        // this trim stopped, or no row while the log is shorter than that.
        trimReentries = """
                WITH cut AS (
                  SELECT max(draw) - %2$d AS below FROM %1$s
                ), trimmed AS (
                  DELETE FROM %1$s WHERE draw >= ? AND draw < (SELECT below FROM cut)
                )
                SELECT below FROM cut WHERE below > 0""".formatted(reentries, REENTRIES_KEPT);

        // A relay loop about to wait for a notification says so: the next append draws 1 from the wake sequence and
        // notifies. Outside transactions, like every change to a sequence.
        listen = "SELECT setval('%s', 1, false)".formatted(table.wakeSequenceQualifiedName());
        // The transactions running (txid_*, not pg_*: PostgreSQL 12 has only these), and those of some still running.
        running = "SELECT ARRAY(SELECT txid_snapshot_xip(txid_current_snapshot()))";
        stillRunning = "SELECT ARRAY(SELECT x FROM unnest(?::bigint[]) x WHERE txid_status(x) = 'in progress')";

        // Outcomes are written only where this claim's lease token is still in place: a relay whose lease
        // expired and was taken over cannot overwrite the new owner's result.
        // Publishing an event releases the events parked behind it.
        recordPublished = recordPublished(Integer.MAX_VALUE);

        // A batch that outlives half its lease extends it for the events it has not settled yet, only where its
        // token is still in place.
        renewLease = """
                UPDATE %s t
                SET lease_until = now() + ? * interval '1 millisecond'
                WHERE t.position = ANY(?::bigint[]) AND t.lease_token = ?
                RETURNING t.position""".formatted(t);

        // o.outcome: published | retry (after o.delay_ms) | dead | released (not attempted: the claim's
        // attempt is given back and the event is due again after o.delay_ms, at once when it is 0). A delay parks
        // the event until it is due.
        recordOutcomes = recordOutcomes(Integer.MAX_VALUE);

        // A delayed event's created_at is when it is due, so events delayed into the future sort after every due one
        // and the oldest pending age is the oldest created_at that is due. (A table written by an earlier version has
        // delayed rows whose created_at is their append: the first OLDEST_SCAN are looked at, those not yet due left
        // out.)
        String ready = "published_at IS NULL AND dead_at IS NULL AND parked_until IS NULL";
        String parked = "parked_until IS NOT NULL AND published_at IS NULL AND dead_at IS NULL";
        String dead = "dead_at IS NOT NULL AND published_at IS NULL";
        // Each part reads a bounded stretch of one partial index: the ready events (how many of the first READY_SCAN,
        // the last one's position, how many under a live lease: in-flight events are among the oldest ready ones,
        // where relays claim), the parked and the dead ones, the oldest pending age, and the highest positions. When
        // there are more, OutboxOperations samples the rest (PendingEstimate, probes) and takes parked ones beyond the
        // limit from the parked index's statistics (its partitions', on a rotated table). No parameters: a pooled
        // connection plans it once (pgjdbc prepares it on the server from its fifth run) and reuses the plan at each
        // call.
        stats = """
                SELECT r.n, r.low, r.in_flight, k.n, d.n, d.low, o.age_ms,
                       (SELECT max(position) FROM %1$s),
                       (SELECT max(position) FROM %1$s WHERE %7$s),
                       (SELECT sum(greatest(reltuples, 0)) FROM pg_class
                        WHERE oid = to_regclass('%8$s')
                           OR oid IN (SELECT relid FROM pg_partition_tree(to_regclass('%8$s')) WHERE isleaf))::bigint
                FROM (SELECT count(*) AS n, max(position) AS low, count(*) FILTER (WHERE lease_until >= now()) AS in_flight
                      FROM (SELECT position, lease_until FROM %1$s WHERE %5$s ORDER BY position LIMIT %3$d) x) r,
                     (SELECT count(*) AS n FROM (SELECT 1 FROM %1$s WHERE %6$s LIMIT %2$d) x) k,
                     (SELECT count(*) AS n, max(position) AS low
                      FROM (SELECT position FROM %1$s WHERE %7$s ORDER BY position LIMIT %2$d) x) d,
                     (SELECT extract(epoch FROM now() - min(created_at)) * 1000 AS age_ms
                      FROM (SELECT created_at, next_attempt_at, attempts FROM %1$s
                            WHERE published_at IS NULL AND dead_at IS NULL
                            ORDER BY created_at LIMIT %4$d) x
                      WHERE created_at <= now() AND (attempts > 0 OR next_attempt_at <= now())) o
                """.formatted(t, EXACT_COUNT_LIMIT + 1, READY_SCAN, OLDEST_SCAN, ready, parked, dead,
                table.indexName("parked"));
        // Ready rows, then dead rows, in runs of PendingEstimate.RUN positions from each start given (two bigint[]
        // parameters, either may be empty): one index range a run, both samples in one round trip.
        String probe = """
                (SELECT coalesce(sum(r.n), 0) FROM unnest(?::bigint[]) s(start)
                 CROSS JOIN LATERAL (SELECT count(*) AS n FROM %1$s
                                     WHERE position BETWEEN s.start AND s.start + %3$d AND %2$s) r)""";
        probes = "SELECT " + probe.formatted(t, ready, PendingEstimate.RUN - 1) + ",\n"
                + probe.formatted(t, dead, PendingEstimate.RUN - 1);

        listDead = """
                SELECT %s, t.last_error, t.dead_at
                FROM %s t
                WHERE t.dead_at IS NOT NULL AND t.published_at IS NULL
                ORDER BY t.position
                LIMIT ?""".formatted(EVENT_COLUMNS, t);

        // Requeueing or discarding a dead event also releases the events parked behind it, at once, in a second
        // statement of the same transaction (releaseBehind, given the aggregates these return), for the reason the
        // record is two statements (recording): a claim may have parked events behind the dead one while the update
        // or delete waited for its lock, and only a statement that starts after that sees them. A requeued event is
        // ready again, maybe below relays' floors: the requeue draws from the re-entry sequence and logs it.
        String requeue = """
                WITH requeued AS (
                  UPDATE %1$s SET dead_at = NULL, attempts = 0, next_attempt_at = now()
                  WHERE dead_at IS NOT NULL AND published_at IS NULL AND %%s
                  RETURNING position, aggregate_type, aggregate_id
                ), %2$s
                SELECT aggregate_type, aggregate_id FROM requeued""".formatted(t,
                reentered(reentry, reentries, "requeued"));
        requeueDeadById = requeue.formatted("id = ANY(?::uuid[])");
        requeueDeadByType = requeue.formatted("event_type = ?");
        requeueAllDead = requeue.formatted("true");

        discardDeadById = """
                DELETE FROM %1$s WHERE dead_at IS NOT NULL AND published_at IS NULL AND id = ANY(?::uuid[])
                RETURNING aggregate_type, aggregate_id""".formatted(t);

        // Parameters: the aggregates' types and ids (text[] each). Returns how many events it released.
        releaseBehind = """
                WITH touched AS (
                  SELECT * FROM unnest(?::text[], ?::text[]) AS a(aggregate_type, aggregate_id)
                ), %s
                SELECT count(*) FROM released""".formatted(
                release(t, "touched", reentry, reentries, Integer.MAX_VALUE));

        // Parameters: retention in milliseconds, how many, and the earliest published_at to look at (parameter 3):
        // OutboxOperations passes a minute before the latest one it deleted, so that the walk of the published_at
        // index does not step over the entries of rows deleted before, which stay until vacuum removes them, and
        // now and then the earliest time. Returns how many it deleted and the latest published_at among them.
        purgePublished = """
                WITH purged AS (
                  DELETE FROM %1$s
                  WHERE position IN (
                    SELECT position FROM %1$s
                    WHERE published_at IS NOT NULL AND published_at < now() - ? * interval '1 millisecond'
                      AND published_at >= ?
                    ORDER BY published_at
                    LIMIT ?)
                  RETURNING published_at
                )
                SELECT count(*), max(published_at) FROM purged""".formatted(t);
    }
}
