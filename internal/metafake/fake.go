// Package metafake is a local Graph API for tests and benchmarks of the Facebook
// Messenger and WhatsApp Cloud API channels. It checks requests as strictly as Meta's
// documentation describes them (path and version, Bearer token, JSON body shape and
// limits), answers with the documented bodies, records every accepted send, and can be
// told to fail: the next calls with a given error, or sends outside the 24-hour window
// after a contact's last message. It also builds signed webhook requests as Meta sends
// them (webhooks.go).
package metafake

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options describe the Page and the WhatsApp phone number the fake serves. Calls for
// other ids get Graph's "does not exist" error.
type Options struct {
	// PageID and PageToken: the Page of Messenger calls and its access token; PageName
	// is what GET /me answers.
	PageID, PageToken, PageName string
	// AppID is the app the Page token belongs to, the thread owner after
	// take_thread_control.
	AppID string
	// PhoneNumberID, BusinessAccountID and AccessToken: the WhatsApp side.
	PhoneNumberID, BusinessAccountID, AccessToken string
	// Version, when set, is the only Graph API version accepted; any "vN.N" otherwise.
	Version string
	// Now is the clock of the 24-hour window; time.Now by default.
	Now func() time.Time
}

// Products of a Send.
const (
	Messenger = "messenger"
	WhatsApp  = "whatsapp"
)

// Send is a message the fake accepted.
type Send struct {
	Product string
	// To is the recipient: a page-scoped id or a WhatsApp number.
	To   string
	Text string
	// MessagingType is Messenger's messaging_type.
	MessagingType string
	// MessageID is the id the fake answered with (Messenger's mid, WhatsApp's wamid).
	MessageID string
	At        time.Time
	// Type is a media message's type (image, audio, video, document, file), with the
	// File as uploaded, its FileName and ContentType; Text is then its caption.
	Type                  string
	File                  []byte
	FileName, ContentType string
}

// ThreadControl is a Messenger handover call the fake accepted.
type ThreadControl struct {
	// Action is "take", "pass", "release" or "request".
	Action      string
	Recipient   string
	TargetAppID string
	Metadata    string
}

// Server is the fake Graph API.
type Server struct {
	// URL is the base URL to configure as a channel's apiBaseURL.
	URL string
	srv *httptest.Server

	opts Options
	re   *regexp.Regexp

	mu            sync.Mutex
	sends         []Send
	threads       []ThreadControl
	owners        map[string]string // page-scoped id → thread owner app
	subscriptions int
	calls         int
	lastInbound   map[string]time.Time
	failures      []Failure
	changed       chan struct{} // closed and replaced when a send is recorded
	seq           int
	media         map[string]storedMedia // by id or by CDN path (media.go)
	downloads     int
}

// New starts a fake; Close stops it.
func New(o Options) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PageName == "" {
		o.PageName = "Test Page"
	}
	s := &Server{opts: o, re: regexp.MustCompile(`^/(v[0-9]+\.[0-9]+)/([^/]+)(?:/([a-z_]+))?$`),
		owners: map[string]string{}, lastInbound: map[string]time.Time{}, changed: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Sends returns a copy of every accepted send, in order.
func (s *Server) Sends() []Send {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Send(nil), s.sends...)
}

// WaitSends waits until at least n sends were accepted, or timeout passed, and returns
// them.
func (s *Server) WaitSends(n int, timeout time.Duration) []Send {
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		got, changed := len(s.sends), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Sends()
		}
		select {
		case <-changed:
		case <-deadline:
			return s.Sends()
		}
	}
}

// ThreadControls returns a copy of the accepted handover calls, in order.
func (s *Server) ThreadControls() []ThreadControl {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ThreadControl(nil), s.threads...)
}

// TakeThreadControlCalls counts the accepted take_thread_control calls.
func (s *Server) TakeThreadControlCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.threads {
		if t.Action == "take" {
			n++
		}
	}
	return n
}

// ThreadOwner is the app that holds a contact's thread after the handover calls.
func (s *Server) ThreadOwner(psid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owners[psid]
}

// Subscriptions counts the accepted POST /{waba-id}/subscribed_apps calls.
func (s *Server) Subscriptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscriptions
}

// Calls counts every request the fake answered, refused ones included.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// SetLastCustomerMessage records when a contact (a page-scoped id or a WhatsApp
// number) last wrote: later than 24 hours after it, a free-form send to them fails as
// Meta refuses it (Messenger 10/2018278, WhatsApp 131047).
func (s *Server) SetLastCustomerMessage(contact string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastInbound[contact] = at
}

// FailNext makes the next n calls that f.Endpoint matches fail with f, after their
// token and body were checked.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, f)
	}
}

// nextFailure takes the first failure queued for ep.
func (s *Server) nextFailure(ep Endpoint) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.failures {
		if f.Endpoint == AnyEndpoint || f.Endpoint == ep {
			s.failures = append(s.failures[:i], s.failures[i+1:]...)
			return f, true
		}
	}
	return Failure{}, false
}

// serve routes /{version}/{node}[/{edge}].
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	if s.serveDownload(w, r) {
		return
	}
	m := s.re.FindStringSubmatch(r.URL.Path)
	if m == nil {
		writeError(w, Failure{Status: 400, Code: 2500, Type: "OAuthException", Message: "Unknown path components: " + r.URL.Path})
		return
	}
	version, node, edge := m[1], m[2], m[3]
	if s.opts.Version != "" && version != s.opts.Version {
		writeError(w, Failure{Status: 400, Code: 2635, Type: "OAuthException",
			Message: fmt.Sprintf("(#2635) This fake serves Graph API %s only, not %s.", s.opts.Version, version)})
		return
	}
	if r.URL.Query().Has("access_token") {
		// Meta takes it; the channels must not, so that no token lands in a URL or a log.
		writeError(w, Failure{Status: 400, Code: 100, Type: "OAuthException",
			Message: "(#100) metafake refuses access_token in the query: send it in the Authorization header"})
		return
	}
	switch {
	case s.opts.PageID != "" && (node == s.opts.PageID || node == "me"):
		if s.authorized(w, r, s.opts.PageToken) {
			s.servePage(w, r, node, edge)
		}
	case s.opts.PhoneNumberID != "" && node == s.opts.PhoneNumberID:
		if s.authorized(w, r, s.opts.AccessToken) {
			s.servePhone(w, r, edge)
		}
	case s.opts.BusinessAccountID != "" && node == s.opts.BusinessAccountID:
		if s.authorized(w, r, s.opts.AccessToken) {
			s.serveBusinessAccount(w, r, edge)
		}
	case s.isMedia(node):
		if s.authorized(w, r, s.opts.AccessToken) {
			s.serveMediaNode(w, r, node, edge)
		}
	default:
		writeError(w, noSuchNode(node))
	}
}

// authorized checks the Bearer token; a refusal is answered.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || got == "" {
		writeError(w, Failure{Status: 400, Code: 2500, Type: "OAuthException",
			Message: "An active access token must be used to query information about the current user."})
		return false
	}
	if token == "" || got != token {
		writeError(w, InvalidToken)
		return false
	}
	return true
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request, node, edge string) {
	switch {
	case edge == "" && r.Method == http.MethodGet:
		if f, ok := s.nextFailure(EndpointProbe); ok {
			writeError(w, f)
			return
		}
		writeJSON(w, map[string]string{"id": s.opts.PageID, "name": s.opts.PageName})
	case edge == "messages" && r.Method == http.MethodPost:
		s.messengerSend(w, r)
	case (edge == "take_thread_control" || edge == "pass_thread_control" || edge == "release_thread_control" ||
		edge == "request_thread_control") && r.Method == http.MethodPost:
		s.threadControl(w, r, strings.TrimSuffix(edge, "_thread_control"))
	default:
		writeError(w, unsupported(r.Method, node, edge))
	}
}

func (s *Server) servePhone(w http.ResponseWriter, r *http.Request, edge string) {
	switch {
	case edge == "" && r.Method == http.MethodGet:
		if f, ok := s.nextFailure(EndpointProbe); ok {
			writeError(w, f)
			return
		}
		writeJSON(w, map[string]string{"verified_name": "Test Business", "display_phone_number": "+1 555-010-0000",
			"id": s.opts.PhoneNumberID, "quality_rating": "GREEN"})
	case edge == "messages" && r.Method == http.MethodPost:
		s.whatsAppSend(w, r)
	case edge == "media" && r.Method == http.MethodPost:
		s.whatsAppUpload(w, r)
	default:
		writeError(w, unsupported(r.Method, s.opts.PhoneNumberID, edge))
	}
}

func (s *Server) serveBusinessAccount(w http.ResponseWriter, r *http.Request, edge string) {
	if edge != "subscribed_apps" || r.Method != http.MethodPost {
		writeError(w, unsupported(r.Method, s.opts.BusinessAccountID, edge))
		return
	}
	if f, ok := s.nextFailure(EndpointSubscribe); ok {
		writeError(w, f)
		return
	}
	s.mu.Lock()
	s.subscriptions++
	s.mu.Unlock()
	writeJSON(w, map[string]bool{"success": true})
}

// decodeBody reads a JSON body strictly: the content type, and no fields Meta's
// documentation does not list (caught typos would otherwise pass silently).
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, invalidParam("the body must be JSON (Content-Type application/json), not "+strconv.Quote(ct)))
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, invalidParam("the body is not the documented JSON: "+err.Error()))
		return false
	}
	return true
}

// newID returns a unique message id with prefix.
func (s *Server) newID(prefix string) string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	s.mu.Lock()
	s.seq++
	n := s.seq
	s.mu.Unlock()
	return prefix + strconv.Itoa(n) + "." + base64.RawURLEncoding.EncodeToString(b)
}

// outsideWindow reports whether the contact last wrote more than 24 hours ago.
func (s *Server) outsideWindow(contact string) bool {
	s.mu.Lock()
	at, ok := s.lastInbound[contact]
	s.mu.Unlock()
	return ok && s.opts.Now().Sub(at) > 24*time.Hour
}

func (s *Server) record(send Send) {
	s.mu.Lock()
	defer s.mu.Unlock()
	send.At = s.opts.Now()
	s.sends = append(s.sends, send)
	close(s.changed)
	s.changed = make(chan struct{})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
