-- For ingest's in-memory search index (issue 10), next to 0007's change tracking.
-- Events are never deleted by the workload, but an operator (or a test, or the benchmark) may
-- delete or truncate: a copy that only reads what changed would keep the removed rows. Each
-- statement that removes rows bumps this counter, and the index then reloads from scratch.
--
-- Idempotent: a development build had created these objects in its version of 0007.
CREATE TABLE IF NOT EXISTS events_removals (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation bigint NOT NULL
);
INSERT INTO events_removals (generation) VALUES (0) ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION events_record_removal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE events_removals SET generation = generation + 1;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER events_record_removal AFTER DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_record_removal();
