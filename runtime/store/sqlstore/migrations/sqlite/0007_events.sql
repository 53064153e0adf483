-- +goose Up
-- Events of the catalogue, each recorded in the transaction of the change that caused
-- it, and the cursors that follow them (notification dispatch): a cursor moves only in
-- the transaction that stores what the events it passes caused.
CREATE TABLE events (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  type            TEXT NOT NULL,
  conversation_id TEXT NOT NULL DEFAULT '',
  operator        TEXT NOT NULL DEFAULT '',
  detail          TEXT NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL
);
CREATE TABLE event_cursors (
  name     TEXT PRIMARY KEY,
  position INTEGER NOT NULL
);
