package api

import (
	"fmt"
	"net/http"

	"github.com/switchboard-chat/switchboard/runtime/auth"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// channelFor returns the channel of the request, checking for web widgets that the
// request's Origin is allowed, and setting the CORS headers that let it through.
func (s *Server) channelFor(w http.ResponseWriter, r *http.Request) (*config.Channel, bool) {
	name := r.PathValue("channel")
	ch := s.engine.Channel(name)
	switch {
	case ch == nil:
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("channel %q does not exist", name))
		return nil, false
	case ch.WebWidget == nil && ch.Internal == nil:
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("channel %q is a %s channel: its messages arrive through the provider's webhook", name, ch.Type))
		return nil, false
	}
	if ch.WebWidget != nil {
		origin := r.Header.Get("Origin")
		if !originAllowed(origin, ch.WebWidget.AllowedOrigins, s.publicOrigin()) {
			writeError(w, http.StatusForbidden, "origin_not_allowed",
				fmt.Sprintf("origin %q may not use channel %q: add it to the Channel's spec.webWidget.allowedOrigins", origin, name))
			return nil, false
		}
		h := w.Header()
		if origin != "" {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		h.Add("Vary", "Origin")
	}
	return ch, true
}

func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.channelFor(w, r); !ok {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// channelInfo is what a widget needs to draw itself. An internal channel's is for
// its employees only.
func (s *Server) channelInfo(w http.ResponseWriter, r *http.Request) {
	ch, ok := s.channelFor(w, r)
	if !ok {
		return
	}
	if ch.Internal != nil {
		if _, ok := s.channelEmployee(w, r, ch); !ok {
			return
		}
	}
	info := map[string]any{"name": ch.Name, "type": ch.Type, "active": ch.Active, "displayName": ch.DisplayName}
	if ww := ch.WebWidget; ww != nil {
		info["title"], info["greeting"], info["color"] = ww.Title, ww.Greeting, ww.Color
		info["offlineForm"], info["ratings"] = ww.OfflineFormEnabled, ww.Ratings
		info["ratingScale"], info["survey"], info["goals"] = ww.Scale(), ww.Survey, ww.Goals
		if ww.PreChat != nil {
			// The widget shows its pre-chat form when preChat is present.
			info["preChat"] = map[string]bool{"requireEmail": ww.PreChat.RequireEmail}
		}
	}
	if err := s.addAvailability(r.Context(), ch, info); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// client authenticates the contact behind a request: a widget visitor by their token,
// an employee on an internal channel by their operator credentials and membership of
// the channel's client groups.
func (s *Server) client(w http.ResponseWriter, r *http.Request, ch *config.Channel) (store.Contact, bool) {
	if ch.WebWidget != nil {
		if s.throttled(w, r) {
			return store.Contact{}, false
		}
		c, err := s.engine.ContactByToken(r.Context(), auth.Credential(r))
		if err == nil && c.Channel != ch.Name {
			err = chat.Unauthenticated("this visitor token belongs to another channel")
		}
		if err != nil {
			s.fail(w, r, err)
			return store.Contact{}, false
		}
		return c, true
	}
	name, ok := s.channelEmployee(w, r, ch)
	if !ok {
		return store.Contact{}, false
	}
	contact, err := s.engine.EnsureContact(r.Context(), ch.Name, s.employee(name))
	if err != nil {
		s.fail(w, r, err)
		return store.Contact{}, false
	}
	return contact, true
}

// channelEmployee authenticates an employee of an internal channel's client groups.
func (s *Server) channelEmployee(w http.ResponseWriter, r *http.Request, ch *config.Channel) (string, bool) {
	name, ok := s.verify(w, r)
	if !ok {
		return "", false
	}
	if !s.engine.IsClient(ch.Name, name) {
		writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("%s is in none of the client groups of channel %q", name, ch.Name))
		return "", false
	}
	return name, true
}

func (s *Server) employee(name string) chat.Identity {
	p, _ := s.engine.Person(name)
	return chat.Identity{ExternalID: name, Name: p.DisplayName, Email: p.Email, Phone: p.Phone}
}

type openRequest struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	// Text, when set, is the first message.
	Text string `json:"text,omitempty"`
}

type openResponse struct {
	// Token is set for a new visitor only: keep it (the widget keeps it in local
	// storage) to come back to the conversation after a reload.
	Token        string                   `json:"token,omitempty"`
	Conversation chat.VisitorConversation `json:"conversation"`
	Message      *chat.VisitorMessage     `json:"message,omitempty"`
}

// openConversation starts (or resumes) a contact's conversation.
func (s *Server) openConversation(w http.ResponseWriter, r *http.Request) {
	ch, ok := s.channelFor(w, r)
	if !ok {
		return
	}
	var req openRequest
	if !s.decode(w, r, &req) {
		return
	}
	if len(req.Name) > 128 || len(req.Email) > 254 {
		writeError(w, http.StatusBadRequest, "invalid", "name is at most 128 bytes and email at most 254")
		return
	}
	var opened chat.Opened
	var err error
	switch {
	case ch.Internal != nil:
		contact, ok := s.client(w, r, ch)
		if !ok {
			return
		}
		opened, err = s.engine.Open(r.Context(), ch.Name, chat.Identity{ExternalID: contact.ExternalID})
	case auth.Credential(r) != "":
		// A returning visitor: resume with the token they hold.
		contact, ok := s.client(w, r, ch)
		if !ok || !s.emailGiven(w, r, ch, contact, req.Email) {
			return
		}
		if contact, err = s.rememberIdentity(r.Context(), contact, req.Name, req.Email); err != nil {
			s.fail(w, r, err)
			return
		}
		opened, err = s.engine.Open(r.Context(), ch.Name, chat.Identity{ExternalID: contact.ExternalID})
	default:
		// A new visitor: no account stands behind them, so their address is what
		// limits how many start.
		if wait := s.conversations.wait(addrKey(s.clientAddr(r))); wait > 0 {
			s.tooMany(w, limitedConversation, wait, "too many new conversations from your address: try again in %d s")
			return
		}
		if !s.emailGiven(w, r, ch, store.Contact{}, req.Email) {
			return
		}
		opened, err = s.engine.Open(r.Context(), ch.Name, chat.Identity{Name: req.Name, Email: req.Email})
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp := openResponse{Token: opened.Token, Conversation: s.engine.ConversationForVisitor(opened.Conversation)}
	if req.Text != "" {
		if !s.allowMessage(w, "contact:"+opened.Contact.ID) {
			return
		}
		m, conv, err := s.engine.Inbound(r.Context(), opened.Contact, req.Text, "")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		vm := s.engine.ForVisitor(m)
		resp.Message, resp.Conversation = &vm, s.engine.ConversationForVisitor(conv)
		opened.Conversation = conv
	}
	// A returning contact's open tabs move to the conversation they are now in.
	s.follow(r.Context(), opened.Contact.ID, opened.Conversation)
	writeJSON(w, http.StatusCreated, resp)
}

// clientConversationFor authenticates the client and loads one of their conversations.
func (s *Server) clientConversationFor(w http.ResponseWriter, r *http.Request, id string) (store.Contact, store.Conversation, bool) {
	ch, ok := s.channelFor(w, r)
	if !ok {
		return store.Contact{}, store.Conversation{}, false
	}
	return s.clientConversationOn(w, r, ch, id)
}

// clientConversationOn is clientConversationFor on a channel found already.
func (s *Server) clientConversationOn(w http.ResponseWriter, r *http.Request, ch *config.Channel, id string) (store.Contact, store.Conversation, bool) {
	contact, ok := s.client(w, r, ch)
	if !ok {
		return store.Contact{}, store.Conversation{}, false
	}
	conv, err := s.engine.ContactConversation(r.Context(), contact, id)
	if err != nil {
		s.fail(w, r, err)
		return store.Contact{}, store.Conversation{}, false
	}
	return contact, conv, true
}

func (s *Server) clientConversation(w http.ResponseWriter, r *http.Request) {
	if _, conv, ok := s.clientConversationFor(w, r, r.PathValue("id")); ok {
		position, err := s.engine.Position(r.Context(), conv)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, struct {
			chat.VisitorConversation
			// Position is the place in the queue while the chat waits, 1 for the next.
			Position int `json:"position,omitempty"`
		}{s.engine.ConversationForVisitor(conv), position})
	}
}

func (s *Server) clientMessages(w http.ResponseWriter, r *http.Request) {
	_, conv, ok := s.clientConversationFor(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	msgs, next, ok := s.messagePage(w, r, conv.ID)
	if !ok {
		return
	}
	out := make([]chat.VisitorMessage, len(msgs))
	for i, m := range msgs {
		out[i] = s.engine.ForVisitor(m)
	}
	writeJSON(w, http.StatusOK, messageList[chat.VisitorMessage]{Messages: out, Next: next})
}

type sendRequest struct {
	Text string `json:"text"`
}

// clientSend stores a contact's message. If their conversation was closed meanwhile,
// the message starts a new one, which the response names.
func (s *Server) clientSend(w http.ResponseWriter, r *http.Request) {
	contact, _, ok := s.clientConversationFor(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	var req sendRequest
	if !s.decode(w, r, &req) {
		return
	}
	if !s.allowMessage(w, "contact:"+contact.ID) {
		return
	}
	m, conv, err := s.engine.Inbound(r.Context(), contact, req.Text, "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if conv.ID != r.PathValue("id") {
		s.follow(r.Context(), contact.ID, conv) // the message started the next conversation
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": s.engine.ForVisitor(m), "conversation": s.engine.ConversationForVisitor(conv)})
}

// botReply is a channel's bot answering a chat it holds.
func (s *Server) botReply(w http.ResponseWriter, r *http.Request) {
	if s.throttled(w, r) {
		return
	}
	var req sendRequest
	if !s.decode(w, r, &req) {
		return
	}
	m, err := s.engine.BotReply(r.Context(), r.PathValue("channel"), auth.Credential(r), r.PathValue("id"), req.Text)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

type handoverRequest struct {
	Reason string `json:"reason,omitempty"`
}

// botHandover is a channel's bot giving a chat to the queue.
func (s *Server) botHandover(w http.ResponseWriter, r *http.Request) {
	if s.throttled(w, r) {
		return
	}
	var req handoverRequest
	if r.ContentLength != 0 && !s.decode(w, r, &req) {
		return
	}
	c, err := s.engine.BotHandover(r.Context(), r.PathValue("channel"), auth.Credential(r), r.PathValue("id"), req.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.engine.ConversationForVisitor(c))
}
