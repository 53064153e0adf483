package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// TestBotAnswerLandsOnlyWhileTheBotHoldsTheChat: a bot's answer is stored, and the
// chat flagged bot-answered with a new version, only while the chat is in state Bot;
// after a handover the same append is refused in its own transaction.
func TestBotAnswerLandsOnlyWhileTheBotHoldsTheChat(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := mustOpen(t, b)
			conv := seedConversation(t, s, store.StateBot)
			answer := store.Message{ConversationID: conv.ID, Direction: store.DirectionOut, AuthorKind: "bot", Text: "hi", BotAnswer: true}
			if _, _, err := s.AppendMessage(ctx, "website", answer); err != nil {
				t.Fatalf("a bot answer while the bot holds the chat: %v", err)
			}
			after, err := s.Conversation(ctx, conv.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !after.BotAnswered || after.Version != conv.Version+1 {
				t.Fatalf("after the bot's answer: botAnswered %v, version %d; want true and %d", after.BotAnswered, after.Version, conv.Version+1)
			}

			// A transition read before the answer cannot write the flag back.
			if _, err := s.Transition(ctx, store.Transition{ID: conv.ID, Version: conv.Version,
				Change: func(c *store.Conversation) { c.State = store.StateQueued }}); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("a handover read before the answer: %v, want ErrConflict", err)
			}
			if _, err := s.Transition(ctx, store.Transition{ID: conv.ID, Version: after.Version,
				Change: func(c *store.Conversation) { c.State = store.StateQueued }}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.AppendMessage(ctx, "website", answer); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("a bot answer after the handover: %v, want ErrConflict", err)
			}
			msgs, err := s.Messages(ctx, conv.ID, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 {
				t.Fatalf("%d messages stored, want only the answer given while the bot held the chat", len(msgs))
			}
		})
	}
}
