-- +goose Up
-- Which replica has an operator console open, until when: the replica refreshes its
-- rows while the consoles last, and when the last one closes it leaves the row to lapse
-- after the LiveChat's spec.operatorPresence.offlineAfter. An operator whose rows have
-- all lapsed is offline (presence sweep).
CREATE TABLE operator_consoles (
  operator   TEXT NOT NULL,
  replica    TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (operator, replica)
);
-- Why an operator is inactive (an accept timeout they let pass); empty while active.
ALTER TABLE operators ADD COLUMN inactive_reason TEXT NOT NULL DEFAULT '';
