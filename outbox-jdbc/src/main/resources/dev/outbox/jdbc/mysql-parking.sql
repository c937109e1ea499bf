-- Migration for MySQL and MariaDB outbox tables created before claims parked the events they cannot take. Same
-- placeholders as mysql.sql (${outbox_table}, ${outbox_name}).
--
-- Run it before deploying the version that needs it: claims of that version use the new column and indexes. Adding
-- a nullable column rewrites nothing (ALGORITHM=INSTANT on MySQL 8.0.29+ and MariaDB 10.4+, else INPLACE); InnoDB
-- builds the indexes online (ALGORITHM=INPLACE, LOCK=NONE), so appends and claims go on meanwhile. MySQL has no
-- ADD COLUMN or ADD INDEX IF NOT EXISTS: run each statement once, or let OutboxSchema.migrate, which looks first.
-- Events parked by nobody yet are parked by the first claims that walk past them.

ALTER TABLE ${outbox_table} ADD COLUMN parked_until DATETIME(6) AFTER next_attempt_at;

ALTER TABLE ${outbox_table}
    ADD INDEX ${outbox_name}_ready (published_at, dead_at, parked_until, position),
    ADD INDEX ${outbox_name}_parked (parked_until, aggregate_type, aggregate_id),
    ALGORITHM = INPLACE, LOCK = NONE;

-- The old pending index, replaced by the ready index. Relays of the earlier version claim with it: while they still
-- run, their claims get slower, never wrong.
ALTER TABLE ${outbox_table} DROP INDEX ${outbox_name}_pending, ALGORITHM = INPLACE, LOCK = NONE;
