// Package twiliofake is a local Twilio REST API for tests and benchmarks: the parts
// the SMS channel uses (creating a Message, fetching the Account, looking up an
// IncomingPhoneNumber), checked as strictly as Twilio checks them, and Twilio's side
// of webhooks: status callbacks and incoming texts, signed with X-Twilio-Signature.
// It follows Twilio's public documentation: paths under /2010-04-01, HTTP basic auth
// with the account SID and auth token, form-encoded parameters, JSON resources, and
// errors as {"code","message","more_info","status"}.
package twiliofake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
)

// Defaults of Options.
const (
	DefaultAccountSID = "AC0123456789abcdef0123456789abcdef"
	DefaultAuthToken  = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
	DefaultNumber     = "+15005550006"
)

// MaxBodyLength is the longest Body Twilio takes, checked in UTF-16 code units.
const MaxBodyLength = 1600

// Options describe the fake's account.
type Options struct {
	// AccountSID and AuthToken are the account's credentials; DefaultAccountSID and
	// DefaultAuthToken when empty.
	AccountSID string
	AuthToken  string
	// Numbers are the account's phone numbers in E.164 form, which may send; the
	// first is the sender a Messaging Service picks. DefaultNumber when empty.
	Numbers []string
	// SenderIDs are alphanumeric sender IDs ("Support") the account may send from,
	// as Twilio allows where the destination country supports them.
	SenderIDs []string
	// MessagingServiceSID is the account's Messaging Service, whose sender pool is
	// Numbers; none when empty.
	MessagingServiceSID string
	// AccountStatus is "active" when empty; "suspended" or "closed" otherwise.
	AccountStatus string
	// AutoStatus are statuses reported to an accepted message's StatusCallback, in
	// order, AutoStatusDelay apart (100ms when zero): "sent", "delivered".
	AutoStatus      []string
	AutoStatusDelay time.Duration
	// HTTP is the client of callbacks and incoming texts; one with a 10s timeout by
	// default.
	HTTP *http.Client
}

// Message is a message the fake accepted.
type Message struct {
	SID                 string
	To                  string
	From                string // the sender: From, or the one the service picked
	MessagingServiceSID string
	Body                string
	StatusCallback      string
	Status              string // the latest status reported
	Created             time.Time
	// Form is the request's parameters as received.
	Form url.Values
}

// Failure is a programmed refusal of a message.
type Failure struct {
	// Status is the HTTP status: 429, 500, 503…
	Status int
	// Code is Twilio's error code: 20429 for a 429 and 20500 for a 5xx when zero.
	Code    int
	Message string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
}

// Request is an API call the fake received.
type Request struct {
	Method string
	Path   string
	Query  string
}

// Callback is a webhook request the fake made: a status callback or an incoming text.
type Callback struct {
	URL    string
	Params url.Values
	// Status is the webhook's answer; 0 when it could not be reached (Err says why).
	Status int
	// ContentType of the answer. Twilio wants TwiML (text/xml or application/xml) in
	// answer to an incoming text, and logs warning 12300 in its debugger otherwise.
	ContentType string
	Err         string
}

// Server is a fake Twilio REST API for one account.
type Server struct {
	URL        string
	AccountSID string
	AuthToken  string

	srv  *httptest.Server
	opts Options
	http *http.Client

	mu        sync.Mutex
	status    string
	messages  []Message
	optedOut  map[string]bool
	fail      []Failure
	requests  []Request
	callbacks []Callback
	closing   bool
	wg        sync.WaitGroup // auto status callbacks under way
	ctx       context.Context
	cancel    context.CancelFunc
	media     map[string]mediaFile // incoming MMS media by path (media.go)
}

// New starts a fake Twilio API; Close stops it.
func New(o Options) *Server {
	if o.AccountSID == "" {
		o.AccountSID = DefaultAccountSID
	}
	if o.AuthToken == "" {
		o.AuthToken = DefaultAuthToken
	}
	if len(o.Numbers) == 0 {
		o.Numbers = []string{DefaultNumber}
	}
	o.Numbers = slices.Clone(o.Numbers)
	o.AutoStatus = slices.Clone(o.AutoStatus)
	if o.AccountStatus == "" {
		o.AccountStatus = "active"
	}
	if o.AutoStatusDelay <= 0 {
		o.AutoStatusDelay = 100 * time.Millisecond
	}
	s := &Server{AccountSID: o.AccountSID, AuthToken: o.AuthToken, opts: o, http: o.HTTP, status: o.AccountStatus,
		optedOut: map[string]bool{}}
	if s.http == nil {
		s.http = &http.Client{Timeout: 10 * time.Second}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the fake, after cancelling its pending status callbacks.
func (s *Server) Close() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.srv.Close()
}

// Messages returns copies of the messages accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		m.Form = cloneValues(m.Form)
		out[i] = m
	}
	return out
}

// Requests returns the API calls received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Callbacks returns the webhook requests made so far, in order.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Callback, len(s.callbacks))
	for i, c := range s.callbacks {
		c.Params = cloneValues(c.Params)
		out[i] = c
	}
	return out
}

// FailNext makes the next n message creations fail with f.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, f)
	}
}

// OptOut makes number a recipient who replied STOP: messages to it are refused with
// error 21610. OptIn undoes it, as a reply of START does.
func (s *Server) OptOut(number string) { s.setOptedOut(number, true) }

// OptIn lets messages reach number again.
func (s *Server) OptIn(number string) { s.setOptedOut(number, false) }

func (s *Server) setOptedOut(number string, out bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.optedOut[number] = out
}

// SetAccountStatus changes the account's status: "active", "suspended", "closed".
func (s *Server) SetAccountStatus(status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

// apiError is Twilio's error document.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func writeError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apiError{Code: code, Message: message,
		MoreInfo: fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), Status: status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serve routes one API call.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery})
	s.mu.Unlock()
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.AccountSID || pass != s.AuthToken {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	account := "/2010-04-01/Accounts/" + s.AccountSID
	route := map[string]func(http.ResponseWriter, *http.Request){
		account + ".json":                      s.fetchAccount,
		account + "/Messages.json":             s.createMessage,
		account + "/IncomingPhoneNumbers.json": s.listNumbers,
	}[r.URL.Path]
	if route == nil && s.serveMedia(w, r) {
		return
	}
	if route == nil {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	route(w, r)
}

func (s *Server) fetchAccount(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	s.mu.Lock()
	status := s.status
	s.mu.Unlock()
	// Twilio's Account resource includes the auth token: the fake does too, so tests
	// see that nothing of it leaks.
	writeJSON(w, http.StatusOK, map[string]any{
		"sid": s.AccountSID, "owner_account_sid": s.AccountSID, "friendly_name": "Fake account", "status": status,
		"type": "Full", "auth_token": s.AuthToken, "date_created": rfc2822(time.Now()), "date_updated": rfc2822(time.Now()),
		"uri": "/2010-04-01/Accounts/" + s.AccountSID + ".json",
	})
}

func (s *Server) listNumbers(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	want := r.URL.Query().Get("PhoneNumber")
	list := []map[string]any{}
	for i, n := range s.opts.Numbers {
		if want == "" || want == n {
			list = append(list, map[string]any{"sid": fmt.Sprintf("PN%032x", i+1), "account_sid": s.AccountSID, "phone_number": n,
				"capabilities": map[string]bool{"sms": true, "mms": true, "voice": true}})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"incoming_phone_numbers": list, "page": 0, "page_size": 50,
		"uri": r.URL.RequestURI()})
}

var (
	e164RE       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	serviceSIDRE = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
)

// createMessage is POST Messages.json.
func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	// Parameters come form-encoded; a body of another type carries none.
	form := url.Values{}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err != nil {
			writeError(w, http.StatusBadRequest, 20001, "Could not parse the request body")
			return
		}
		form = r.PostForm
	}
	to, from, svc, body, cb := form.Get("To"), form.Get("From"), form.Get("MessagingServiceSid"), form.Get("Body"), form.Get("StatusCallback")
	s.mu.Lock()
	var failure *Failure
	if len(s.fail) > 0 {
		failure = &s.fail[0]
		s.fail = s.fail[1:]
	}
	optedOut := s.optedOut[to]
	s.mu.Unlock()
	if failure != nil {
		writeFailure(w, *failure)
		return
	}
	sender := from
	senderID := from != "" && slices.Contains(s.opts.SenderIDs, from)
	switch {
	case to == "":
		writeError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
	case !e164RE.MatchString(to):
		writeError(w, http.StatusBadRequest, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
	case from == "" && svc == "":
		writeError(w, http.StatusBadRequest, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message.")
	case svc != "" && (!serviceSIDRE.MatchString(svc) || !strings.EqualFold(svc, s.opts.MessagingServiceSID)):
		writeError(w, http.StatusBadRequest, 21701, fmt.Sprintf("The Messaging Service Sid %s is invalid.", svc))
	case from != "" && !senderID && !e164RE.MatchString(from):
		writeError(w, http.StatusBadRequest, 21212, fmt.Sprintf("The 'From' number %s is not a valid phone number, shortcode, or alphanumeric sender ID.", from))
	case from != "" && !senderID && !slices.Contains(s.opts.Numbers, from):
		writeError(w, http.StatusBadRequest, 21606, fmt.Sprintf("The From phone number %s is not a valid, SMS-capable inbound phone number or short code for your account.", from))
	case to == from:
		writeError(w, http.StatusBadRequest, 21266, "'To' and 'From' numbers cannot be the same.")
	case body == "" && form.Get("MediaUrl") == "":
		writeError(w, http.StatusBadRequest, 21602, "Message body is required.")
	case len(utf16.Encode([]rune(body))) > MaxBodyLength:
		writeError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
	case cb != "" && !absoluteHTTP(cb):
		writeError(w, http.StatusBadRequest, 21609, "The StatusCallback URL "+cb+" is not a valid URL.")
	case optedOut:
		writeError(w, http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
	default:
		if sender == "" {
			sender = s.opts.Numbers[0] // the service picks from its pool
		}
		s.accept(w, Message{To: to, From: sender, MessagingServiceSID: svc, Body: body, StatusCallback: cb, Form: cloneValues(form)}, from)
	}
}

// accept records a message, answers with its resource, and starts its automatic
// status callbacks.
func (s *Server) accept(w http.ResponseWriter, m Message, requestedFrom string) {
	m.SID, m.Created = NewSID("SM"), time.Now().UTC()
	// A message through a Messaging Service is "accepted" until the service has picked
	// its sender; one from a number is "queued" straight away.
	m.Status = "queued"
	if m.MessagingServiceSID != "" {
		m.Status = "accepted"
	}
	s.mu.Lock()
	s.messages = append(s.messages, m)
	auto := m.StatusCallback != "" && len(s.opts.AutoStatus) > 0 && !s.closing
	if auto {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	var fromField, svcField any
	if requestedFrom != "" {
		fromField = requestedFrom
	}
	if m.MessagingServiceSID != "" {
		svcField = m.MessagingServiceSID
	}
	uri := "/2010-04-01/Accounts/" + s.AccountSID + "/Messages/" + m.SID
	writeJSON(w, http.StatusCreated, map[string]any{
		"sid": m.SID, "account_sid": s.AccountSID, "api_version": "2010-04-01", "body": m.Body, "to": m.To,
		"from": fromField, "messaging_service_sid": svcField, "status": m.Status, "direction": "outbound-api",
		"date_created": rfc2822(m.Created), "date_updated": rfc2822(m.Created), "date_sent": nil,
		"num_segments": "1", "num_media": "0", "price": nil, "price_unit": "USD", "error_code": nil, "error_message": nil,
		"uri": uri + ".json", "subresource_uris": map[string]string{"media": uri + "/Media.json"},
	})
	if auto {
		go s.autoStatus(m.SID)
	}
}

func (s *Server) autoStatus(sid string) {
	defer s.wg.Done()
	for _, st := range s.opts.AutoStatus {
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(s.opts.AutoStatusDelay):
		}
		if _, err := s.SendStatus(s.ctx, sid, st, 0); err != nil {
			return // recorded in Callbacks
		}
	}
}

func writeFailure(w http.ResponseWriter, f Failure) {
	code := f.Code
	if code == 0 {
		code = 20500
		if f.Status == http.StatusTooManyRequests {
			code = 20429
		}
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	writeError(w, f.Status, code, msg)
}

func absoluteHTTP(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// rfc2822 is Twilio's date format.
func rfc2822(t time.Time) string { return t.UTC().Format(time.RFC1123Z) }

// NewSID returns a new random SID with a two-letter prefix ("SM", "MM", "PN"): the
// prefix and 32 lowercase hex digits.
func NewSID(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
