-- Migration for outbox tables created before claims walked from a floor (so that their cost stays flat while a long
-- transaction elsewhere holds the database's horizon). Same placeholders as postgresql.sql (${outbox_table},
-- ${outbox_name}, ${outbox_reentry}, ${outbox_reentries}), and ${outbox_schema}: the table's schema, quoted and followed
-- by a dot, or nothing for a table on the search path.
--
-- Run it before deploying the version that needs it: its claims use the index, the sequence and the log. The index is built
-- without blocking writers (CREATE INDEX CONCURRENTLY cannot run inside a transaction block: run each statement on
-- its own, as psql does, or mark the migration non-transactional in Flyway or Liquibase). Relays of the earlier
-- version keep working on the migrated table, but their statements do not draw from the sequence: stop them before
-- relays of the new version start, or an event they make ready again below a new relay's floor waits for that
-- relay's sweep (once a minute), and its aggregate's order is not checked against it meanwhile.

CREATE INDEX CONCURRENTLY IF NOT EXISTS ${outbox_name}_set_aside
    ON ${outbox_table} (aggregate_type, aggregate_id, position)
    WHERE (dead_at IS NOT NULL OR parked_until IS NOT NULL) AND aggregate_id IS NOT NULL;

-- An index an earlier form of this migration built, which the claims no longer use.
DROP INDEX CONCURRENTLY IF EXISTS ${outbox_schema}${outbox_name}_aside;

-- The index of events held back by an earlier event of their aggregate, which the parking migration built: the
-- statements that looked in it by aggregate look in the set-aside index, and the relays' sweep for held events left
-- with nothing holding them back reads the parked index. Dropping it spares every park and release an index write.
DROP INDEX CONCURRENTLY IF EXISTS ${outbox_schema}${outbox_name}_held;

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
