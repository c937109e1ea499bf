-- Migration for MySQL and MariaDB outbox tables created before stats() read the oldest pending age from an index of
-- pending events by when they became due. Same placeholders as mysql.sql (${outbox_table}, ${outbox_name}).
--
-- InnoDB adds the index online (ALGORITHM=INPLACE, LOCK=NONE): appends and claims go on meanwhile. Without it
-- stats() is still right, only slower on a large backlog. MySQL has no ADD INDEX IF NOT EXISTS: run it once, or let
-- OutboxSchema.migrate, which looks first.

ALTER TABLE ${outbox_table} ADD INDEX ${outbox_name}_pending_since (published_at, dead_at, created_at),
    ALGORITHM = INPLACE, LOCK = NONE
