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
		r, name, ok := s.operatorCredential(w, r)
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
	writeJSON(w, http.StatusOK, s.meWithConsole(me))
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
	// ?contact= lists one contact's conversations, in every state unless ?state= says.
	contact := r.URL.Query().Get("contact")
	if r.URL.Query().Has("contact") && strings.TrimSpace(contact) == "" {
		writeError(w, http.StatusBadRequest, "invalid", "contact is empty: pass a conversation's contactID")
		return
	}
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
	limit, ok := limitParam(w, r, defaultConversationPage, maxConversationPage)
	if !ok {
		return
	}
	after, ok := cursorParam(w, r)
	if !ok {
		return
	}
	list, next, err := s.conversationPage(r.Context(), me, contact, states, after, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, conversationList{Conversations: list, Next: next})
}

// conversationList is a page of conversations.
type conversationList struct {
	Conversations []store.Conversation `json:"conversations"`
	// Next is the cursor of the next page; absent on the last.
	Next string `json:"next,omitempty"`
}

// activityList is a page of a conversation's activity.
type activityList struct {
	Activity []store.Activity `json:"activity"`
	// Next is the ?after= of the next page; absent on the last.
	Next int64 `json:"next,omitempty"`
}

// messageList is a page of messages.
type messageList[M any] struct {
	Messages []M `json:"messages"`
	// Next is the ?after= of the next page; absent on the last.
	Next int64 `json:"next,omitempty"`
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
	msgs, next, ok := s.messagePage(w, r, c.ID)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, messageList[store.Message]{Messages: msgs, Next: next})
}

func (s *Server) conversationActivity(w http.ResponseWriter, r *http.Request, me chat.Me) {
	c, err := s.engine.Conversation(r.Context(), me.Name, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	after, ok := afterParam(w, r)
	if !ok {
		return
	}
	limit, ok := limitParam(w, r, maxActivityPage, maxActivityPage)
	if !ok {
		return
	}
	acts, err := s.engine.Store().Activity(r.Context(), c.ID, after, limit+1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := activityList{Activity: acts}
	if len(acts) > limit {
		page.Activity = acts[:limit]
		page.Next = acts[limit-1].ID
	}
	if page.Activity == nil {
		page.Activity = []store.Activity{}
	}
	writeJSON(w, http.StatusOK, page)
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
	if !s.allowMessage(w, "operator:"+me.Name) {
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
