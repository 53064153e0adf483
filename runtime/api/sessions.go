package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/auth"
	"github.com/switchboard-chat/switchboard/runtime/auth/oidclogin"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// SignIn configures cookie sessions and OIDC sign-in.
type SignIn struct {
	// Session sets the sessions' lifetimes and clock; sessions are kept in the
	// engine's store.
	Session auth.SessionOptions
	// OIDC signs operators in with the LiveChat's OpenID Connect provider; nil: off.
	OIDC *oidclogin.RP
	// Recheck is how often an open console feed opened with a session checks that
	// the session goes on (default 1 min): a sign-out on another replica closes it
	// within this time, on this one at once.
	Recheck time.Duration
}

// signIn is the server's SignIn, with the defaults applied.
type signIn struct {
	sessions *auth.Sessions
	oidc     *oidclogin.RP
	recheck  time.Duration
}

func (s *Server) setupSignIn(o SignIn) {
	s.signIn = signIn{oidc: o.OIDC, recheck: o.Recheck}
	if st, ok := s.engine.Store().(auth.SessionStore); ok {
		s.signIn.sessions = auth.NewSessions(st, o.Session)
	}
	if s.signIn.recheck <= 0 {
		s.signIn.recheck = time.Minute
	}
}

func (s *Server) signInRoutes() {
	s.handle("GET /api/v1/auth/methods", s.authMethods)
	s.handle("POST /api/v1/session", s.signInWithToken)
	s.handle("GET /api/v1/session", s.currentSession)
	s.handle("DELETE /api/v1/session", s.signOut)
	s.handle("GET /auth/oidc/login", s.oidcLogin)
	s.handle("GET /auth/oidc/callback", s.oidcCallback) // oidclogin.CallbackPath
}

// Cookies. With Secure they carry the __Host- prefix, which browsers keep only when
// set by this host over HTTPS with Path=/ and no Domain: no sibling subdomain can
// plant or overwrite them.
const (
	sessionCookie = "switchboard-session"
	loginCookie   = "switchboard-oidc"
	hostPrefix    = "__Host-"
)

// csrfHeader carries the session's CSRF token on requests that change something.
const csrfHeader = "X-CSRF-Token"

// secureCookies reports whether the request's cookies must be Secure: always, but on
// plain HTTP to a loopback address (the standalone quick start, kubectl
// port-forward), where browsers would not keep a Secure cookie from a page that is
// not https.
func secureCookies(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	peer, _, _ := net.SplitHostPort(r.RemoteAddr)
	return !isLoopback(host) || !isLoopback(peer)
}

// readCookie returns the value of a cookie of ours, "" when there is none.
func readCookie(r *http.Request, name string) string {
	if c, err := r.Cookie(hostPrefix + name); err == nil {
		return c.Value
	}
	if !secureCookies(r) {
		if c, err := r.Cookie(name); err == nil {
			return c.Value
		}
	}
	return ""
}

// setCookie sets (maxAge > 0) or clears (maxAge < 0) an HttpOnly cookie of ours.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int, sameSite http.SameSite) {
	secure := secureCookies(r)
	if secure {
		name = hostPrefix + name
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: sameSite})
}

// setSessionCookie sets the session cookie, to last as long as the session may.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, sess auth.Session, cookie string) {
	setCookie(w, r, sessionCookie, cookie, max(int(time.Until(sess.ExpiresAt).Seconds()), 1), http.SameSiteStrictMode)
}

// sessionBody is the answer of the session endpoints.
type sessionBody struct {
	// Operator is who signed in, with the console's settings, as GET /api/v1/me.
	Operator meView `json:"operator"`
	// CSRFToken goes in X-CSRF-Token on every request that changes something.
	CSRFToken string `json:"csrfToken"`
	// Method is how the operator signed in: token or oidc.
	Method    string    `json:"method"`
	ExpiresAt time.Time `json:"expiresAt"`
	// IdleTimeoutSeconds: the session ends this long unused.
	IdleTimeoutSeconds int `json:"idleTimeoutSeconds"`
}

func (s *Server) sessionBody(me chat.Me, sess auth.Session) sessionBody {
	return sessionBody{Operator: s.meWithConsole(me), CSRFToken: sess.CSRFToken, Method: sess.Method, ExpiresAt: sess.ExpiresAt.UTC(),
		IdleTimeoutSeconds: int(s.signIn.sessions.IdleTimeout().Seconds())}
}

// authMethods tells the console's sign-in page how operators may sign in.
func (s *Server) authMethods(w http.ResponseWriter, r *http.Request) {
	type oidcMethod struct {
		LoginURL string `json:"loginURL"`
		// Available is false while the provider has not been reached.
		Available bool `json:"available"`
	}
	body := struct {
		Token bool        `json:"token"`
		OIDC  *oidcMethod `json:"oidc"`
	}{}
	if cfg, _ := s.engine.Config(); cfg != nil {
		body.Token = cfg.LiveChat.AgentAuth.TokensSecret != ""
	}
	if s.signIn.oidc != nil && s.signIn.oidc.Enabled() {
		body.OIDC = &oidcMethod{LoginURL: "/auth/oidc/login", Available: s.signIn.oidc.Available() == nil}
	}
	writeJSON(w, http.StatusOK, body)
}

// sessionsReady answers 503 when the server keeps no sessions (a store that cannot).
func (s *Server) sessionsReady(w http.ResponseWriter) bool {
	if s.signIn.sessions == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "this runtime keeps no sessions: send your token as Authorization: Bearer <token>")
		return false
	}
	return true
}

// consoleOrigin refuses a request a page of another site sent: it could sign a
// browser in as someone else, or out.
func (s *Server) consoleOrigin(w http.ResponseWriter, r *http.Request) bool {
	if consoleOriginAllowed(r, s.publicOrigin()) {
		return true
	}
	writeError(w, http.StatusForbidden, "origin_not_allowed", "sessions are opened and closed only from the console's origin, the LiveChat's spec.publicURL")
	return false
}

type signInRequest struct {
	Token string `json:"token"`
}

// signInWithToken trades an operator's token for a session cookie.
func (s *Server) signInWithToken(w http.ResponseWriter, r *http.Request) {
	if !s.sessionsReady(w) || !s.consoleOrigin(w, r) || s.throttled(w, r) {
		return
	}
	var req signInRequest
	if !s.decode(w, r, &req) {
		return
	}
	name, err := s.verifier.Verify(req.Token)
	if err != nil {
		s.guard.failed(addrKey(s.clientAddr(r)), r.Pattern, authReason(req.Token))
		writeError(w, http.StatusUnauthorized, "unauthenticated", "the token signs nobody in: check it, or ask an administrator for yours")
		return
	}
	s.startSession(w, r, name, auth.MethodToken, req.Token, func(sess auth.Session, me chat.Me) {
		writeJSON(w, http.StatusOK, s.sessionBody(me, sess))
	})
}

// startSession opens a session for an operator, sets its cookie and calls done; who
// is no operator of this LiveChat is answered 403. token is the one signed in with,
// "" for OIDC.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, name, method, token string, done func(auth.Session, chat.Me)) {
	me, err := s.engine.Operator(name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sess, cookie, err := s.signIn.sessions.Create(r.Context(), name, method, token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setSessionCookie(w, r, sess, cookie)
	done(sess, me)
}

// currentSession returns the session the cookie carries, with a fresh CSRF token
// (the same one: a reloaded console reads it here).
func (s *Server) currentSession(w http.ResponseWriter, r *http.Request) {
	if !s.sessionsReady(w) {
		return
	}
	r, name, ok := s.cookieSession(w, r)
	if !ok {
		return
	}
	me, err := s.engine.Operator(name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.sessionBody(me, *sessionOf(r)))
}

// signOut ends the cookie's session on every replica and closes the console feeds
// opened with it here (other replicas close theirs within Recheck).
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if !s.sessionsReady(w) || !s.consoleOrigin(w, r) {
		return
	}
	cookie := readCookie(r, sessionCookie)
	sess, err := s.signIn.sessions.Lookup(r.Context(), cookie)
	switch {
	case errors.Is(err, auth.ErrNoSession):
		// Signed out already: only the cookie is left to clear.
	case err != nil:
		s.fail(w, r, err)
		return
	case !auth.CSRFValid(sess, r.Header.Get(csrfHeader)):
		csrfRefused(w)
		return
	default:
		if err := s.signIn.sessions.Revoke(r.Context(), cookie); err != nil {
			s.fail(w, r, err)
			return
		}
		s.closeSessionFeeds(sess.IDHash)
	}
	setCookie(w, r, sessionCookie, "", -1, http.SameSiteStrictMode)
	w.WriteHeader(http.StatusNoContent)
}

func csrfRefused(w http.ResponseWriter) {
	writeError(w, http.StatusForbidden, "csrf_token_invalid",
		"this request needs the header "+csrfHeader+" with the csrfToken of your session (from POST or GET /api/v1/session): signed in with a cookie, every request that changes something must carry it")
}

// sessionKey is the context key of the session a request came with.
type sessionKey struct{}

// sessionOf returns the session a request was authenticated with; nil for a bearer
// token.
func sessionOf(r *http.Request) *auth.Session {
	sess, _ := r.Context().Value(sessionKey{}).(*auth.Session)
	return sess
}

// sessionIDHash is what a connection remembers of the session it was opened with.
func sessionIDHash(r *http.Request) string {
	if sess := sessionOf(r); sess != nil {
		return sess.IDHash
	}
	return ""
}

// operatorCredential authenticates an operator's request by bearer token or, without
// one, by session cookie; a cookie session must send its CSRF token on unsafe
// methods. It answers 401, 403 or 429 itself. The request returned carries the
// session, if any.
func (s *Server) operatorCredential(w http.ResponseWriter, r *http.Request) (*http.Request, string, bool) {
	if auth.Credential(r) != "" || s.signIn.sessions == nil || readCookie(r, sessionCookie) == "" {
		name, ok := s.verify(w, r)
		return r, name, ok
	}
	r, name, ok := s.cookieSession(w, r)
	if !ok {
		return r, "", false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if !auth.CSRFValid(*sessionOf(r), r.Header.Get(csrfHeader)) {
			csrfRefused(w)
			return r, "", false
		}
	}
	return r, name, true
}

// cookieSession looks up the session cookie's session, answering 401 (and clearing
// the cookie) when it carries none.
func (s *Server) cookieSession(w http.ResponseWriter, r *http.Request) (*http.Request, string, bool) {
	if s.throttled(w, r) {
		return r, "", false
	}
	cookie := readCookie(r, sessionCookie)
	if cookie == "" {
		s.guard.failed(addrKey(s.clientAddr(r)), r.Pattern, authMissing)
		writeError(w, http.StatusUnauthorized, "unauthenticated", "not signed in: sign in with POST /api/v1/session or at /console/")
		return r, "", false
	}
	sess, err := s.signIn.sessions.Lookup(r.Context(), cookie)
	if err == nil && !s.tokenStillSigns(sess.OperatorSession) {
		_ = s.signIn.sessions.Revoke(r.Context(), cookie)
		err = auth.ErrNoSession
	}
	if errors.Is(err, auth.ErrNoSession) {
		s.guard.failed(addrKey(s.clientAddr(r)), r.Pattern, authInvalid)
		setCookie(w, r, sessionCookie, "", -1, http.SameSiteStrictMode)
		writeError(w, http.StatusUnauthorized, "session_ended",
			"your session has ended (signed out, expired, or unused too long): sign in again")
		return r, "", false
	}
	if err != nil {
		s.fail(w, r, err)
		return r, "", false
	}
	return r.WithContext(context.WithValue(r.Context(), sessionKey{}, &sess)), sess.Operator, true
}

// watchSession closes a console feed opened with a session once the session ends:
// signed out on another replica, expired. While the feed is open the session counts
// as used.
func (s *Server) watchSession(conn *wsConn, idHash string) {
	if idHash == "" {
		return
	}
	go func() {
		t := time.NewTicker(s.signIn.recheck)
		defer t.Stop()
		for range t.C {
			if conn.isClosed() {
				return
			}
			rec, err := s.signIn.sessions.Use(context.Background(), idHash)
			if errors.Is(err, auth.ErrNoSession) || (err == nil && !s.tokenStillSigns(rec)) {
				conn.close(closeSignedOut, "your session has ended: sign in again")
				return
			}
		}
	}()
}

// tokenStillSigns reports whether a session may go on as far as its token goes: one
// opened with a token ends once that token no longer signs its operator in (rotated
// or removed from the Secret); an OIDC session has none.
func (s *Server) tokenStillSigns(sess store.OperatorSession) bool {
	if sess.Credential == "" {
		return true
	}
	tokens, ok := s.verifier.(interface {
		Signs(tokenHash, operator string) bool
	})
	return !ok || tokens.Signs(sess.Credential, sess.Operator)
}

// closeSessionFeeds closes the console feeds this server holds open with a session.
func (s *Server) closeSessionFeeds(idHash string) {
	for w, c := range s.conns.list() {
		if c.session == idHash {
			w.close(closeSignedOut, "you signed out")
		}
	}
}
