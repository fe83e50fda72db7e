-- Fencing of feed writes: per provider (a hash of its URL, as in the poller's Redis keys), the
-- highest lease token whose batch storage has applied. Storage raises it in the transaction of
-- the upsert, with a conditional update that also locks the row, and refuses (skips and acks)
-- a batch whose token is lower: a poller that lost its lease while it was publishing cannot
-- overwrite what a newer lease holder stored. Batches without a token are accepted.
CREATE TABLE events_feed_fence (
    provider text PRIMARY KEY,
    token bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON COLUMN events.id IS
    'UUIDv5 of the pair: plans first stored since 0004 use the length-prefixed name '
    '"<UTF-8 length of base_plan_id>:<base_plan_id><plan_id>" in a namespace of their own; '
    'older rows keep their UUIDv5 of "base_plan_id:plan_id" (never rewritten by the upsert)';
