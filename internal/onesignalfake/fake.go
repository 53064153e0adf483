// Package onesignalfake is a local OneSignal REST API for tests: creating a push
// notification for users by External ID (POST /notifications, include_aliases with
// target_channel "push"), checked as OneSignal's documentation describes it: the app's
// REST API key in "Authorization: Key …", the app_id, English contents, and
// idempotency_key as a UUID that makes a repeated request return the first one's
// result. Users without a push subscription are answered as OneSignal answers them:
// 200 with no notification id and the reason in "errors".
package onesignalfake

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Defaults of Options.
const (
	DefaultAppID  = "5eb5a37e-b458-11e3-ac11-000c2940e62c"
	DefaultAPIKey = "os_v2_app_l2k3j4h5g6f7d8s9a0qwertyuiopasdfghjklzxcvbnm"
)

// MaxAliases is the most External IDs one request may target.
const MaxAliases = 2000

// Options describe the fake's app.
type Options struct {
	// AppID and APIKey are the app's; the defaults when empty.
	AppID  string
	APIKey string
	// Subscribed are the External IDs of users with a push subscription; every
	// External ID when nil.
	Subscribed []string
}

// Notification is a notification the fake created.
type Notification struct {
	ID             string
	ExternalIDs    []string
	Headings       map[string]string
	Contents       map[string]string
	URL            string
	Data           map[string]any
	IdempotencyKey string
	// AuthScheme is the scheme of the Authorization header: "Key" or "Basic".
	AuthScheme string
	// Body is the request's body as received.
	Body []byte
}

// Failure is a programmed refusal of a request.
type Failure struct {
	Status int
	Errors []string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
}

// Server is a fake OneSignal app.
type Server struct {
	URL    string
	AppID  string
	APIKey string

	srv  *httptest.Server
	opts Options

	mu            sync.Mutex
	notifications []Notification
	byKey         map[string]string // idempotency key → notification id
	requests      int
	fail          []Failure
}

// New starts a fake OneSignal API; Close stops it.
func New(o Options) *Server {
	if o.AppID == "" {
		o.AppID = DefaultAppID
	}
	if o.APIKey == "" {
		o.APIKey = DefaultAPIKey
	}
	o.Subscribed = slices.Clone(o.Subscribed)
	s := &Server{AppID: o.AppID, APIKey: o.APIKey, opts: o, byKey: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the fake.
func (s *Server) Close() { s.srv.Close() }

// Notifications returns the notifications created so far, in order.
func (s *Server) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.notifications)
}

// Requests counts the create requests received, refused ones included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// FailNext makes the next n requests fail with f.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, f)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func refuse(w http.ResponseWriter, status int, errs ...string) {
	writeJSON(w, status, map[string]any{"errors": errs})
}

// uuidRE is an RFC 9562 UUID of version 3 or 4, as idempotency keys must be.
var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[34][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// request is the part of a create-notification body the fake reads.
type request struct {
	AppID          string              `json:"app_id"`
	IncludeAliases map[string][]string `json:"include_aliases"`
	TargetChannel  string              `json:"target_channel"`
	Headings       map[string]string   `json:"headings"`
	Contents       map[string]string   `json:"contents"`
	URL            string              `json:"url"`
	Data           map[string]any      `json:"data"`
	IdempotencyKey string              `json:"idempotency_key"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/notifications" {
		refuse(w, http.StatusNotFound, "Not Found")
		return
	}
	if r.Method != http.MethodPost {
		refuse(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	s.mu.Lock()
	s.requests++
	var failure *Failure
	if len(s.fail) > 0 {
		failure = &s.fail[0]
		s.fail = s.fail[1:]
	}
	s.mu.Unlock()
	scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if (scheme != "Key" && scheme != "Basic") || key != s.APIKey {
		refuse(w, http.StatusForbidden, "Access denied.  Please include an 'Authorization: Key <API_KEY>' header with a valid API key.")
		return
	}
	if failure != nil {
		if failure.RetryAfter != "" {
			w.Header().Set("Retry-After", failure.RetryAfter)
		}
		refuse(w, failure.Status, failure.Errors...)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		refuse(w, http.StatusBadRequest, "Content-Type must be application/json")
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
	var req request
	if err == nil {
		err = json.Unmarshal(raw, &req)
	}
	if err != nil {
		refuse(w, http.StatusBadRequest, "The request body is not valid JSON")
		return
	}
	if problem := s.check(req); problem != "" {
		refuse(w, http.StatusBadRequest, problem)
		return
	}
	s.create(w, req, scheme, raw)
}

// check says what OneSignal would refuse in req, or "".
func (s *Server) check(req request) string {
	ids := req.IncludeAliases["external_id"]
	switch {
	case req.AppID == "":
		return "app_id not found. You may be missing a Content-Type: application/json header."
	case req.AppID != s.AppID:
		return fmt.Sprintf("App with id '%s' not found", req.AppID)
	case len(req.IncludeAliases) == 0:
		return "You must include which players, segments, or tags you wish to send this notification to."
	case len(ids) == 0 || len(req.IncludeAliases) != 1:
		return "include_aliases must hold external_id, and nothing else, in this fake"
	case len(ids) > MaxAliases:
		return fmt.Sprintf("include_aliases may target at most %d users", MaxAliases)
	case req.TargetChannel != "push":
		return "target_channel must be push, email or sms when include_aliases is used; this fake sends push"
	case req.Contents["en"] == "":
		return "Notification contents for each language must be a string, and English (en) must be included"
	case req.IdempotencyKey != "" && !uuidRE.MatchString(req.IdempotencyKey):
		return "idempotency_key must be a valid v3 or v4 UUID"
	}
	return ""
}

// create answers a valid request: with the first result again for a known
// idempotency key, with no notification when no targeted user is subscribed.
func (s *Server) create(w http.ResponseWriter, req request, scheme string, raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.byKey[req.IdempotencyKey]; ok && req.IdempotencyKey != "" {
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "external_id": req.IdempotencyKey})
		return
	}
	ids := req.IncludeAliases["external_id"]
	var unknown []string
	for _, id := range ids {
		if s.opts.Subscribed != nil && !slices.Contains(s.opts.Subscribed, id) {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) == len(ids) {
		writeJSON(w, http.StatusOK, map[string]any{"id": "", "errors": []string{"All included players are not subscribed"}})
		return
	}
	id := newUUID()
	s.notifications = append(s.notifications, Notification{ID: id, ExternalIDs: ids, Headings: req.Headings, Contents: req.Contents,
		URL: req.URL, Data: req.Data, IdempotencyKey: req.IdempotencyKey, AuthScheme: scheme, Body: raw})
	if req.IdempotencyKey != "" {
		s.byKey[req.IdempotencyKey] = id
	}
	answer := map[string]any{"id": id, "external_id": nil}
	if req.IdempotencyKey != "" {
		answer["external_id"] = req.IdempotencyKey
	}
	if len(unknown) > 0 {
		answer["errors"] = map[string]any{"invalid_aliases": map[string][]string{"external_id": unknown}}
	}
	writeJSON(w, http.StatusOK, answer)
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
