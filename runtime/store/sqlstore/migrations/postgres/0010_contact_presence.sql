-- +goose Up
-- Which replica has live connections (widget, internal client) of which contact, until
-- when: the replica refreshes its rows while the connections last, so rows of a replica
-- that died expire. Notification rules ask whether a visitor is online anywhere.
CREATE TABLE contact_presence (
  contact_id TEXT NOT NULL,
  replica    TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (contact_id, replica)
);
