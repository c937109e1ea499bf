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

    /** A row the relay may claim now: pending, due, and not under a live lease. */
    private static final String CLAIMABLE = """
            c.published_at IS NULL AND c.dead_at IS NULL
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

    final String insert;
    final String insertMany;
    final String insertNotifying;
    final String insertDelayed;
    final String insertDelayedNotifying;
    final String insertManyNotifying;
    private final String claimOrdered;
    private final String claimUnordered;
    final String recordPublished;
    final String renewLease;
    final String recordOutcomes;
    final String stats;
    final String listDead;
    final String requeueDeadById;
    final String requeueDeadByType;
    final String requeueAllDead;
    final String discardDeadById;
    final String purgePublished;

    /** Writes the lease on the rows of {@code claimed} (a CTE of positions) and returns the events. */
    private static String lease(String table, String claimed) {
        return """
                UPDATE %1$s t
                SET claimed_by = ?, lease_token = ?, lease_until = now() + ? * interval '1 millisecond',
                    attempts = t.attempts + 1
                FROM %2$s
                WHERE t.position = %2$s.position
                RETURNING %3$s""".formatted(table, claimed, EVENT_COLUMNS);
    }

    /**
     * The claim for {@code ordering}, at most {@code limit} events and {@code maxBytes} of payload (but always one
     * event), with its parameters owner, lease token and lease in milliseconds.
     *
     * <p>The batch size is written in as a literal, not a parameter: once pgjdbc prepares the statement on the
     * server, PostgreSQL may switch to a generic plan, and with an unknown LIMIT the ordered claim's generic plan
     * took 520 to 680 ms on 100,000 pending events where the custom plan took 25 to 29 ms.
     */
    String claim(Ordering ordering, int limit, long maxBytes) {
        return (ordering == Ordering.PER_AGGREGATE ? claimOrdered : claimUnordered)
                .replace(":limit", Integer.toString(limit))
                .replace(":maxBytes", Long.toString(maxBytes));
    }

    PostgresStatements(OutboxTable table) {
        String t = table.qualifiedName();

        insert = """
                INSERT INTO %s (id, aggregate_type, aggregate_id, event_type, payload, headers, occurred_at)
                VALUES (?, ?, ?, ?, ?::json, ?::jsonb, ?)""".formatted(t);

        // Due no earlier than an instant (parameter 8) or a delay in milliseconds after now() (parameter 9), whichever
        // is given, and never before now().
        insertDelayed = """
                INSERT INTO %s (id, aggregate_type, aggregate_id, event_type, payload, headers, occurred_at, next_attempt_at)
                VALUES (?, ?, ?, ?, ?::json, ?::jsonb, ?,
                        GREATEST(now(), COALESCE(?::timestamptz, now() + ? * interval '1 millisecond')))""".formatted(t);

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
        // delivered once, so a transaction appending many events wakes each relay once.
        String notify = "\nSELECT pg_notify('" + table.channel() + "', '')";
        insertNotifying = "WITH appended AS (\n" + insert + "\n)" + notify;
        insertManyNotifying = "WITH appended AS (\n" + insertMany + "\n)" + notify;
        insertDelayedNotifying = "WITH appended AS (\n" + insertDelayed + "\n)" + notify;

        // Per-aggregate order, in two steps.
        // 1. candidate: the first claimable rows in position order whose aggregate is not blocked by an earlier
        //    event that is dead, backing off or leased to a live claim. Filtering blocked rows here keeps one
        //    stuck aggregate from filling every batch. SKIP LOCKED passes over rows another relay is claiming.
        // 2. claimable: a candidate is taken only if every earlier unpublished event of its aggregate is also a
        //    candidate of this claim. That catches what step 1 cannot see: an earlier event skipped because
        //    another relay holds its lock right now.
        // Then the lease is written. Rows come back in any order; ClaimedBatch sorts them by position.
        // OFFSET 0 keeps each NOT EXISTS a per-row lookup on the unpublished_by_aggregate index: without it the
        // planner turns them into anti-joins over every unpublished row, which makes each claim cost as much as
        // the whole backlog (141 ms instead of 31 ms for 500 of 100,000 pending events).
        claimOrdered = """
                WITH candidate AS (
                  SELECT c.position, octet_length(c.payload::text) AS bytes
                  FROM %1$s c
                  WHERE %2$s
                    AND NOT EXISTS (
                      SELECT 1 FROM %1$s b
                      WHERE b.aggregate_type = c.aggregate_type AND b.aggregate_id = c.aggregate_id
                        AND b.position < c.position AND b.published_at IS NULL
                        AND (b.dead_at IS NOT NULL OR b.next_attempt_at > now() OR b.lease_until >= now())
                      OFFSET 0)
                  ORDER BY c.position
                  LIMIT :limit
                  FOR UPDATE SKIP LOCKED
                ), %3$s, claimable AS (
                  SELECT e.position
                  FROM admitted k JOIN %1$s e ON e.position = k.position
                  WHERE NOT EXISTS (
                    SELECT 1 FROM %1$s b
                    WHERE b.aggregate_type = e.aggregate_type AND b.aggregate_id = e.aggregate_id
                      AND b.position < e.position AND b.published_at IS NULL
                      AND b.position NOT IN (SELECT position FROM candidate)
                    OFFSET 0)
                )
                """.formatted(t, CLAIMABLE, ADMITTED) + lease(t, "claimable");

        claimUnordered = """
                WITH candidate AS (
                  SELECT c.position, octet_length(c.payload::text) AS bytes
                  FROM %1$s c
                  WHERE %2$s
                  ORDER BY c.position
                  LIMIT :limit
                  FOR UPDATE SKIP LOCKED
                ), %3$s
                """.formatted(t, CLAIMABLE, ADMITTED) + lease(t, "admitted");

        // Outcomes are written only where this claim's lease token is still in place: a relay whose lease
        // expired and was taken over cannot overwrite the new owner's result.
        recordPublished = """
                UPDATE %s t
                SET published_at = now(), claimed_by = NULL, lease_token = NULL, lease_until = NULL
                WHERE t.position = ANY(?::bigint[]) AND t.lease_token = ?
                RETURNING t.position""".formatted(t);

        // A batch that outlives half its lease extends it for the events it has not settled yet, only where its
        // token is still in place.
        renewLease = """
                UPDATE %s t
                SET lease_until = now() + ? * interval '1 millisecond'
                WHERE t.position = ANY(?::bigint[]) AND t.lease_token = ?
                RETURNING t.position""".formatted(t);

        // o.outcome: published | retry (after o.delay_ms) | dead | released (not attempted: the claim's
        // attempt is given back and the event is due again at once).
        recordOutcomes = """
                UPDATE %s t
                SET published_at    = CASE WHEN o.outcome = 'published' THEN now() END,
                    dead_at         = CASE WHEN o.outcome = 'dead' THEN now() END,
                    next_attempt_at = CASE WHEN o.outcome = 'retry' THEN now() + o.delay_ms * interval '1 millisecond'
                                           WHEN o.outcome = 'released' THEN now()
                                           ELSE t.next_attempt_at END,
                    attempts        = CASE WHEN o.outcome = 'released' THEN t.attempts - 1 ELSE t.attempts END,
                    last_error      = COALESCE(o.error, t.last_error),
                    claimed_by = NULL, lease_token = NULL, lease_until = NULL
                FROM unnest(?::bigint[], ?::text[], ?::bigint[], ?::text[]) AS o(position, outcome, delay_ms, error)
                WHERE t.position = o.position AND t.lease_token = ?
                RETURNING t.position""".formatted(t);

        stats = """
                SELECT count(*) FILTER (WHERE dead_at IS NULL AND (lease_until IS NULL OR lease_until < now())),
                       count(*) FILTER (WHERE dead_at IS NULL AND lease_until >= now()),
                       count(*) FILTER (WHERE dead_at IS NOT NULL),
                       extract(epoch FROM now() - min(CASE WHEN attempts = 0 THEN greatest(created_at, next_attempt_at)
                                                      ELSE created_at END) FILTER (WHERE dead_at IS NULL)) * 1000
                FROM %s
                WHERE published_at IS NULL""".formatted(t);

        listDead = """
                SELECT %s, t.last_error, t.dead_at
                FROM %s t
                WHERE t.published_at IS NULL AND t.dead_at IS NOT NULL
                ORDER BY t.position
                LIMIT ?""".formatted(EVENT_COLUMNS, t);

        String requeue = """
                UPDATE %s SET dead_at = NULL, attempts = 0, next_attempt_at = now()
                WHERE published_at IS NULL AND dead_at IS NOT NULL""".formatted(t);
        requeueDeadById = requeue + " AND id = ANY(?::uuid[])";
        requeueDeadByType = requeue + " AND event_type = ?";
        requeueAllDead = requeue;

        discardDeadById = """
                DELETE FROM %s WHERE published_at IS NULL AND dead_at IS NOT NULL AND id = ANY(?::uuid[])""".formatted(t);

        purgePublished = """
                DELETE FROM %1$s
                WHERE position IN (
                  SELECT position FROM %1$s
                  WHERE published_at IS NOT NULL AND published_at < now() - ? * interval '1 millisecond'
                  ORDER BY published_at
                  LIMIT ?)""".formatted(t);
    }
}
