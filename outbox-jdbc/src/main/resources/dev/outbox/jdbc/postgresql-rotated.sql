-- Outbox table for PostgreSQL 12 or later, in four partitions that take appends in turn, so that purge can empty
-- a whole partition with TRUNCATE: the space comes back at once, even while a long transaction elsewhere keeps
-- vacuum from reclaiming the row versions the outbox's updates and deletes leave behind. The same columns and
-- indexes as the plain table, plus the slot column; the relay's statements are the same.
--
-- Six placeholders, in the dollar-brace syntax of Flyway and Liquibase, so this file can be copied into a migration
-- as it is: outbox_table is the table, quoted and possibly schema-qualified ("app"."outbox_event"); outbox_name is
-- its bare name, used to name the indexes; outbox_schema is the quoted schema and a dot, or nothing, used to name
-- the partitions (outbox_event_p0 to outbox_event_p3); outbox_wake, outbox_reentry and outbox_reentries are the
-- wake-up sequence, the re-entry sequence and the re-entry log, named as for the plain table; outbox_slot is the
-- sequence (and the function of the same name) saying which partition appends go to, the table's name with "_slot"
-- appended. OutboxSchema.postgresRotated(table) fills them in.

-- Which partition appends go to, and since when: the last value is the time of the last rotation in milliseconds
-- since 1970, times four, plus the partition's number. A sequence, not a table: purge sets it (setval) outside
-- transactions, every append reads its latest value whatever its isolation level, and it leaves no rows behind.
-- Reading it locks the sequence until the appending transaction ends, which is how purge knows when every
-- transaction that could still append to a partition it took appends away from has ended.
CREATE SEQUENCE IF NOT EXISTS ${outbox_slot} MINVALUE 0 START 0 CACHE 1;

CREATE OR REPLACE FUNCTION ${outbox_slot}() RETURNS smallint LANGUAGE sql VOLATILE
    AS 'SELECT (last_value % 4)::smallint FROM ${outbox_slot}';

CREATE TABLE IF NOT EXISTS ${outbox_table} (
    -- Append order. Events of one aggregate are published in this order.
    position        bigint      GENERATED ALWAYS AS IDENTITY,
    -- The partition the event was appended to: the one appends went to at the time.
    slot            smallint    NOT NULL DEFAULT ${outbox_slot}(),
    id              uuid        NOT NULL,
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    event_type      text        NOT NULL,
    -- json, not jsonb: json keeps the text exactly as appended (key order, duplicates, spacing, number and escape
    -- spelling), so consumers receive the payload byte for byte. It is still checked as JSON and queryable with
    -- -> and ->>.
    payload         json        NOT NULL,
    headers         jsonb       NOT NULL DEFAULT '{}',
    occurred_at     timestamptz NOT NULL,
    -- When the event became due: its append, or the end of the delay it was appended with.
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Not claimed before this time: the retry backoff, or the delay given at append.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Set while a pending event is set aside from the claim's walk: until its retry or delay is due, or 'infinity'
    -- while an earlier event of its aggregate holds it back (dead, backing off, delayed), until that one is
    -- published, requeued or discarded. Null for everything else.
    parked_until    timestamptz,
    -- Claims so far, including the one in flight.
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    -- The current claim: which relay, which batch, until when. A claim whose lease_until has passed is void.
    claimed_by      text,
    lease_token     uuid,
    lease_until     timestamptz,
    -- Exactly one of these is set once the event is settled; both null means pending.
    published_at    timestamptz,
    dead_at         timestamptz,
    PRIMARY KEY (position, slot)
) PARTITION BY LIST (slot);

-- The partitions, each with the plain table's storage settings. Purge empties one with TRUNCATE once every event
-- in it has been published for longer than the retention and no transaction that could still append to it is
-- open, then sends appends to an empty one. Each keeps event ids unique among its own events.
CREATE TABLE IF NOT EXISTS ${outbox_schema}"${outbox_name}_p0" PARTITION OF ${outbox_table} FOR VALUES IN (0) WITH (
    fillfactor = 90,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.02
);
CREATE UNIQUE INDEX IF NOT EXISTS ${outbox_name}_p0_id_key ON ${outbox_schema}"${outbox_name}_p0" (id);

CREATE TABLE IF NOT EXISTS ${outbox_schema}"${outbox_name}_p1" PARTITION OF ${outbox_table} FOR VALUES IN (1) WITH (
    fillfactor = 90,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.02
);
CREATE UNIQUE INDEX IF NOT EXISTS ${outbox_name}_p1_id_key ON ${outbox_schema}"${outbox_name}_p1" (id);

CREATE TABLE IF NOT EXISTS ${outbox_schema}"${outbox_name}_p2" PARTITION OF ${outbox_table} FOR VALUES IN (2) WITH (
    fillfactor = 90,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.02
);
CREATE UNIQUE INDEX IF NOT EXISTS ${outbox_name}_p2_id_key ON ${outbox_schema}"${outbox_name}_p2" (id);

CREATE TABLE IF NOT EXISTS ${outbox_schema}"${outbox_name}_p3" PARTITION OF ${outbox_table} FOR VALUES IN (3) WITH (
    fillfactor = 90,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.02
);
CREATE UNIQUE INDEX IF NOT EXISTS ${outbox_name}_p3_id_key ON ${outbox_schema}"${outbox_name}_p3" (id);

-- The plain table's indexes, built on every partition.

-- The claim walks this index in position order: pending events that are not parked, so a backlog that is backing
-- off, delayed or held behind a dead event costs the claim nothing, however large, and neither do kept published
-- events.
CREATE INDEX IF NOT EXISTS ${outbox_name}_ready
    ON ${outbox_table} (position)
    WHERE published_at IS NULL AND dead_at IS NULL AND parked_until IS NULL;

-- Parked events by the time they are due again: the claim reads only those whose time has come, and the relays'
-- sweep for events held back by an earlier one ('infinity') with no earlier unpublished event left reads the last key.
CREATE INDEX IF NOT EXISTS ${outbox_name}_parked
    ON ${outbox_table} (parked_until)
    WHERE parked_until IS NOT NULL;

-- Every pending event, parked or not, by when it became due (created_at): the oldest pending event and the pending
-- count for stats(), past any events delayed into the future. Keyed by created_at, not position, so that the claim
-- (which orders by position) never walks it instead of the ready index.
CREATE INDEX IF NOT EXISTS ${outbox_name}_pending_since
    ON ${outbox_table} (created_at)
    WHERE published_at IS NULL AND dead_at IS NULL;

-- Events set aside from the claim's walk (dead or parked), by aggregate: the claim's check for an earlier event
-- holding an aggregate back, below where the relay's walk starts, and publishing's look for the events held behind
-- an aggregate's published ones (which tests parked_until inside a CASE, so that the parked index, which holds an
-- entry for every event ever parked while a horizon is held, does not fit it). Publishing clears both columns, so
-- these events are pending. The predicate leaves published_at out so that those checks, which test it apart, match
-- no other index: where they also matched the per-aggregate index below, the planner could take that one and walk
-- every entry of the aggregate's history, which a held horizon keeps. It names aggregate_id (never null) so that only
-- looks by aggregate fit it: the look for parked events that are due fitted it too and read all of it.
CREATE INDEX IF NOT EXISTS ${outbox_name}_set_aside
    ON ${outbox_table} (aggregate_type, aggregate_id, position)
    WHERE (dead_at IS NOT NULL OR parked_until IS NOT NULL) AND aggregate_id IS NOT NULL;

-- Dead events, for listDead() and the dead count.
CREATE INDEX IF NOT EXISTS ${outbox_name}_dead
    ON ${outbox_table} (position)
    WHERE dead_at IS NOT NULL AND published_at IS NULL;

-- Per-aggregate ordering: "is an earlier event of this aggregate still unpublished?" Holds pending, in-flight
-- and dead events, never published ones.
CREATE INDEX IF NOT EXISTS ${outbox_name}_unpublished_by_aggregate
    ON ${outbox_table} (aggregate_type, aggregate_id, position)
    WHERE published_at IS NULL;

-- Retention: purge published events older than a cut-off.
CREATE INDEX IF NOT EXISTS ${outbox_name}_published_at
    ON ${outbox_table} (published_at)
    WHERE published_at IS NOT NULL;

-- Wake-ups: a relay loop about to wait for work sets this sequence back to its start, and only the append that
-- draws 1 from it notifies, so commits that no relay waits for do not pay for a notification (PostgreSQL commits
-- notifying transactions one at a time). A sequence, not a table: drawing from it is outside transactions, alike at
-- every isolation level, and leaves no rows behind.
CREATE SEQUENCE IF NOT EXISTS ${outbox_wake} CACHE 1;

-- Re-entries: every statement that makes events ready again (unparked when due, released when the event holding
-- them back is published, requeued) draws from this sequence. A relay's claims walk from a floor below which nothing
-- is ready; one that sees a draw it did not make walks from the position logged with it (below) once it sees that
-- row, so no event is left below it.
CREATE SEQUENCE IF NOT EXISTS ${outbox_reentry} CACHE 1;

-- The re-entry log: one row for each draw from the re-entry sequence, with the lowest position its statement made
-- ready again, written in that statement's transaction. A relay that sees a draw it did not make lowers its floor to
-- the position logged with it once it sees the row (the events it made ready become visible with it), and walks from
-- the start only when it falls more than 1,000 draws behind. Insert-only; relays delete rows far behind the newest
-- now and then.
CREATE TABLE IF NOT EXISTS ${outbox_reentries} (
    draw     bigint PRIMARY KEY,
    position bigint NOT NULL
);
