-- SMS workload (seed 003): messages, their media, and running totals for /metrics.
CREATE TYPE sms_status AS ENUM ('received', 'stored', 'processed');

CREATE TABLE sms_messages (
    id uuid PRIMARY KEY,
    "from" text NOT NULL,
    "to" text NOT NULL,
    message text NOT NULL,
    callback_url text,
    status sms_status NOT NULL DEFAULT 'received',
    received_at timestamptz NOT NULL,
    stored_at timestamptz,
    processed_at timestamptz,
    encoding text CHECK (encoding IN ('GSM-7', 'UCS-2')),
    segments integer CHECK (segments > 0),
    request_id text
);
-- GET /messages orders by received_at DESC, id DESC under any one filter: one index per filter
-- keeps every page an index range scan.
CREATE INDEX sms_messages_newest ON sms_messages (received_at DESC, id DESC);
CREATE INDEX sms_messages_from_newest ON sms_messages ("from", received_at DESC, id DESC);
CREATE INDEX sms_messages_to_newest ON sms_messages ("to", received_at DESC, id DESC);
CREATE INDEX sms_messages_status_newest ON sms_messages (status, received_at DESC, id DESC);

-- Content-addressed media: one row (and one file) per distinct content.
CREATE TABLE media (
    sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type text NOT NULL,
    size bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- No foreign key to sms_messages: media may be attached while the message is still in the
-- pipeline (visible as `received`), before storage has written its row.
CREATE TABLE sms_message_media (
    message_id uuid NOT NULL,
    sha256 text NOT NULL REFERENCES media (sha256),
    attached_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, sha256)
);

-- Running totals, updated in the transaction that marks messages processed, so /metrics
-- reads one row instead of scanning the table.
CREATE TABLE sms_stats (
    id smallint PRIMARY KEY CHECK (id = 1),
    processed bigint NOT NULL DEFAULT 0,
    processing_ms double precision NOT NULL DEFAULT 0
);
INSERT INTO sms_stats (id) VALUES (1);
