-- Change tracking for ingest's in-memory search index (issue 10). Each row records the
-- transaction that last wrote it; ingest reloads only rows written since the oldest
-- transaction that was still running when it last looked (`pg_snapshot_xmin`), so a batch
-- that commits late is never missed, and a feed that changes nothing costs one index probe.
-- A sequence or a timestamp would not do: their order is not the order of commits.
--
-- Existing rows take this migration's transaction id (the default is evaluated for each one).
-- Updates set it in a trigger, so that no writer (storage's upsert, an operator's fix by
-- hand) can change a row without the index seeing it.
ALTER TABLE events ADD COLUMN changed_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX events_changed ON events (changed_xid) WHERE ever_online;

CREATE OR REPLACE FUNCTION events_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.changed_xid := pg_current_xact_id();
    RETURN NEW;
END
$$;
CREATE TRIGGER events_record_change BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION events_record_change();

