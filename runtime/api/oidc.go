package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/auth"
	"github.com/switchboard-chat/switchboard/runtime/auth/oidclogin"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// oidcLoginStore keeps OIDC sign-ins under way where every replica sees them: the
// provider may send the browser back to another replica.
type oidcLoginStore interface {
	SaveOIDCLogin(ctx context.Context, l store.OIDCLogin, now time.Time) error
	TakeOIDCLogin(ctx context.Context, idHash string, now time.Time) (store.OIDCLogin, error)
}

// consolePath is where a signed-in browser goes.
const consolePath = "/console/"

// oidcLogin sends the browser to the provider, remembering the sign-in under a
// random id its cookie holds: the callback must come back in this browser.
func (s *Server) oidcLogin(w http.ResponseWriter, r *http.Request) {
	logins, ok := s.engine.Store().(oidcLoginStore)
	if s.signIn.oidc == nil || !ok || s.signIn.sessions == nil {
		signInPage(w, r, http.StatusNotFound, "oidc_off", oidclogin.ErrOff.Error())
		return
	}
	to, l, err := s.signIn.oidc.Begin()
	if err != nil {
		s.oidcFailed(w, r, err)
		return
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	err = logins.SaveOIDCLogin(r.Context(), store.OIDCLogin{IDHash: loginHash(id), State: l.State, Verifier: l.Verifier,
		Nonce: l.Nonce, ExpiresAt: l.ExpiresAt}, time.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Lax, not Strict: the provider's redirect back is a navigation from its site.
	setCookie(w, r, loginCookie, base64.RawURLEncoding.EncodeToString(id), int(oidclogin.LoginTTL.Seconds()), http.SameSiteLaxMode)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusFound)
}

// providerError is the error code an OAuth provider sends back, kept only when it
// looks like one: the page shows it.
var providerError = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// oidcCallback completes a sign-in: the sign-in this browser started (taken once,
// so a replayed callback finds nothing), the provider's code exchanged with its PKCE
// verifier, the ID token verified with its nonce, and its username an operator of
// this LiveChat; then a session cookie and the console.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	logins, ok := s.engine.Store().(oidcLoginStore)
	if s.signIn.oidc == nil || !ok || s.signIn.sessions == nil {
		signInPage(w, r, http.StatusNotFound, "oidc_off", oidclogin.ErrOff.Error())
		return
	}
	if s.throttled(w, r) {
		return
	}
	q := r.URL.Query()
	cookie := readCookie(r, loginCookie)
	setCookie(w, r, loginCookie, "", -1, http.SameSiteLaxMode)
	if e := q.Get("error"); e != "" {
		if !providerError.MatchString(e) {
			e = "unknown"
		}
		signInPage(w, r, http.StatusUnauthorized, "oidc_refused", fmt.Sprintf("the OIDC provider did not sign you in (%s): start again", e))
		return
	}
	id, err := base64.RawURLEncoding.DecodeString(cookie)
	var l store.OIDCLogin
	if err == nil && len(id) == 32 {
		l, err = logins.TakeOIDCLogin(r.Context(), loginHash(id), time.Now())
	} else {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		s.guard.failed(addrKey(s.clientAddr(r)), r.Pattern, authInvalid)
		signInPage(w, r, http.StatusBadRequest, "oidc_login_unknown",
			"this sign-in did not start in this browser, was used already, or took longer than 10 minutes: start again")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name, err := s.signIn.oidc.Finish(r.Context(), oidclogin.Login{State: l.State, Verifier: l.Verifier, Nonce: l.Nonce,
		ExpiresAt: l.ExpiresAt}, q.Get("state"), q.Get("code"))
	if err != nil {
		s.oidcFailed(w, r, err)
		return
	}
	if _, err := s.engine.Operator(name); err != nil {
		s.log.Warn("OIDC sign-in refused: the user is no operator of this LiveChat", "user", name)
		signInPage(w, r, http.StatusForbidden, "not_an_operator",
			fmt.Sprintf("%s is not an operator of this LiveChat: ask an administrator to add you to an OperatorGroup of one of its queues", name))
		return
	}
	s.startSession(w, r, name, auth.MethodOIDC, "", func(auth.Session, chat.Me) {
		http.Redirect(w, r, consolePath, http.StatusFound)
	})
}

// oidcFailed answers a sign-in that cannot go on.
func (s *Server) oidcFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, oidclogin.ErrOff):
		signInPage(w, r, http.StatusNotFound, "oidc_off", err.Error())
	case errors.Is(err, oidclogin.ErrUnavailable):
		w.Header().Set("Retry-After", "30")
		signInPage(w, r, http.StatusServiceUnavailable, "unavailable", strings.TrimPrefix(err.Error(), oidclogin.ErrUnavailable.Error()+": "))
	case errors.Is(err, oidclogin.ErrNoUsername):
		signInPage(w, r, http.StatusForbidden, "no_username", err.Error())
	case errors.Is(err, oidclogin.ErrState), errors.Is(err, oidclogin.ErrCode), errors.Is(err, oidclogin.ErrIDToken), errors.Is(err, oidclogin.ErrNonce):
		s.guard.failed(addrKey(s.clientAddr(r)), r.Pattern, authInvalid)
		signInPage(w, r, http.StatusUnauthorized, "oidc_invalid", err.Error())
	default:
		s.fail(w, r, err)
	}
}

func loginHash(id []byte) string {
	h := sha256.Sum256(id)
	return hex.EncodeToString(h[:])
}

var signInPageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Sign-in failed</title></head>
<body><main><h1>Sign-in failed</h1><p role="alert">{{.}}</p><p><a href="/console/">Back to sign-in</a></p></main></body></html>
`))

// signInPage answers a browser's sign-in with a page that says what went wrong, and
// anything else with the API's error JSON.
func signInPage(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		writeError(w, status, code, msg)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = signInPageTemplate.Execute(w, msg)
}
