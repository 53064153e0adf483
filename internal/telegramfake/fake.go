// Package telegramfake is a local Telegram Bot API for tests and benchmarks. It
// follows the public Bot API documentation: methods at /bot<token>/<method> taking
// JSON or form parameters, answers {"ok":true,"result":…} or {"ok":false,
// "error_code":…,"description":…,"parameters":{"retry_after":…}}, getUpdates refused
// with 409 while a webhook is set, and webhook deliveries carrying
// X-Telegram-Bot-Api-Secret-Token. It checks our requests as strictly as the real API.
package telegramfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Bot is the fake's bot.
type Bot struct {
	ID       int64
	Username string
	Token    string
}

// Sent is a message the fake accepted.
type Sent struct {
	Method    string
	ChatID    int64
	Text      string
	MessageID int64
	At        time.Time
	// File, with FileName and ContentType as uploaded, and Caption: a sendPhoto or
	// sendDocument (files.go).
	File                           []byte
	FileName, ContentType, Caption string
}

// Webhook is the webhook the bot has set.
type Webhook struct {
	URL            string
	SecretToken    string
	AllowedUpdates []string
}

// failure is a programmed error answer.
type failure struct {
	code       int
	desc       string
	retryAfter int
}

// Server is a fake Bot API.
type Server struct {
	URL string
	Bot Bot

	srv *httptest.Server

	mu        sync.Mutex
	sent      []Sent
	nextMsgID map[int64]int64
	webhook   Webhook
	setCalls  int
	delCalls  int
	updates   []json.RawMessage // pending, for getUpdates
	nextUpd   int64
	confirmed int64 // highest update_id confirmed by an offset
	fail      []failure
	failSend  []failure
	blocked   map[int64]bool
	down      bool
	delay     time.Duration
	attempts  int
	arrived   chan struct{}
	client    *http.Client
	onSend    func(Sent)
	files     map[string]storedFile // by file_id (files.go)
	downloads int
}

// New starts a fake Bot API for one bot.
func New(bot Bot) *Server {
	if bot.ID == 0 {
		bot.ID = 7000000001
	}
	if bot.Username == "" {
		bot.Username = "switchboard_test_bot"
	}
	s := &Server{Bot: bot, nextMsgID: map[int64]int64{}, nextUpd: 100, blocked: map[int64]bool{}, arrived: make(chan struct{}, 1),
		client: &http.Client{Timeout: 10 * time.Second}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the fake.
func (s *Server) Close() { s.srv.Close() }

// Sent returns the messages accepted so far.
func (s *Server) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// Webhook returns the webhook set, and how often setWebhook and deleteWebhook were called.
func (s *Server) Webhook() (w Webhook, sets, deletes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook, s.setCalls, s.delCalls
}

// FailNext makes the next n method calls fail with code and description; a
// retryAfter above 0 is sent in parameters.retry_after (Telegram's 429).
func (s *Server) FailNext(n, code int, description string, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, failure{code, description, retryAfter})
	}
}

// FailSends is FailNext for send methods only.
func (s *Server) FailSends(n, code int, description string, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failSend = append(s.failSend, failure{code, description, retryAfter})
	}
}

// SetDown makes every send method answer 500 (an outage) until set back.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SetDelay makes every send take d before it is answered, so sends are in flight for
// a while.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SendAttempts counts the send calls, accepted or not.
func (s *Server) SendAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// OnSend calls fn with every message the fake accepts, as it accepts it, for
// benchmarks that time arrivals.
func (s *Server) OnSend(fn func(Sent)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onSend = fn
}

// Block makes the chat's user block the bot: sends to it get 403.
func (s *Server) Block(chatID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[chatID] = true
}

// User is a Telegram user writing to the bot from a private chat.
type User struct {
	ID        int64
	FirstName string
	LastName  string
	Username  string
}

// TextUpdate returns an update carrying a text message from u, with a fresh
// update_id and message_id.
func (s *Server) TextUpdate(u User, text string) json.RawMessage {
	return s.Update(u, map[string]any{"text": text})
}

// Update returns an update carrying a message from u with the given message fields
// (text, photo, document, voice, location, caption…).
func (s *Server) Update(u User, fields map[string]any) json.RawMessage {
	s.mu.Lock()
	s.nextUpd++
	upd := s.nextUpd
	s.nextMsgID[u.ID]++
	msgID := s.nextMsgID[u.ID]
	s.mu.Unlock()
	from := map[string]any{"id": u.ID, "is_bot": false, "first_name": u.FirstName}
	chat := map[string]any{"id": u.ID, "type": "private", "first_name": u.FirstName}
	if u.LastName != "" {
		from["last_name"], chat["last_name"] = u.LastName, u.LastName
	}
	if u.Username != "" {
		from["username"], chat["username"] = u.Username, u.Username
	}
	msg := map[string]any{"message_id": msgID, "from": from, "chat": chat, "date": time.Now().Unix()}
	for k, v := range fields {
		msg[k] = v
	}
	b, _ := json.Marshal(map[string]any{"update_id": upd, "message": msg})
	return b
}

// Queue adds updates for getUpdates.
func (s *Server) Queue(updates ...json.RawMessage) {
	s.mu.Lock()
	s.updates = append(s.updates, updates...)
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
}

// Pending counts the updates not yet confirmed by a getUpdates offset.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}

// Deliver posts an update to the webhook the bot set, as Telegram does, with the
// secret token, and returns the webhook's status code.
func (s *Server) Deliver(ctx context.Context, update json.RawMessage) (int, error) {
	s.mu.Lock()
	w := s.webhook
	s.mu.Unlock()
	if w.URL == "" {
		return 0, fmt.Errorf("no webhook is set")
	}
	return DeliverTo(ctx, s.client, w.URL, w.SecretToken, update)
}

// DeliverTo posts an update to url with the secret token, as Telegram does.
func DeliverTo(ctx context.Context, client *http.Client, url, secretToken string, update json.RawMessage) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(update))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if secretToken != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secretToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/file/bot") {
		s.download(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		http.NotFound(w, r)
		return
	}
	if token != s.Bot.Token {
		answerError(w, failure{http.StatusUnauthorized, "Unauthorized", 0})
		return
	}
	params, err := readParams(r)
	if err != nil {
		answerError(w, failure{http.StatusBadRequest, "Bad Request: " + err.Error(), 0})
		return
	}
	if f, failed := s.nextFailure(method); failed {
		answerError(w, f)
		return
	}
	switch method {
	case "getMe":
		answer(w, map[string]any{"id": s.Bot.ID, "is_bot": true, "first_name": "Switchboard", "username": s.Bot.Username})
	case "setWebhook":
		s.setWebhook(w, params)
	case "deleteWebhook":
		s.mu.Lock()
		s.webhook = Webhook{}
		s.delCalls++
		s.mu.Unlock()
		answer(w, true)
	case "getWebhookInfo":
		s.mu.Lock()
		wh := s.webhook
		n := len(s.updates)
		s.mu.Unlock()
		answer(w, map[string]any{"url": wh.URL, "has_custom_certificate": false, "pending_update_count": n})
	case "getUpdates":
		s.getUpdates(r.Context(), w, params)
	case "sendMessage":
		s.sendMessage(w, params)
	case "getFile":
		s.getFile(w, params)
	case "sendPhoto", "sendDocument":
		s.sendFile(w, method, params)
	default:
		answerError(w, failure{http.StatusNotFound, "Not Found: method not found", 0})
	}
}

// nextFailure pops a programmed failure for the method.
func (s *Server) nextFailure(method string) (failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(method, "send") {
		s.attempts++
		if s.down {
			return failure{http.StatusInternalServerError, "Internal Server Error", 0}, true
		}
	}
	if len(s.fail) > 0 {
		f := s.fail[0]
		s.fail = s.fail[1:]
		return f, true
	}
	if strings.HasPrefix(method, "send") && len(s.failSend) > 0 {
		f := s.failSend[0]
		s.failSend = s.failSend[1:]
		return f, true
	}
	return failure{}, false
}

// readParams reads a method's parameters: a query string, a form, or a JSON object.
func readParams(r *http.Request) (map[string]any, error) {
	params := map[string]any{}
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	if r.Method != http.MethodPost {
		return params, nil
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/json"):
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&params); err != nil {
			return nil, fmt.Errorf("can't parse JSON: %v", err)
		}
	case strings.HasPrefix(ct, "multipart/form-data"):
		return readMultipart(r, params)
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		for k, v := range r.PostForm {
			params[k] = v[0]
		}
	case ct == "":
	default:
		return nil, fmt.Errorf("unsupported content type %q", ct)
	}
	return params, nil
}

func answer(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
}

func answerError(w http.ResponseWriter, f failure) {
	body := map[string]any{"ok": false, "error_code": f.code, "description": f.desc}
	if f.retryAfter > 0 {
		body["parameters"] = map[string]any{"retry_after": f.retryAfter}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.code)
	_ = json.NewEncoder(w).Encode(body)
}

func str(params map[string]any, key string) string {
	switch v := params[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// secretTokenOK: 1-256 characters of A-Z, a-z, 0-9, _ and -.
func secretTokenOK(t string) bool {
	if len(t) < 1 || len(t) > 256 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Server) setWebhook(w http.ResponseWriter, params map[string]any) {
	url := str(params, "url")
	secret := str(params, "secret_token")
	switch {
	case url == "":
		// An empty url removes the webhook, as deleteWebhook does.
	case !strings.HasPrefix(url, "https://"):
		answerError(w, failure{http.StatusBadRequest, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook", 0})
		return
	case secret != "" && !secretTokenOK(secret):
		answerError(w, failure{http.StatusBadRequest, "Bad Request: secret token contains unallowed characters", 0})
		return
	}
	var allowed []string
	switch v := params["allowed_updates"].(type) {
	case []any:
		for _, a := range v {
			if s, ok := a.(string); ok {
				allowed = append(allowed, s)
			}
		}
	case string:
		if err := json.Unmarshal([]byte(v), &allowed); err != nil {
			answerError(w, failure{http.StatusBadRequest, "Bad Request: can't parse allowed updates JSON object", 0})
			return
		}
	}
	s.mu.Lock()
	s.webhook = Webhook{URL: url, SecretToken: secret, AllowedUpdates: allowed}
	s.setCalls++
	s.mu.Unlock()
	answer(w, true)
}

func (s *Server) getUpdates(ctx context.Context, w http.ResponseWriter, params map[string]any) {
	s.mu.Lock()
	if s.webhook.URL != "" {
		s.mu.Unlock()
		answerError(w, failure{http.StatusConflict, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first", 0})
		return
	}
	s.mu.Unlock()
	offset, _ := strconv.ParseInt(str(params, "offset"), 10, 64)
	timeout, _ := strconv.Atoi(str(params, "timeout"))
	limit, _ := strconv.Atoi(str(params, "limit"))
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	deadline := time.After(time.Duration(timeout) * time.Second)
	for {
		s.mu.Lock()
		// An offset confirms every update below it: they are forgotten.
		kept := s.updates[:0]
		for _, u := range s.updates {
			if updateID(u) >= offset {
				kept = append(kept, u)
			}
		}
		s.updates = kept
		if offset > s.confirmed {
			s.confirmed = offset
		}
		out := append([]json.RawMessage(nil), s.updates[:min(limit, len(s.updates))]...)
		s.mu.Unlock()
		if len(out) > 0 || timeout <= 0 {
			answer(w, out)
			return
		}
		select {
		case <-s.arrived:
		case <-deadline:
			answer(w, []json.RawMessage{})
			return
		case <-ctx.Done():
			return
		}
	}
}

func updateID(u json.RawMessage) int64 {
	var v struct {
		UpdateID int64 `json:"update_id"`
	}
	_ = json.Unmarshal(u, &v)
	return v.UpdateID
}

func (s *Server) sendMessage(w http.ResponseWriter, params map[string]any) {
	s.mu.Lock()
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	chatID, err := strconv.ParseInt(str(params, "chat_id"), 10, 64)
	text := str(params, "text")
	switch {
	case err != nil:
		answerError(w, failure{http.StatusBadRequest, "Bad Request: chat not found", 0})
		return
	case strings.TrimSpace(text) == "":
		answerError(w, failure{http.StatusBadRequest, "Bad Request: message text is empty", 0})
		return
	case utf8.RuneCountInString(text) > 4096:
		answerError(w, failure{http.StatusBadRequest, "Bad Request: message is too long", 0})
		return
	}
	s.mu.Lock()
	if s.blocked[chatID] {
		s.mu.Unlock()
		answerError(w, failure{http.StatusForbidden, "Forbidden: bot was blocked by the user", 0})
		return
	}
	s.nextMsgID[chatID]++
	id := s.nextMsgID[chatID]
	now := time.Now()
	sent := Sent{Method: "sendMessage", ChatID: chatID, Text: text, MessageID: id, At: now}
	s.sent = append(s.sent, sent)
	onSend := s.onSend
	s.mu.Unlock()
	if onSend != nil {
		onSend(sent)
	}
	answer(w, map[string]any{"message_id": id, "date": now.Unix(), "text": text,
		"chat": map[string]any{"id": chatID, "type": "private"},
		"from": map[string]any{"id": s.Bot.ID, "is_bot": true, "first_name": "Switchboard", "username": s.Bot.Username}})
}
