package api

import (
	"context"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// followed is the conversation the connection carries.
func (w *wsConn) followed() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.following
}

// moveTo makes the connection carry conversation id, reporting whether it carried
// another.
func (w *wsConn) moveTo(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.following == id {
		return false
	}
	w.following = id
	return true
}

// ofContact lists the open connections of a visitor or internal client.
func (cs *connections) ofContact(id string) []*wsConn {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := make([]*wsConn, 0, len(cs.byContact[id]))
	for w := range cs.byContact[id] {
		out = append(out, w)
	}
	return out
}

// follow moves every connection of the contact on this replica to conv, a
// conversation the contact's own message just started: each hears of the
// conversation, then gets its history, which holds that message. The message was
// published before any connection could subscribe to the new conversation, so the
// history is what delivers it; as on connecting, subscribing first means nothing
// falls between the two, and a message both live and in the history has one seq.
func (s *Server) follow(ctx context.Context, contact string, conv store.Conversation) {
	vc := s.engine.ConversationForVisitor(conv)
	for _, w := range s.conns.ofContact(contact) {
		if !w.moveTo(conv.ID) {
			continue
		}
		s.engine.Hub().Subscribe(w, chat.TopicVisitor(conv.ID))
		w.send(chat.VisitorEvent{Type: "conversation", Conversation: &vc})
		msgs, err := s.engine.Messages(ctx, conv.ID, 0, 0)
		if err != nil {
			w.close(closeResync, "updates may have been missed: reconnect to resume")
			continue
		}
		history := make([]chat.VisitorMessage, len(msgs))
		for i, m := range msgs {
			history[i] = s.engine.ForVisitor(m)
		}
		position, _ := s.engine.Position(ctx, conv)
		w.send(chat.VisitorEvent{Type: "history", Conversation: &vc, Messages: history, Position: position})
	}
}
