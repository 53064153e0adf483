package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/presence"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// SetConsoles gives the server the tracker of operators' consoles across replicas:
// it is synced whenever a console opens or closes here, and asked whether an
// operator's console session goes on when another opens.
func (s *Server) SetConsoles(t *presence.Tracker) {
	s.conns.mu.Lock()
	defer s.conns.mu.Unlock()
	s.conns.consoles.Store(t)
	s.conns.consolesChanged = func() { t.Sync(context.Background()) }
}

// consoleSessionGoesOn reports, before a console of the operator is added, whether
// their console session goes on: another console is open here or on another replica,
// or one closed less than the LiveChat's offlineAfter ago.
func (s *Server) consoleSessionGoesOn(name string) bool {
	if s.conns.consoleOpen(name) {
		return true
	}
	if t := s.conns.consoles.Load(); t != nil {
		return t.Online(name)
	}
	return false
}

// consoleOpened brings an operator whose console session starts online.
func (s *Server) consoleOpened(ctx context.Context, me chat.Me, sessionGoesOn bool) {
	if err := s.engine.ConsoleOpened(ctx, me.Name, sessionGoesOn); err != nil {
		s.log.Error("bringing an operator whose console opened online", "operator", me.Name, "error", err)
	}
}

// offerFilter is the filter of an operator's console, set by their availability now;
// nil for supervisors, who watch every chat.
func (s *Server) offerFilter(ctx context.Context, me chat.Me) *offerFilter {
	if me.Supervisor {
		return nil
	}
	f := &offerFilter{}
	if a, err := s.engine.Availability(ctx, me.Name); err == nil {
		f.atLimit.Store(a.AtLimit)
	}
	return f
}

// offerFilter withholds, from the console of an operator at their limit, the chats
// waiting for an operator (Creatio: "will not see any new chats until they terminate
// one"). It learns the operator's limit from the "me" events their console gets.
type offerFilter struct {
	atLimit atomic.Bool
}

var (
	meEventPrefix           = []byte(`{"type":"me",`)
	conversationEventPrefix = []byte(`{"type":"conversation",`)
)

// pass reports whether a console event goes out.
func (f *offerFilter) pass(event []byte) bool {
	if f == nil {
		return true
	}
	switch {
	case bytes.HasPrefix(event, meEventPrefix):
		var ev chat.Event
		if json.Unmarshal(event, &ev) == nil && ev.Me != nil && ev.Me.Availability != nil {
			f.atLimit.Store(ev.Me.AtLimit)
		}
	case f.atLimit.Load() && bytes.HasPrefix(event, conversationEventPrefix):
		var ev struct {
			Conversation struct {
				State store.State `json:"state"`
			} `json:"conversation"`
		}
		if json.Unmarshal(event, &ev) == nil && (ev.Conversation.State == store.StateQueued || ev.Conversation.State == store.StateMissed) {
			return false
		}
	}
	return true
}

// withAvailability fills in the operator's availability (presence, active,
// inactiveReason, load, limit, atLimit) for a handler that shows it: GET /api/v1/me.
func (s *Server) withAvailability(h operatorHandler) operatorHandler {
	return func(w http.ResponseWriter, r *http.Request, me chat.Me) {
		full, err := s.engine.Me(r.Context(), me.Name)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r, full)
	}
}
