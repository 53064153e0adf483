package chat

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/switchboard-chat/switchboard/internal/egress"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// SignatureHeader carries the HMAC-SHA256 of a webhook's body, as "sha256=<hex>".
const SignatureHeader = "X-Switchboard-Signature"

// Secrets returns a Secret value, or nil.
type Secrets func(name, key string) []byte

// SetSecrets gives the engine the values of the Secrets its configuration names.
func (e *Engine) SetSecrets(s Secrets) { e.secrets.Store(&s) }

// ActionCall is what a chat action's webhook receives (Creatio passes ChatId and
// ContactId to the process it starts).
type ActionCall struct {
	Action       string             `json:"action"`
	ChatID       string             `json:"chatId"`
	ContactID    string             `json:"contactId"`
	Operator     string             `json:"operator"`
	Conversation store.Conversation `json:"conversation"`
	Contact      store.Contact      `json:"contact"`
}

// ActionResult is how a chat action went.
type ActionResult struct {
	Action string `json:"action"`
	OK     bool   `json:"ok"`
	// Status is the webhook's HTTP status, 0 when it could not be reached.
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
}

var actionClient = egress.Client(0)

// RunAction runs one of the queue's chat actions on a chat: it POSTs the chat id,
// contact id and the conversation's fields to the action's webhook, signed with
// HMAC-SHA256, and records the outcome in the activity stream. The operator must hold
// the chat or supervise the LiveChat.
func (e *Engine) RunAction(ctx context.Context, operator, id, action string) (ActionResult, error) {
	c, err := e.Conversation(ctx, operator, id)
	if err != nil {
		return ActionResult{}, err
	}
	v := e.view.Load()
	if c.Operator != operator && !v.supervisors[operator] {
		return ActionResult{}, Forbidden("only the operator holding the chat or a supervisor can run its actions")
	}
	var act *config.Action
	if q := v.queues[c.Queue]; q != nil {
		for i := range q.Actions {
			if q.Actions[i].Name == action {
				act = &q.Actions[i]
			}
		}
	}
	if act == nil {
		return ActionResult{}, NotFound(fmt.Sprintf("queue %q has no action %q", c.Queue, action))
	}
	contact, err := e.store.Contact(ctx, c.ContactID)
	if err != nil {
		return ActionResult{}, err
	}
	contact.TokenHash = ""
	body, err := json.Marshal(ActionCall{Action: action, ChatID: c.ID, ContactID: c.ContactID, Operator: operator, Conversation: c, Contact: contact})
	if err != nil {
		return ActionResult{}, err
	}
	res := ActionResult{Action: action}
	status, callErr := e.post(ctx, act.Webhook, body)
	res.Status = status
	switch {
	case callErr != nil:
		res.Error = callErr.Error()
	case status < 200 || status > 299:
		res.Error = fmt.Sprintf("the action's webhook answered %d %s", status, http.StatusText(status))
	default:
		res.OK = true
	}
	detail := fmt.Sprintf("%s (%s): ok", act.Caption, action)
	if !res.OK {
		detail = fmt.Sprintf("%s (%s) failed: %s", act.Caption, action, res.Error)
	}
	if err := e.store.AppendActivity(ctx, store.Activity{ConversationID: c.ID, Type: "ChatAction", Actor: operator, Detail: detail}); err != nil {
		return res, err
	}
	return res, nil
}

// post sends a signed webhook call and returns the answer's status. Errors never
// carry the signing key.
func (e *Engine) post(ctx context.Context, w config.Webhook, body []byte) (int, error) {
	timeout := w.Timeout.Duration
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("the action's URL is unusable: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "switchboard")
	if w.SecretRef != nil {
		key := e.secretValue(w.SecretRef.Name, w.SecretRef.Key)
		if len(key) == 0 {
			return 0, fmt.Errorf("the signing key (Secret %q, key %q) is not available", w.SecretRef.Name, w.SecretRef.Key)
		}
		mac := hmac.New(sha256.New, key)
		mac.Write(body)
		req.Header.Set(SignatureHeader, "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	resp, err := actionClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("the action's webhook did not answer within %s", timeout)
		}
		return 0, errors.New(describeCallError(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

func (e *Engine) secretValue(name, key string) []byte {
	s := e.secrets.Load()
	if s == nil || *s == nil {
		return nil
	}
	return (*s)(name, key)
}
