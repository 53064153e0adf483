-- +goose Up
-- Files that messages carry. A contact's file is stored 'pending' with its message and
-- fetched from the provider by an outbox job, which keeps it ('stored') or records why
-- not ('refused', with a note). An operator's file is stored with its message. The
-- bytes stay in this table, apart from messages, so reading a chat reads no files.
CREATE TABLE attachments (
  id              TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations (id),
  message_id      BIGINT NOT NULL REFERENCES messages (id),
  position        BIGINT NOT NULL,
  kind            TEXT NOT NULL,
  name            TEXT NOT NULL DEFAULT '',
  content_type    TEXT NOT NULL DEFAULT '',
  size            BIGINT NOT NULL DEFAULT 0,
  sha256          TEXT NOT NULL DEFAULT '',
  state           TEXT NOT NULL,
  note            TEXT NOT NULL DEFAULT '',
  data            BYTEA,
  created_at      BIGINT NOT NULL
);
CREATE INDEX attachments_message ON attachments (conversation_id, message_id);
-- Random keys every replica shares, such as the one that signs public media URLs.
CREATE TABLE runtime_keys (
  name       TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
