-- +goose Up
-- The outbox: what the runtime sends to providers (messenger replies, notification
-- deliveries), committed with the change that causes it. head marks the oldest
-- pending job of its order_key, the only one of the key that may be claimed, so
-- claiming never looks past the jobs queued behind it. A claim moves run_at to the end
-- of its lease: jobs in flight are not due, and are due again if their worker dies.
CREATE TABLE outbox_jobs (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  kind            TEXT NOT NULL,
  order_key       TEXT NOT NULL,
  limiter         TEXT NOT NULL DEFAULT '',
  idempotency_key TEXT NOT NULL UNIQUE,
  payload         TEXT NOT NULL,
  message_id      INTEGER,
  max_attempts    INTEGER NOT NULL DEFAULT 0,
  state           TEXT NOT NULL DEFAULT 'pending',
  head            INTEGER NOT NULL DEFAULT 0,
  attempts        INTEGER NOT NULL DEFAULT 0,
  run_at          INTEGER NOT NULL,
  lease_owner     TEXT,
  last_error      TEXT NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL,
  finished_at     INTEGER
);
CREATE INDEX outbox_jobs_due ON outbox_jobs (run_at, id) WHERE state = 'pending' AND head = 1;
CREATE INDEX outbox_jobs_key ON outbox_jobs (order_key, id) WHERE state = 'pending';
CREATE INDEX outbox_jobs_finished ON outbox_jobs (finished_at) WHERE state <> 'pending';
