-- +goose Up
-- What visitors tell of a chat (a rating, feedback, survey answers, goals reached),
-- and when its steps first happened (the bot's handover, the first acceptance, the
-- first finish), kept on the conversation so the analytics read one row per chat
-- instead of its whole activity stream.
ALTER TABLE conversations ADD COLUMN rating_scale TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN rating INTEGER;
ALTER TABLE conversations ADD COLUMN rated_at INTEGER;
ALTER TABLE conversations ADD COLUMN feedback TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN survey TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN goals TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN offline INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN handed_over_at INTEGER;
ALTER TABLE conversations ADD COLUMN accepted_at INTEGER;
ALTER TABLE conversations ADD COLUMN finished_at INTEGER;
UPDATE conversations SET
  offline = CASE WHEN EXISTS (SELECT 1 FROM activity a WHERE a.conversation_id = conversations.id AND a.type = 'OfflineMessage') THEN 1 ELSE 0 END,
  handed_over_at = (SELECT min(a.created_at) FROM activity a WHERE a.conversation_id = conversations.id AND a.type = 'BotHandedOver'),
  accepted_at = (SELECT min(a.created_at) FROM activity a WHERE a.conversation_id = conversations.id AND a.type = 'ChatAccepted'),
  finished_at = (SELECT min(a.created_at) FROM activity a WHERE a.conversation_id = conversations.id AND a.type = 'ChatFinished');
-- The analytics read a day's conversations by conversations_created (0008), and keep
-- what they read of each day in memory until a conversation of the day changes.
