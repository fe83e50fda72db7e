-- For ingest's in-memory search index (issue 10), closing two gaps of 0007/0008 that only a
-- hand-written statement (an operator's fix, a restore script) could open; storage's upsert
-- never does either.
--
-- 1. An INSERT that names `changed_xid` (copying rows from a dump, say) set whatever value it
--    wrote, possibly older than the index's watermark: the index never saw the row. The
--    trigger now runs on INSERT too, so every written row carries its own transaction.
-- 2. A searchable row turned unsearchable (`ever_online` set back to false) or given another
--    id stays in the index, which reads only searchable rows written since it last looked and
--    so never learns that one left. Such an update counts as a removal (0008): the index
--    reloads from scratch. Both are rare by design, so the reload's cost does not matter.
DROP TRIGGER events_record_change ON events;
CREATE TRIGGER events_record_change BEFORE INSERT OR UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION events_record_change();

-- 0008's function, here for each such row (an AFTER trigger's return value is ignored).
CREATE TRIGGER events_record_row_removal AFTER UPDATE ON events
    FOR EACH ROW WHEN (OLD.ever_online AND (NOT NEW.ever_online OR OLD.id <> NEW.id))
    EXECUTE FUNCTION events_record_removal();
