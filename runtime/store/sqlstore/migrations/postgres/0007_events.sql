-- +goose Up
-- Events of the catalogue, each recorded in the transaction of the change that caused
-- it, and the cursors that follow them (notification dispatch): a cursor moves only in
-- the transaction that stores what the events it passes caused. xid is the recording
-- transaction: ids are taken before commit, so a later id can commit first, and a
-- reader passes an event only once every transaction older than its own has ended.
CREATE TABLE events (
  id              BIGSERIAL PRIMARY KEY,
  type            TEXT NOT NULL,
  conversation_id TEXT NOT NULL DEFAULT '',
  operator        TEXT NOT NULL DEFAULT '',
  detail          TEXT NOT NULL DEFAULT '',
  created_at      BIGINT NOT NULL,
  xid             xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE TABLE event_cursors (
  name     TEXT PRIMARY KEY,
  position BIGINT NOT NULL
);
