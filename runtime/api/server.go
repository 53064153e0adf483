// Package api is the runtime's HTTP and WebSocket surface: the client API that the
// web widget and internal clients use, and the operator API behind the console.
// docs/api.md documents it.
package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-chat/switchboard/runtime/auth"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/media"
	"github.com/switchboard-chat/switchboard/runtime/processmsg"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// Server serves the API.
type Server struct {
	engine   *chat.Engine
	verifier auth.Verifier
	log      *slog.Logger
	metrics  *Metrics
	mux      *http.ServeMux
	status   func() any
	conns    connections
	// mediaKeys signs and checks the public URLs of files (attachments.go).
	mediaKeys *media.KeySource
	// processes serves the process-message API; nil when it is off.
	processes *processmsg.Service
	// guard slows down whoever guesses credentials; trustedProxies may say, in
	// X-Forwarded-For, which address a request comes from.
	guard          *authGuard
	trustedProxies []netip.Prefix
	bodyTimeout    time.Duration
	// ready checks readiness; notReady is whether the last check failed.
	ready    func(context.Context) error
	notReady atomic.Bool

	// messages limits each contact's and operator's messages; conversations the
	// conversations new visitors start, and upgrades the WebSockets visitors open,
	// per address.
	messages, conversations, upgrades *rateLimits
	// wsPerAddress and wsPerToken cap the WebSockets open at once: per address for
	// widget visitors, who need no account, and per token for everyone; 0: no cap.
	wsPerAddress, wsPerToken int
	// warnedForwarded is set once the log said that X-Forwarded-For arrives from a
	// peer that is no trusted proxy.
	warnedForwarded atomic.Bool
	// SendQueue bounds the events waiting for one WebSocket; a client that falls this
	// far behind is disconnected.
	SendQueue int
	// signIn holds cookie sessions and OIDC sign-in (sessions.go).
	signIn signIn
}

// Options of a server.
type Options struct {
	Engine   *chat.Engine
	Verifier auth.Verifier
	Log      *slog.Logger
	Metrics  *Metrics
	// Status returns the body of GET /status.
	Status func() any
	// Ready, when set, fails GET /readyz with its error: the store cannot commit.
	Ready func(context.Context) error
	// Web serves the console and widget assets at /, when set.
	Web http.Handler
	// Webhooks serves messenger providers' webhooks at /webhooks/{channel}, when set.
	Webhooks http.Handler
	// ProcessMessages serves the API business processes write to clients with, when
	// set (processmessages.go).
	ProcessMessages *processmsg.Service
	// Limits; zero means the default.
	Limits Limits
	// SignIn configures console sessions and OIDC sign-in (sessions.go).
	SignIn SignIn
}

// Limits protect the runtime from clients that send too much or read too little.
type Limits struct {
	// MessagesPerSecond and MessageBurst limit each contact's and operator's messages
	// (defaults 5 and 20).
	MessagesPerSecond float64
	MessageBurst      int
	// SendQueue bounds the events waiting for one WebSocket (default 256): a client
	// that falls this far behind is disconnected.
	SendQueue int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the client's
	// address (for the limits per address); from other peers it is ignored.
	TrustedProxies []netip.Prefix
	// BodyTimeout is how long any request body may take (default 20 s), plus a second
	// for every 32 KiB: a client sending slower is cut off with 408.
	BodyTimeout time.Duration
	// ConversationsPerSecond and ConversationBurst limit the conversations new widget
	// visitors start from one address (defaults 1 and 20).
	ConversationsPerSecond float64
	ConversationBurst      int
	// WebSocketsPerSecond and WebSocketBurst limit the WebSockets widget visitors open
	// from one address (defaults 2 and 50).
	WebSocketsPerSecond float64
	WebSocketBurst      int
	// WebSocketsPerAddress caps the WebSockets widget visitors hold open from one
	// address (default 100); WebSocketsPerToken those open with one token: a visitor's,
	// an employee's or an operator's (default 16).
	WebSocketsPerAddress int
	WebSocketsPerToken   int
	// A negative rate or cap above turns that limit off.
}

// New returns the API server.
func New(o Options) *Server {
	l := o.Limits
	s := &Server{engine: o.Engine, verifier: o.Verifier, log: o.Log, metrics: o.Metrics, status: o.Status, processes: o.ProcessMessages,
		mux: http.NewServeMux(), SendQueue: cmp.Or(max(l.SendQueue, 0), 256),
		messages:      newRateLimits(l.MessagesPerSecond, l.MessageBurst, 5, 20),
		conversations: newRateLimits(l.ConversationsPerSecond, l.ConversationBurst, 1, 20),
		upgrades:      newRateLimits(l.WebSocketsPerSecond, l.WebSocketBurst, 2, 50),
		wsPerAddress:  newCap(l.WebSocketsPerAddress, 100),
		wsPerToken:    newCap(l.WebSocketsPerToken, 16),
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.metrics == nil {
		s.metrics = NewMetrics(nil)
	}
	if s.status == nil {
		s.status = func() any { return map[string]string{} }
	}
	s.trustedProxies = o.Limits.TrustedProxies
	s.ready = o.Ready
	s.bodyTimeout = cmp.Or(o.Limits.BodyTimeout, 20*time.Second)
	s.guard = newAuthGuard(s.log, s.metrics.authFailures)
	s.setupSignIn(o.SignIn)
	s.routes()
	if o.Webhooks != nil {
		s.handle("GET /webhooks/{channel}", o.Webhooks.ServeHTTP)
		s.handle("POST /webhooks/{channel}", o.Webhooks.ServeHTTP)
	}
	if o.Web != nil {
		s.mux.Handle("GET /", o.Web)
	}
	return s
}

func (s *Server) routes() {
	s.handle("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	s.handle("GET /readyz", s.readyz)
	// On this port, which the public reaches, /status is for operators; the metrics
	// port serves it to anyone who reaches that.
	s.handle("GET /status", s.operator(func(w http.ResponseWriter, r *http.Request, _ chat.Me) { writeJSON(w, 200, s.status()) }))

	s.handle("GET /api/v1/channels/{channel}", s.channelInfo)
	s.handle("OPTIONS /api/v1/channels/{channel}/{rest...}", s.preflight)
	s.handle("OPTIONS /api/v1/channels/{channel}", s.preflight)
	s.handle("POST /api/v1/channels/{channel}/conversations", s.openConversation)
	s.handle("GET /api/v1/channels/{channel}/conversations/{id}", s.clientConversation)
	s.handle("GET /api/v1/channels/{channel}/conversations/{id}/messages", s.clientMessages)
	s.handle("POST /api/v1/channels/{channel}/conversations/{id}/messages", s.clientSend)
	s.handle("GET /api/v1/channels/{channel}/ws", s.clientWS)

	s.handle("POST /api/v1/bot/channels/{channel}/conversations/{id}/messages", s.botReply)
	s.handle("POST /api/v1/bot/channels/{channel}/conversations/{id}/handover", s.botHandover)

	s.handle("GET /api/v1/me", s.operator(s.withAvailability(s.me)))
	s.handle("PUT /api/v1/me/presence", s.operator(s.presence))
	s.handle("GET /api/v1/operators", s.operator(s.operators))
	s.handle("GET /api/v1/conversations", s.operator(s.listConversations))
	s.handle("GET /api/v1/conversations/{id}", s.operator(s.getConversation))
	s.handle("GET /api/v1/conversations/{id}/messages", s.operator(s.conversationMessages))
	s.handle("GET /api/v1/conversations/{id}/activity", s.operator(s.conversationActivity))
	s.handle("POST /api/v1/conversations/{id}/take", s.operator(s.take))
	s.handle("POST /api/v1/conversations/{id}/accept", s.operator(s.take))
	s.handle("POST /api/v1/conversations/{id}/forward", s.operator(s.forward))
	s.handle("POST /api/v1/conversations/{id}/actions/{action}", s.operator(s.runAction))
	s.handle("POST /api/v1/conversations/{id}/messages", s.operator(s.reply))
	s.handle("POST /api/v1/conversations/{id}/close", s.operator(s.closeConversation))
	s.handle("GET /api/v1/operator/ws", s.operator(s.operatorWS))
	s.attachmentRoutes()
	s.ratingRoutes()
	s.processMessageRoutes()
	s.supervisorRoutes()
	s.signInRoutes()
}

// ContactOnline reports whether a contact (a widget visitor, an employee on an
// internal channel) has a WebSocket open on this replica: notifications for visitors
// who are offline use it.
func (s *Server) ContactOnline(id string) bool { return s.conns.contactOnline(id) }

// handle registers a route with request metrics labelled by the route pattern, never
// by the concrete path (which holds ids).
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.mux.Handle(pattern, s.metrics.instrument(pattern, h))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "path", r.URL.Path, "panic", fmt.Sprint(v))
			writeError(w, http.StatusInternalServerError, "internal", "internal error")
		}
	}()
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.noRoute(w, r)
		return
	}
	if r.Body != nil && !s.boundBody(w, r, bodyLimit(r)) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// noRoute answers a request no route matches in the API's error shape, telling an
// unknown path from a known one asked with the wrong method.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "GET /" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) == 0 {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: see docs/api.md for the routes")
		return
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed",
		fmt.Sprintf("%s is not supported here: use %s", r.Method, strings.Join(allowed, " or ")))
}

// errorBody is every error response: {"error": {"code": ..., "message": ...}}.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

// fail answers with the status an engine error calls for. Internal errors are logged
// and answered without detail: they may name tables or hosts.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if s.clientGone(w, r, err) {
		return
	}
	switch chat.KindOf(err) {
	case chat.KindInvalid:
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
	case chat.KindUnauthenticated:
		s.guard.failed(addrKey(s.clientAddr(r)), r.Pattern, authReason(auth.Credential(r)))
		msg := err.Error()
		if auth.QueryTokenRefused(r) {
			msg = unauthenticatedMessage(r)
		}
		writeError(w, http.StatusUnauthorized, "unauthenticated", msg)
	case chat.KindForbidden:
		writeError(w, http.StatusForbidden, "forbidden", err.Error())
	case chat.KindNotFound:
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case chat.KindConflict:
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case chat.KindUnavailable:
		writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
	default:
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, "not_found", "not found")
			return
		}
		if errors.Is(err, store.ErrClosed) {
			writeError(w, http.StatusConflict, "conflict", "the chat was closed meanwhile")
			return
		}
		if errors.Is(err, syscall.ENOSPC) {
			s.log.Error("request failed: the disk is full", "method", r.Method, "route", r.Pattern, "error", err)
			writeError(w, http.StatusServiceUnavailable, "unavailable", "the runtime cannot store anything now: its disk is full; try again later")
			return
		}
		s.log.Error("request failed", "method", r.Method, "route", r.Pattern, "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error: see the runtime's log")
	}
}

// afterParam reads ?after=N.
func afterParam(w http.ResponseWriter, r *http.Request) (int64, bool) {
	v := r.URL.Query().Get("after")
	if v == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		writeError(w, http.StatusBadRequest, "invalid", "after must be a number, 0 or more: a message's seq, or the next of a page")
		return 0, false
	}
	return n, true
}

// Metrics of the API.
type Metrics struct {
	requests     *prometheus.HistogramVec
	connections  *prometheus.GaugeVec
	authFailures *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
}

// NewMetrics creates the API metrics, registered with reg when it is not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_runtime_http_request_duration_seconds",
			Help:    "HTTP requests by route, method and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "code"}),
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_runtime_websocket_connections",
			Help: "Open WebSocket connections by role (visitor, client, operator).",
		}, []string{"role"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_auth_failures_total",
			Help: "Failed sign-ins by reason: missing (no credential), invalid (a wrong one), throttled (refused unchecked after too many failures from the address).",
		}, []string{"reason"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_rate_limited_total",
			Help: "Requests and WebSockets refused or closed by a limit, by what was limited (docs/operations.md lists them).",
		}, []string{"what"}),
	}
	for _, role := range []string{"visitor", "client", "operator"} {
		m.connections.WithLabelValues(role) // report 0 rather than nothing
	}
	for _, reason := range []string{authMissing, authInvalid, authThrottled} {
		m.authFailures.WithLabelValues(reason)
	}
	for _, what := range limitedWhat {
		m.rateLimited.WithLabelValues(what)
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.connections, m.authFailures, m.rateLimited)
	}
	return m
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets the WebSocket upgrader reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (m *Metrics) instrument(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h(rec, r)
		m.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Observe(time.Since(start).Seconds())
	})
}
