-- +goose Up
-- A contact has at most one open conversation per channel. Before this index, two
-- concurrent opens could each start one; the later duplicates are closed, their
-- messages kept.
UPDATE conversations SET state = 'Closed', closed_at = updated_at, accept_deadline = NULL, completion_deadline = NULL
WHERE state <> 'Closed' AND id NOT IN (
  SELECT id FROM (
    SELECT id, row_number() OVER (PARTITION BY contact_id, channel ORDER BY created_at, id) AS n
    FROM conversations WHERE state <> 'Closed'
  ) ranked WHERE n = 1
);
CREATE UNIQUE INDEX conversations_open_per_contact ON conversations (contact_id, channel) WHERE state <> 'Closed';
