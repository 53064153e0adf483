-- +goose Up
-- A message event names its message (by the conversation's sequence number), so a
-- notification can link the message's attachments.
ALTER TABLE events ADD COLUMN message_seq BIGINT NOT NULL DEFAULT 0;
