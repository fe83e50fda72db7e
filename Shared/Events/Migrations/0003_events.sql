-- Events feed (seed 004): every plan ever seen, keyed by (base_plan_id, plan_id), with the
-- latest values, its zones, and a sticky "was ever online" flag. Nothing is ever deleted.
CREATE TABLE events (
    id uuid PRIMARY KEY,  -- UUIDv5 of "base_plan_id:plan_id", the same on every machine
    base_plan_id text NOT NULL,
    plan_id text NOT NULL,
    title text NOT NULL,
    sell_mode text NOT NULL,
    ever_online boolean NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    sell_from timestamptz,
    sell_to timestamptz,
    sold_out boolean,
    min_price numeric(12, 2),
    max_price numeric(12, 2),
    zones jsonb NOT NULL DEFAULT '[]',
    -- When the provider document these values came from was fetched: older documents never
    -- overwrite newer values.
    seen_at timestamptz NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (base_plan_id, plan_id)
);
-- /search: searchable events by start, with the end filter and the answer's columns in the
-- index so a search is an index-only range scan.
CREATE INDEX events_search ON events (starts_at, id) INCLUDE (ends_at, title, min_price, max_price) WHERE ever_online;
