// Package beamsfake is a local Pusher Beams Publish API for tests: publishing to
// authenticated users (POST /publish_api/v1/instances/{instanceId}/publishes/users),
// checked as the Beams documentation describes it: a Bearer secret key, a JSON body
// with 1 to 1000 user ids of at most 164 characters and at least one of the apns, fcm
// and web payloads; answers {"publishId": …}, and errors as {"error", "description"}.
package beamsfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Defaults of Options.
const (
	DefaultInstanceID = "8f9a6e22-2483-49aa-8552-125f1a4c5781"
	DefaultSecretKey  = "C54D42FB7CD2D408DDB22D7A0166F1D2"
)

// Limits of a publish to users.
const (
	MaxUsers        = 1000
	MaxUserIDLength = 164
)

// Options describe the fake's instance.
type Options struct {
	// InstanceID and SecretKey are the instance's; the defaults when empty.
	InstanceID string
	SecretKey  string
}

// Publish is a publish the fake accepted.
type Publish struct {
	ID    string
	Users []string
	// Web, FCM and APNs are the platform payloads as received; nil when absent.
	Web, FCM, APNs map[string]any
	// Body is the request's body as received.
	Body []byte
}

// Failure is a programmed refusal of a publish.
type Failure struct {
	Status      int
	Error       string // http.StatusText(Status) when empty
	Description string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
}

// Server is a fake Beams instance.
type Server struct {
	URL        string
	InstanceID string
	SecretKey  string

	srv *httptest.Server

	mu        sync.Mutex
	publishes []Publish
	fail      []Failure
	refusals  int
}

// New starts a fake Beams instance; Close stops it.
func New(o Options) *Server {
	if o.InstanceID == "" {
		o.InstanceID = DefaultInstanceID
	}
	if o.SecretKey == "" {
		o.SecretKey = DefaultSecretKey
	}
	s := &Server{InstanceID: o.InstanceID, SecretKey: o.SecretKey}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the fake.
func (s *Server) Close() { s.srv.Close() }

// Publishes returns the publishes accepted so far, in order.
func (s *Server) Publishes() []Publish {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.publishes)
}

// Refusals counts the requests refused, programmed refusals included.
func (s *Server) Refusals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refusals
}

// FailNext makes the next n publishes fail with f.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, f)
	}
}

func (s *Server) refuse(w http.ResponseWriter, status int, title, description string) {
	s.mu.Lock()
	s.refusals++
	s.mu.Unlock()
	if title == "" {
		title = http.StatusText(status)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": title, "description": description})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	want := "/publish_api/v1/instances/" + s.InstanceID + "/publishes/users"
	switch {
	case r.URL.Path != want:
		s.refuse(w, http.StatusNotFound, "Not Found", "no such path: "+r.URL.Path)
		return
	case r.Method != http.MethodPost:
		s.refuse(w, http.StatusMethodNotAllowed, "", "only POST is supported")
		return
	case r.Header.Get("Authorization") != "Bearer "+s.SecretKey:
		s.refuse(w, http.StatusUnauthorized, "Unauthorized", "Incorrect API Key")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.refuse(w, http.StatusBadRequest, "Invalid content type", "Only application/json is supported.")
		return
	}
	s.mu.Lock()
	var failure *Failure
	if len(s.fail) > 0 {
		failure = &s.fail[0]
		s.fail = s.fail[1:]
	}
	s.mu.Unlock()
	if failure != nil {
		if failure.RetryAfter != "" {
			w.Header().Set("Retry-After", failure.RetryAfter)
		}
		s.refuse(w, failure.Status, failure.Error, failure.Description)
		return
	}
	var body struct {
		Users []string       `json:"users"`
		Web   map[string]any `json:"web"`
		FCM   map[string]any `json:"fcm"`
		APNs  map[string]any `json:"apns"`
	}
	raw, err := readAll(r)
	if err == nil {
		err = json.Unmarshal(raw, &body)
	}
	if err != nil {
		s.refuse(w, http.StatusBadRequest, "Invalid request body", "The body is not a JSON object: "+err.Error())
		return
	}
	if problem := checkPublish(body.Users, body.Web, body.FCM, body.APNs); problem != "" {
		s.refuse(w, http.StatusUnprocessableEntity, "Invalid publish request", problem)
		return
	}
	id := "pubid-" + randomHex(16)
	s.mu.Lock()
	s.publishes = append(s.publishes, Publish{ID: id, Users: body.Users, Web: body.Web, FCM: body.FCM, APNs: body.APNs, Body: raw})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"publishId": id})
}

// checkPublish says what is wrong with a publish, or "".
func checkPublish(users []string, web, fcm, apns map[string]any) string {
	switch {
	case len(users) == 0:
		return "users must hold at least one user id"
	case len(users) > MaxUsers:
		return fmt.Sprintf("users holds %d user ids; at most %d may be given", len(users), MaxUsers)
	case web == nil && fcm == nil && apns == nil:
		return "at least one of apns, fcm or web must be given"
	}
	for _, u := range users {
		switch {
		case u == "":
			return "a user id is empty"
		case len(u) > MaxUserIDLength:
			return fmt.Sprintf("the user id %q is longer than %d characters", u, MaxUserIDLength)
		case !utf8.ValidString(u):
			return "a user id is not valid UTF-8"
		}
	}
	if data, ok := web["data"].(map[string]any); ok {
		if _, ok := data["pusher"]; ok {
			return `web.data may not hold the key "pusher"`
		}
	}
	if n, ok := web["notification"].(map[string]any); ok {
		if link, ok := n["deep_link"].(string); ok && !strings.HasPrefix(link, "https://") && !strings.HasPrefix(link, "http://") {
			return "web.notification.deep_link must be an http(s) URL"
		}
	}
	return ""
}

func readAll(r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
