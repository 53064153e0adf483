package api

import (
	"context"
	"encoding/json"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Typing indicators are fleeting: published to whoever is connected to this replica
// now, never stored, and limited like pings.

// typingEvent tells the other side of a conversation that someone is writing.
type typingEvent struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversationID,omitempty"`
	AuthorKind     string `json:"authorKind"`
	AuthorName     string `json:"authorName,omitempty"`
}

// visitorTyping tells the consoles of the conversation's queue that its contact is
// writing.
func (s *Server) visitorTyping(ctx context.Context, conversationID string) {
	c, err := s.engine.Store().Conversation(ctx, conversationID)
	if err != nil || c.State == store.StateClosed {
		return
	}
	data, _ := json.Marshal(typingEvent{Type: "typing", ConversationID: c.ID, AuthorKind: "contact"})
	s.engine.Hub().Publish(data, chat.TopicQueue(c.Queue))
}

// operatorEvent is what a console sends over its feed.
type operatorEvent struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation"`
}

// operatorTyping tells a conversation's visitor that the operator holding it is
// writing; it reports false for a conversation the operator does not hold.
func (s *Server) operatorTyping(ctx context.Context, me chat.Me, conversationID string) bool {
	c, err := s.engine.Conversation(ctx, me.Name, conversationID)
	if err != nil || c.Operator != me.Name || (c.State != store.StateActive && c.State != store.StateAssigned) {
		return false
	}
	data, _ := json.Marshal(typingEvent{Type: "typing", AuthorKind: "operator", AuthorName: me.DisplayName})
	s.engine.Hub().Publish(data, chat.TopicVisitor(c.ID))
	return true
}
