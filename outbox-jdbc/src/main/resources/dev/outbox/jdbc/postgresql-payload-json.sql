-- Migration for outbox tables created before the payload column became json: published bodies are then the payload
-- exactly as appended, byte for byte. Same placeholders as postgresql.sql (${outbox_table}, ${outbox_name}).
--
-- Rows already stored keep the text jsonb rendered for them (keys sorted, spaces added); rows appended after the
-- migration keep theirs as written. The statement rewrites the table under an ACCESS EXCLUSIVE lock: run it when
-- writers can wait, or in a quiet window. Appends keep working on an unmigrated table meanwhile.

ALTER TABLE ${outbox_table} ALTER COLUMN payload TYPE json USING payload::json;
