package api

import (
	"net/http"
	"strings"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// operatorHandler is a handler for an authenticated operator.
type operatorHandler func(w http.ResponseWriter, r *http.Request, me chat.Me)

// operator authenticates the operator behind a request.
func (s *Server) operator(h operatorHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, ok := s.verify(w, r)
		if !ok {
			return
		}
		me, err := s.engine.Operator(name)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r, me)
	}
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, me chat.Me) {
	writeJSON(w, http.StatusOK, me)
}

type presenceRequest struct {
	Presence store.Presence `json:"presence"`
	// Active true sets the operator active again after an accept timeout made them
	// inactive.
	Active *bool `json:"active,omitempty"`
}

func (s *Server) presence(w http.ResponseWriter, r *http.Request, me chat.Me) {
	var req presenceRequest
	if !s.decode(w, r, &req) {
		return
	}
	op, err := s.engine.SetPresence(r.Context(), me.Name, req.Presence, req.Active)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, op)
}

func (s *Server) operators(w http.ResponseWriter, r *http.Request, me chat.Me) {
	ops, err := s.engine.Store().Operators(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ops == nil {
		ops = []store.Operator{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"operators": ops})
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request, me chat.Me) {
	var states []store.State
	if v := r.URL.Query().Get("state"); v != "" {
		for _, st := range strings.Split(v, ",") {
			switch state := store.State(st); state {
			case store.StateBot, store.StateQueued, store.StateAssigned, store.StateActive, store.StateClosed, store.StateMissed:
				states = append(states, state)
			default:
				writeError(w, http.StatusBadRequest, "invalid", "state "+st+" is unknown: use Bot, Queued, Assigned, Active, Closed or Missed")
				return
			}
		}
	}
	list, err := s.engine.Visible(r.Context(), me.Name, states)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if list == nil {
		list = []store.Conversation{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": list})
}

// conversationView is a conversation with its contact, for the console.
type conversationView struct {
	store.Conversation
	Contact store.Contact `json:"contact"`
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request, me chat.Me) {
	c, err := s.engine.Conversation(r.Context(), me.Name, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	contact, err := s.engine.Store().Contact(r.Context(), c.ContactID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, conversationView{Conversation: c, Contact: contact})
}

func (s *Server) conversationMessages(w http.ResponseWriter, r *http.Request, me chat.Me) {
	c, err := s.engine.Conversation(r.Context(), me.Name, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	after, ok := afterParam(w, r)
	if !ok {
		return
	}
	msgs, err := s.engine.Messages(r.Context(), c.ID, after, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if msgs == nil {
		msgs = []store.Message{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
}

func (s *Server) conversationActivity(w http.ResponseWriter, r *http.Request, me chat.Me) {
	c, err := s.engine.Conversation(r.Context(), me.Name, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	acts, err := s.engine.Store().Activity(r.Context(), c.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"activity": acts})
}

func (s *Server) take(w http.ResponseWriter, r *http.Request, me chat.Me) {
	c, err := s.engine.Take(r.Context(), me.Name, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

type forwardRequest struct {
	// Operator or Queue: exactly one.
	Operator string `json:"operator,omitempty"`
	Queue    string `json:"queue,omitempty"`
}

func (s *Server) forward(w http.ResponseWriter, r *http.Request, me chat.Me) {
	var req forwardRequest
	if !s.decode(w, r, &req) {
		return
	}
	c, err := s.engine.Forward(r.Context(), me.Name, r.PathValue("id"), req.Operator, req.Queue)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// runAction runs a chat action; a webhook that fails is 502 with what went wrong.
func (s *Server) runAction(w http.ResponseWriter, r *http.Request, me chat.Me) {
	res, err := s.engine.RunAction(r.Context(), me.Name, r.PathValue("id"), r.PathValue("action"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !res.OK {
		writeJSON(w, http.StatusBadGateway, res)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request, me chat.Me) {
	var req sendRequest
	if !s.decode(w, r, &req) {
		return
	}
	if !s.allow("operator:" + me.Name) {
		writeError(w, http.StatusTooManyRequests, "rate_limited", "too many messages: slow down")
		return
	}
	m, err := s.engine.Reply(r.Context(), me.Name, r.PathValue("id"), req.Text)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

func (s *Server) closeConversation(w http.ResponseWriter, r *http.Request, me chat.Me) {
	c, err := s.engine.CloseConversation(r.Context(), me.Name, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}
