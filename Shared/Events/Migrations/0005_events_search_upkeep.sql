-- Upkeep of the events table for /search (issue 10). No new index: once the search query
-- carries the implied bound `starts_at <= ends_at bound`, `events_search (starts_at, id)` bounds
-- its range scan at both ends and stays an index-only scan in order. Measured over 1,000,000
-- events (a 200-day window of 70,185 answers): that index 59 ms, a GiST index on
-- tstzrange(starts_at, ends_at) 107 ms (a bitmap scan, then a sort for the order), and for a
-- 2-day window 0.32 ms against 0.61 ms.
--
-- Index-only scans stay index-only only while the visibility map is current, and the table
-- is upserted in batches of 500 rows for as long as the feed runs: with the default scale
-- factors (20% of the table) a table of a million rows waits for 200,000 changed or inserted
-- rows between vacuums, and each search meanwhile reads heap pages to check visibility. 1%
-- keeps that to about 10,000 rows; analyze follows at the same pace so that the planner knows
-- the date ranges the feed has just added.
ALTER TABLE events SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.01
);
