-- Migration for outbox tables created before claims walked from a floor (so that their cost stays flat while a long
-- transaction elsewhere holds the database's horizon). Same placeholders as postgresql.sql (${outbox_table},
-- ${outbox_name}, ${outbox_reentry}).
--
-- Run it before deploying the version that needs it: its claims use the index and the sequence. The index is built
-- without blocking writers (CREATE INDEX CONCURRENTLY cannot run inside a transaction block: run each statement on
-- its own, as psql does, or mark the migration non-transactional in Flyway or Liquibase). Relays of the earlier
-- version keep working on the migrated table, but their statements do not draw from the sequence: stop them before
-- relays of the new version start, or an event they make ready again below a new relay's floor waits for that
-- relay's sweep (once a minute), and its aggregate's order is not checked against it meanwhile.

CREATE INDEX CONCURRENTLY IF NOT EXISTS ${outbox_name}_aside
    ON ${outbox_table} (aggregate_type, aggregate_id, position)
    WHERE published_at IS NULL AND (dead_at IS NOT NULL OR parked_until IS NOT NULL);

CREATE SEQUENCE IF NOT EXISTS ${outbox_reentry} CACHE 1;
