-- Outbox table for PostgreSQL 12 or later.
--
-- Two placeholders, in the dollar-brace syntax of Flyway and Liquibase, so this file can be copied into a
-- migration as it is: outbox_table is the table, quoted and possibly schema-qualified ("app"."outbox_event");
-- outbox_name is its bare name, used to name the indexes. OutboxSchema.postgres(table) fills them in.

CREATE TABLE IF NOT EXISTS ${outbox_table} (
    -- Append order. Events of one aggregate are published in this order.
    position        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Not claimed before this time: the retry backoff.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
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
    CONSTRAINT ${outbox_name}_id_key UNIQUE (id)
) WITH (
    -- Every event is inserted, updated once or twice and later deleted: vacuum early and often, so dead
    -- tuples left by a drained backlog do not slow the claim.
    fillfactor = 90,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.02
);

-- The claim walks this index in position order: it holds only pending events, however many published ones
-- are kept.
CREATE INDEX IF NOT EXISTS ${outbox_name}_pending
    ON ${outbox_table} (position)
    WHERE published_at IS NULL AND dead_at IS NULL;

-- Per-aggregate ordering: "is an earlier event of this aggregate still unpublished?" Holds pending, in-flight
-- and dead events, never published ones.
CREATE INDEX IF NOT EXISTS ${outbox_name}_unpublished_by_aggregate
    ON ${outbox_table} (aggregate_type, aggregate_id, position)
    WHERE published_at IS NULL;

-- Retention: purge published events older than a cut-off.
CREATE INDEX IF NOT EXISTS ${outbox_name}_published_at
    ON ${outbox_table} (published_at)
    WHERE published_at IS NOT NULL;
