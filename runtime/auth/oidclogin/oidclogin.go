// Package oidclogin signs operators in with an OpenID Connect provider: the
// authorization code flow with PKCE (S256), state and nonce. It discovers the
// provider in the background, retrying with backoff while it cannot be reached, so
// a provider that is down never stops the runtime from starting.
package oidclogin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

// CallbackPath is where the provider sends the browser back, under the LiveChat's
// public URL.
const CallbackPath = "/auth/oidc/callback"

// LoginTTL is how long a sign-in may take at the provider.
const LoginTTL = 10 * time.Minute

// Settings are what a LiveChat's spec.agentAuth.oidc compiles to, with the client
// secret's value.
type Settings struct {
	Issuer, ClientID string
	// ClientSecret is empty for a public client.
	ClientSecret  string
	RedirectURL   string
	UsernameClaim string
	// Problem, when set, says why sign-in cannot work with these settings.
	Problem string
}

// SettingsFrom returns the OIDC settings of a configuration, nil when OIDC is off;
// secret reads the client secret's value.
func SettingsFrom(cfg *config.Config, secret func(name, key string) []byte) *Settings {
	o := cfg.LiveChat.AgentAuth.OIDC
	if o == nil {
		return nil
	}
	s := &Settings{Issuer: o.IssuerURL, ClientID: o.ClientID, UsernameClaim: o.UsernameClaim}
	if s.UsernameClaim == "" {
		s.UsernameClaim = "preferred_username"
	}
	if o.ClientSecret != nil {
		s.ClientSecret = strings.TrimSpace(string(secret(o.ClientSecret.Name, o.ClientSecret.Key)))
		if s.ClientSecret == "" {
			s.Problem = fmt.Sprintf("the OIDC client secret (Secret %q, key %q) is missing or empty: set it, or remove spec.agentAuth.oidc.clientSecretRef for a public client",
				o.ClientSecret.Name, o.ClientSecret.Key)
		}
	}
	if cfg.LiveChat.PublicURL == "" {
		s.Problem = "OIDC sign-in needs the LiveChat's spec.publicURL: the provider sends operators back to <publicURL>" + CallbackPath
	} else {
		s.RedirectURL = strings.TrimRight(cfg.LiveChat.PublicURL, "/") + CallbackPath
	}
	return s
}

// Options of a relying party.
type Options struct {
	// HTTPClient reaches the provider; a client with a 10 s timeout when nil.
	HTTPClient *http.Client
	Log        *slog.Logger
	Now        func() time.Time
	// MinBackoff and MaxBackoff bound the wait between discovery attempts
	// (defaults 1 s and 1 min).
	MinBackoff, MaxBackoff time.Duration
}

// RP is the runtime as an OpenID Connect relying party. Configure it with every
// configuration; it is safe for concurrent use.
type RP struct {
	opts Options

	mu       sync.Mutex
	settings *Settings
	cancel   context.CancelFunc
	live     *provider // nil until discovery succeeded
	waiting  string    // why live is nil, for the sign-in page
}

// provider is a discovered provider, with the client settings it was found for.
type provider struct {
	settings Settings
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// New returns a relying party with OIDC off until Configure.
func New(o Options) *RP {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	return &RP{opts: o}
}

// Configure applies settings (nil: OIDC off). Discovery starts again only when they
// changed.
func (rp *RP) Configure(s *Settings) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if (s == nil && rp.settings == nil) || (s != nil && rp.settings != nil && *s == *rp.settings) {
		return
	}
	if rp.cancel != nil {
		rp.cancel()
		rp.cancel = nil
	}
	rp.settings, rp.live = s, nil
	if s == nil {
		rp.waiting = ""
		return
	}
	if s.Problem != "" {
		// The problem names Secrets and fields: it goes to the log and the
		// LiveChat's status, not to whoever opens the sign-in page.
		rp.waiting = "OIDC sign-in is not set up completely: an administrator finds what to fix in the runtime's log and the LiveChat's status"
		rp.opts.Log.Warn("operators cannot sign in with OIDC", "problem", s.Problem)
		return
	}
	rp.waiting = fmt.Sprintf("the OIDC provider %s has not been reached yet: try again in a minute", s.Issuer)
	ctx, cancel := context.WithCancel(context.Background())
	rp.cancel = cancel
	go rp.discover(ctx, *s)
}

// Close stops discovery.
func (rp *RP) Close() { rp.Configure(nil) }

// Enabled reports whether OIDC sign-in is configured, whether or not it works yet.
func (rp *RP) Enabled() bool {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.settings != nil
}

// discover finds the provider's endpoints and keys, trying again with growing,
// jittered waits until it succeeds or the settings change.
func (rp *RP) discover(ctx context.Context, s Settings) {
	wait := rp.opts.MinBackoff
	for {
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, rp.opts.HTTPClient), s.Issuer)
		if err == nil {
			live := &provider{settings: s,
				oauth: oauth2.Config{ClientID: s.ClientID, ClientSecret: s.ClientSecret, Endpoint: p.Endpoint(),
					RedirectURL: s.RedirectURL, Scopes: []string{oidc.ScopeOpenID, "profile", "email"}},
				verifier: p.Verifier(&oidc.Config{ClientID: s.ClientID, Now: rp.opts.Now})}
			rp.mu.Lock()
			if ctx.Err() == nil {
				rp.live, rp.waiting = live, ""
			}
			rp.mu.Unlock()
			rp.opts.Log.Info("OIDC provider discovered: operators can sign in with it", "issuer", s.Issuer)
			return
		}
		if ctx.Err() != nil {
			return
		}
		rp.mu.Lock()
		rp.waiting = fmt.Sprintf("the OIDC provider %s cannot be reached: the runtime keeps trying; try again in a minute", s.Issuer)
		rp.mu.Unlock()
		rp.opts.Log.Warn("the OIDC provider cannot be reached: operators cannot sign in with it until it can; trying again",
			"issuer", s.Issuer, "error", err, "retry_in", wait)
		t := time.NewTimer(wait + time.Duration(mrand.Int64N(int64(wait)/4+1)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, rp.opts.MaxBackoff)
	}
}

// ErrUnavailable wraps why sign-in cannot start now (the provider not discovered
// yet, settings that cannot work); its message is fit for the operator.
var ErrUnavailable = errors.New("OIDC sign-in is unavailable")

// ErrOff means OIDC sign-in is not configured.
var ErrOff = errors.New("OIDC sign-in is not configured for this LiveChat: sign in with your token")

func (rp *RP) current() (*provider, error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	switch {
	case rp.settings == nil:
		return nil, ErrOff
	case rp.live == nil:
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, rp.waiting)
	}
	return rp.live, nil
}

// Available returns why sign-in cannot start now; nil when it can.
func (rp *RP) Available() error {
	_, err := rp.current()
	return err
}

// Login is a sign-in about to be sent to the provider: what its answer must match.
type Login struct {
	State, Verifier, Nonce string
	ExpiresAt              time.Time
}

// Begin starts a sign-in: the URL to send the browser to and what to remember of it.
func (rp *RP) Begin() (string, Login, error) {
	p, err := rp.current()
	if err != nil {
		return "", Login{}, err
	}
	l := Login{State: randomString(), Verifier: oauth2.GenerateVerifier(), Nonce: randomString(),
		ExpiresAt: rp.opts.Now().Add(LoginTTL)}
	return p.oauth.AuthCodeURL(l.State, oauth2.S256ChallengeOption(l.Verifier), oidc.Nonce(l.Nonce)), l, nil
}

// Reasons Finish refuses a sign-in; their messages are fit for the operator and hold
// nothing secret.
var (
	ErrState      = errors.New("the sign-in's state does not match the one this browser started: start again")
	ErrCode       = errors.New("the OIDC provider refused the sign-in code (used already, or expired): start again")
	ErrIDToken    = errors.New("the OIDC provider's ID token is not valid for this LiveChat: check spec.agentAuth.oidc.issuerURL and clientID")
	ErrNonce      = errors.New("the ID token was not issued for this sign-in (its nonce does not match): start again")
	ErrNoUsername = errors.New("the ID token names no operator")
)

// Finish completes a sign-in the provider sent back with state and code: it checks
// the state, exchanges the code with the PKCE verifier, verifies the ID token and its
// nonce, and returns the operator name its username claim holds.
func (rp *RP) Finish(ctx context.Context, l Login, state, code string) (string, error) {
	p, err := rp.current()
	if err != nil {
		return "", err
	}
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(l.State)) != 1 {
		return "", ErrState
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, rp.opts.HTTPClient)
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(l.Verifier))
	if err != nil {
		var refused *oauth2.RetrieveError
		if errors.As(err, &refused) {
			rp.opts.Log.Warn("the OIDC provider refused a sign-in code", "issuer", p.settings.Issuer, "status", refused.Response.StatusCode, "error_code", refused.ErrorCode)
			return "", ErrCode
		}
		return "", fmt.Errorf("%w: the OIDC provider %s cannot be reached: try again in a minute", ErrUnavailable, p.settings.Issuer)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", ErrIDToken
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		rp.opts.Log.Warn("an ID token failed verification", "issuer", p.settings.Issuer, "error", err)
		return "", ErrIDToken
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(l.Nonce)) != 1 {
		return "", ErrNonce
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", ErrIDToken
	}
	// Operator names are lower case; providers may keep the case a user typed.
	name, _ := claims[p.settings.UsernameClaim].(string)
	if name = strings.ToLower(strings.TrimSpace(name)); name == "" {
		return "", fmt.Errorf("%w: its %q claim is missing or empty: have the provider include it, or set spec.agentAuth.oidc.usernameClaim to the claim that holds operator names",
			ErrNoUsername, p.settings.UsernameClaim)
	}
	return name, nil
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
