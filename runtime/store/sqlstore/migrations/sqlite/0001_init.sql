-- +goose Up
CREATE TABLE contacts (
  id          TEXT PRIMARY KEY,
  channel     TEXT NOT NULL,
  external_id TEXT NOT NULL,
  name        TEXT NOT NULL DEFAULT '',
  email       TEXT NOT NULL DEFAULT '',
  phone       TEXT NOT NULL DEFAULT '',
  token_hash  TEXT,
  created_at  INTEGER NOT NULL,
  UNIQUE (channel, external_id)
);
CREATE UNIQUE INDEX contacts_token ON contacts (token_hash) WHERE token_hash IS NOT NULL;

CREATE TABLE conversations (
  id                  TEXT PRIMARY KEY,
  channel             TEXT NOT NULL,
  queue               TEXT NOT NULL,
  contact_id          TEXT NOT NULL REFERENCES contacts (id),
  state               TEXT NOT NULL,
  operator            TEXT NOT NULL DEFAULT '',
  last_operator       TEXT NOT NULL DEFAULT '',
  offered             TEXT NOT NULL DEFAULT '',
  bot_answered        INTEGER NOT NULL DEFAULT 0,
  queued_at           INTEGER,
  assigned_at         INTEGER,
  accept_deadline     INTEGER,
  completion_deadline INTEGER,
  last_message_at     INTEGER,
  last_outgoing_at    INTEGER,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  closed_at           INTEGER,
  seq                 INTEGER NOT NULL DEFAULT 0,
  version             INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX conversations_queue ON conversations (state, queue, queued_at);
CREATE INDEX conversations_operator ON conversations (operator, state);
CREATE INDEX conversations_contact ON conversations (contact_id, state);
CREATE INDEX conversations_accept_deadline ON conversations (accept_deadline) WHERE accept_deadline IS NOT NULL;
CREATE INDEX conversations_completion_deadline ON conversations (completion_deadline) WHERE completion_deadline IS NOT NULL;

CREATE TABLE messages (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  conversation_id TEXT NOT NULL REFERENCES conversations (id),
  seq             INTEGER NOT NULL,
  direction       TEXT NOT NULL,
  author_kind     TEXT NOT NULL,
  author          TEXT NOT NULL DEFAULT '',
  text            TEXT NOT NULL,
  provider_id     TEXT NOT NULL DEFAULT '',
  dedup_key       TEXT,
  created_at      INTEGER NOT NULL,
  UNIQUE (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_dedup ON messages (dedup_key) WHERE dedup_key IS NOT NULL;

CREATE TABLE operators (
  name             TEXT PRIMARY KEY,
  presence         TEXT NOT NULL,
  active           INTEGER NOT NULL DEFAULT 1,
  last_assigned_at INTEGER,
  updated_at       INTEGER NOT NULL
);

CREATE TABLE activity (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  conversation_id TEXT NOT NULL,
  type            TEXT NOT NULL,
  actor           TEXT NOT NULL DEFAULT '',
  detail          TEXT NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL
);
CREATE INDEX activity_conversation ON activity (conversation_id, id);
