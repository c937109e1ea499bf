-- Migration for outbox tables created before claims parked what they cannot take and before appends notified only
-- waiting relays. Same placeholders as postgresql.sql (${outbox_table}, ${outbox_name}, ${outbox_wake}), and
-- ${outbox_schema}: the table's schema, quoted and followed by a dot, or nothing for a table on the search path.
--
-- Run it before deploying the version that needs it: appends and claims of that version use the new column and
-- table. Adding a nullable column takes a brief ACCESS EXCLUSIVE lock and rewrites nothing; the indexes are built
-- without blocking writers (CREATE INDEX CONCURRENTLY cannot run inside a transaction block: run each statement on
-- its own, as psql does, or mark the migration non-transactional in Flyway or Liquibase). Events parked by nobody
-- yet are parked by the first claims that walk past them.

ALTER TABLE ${outbox_table} ADD COLUMN IF NOT EXISTS parked_until timestamptz;

CREATE INDEX CONCURRENTLY IF NOT EXISTS ${outbox_name}_ready
    ON ${outbox_table} (position)
    WHERE published_at IS NULL AND dead_at IS NULL AND parked_until IS NULL;

CREATE INDEX CONCURRENTLY IF NOT EXISTS ${outbox_name}_parked
    ON ${outbox_table} (parked_until)
    WHERE parked_until IS NOT NULL;

CREATE INDEX CONCURRENTLY IF NOT EXISTS ${outbox_name}_pending_since
    ON ${outbox_table} (created_at)
    WHERE published_at IS NULL AND dead_at IS NULL;

CREATE INDEX CONCURRENTLY IF NOT EXISTS ${outbox_name}_dead
    ON ${outbox_table} (position)
    WHERE dead_at IS NOT NULL AND published_at IS NULL;

CREATE SEQUENCE IF NOT EXISTS ${outbox_wake} CACHE 1;

-- The table in which relays of an earlier version said that they waited, replaced by the sequence. Appends of that
-- version read it: drop it (the table named like the outbox table with "_listeners" appended) once none of them runs.

-- The old pending index, replaced by the ready and pending_since indexes. Relays of the earlier version claim with
-- it: while they still run, their claims get slower, never wrong.
DROP INDEX CONCURRENTLY IF EXISTS ${outbox_schema}${outbox_name}_pending;
