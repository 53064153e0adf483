-- +goose Up
-- What a NotificationPolicy's status shows, kept durably so every replica reports the
-- same: a job may name a tally, whose counters the transaction that records the job's
-- outcome moves (finished jobs are pruned, the counters stay). Pending jobs are
-- counted from the jobs themselves.
ALTER TABLE outbox_jobs ADD COLUMN tally TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_jobs_tally ON outbox_jobs (tally) WHERE state = 'pending' AND tally <> '';
CREATE TABLE outbox_tallies (
  name          TEXT PRIMARY KEY,
  done          INTEGER NOT NULL DEFAULT 0,
  failed        INTEGER NOT NULL DEFAULT 0,
  last_done_at  INTEGER NOT NULL DEFAULT 0,
  last_error    TEXT NOT NULL DEFAULT '',
  last_error_at INTEGER NOT NULL DEFAULT 0
);
-- An event with a key is recorded once, whichever replica records it first (the
-- daily analytics of one day).
ALTER TABLE events ADD COLUMN event_key TEXT;
CREATE UNIQUE INDEX events_key ON events (event_key) WHERE event_key IS NOT NULL;
-- The last known facts of each channel (active, connected): a change of one is a
-- ChannelChanged event, recorded by the one replica whose update changed the row.
CREATE TABLE channel_flags (
  channel    TEXT NOT NULL,
  flag       TEXT NOT NULL,
  value      INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (channel, flag)
);
-- The daily analytics read the conversations created in a day.
CREATE INDEX conversations_created ON conversations (created_at);
