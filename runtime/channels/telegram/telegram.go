// Package telegram is the Telegram channel: a bot, through the Bot API. Updates come
// to a webhook the adapter registers (setWebhook with a secret token Telegram echoes in
// X-Telegram-Bot-Api-Secret-Token) or, for a LiveChat without a public https URL, by
// long polling (getUpdates). Replies go out with sendMessage.
package telegram

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-chat/switchboard/internal/neterr"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// SecretHeader carries the webhook's secret token on every delivery.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// allowedUpdates are the update kinds the channel asks for: messages only.
var allowedUpdates = []string{"message"}

// Provider is Telegram. Telegram asks bots to stay under about one message per second
// to one chat and 30 per second overall.
var Provider = channels.Provider{New: New, Limits: channels.Limits{
	PerRecipient: outbox.Rate{Limit: 1, Burst: 3},
	PerSender:    outbox.Rate{Limit: rate.Limit(30), Burst: 30},
}}

// Adapter is one bot.
type Adapter struct {
	api    string // base URL with the token: never logged, never in an error
	token  string
	secret string // the webhook's secret token, derived from the bot token
	http   *http.Client
	now    func() time.Time

	mu     sync.Mutex
	offset int64 // the next update_id getUpdates asks for
}

// New makes the adapter of a Telegram channel.
func New(s channels.Spec) (channels.Adapter, error) {
	t := s.Channel.Telegram
	if t == nil {
		return nil, errors.New("the channel has no telegram settings")
	}
	token := strings.TrimSpace(string(s.Secret(t.BotTokenSecretRef)))
	if token == "" {
		return nil, fmt.Errorf("Secret %q has no bot token under key %q: add the token @BotFather issued", t.BotTokenSecretRef.Name, t.BotTokenSecretRef.Key)
	}
	base := strings.TrimSuffix(t.APIBaseURL, "/")
	if base == "" {
		base = "https://api.telegram.org"
	}
	return &Adapter{api: base + "/bot" + token + "/", token: token, secret: SecretToken([]byte(token)),
		http: s.HTTP, now: s.Now}, nil
}

// SecretToken is the webhook secret token of a bot: derived from its token, so every
// replica sets and expects the same one, and it changes with the token.
func SecretToken(botToken []byte) string {
	return channels.DeriveSecret(botToken, "telegram-webhook")
}

// apiError is the Bot API's answer to a failed call.
type apiError struct {
	ErrorCode   int    `json:"error_code"`
	Description string `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// call calls a Bot API method with JSON parameters and decodes its result into out.
// Its errors never hold the URL, which holds the token.
func (a *Adapter) call(ctx context.Context, method string, params any, out any) error {
	body, err := json.Marshal(params)
	if err != nil {
		return outbox.Permanent(fmt.Errorf("telegram %s: %w", method, err))
	}
	return a.do(ctx, method, "application/json", bytes.NewReader(body), out)
}

// do posts a method's encoded parameters (JSON, or a multipart form with a file) and
// decodes its result into out, as call does.
func (a *Adapter) do(ctx context.Context, method, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.api+method, body)
	if err != nil {
		return outbox.Permanent(fmt.Errorf("telegram %s: the API base URL is invalid", method))
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := a.http.Do(req)
	if err != nil {
		// Never the error's own text: it has the URL (and so the token) and the
		// cluster's resolver.
		return fmt.Errorf("telegram %s: %s", method, neterr.Describe(err, "Telegram's API", "Telegram's API"))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("telegram %s: reading the answer: %v", method, err)
	}
	var env struct {
		OK     bool            `json:"ok"`
		Result json.RawMessage `json:"result"`
		apiError
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return fmt.Errorf("telegram %s: %s", method, resp.Status)
		}
		return fmt.Errorf("telegram %s: %s with an answer that is not the Bot API's", method, resp.Status)
	}
	if !env.OK {
		env.Description = a.redact(env.Description)
		return classify(method, resp.StatusCode, env.apiError)
	}
	if out != nil {
		if err := json.Unmarshal(env.Result, out); err != nil {
			return fmt.Errorf("telegram %s: unexpected result: %v", method, err)
		}
	}
	return nil
}

// classify turns a failed call into an error the outbox and the Connected condition
// understand.
func classify(method string, status int, e apiError) error {
	code := e.ErrorCode
	if code == 0 {
		code = status
	}
	err := fmt.Errorf("telegram %s: %d %s", method, code, e.Description)
	switch {
	case code == http.StatusTooManyRequests:
		if e.Parameters.RetryAfter > 0 {
			return outbox.RetryAfter(err, time.Duration(e.Parameters.RetryAfter)*time.Second)
		}
		return err
	case code == http.StatusUnauthorized || code == http.StatusNotFound && method == "getMe":
		return outbox.Permanent(outbox.Auth(fmt.Errorf("telegram rejects the bot token (%d %s): issue a new one with @BotFather and put it in the Secret", code, e.Description)))
	case code >= 500, code == http.StatusConflict:
		return err
	case code == http.StatusForbidden:
		// The user blocked the bot, or the bot was removed from the chat: final.
		return outbox.Permanent(fmt.Errorf("telegram %s: the contact cannot be reached: %s", method, e.Description))
	default:
		return outbox.Permanent(err)
	}
}

// Probe implements channels.Adapter: getMe.
func (a *Adapter) Probe(ctx context.Context) error {
	var me struct {
		IsBot bool `json:"is_bot"`
	}
	if err := a.call(ctx, "getMe", struct{}{}, &me); err != nil {
		return err
	}
	if !me.IsBot {
		return outbox.Auth(errors.New("the token is not a bot's: create a bot with @BotFather"))
	}
	return nil
}

// Register implements channels.Adapter: setWebhook with the secret token.
func (a *Adapter) Register(ctx context.Context, webhookURL string) error {
	return a.call(ctx, "setWebhook", map[string]any{"url": webhookURL, "secret_token": a.secret,
		"allowed_updates": allowedUpdates, "max_connections": 40}, nil)
}

// Deregister implements channels.Adapter: deleteWebhook, keeping pending updates for
// whoever fetches them next.
func (a *Adapter) Deregister(ctx context.Context) error {
	return a.call(ctx, "deleteWebhook", map[string]any{"drop_pending_updates": false}, nil)
}

// Send implements channels.Adapter: sendMessage.
func (a *Adapter) Send(ctx context.Context, m channels.Outgoing) (channels.Sent, error) {
	if m.Attachment != nil {
		return a.sendFile(ctx, m)
	}
	var sent struct {
		MessageID int64 `json:"message_id"`
		Chat      struct {
			ID int64 `json:"id"`
		} `json:"chat"`
	}
	if err := a.call(ctx, "sendMessage", map[string]any{"chat_id": m.To, "text": m.Text}, &sent); err != nil {
		return channels.Sent{}, err
	}
	return channels.Sent{ProviderID: messageKey(sent.Chat.ID, sent.MessageID)}, nil
}

// Webhook implements channels.Adapter: it checks the secret token, then parses one
// update.
func (a *Adapter) Webhook(r *http.Request, body []byte) (channels.Reply, error) {
	if r.Method != http.MethodPost {
		return channels.Reply{}, &channels.RequestError{Status: http.StatusMethodNotAllowed, Reason: "malformed", Message: "Telegram delivers updates with POST"}
	}
	got := r.Header.Get(SecretHeader)
	if got == "" {
		return channels.Reply{}, channels.Forged("the request has no %s header", SecretHeader)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(a.secret)) != 1 {
		return channels.Reply{}, channels.Forged("the secret token does not match this channel's")
	}
	var u update
	if err := json.Unmarshal(body, &u); err != nil {
		return channels.Reply{}, channels.Malformed("the body is not a Telegram update: %v", err)
	}
	if u.UpdateID <= 0 {
		return channels.Reply{}, channels.Malformed("the update has no update_id")
	}
	ev, ok := u.event()
	if !ok {
		return channels.Reply{}, nil // an update kind the channel does not use
	}
	return channels.Reply{Events: []channels.Event{ev}}, nil
}

// Poll implements channels.Poller: getUpdates. The offset of the next call confirms
// the updates of this one, and it moves on only once commit stored them.
func (a *Adapter) Poll(ctx context.Context, wait time.Duration, commit func([]channels.Event) error) error {
	a.mu.Lock()
	offset := a.offset
	a.mu.Unlock()
	var updates []json.RawMessage
	pollCtx, cancel := context.WithTimeout(ctx, wait+15*time.Second)
	defer cancel()
	if err := a.call(pollCtx, "getUpdates", map[string]any{"offset": offset, "timeout": int(wait.Seconds()),
		"allowed_updates": allowedUpdates}, &updates); err != nil {
		return err
	}
	if len(updates) == 0 {
		return nil
	}
	var events []channels.Event
	next := offset
	for _, raw := range updates {
		var u update
		if err := json.Unmarshal(raw, &u); err != nil {
			// One update we cannot read must not stop the others: skip past it.
			var id struct {
				UpdateID int64 `json:"update_id"`
			}
			_ = json.Unmarshal(raw, &id)
			next = max(next, id.UpdateID+1)
			continue
		}
		next = max(next, u.UpdateID+1)
		if ev, ok := u.event(); ok {
			events = append(events, ev)
		}
	}
	if len(events) > 0 {
		if err := commit(events); err != nil {
			return err
		}
	}
	a.mu.Lock()
	a.offset = next
	a.mu.Unlock()
	return nil
}
