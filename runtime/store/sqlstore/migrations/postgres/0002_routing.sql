-- +goose Up
ALTER TABLE conversations ADD COLUMN lapsed TEXT NOT NULL DEFAULT '';
CREATE INDEX conversations_held ON conversations (operator) WHERE state IN ('Assigned', 'Active');
