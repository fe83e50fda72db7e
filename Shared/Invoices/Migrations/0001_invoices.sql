-- Invoices (seeds 000, 001). The file lives in the blob store under `blob_key`; this row is
-- written by storage only after ingest has made the blob durable, so a row never names a
-- missing file.
CREATE TABLE IF NOT EXISTS invoices (
    id              uuid PRIMARY KEY,
    sender_id       bigint NOT NULL CHECK (sender_id > 0),
    receiver_id     bigint NOT NULL CHECK (receiver_id > 0),
    file_type       text NOT NULL CHECK (file_type IN ('application/pdf', 'image/png')),
    size            bigint NOT NULL CHECK (size > 0),
    sha256          text NOT NULL,
    blob_key        text NOT NULL,
    is_payable      boolean NOT NULL,
    notify_email    text,
    callback_url    text,
    -- received -> stored -> available | rejected; available -> paid.
    status          text NOT NULL CHECK (status IN ('stored', 'available', 'rejected', 'paid')),
    rejection       text,
    pages           integer,
    width           integer,
    height          integer,
    request_id      text,
    created_at      timestamptz NOT NULL,
    stored_at       timestamptz NOT NULL DEFAULT now(),
    checked_at      timestamptz,
    paid_at         timestamptz,
    -- Each email and callback goes out once: a sender claims it for a while (a crashed
    -- sender's claim lapses), and records it once sent.
    email_claimed_until    timestamptz,
    email_sent_at          timestamptz,
    callback_queued_at     timestamptz,
    callback_claimed_until timestamptz,
    callback_sent_at       timestamptz
);

-- Lists: newest first, id as tie-break, per sender and per receiver.
CREATE INDEX IF NOT EXISTS invoices_by_sender ON invoices (sender_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS invoices_by_receiver ON invoices (receiver_id, created_at DESC, id DESC);
-- The relay that queues paid callbacks a crashed ingest did not hand on.
CREATE INDEX IF NOT EXISTS invoices_paid_callback_due ON invoices (paid_at)
    WHERE status = 'paid' AND callback_url IS NOT NULL AND callback_queued_at IS NULL;
