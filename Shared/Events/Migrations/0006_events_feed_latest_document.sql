-- "The latest values seen win", also against a batch that arrives late: per provider, when the
-- newest document whose batches storage has applied was fetched, by which lease holder (its
-- fencing token: fetch times are compared only within one holder, one clock). Storage raises
-- it in the upsert's transaction (the fence row is already locked there); a batch of an older
-- document may still add plans never stored and mark plans online, but changes no values.
-- Without it, a delayed batch could overwrite values that a newer document confirmed without
-- changing them (an unchanged row is not rewritten, so its seen_at stays old).
ALTER TABLE events_feed_fence ADD COLUMN latest_fetched_at timestamptz, ADD COLUMN latest_token bigint;
