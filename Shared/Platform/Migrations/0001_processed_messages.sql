-- Message ids a consumer has already applied, so that redeliveries have no second effect.
CREATE TABLE processed_messages (
    message_id uuid NOT NULL,
    consumer text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, consumer)
);
-- Old rows can be pruned by age; redeliveries come within minutes, not weeks.
CREATE INDEX processed_messages_processed_at ON processed_messages (processed_at);
