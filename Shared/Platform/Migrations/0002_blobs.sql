-- The PostgreSQL blob store (BLOB_STORE=postgres): a blob is an upload's chunks, and a key
-- names the upload that completed last. A write inserts its chunks under a fresh upload as
-- they arrive, then one short transaction points the key at it and drops the upload it
-- replaced; chunks of an upload no key names are deleted with it (ON DELETE CASCADE).
CREATE TABLE blob_uploads (
    id uuid PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    -- Moved on with every chunk: an upload idle for long belongs to a process that died, and
    -- the store's sweeper removes it.
    touched_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX blob_uploads_touched_at ON blob_uploads (touched_at);

CREATE TABLE blob_chunks (
    upload_id uuid NOT NULL REFERENCES blob_uploads (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (upload_id, seq)
);

CREATE TABLE blobs (
    key text PRIMARY KEY,
    upload_id uuid NOT NULL UNIQUE REFERENCES blob_uploads (id),
    size bigint NOT NULL,
    sha256 text NOT NULL,
    -- Every chunk but the last holds exactly this many bytes, so a range finds its chunks by
    -- arithmetic; recorded per blob so that a later chunk size leaves old blobs readable.
    chunk_size integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
