package api

import (
	"context"
	"fmt"
	"net/http"
	"net/mail"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// offlineInfo is what a widget shows while nobody is online: the queue's
// spec.offline.message and the Channel's offlineForm.
type offlineInfo struct {
	Message string      `json:"message,omitempty"`
	Form    offlineForm `json:"form"`
}

type offlineForm struct {
	Enabled      bool `json:"enabled"`
	RequireEmail bool `json:"requireEmail"`
}

// addAvailability adds to a channel's info whether anyone answers now ("online": an
// operator of its queue is online and active) and what the widget shows otherwise.
func (s *Server) addAvailability(ctx context.Context, ch *config.Channel, info map[string]any) error {
	online, err := s.engine.QueueOnline(ctx, ch.Queue)
	if err != nil {
		return err
	}
	info["online"] = online
	off := offlineInfo{}
	if cfg, _ := s.engine.Config(); cfg != nil {
		for _, q := range cfg.Queues {
			if q.Name == ch.Queue {
				off.Message = q.Offline.Message
			}
		}
	}
	if ww := ch.WebWidget; ww != nil {
		off.Form = offlineForm{Enabled: ww.OfflineFormEnabled, RequireEmail: ww.OfflineFormRequireEmail}
	}
	info["offline"] = off
	return nil
}

// emailProblem says what is wrong when a widget visitor starts a conversation without
// the email address the channel requires, and neither the request nor the visitor's
// contact has a valid one; "" when nothing is. The pre-chat form may require one
// always; the offline form while nobody is online, as the answer may come by email.
// A returning visitor (known) who has an open conversation resumes it without.
func (s *Server) emailProblem(ctx context.Context, ch *config.Channel, known store.Contact, given string) (string, error) {
	ww := ch.WebWidget
	if ww == nil || validEmail(known.Email) {
		return "", nil
	}
	preChat := ww.PreChat != nil && ww.PreChat.RequireEmail
	offlineForm := ww.OfflineFormEnabled && ww.OfflineFormRequireEmail
	switch {
	case !preChat && !offlineForm:
		return "", nil
	case given != "" && !validEmail(given):
		return fmt.Sprintf("email %q is not a valid email address: send one such as name@example.com", given), nil
	case given != "":
		return "", nil
	}
	if known.ID != "" {
		if open, err := s.engine.HasOpenConversation(ctx, known); err != nil || open {
			return "", err
		}
	}
	if offlineForm {
		online, err := s.engine.QueueOnline(ctx, ch.Queue)
		if err != nil {
			return "", err
		}
		if !online {
			return "nobody is online to answer now: send your email address (\"email\") with the conversation, so that the answer reaches you", nil
		}
	}
	if preChat {
		return fmt.Sprintf("channel %q asks for your email address before a chat: send it (\"email\") with the conversation", ch.Name), nil
	}
	return "", nil
}

// validEmail reports whether s is a bare email address.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// rememberIdentity stores the name and email a returning visitor gave on their
// contact, where they add to or change what it holds.
func (s *Server) rememberIdentity(ctx context.Context, c store.Contact, name, email string) (store.Contact, error) {
	changed := false
	if name != "" && name != c.Name {
		c.Name, changed = name, true
	}
	if email != "" && email != c.Email {
		c.Email, changed = email, true
	}
	if !changed {
		return c, nil
	}
	return c, s.engine.Store().UpdateContact(ctx, c)
}

// emailGiven answers 400 and returns false when emailProblem finds one.
func (s *Server) emailGiven(w http.ResponseWriter, r *http.Request, ch *config.Channel, known store.Contact, given string) bool {
	problem, err := s.emailProblem(r.Context(), ch, known, given)
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	if problem != "" {
		writeError(w, http.StatusBadRequest, "invalid", problem)
		return false
	}
	return true
}
