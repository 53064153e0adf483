-- +goose Up
-- Where each outgoing messenger message stands with its provider (queued, sent,
-- delivered, read, failed) and the provider's reason for a failure. The provider's id
-- of a sent message goes into dedup_key as '<channel>/out/<id>', so its delivery news
-- finds it through the unique index already there.
ALTER TABLE messages ADD COLUMN delivery TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN delivery_error TEXT NOT NULL DEFAULT '';
-- Contacts who asked for no more messages (an SMS reply of STOP) until they ask again.
ALTER TABLE contacts ADD COLUMN opted_out BIGINT NOT NULL DEFAULT 0;
