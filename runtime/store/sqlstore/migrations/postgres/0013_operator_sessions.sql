-- +goose Up
-- Operators' console sessions. The cookie holds a random id; only its SHA-256 is kept,
-- so a copy of the database signs nobody in. Every replica reads the same rows: a
-- session deleted at sign-out ends on all of them at once. credential is the SHA-256
-- of the token a session was opened with ('' for OIDC): once that token no longer
-- signs the operator in (rotated, removed), the session ends too.
CREATE TABLE operator_sessions (
  id_hash    TEXT PRIMARY KEY,
  operator   TEXT NOT NULL,
  method     TEXT NOT NULL,
  credential TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  seen_at    BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX operator_sessions_operator ON operator_sessions (operator);
CREATE INDEX operator_sessions_seen ON operator_sessions (seen_at);
-- OpenID Connect sign-ins under way: what the browser's sign-in cookie (by the hash of
-- its random id) must come back with from the provider. Each is taken once.
CREATE TABLE oidc_logins (
  id_hash    TEXT PRIMARY KEY,
  state      TEXT NOT NULL,
  verifier   TEXT NOT NULL,
  nonce      TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_logins_expires ON oidc_logins (expires_at);
