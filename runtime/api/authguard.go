package api

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/switchboard-chat/switchboard/runtime/auth"
)

// Reasons of switchboard_runtime_auth_failures_total.
const (
	authMissing   = "missing"   // no credential at all
	authInvalid   = "invalid"   // a credential that signs nobody in
	authThrottled = "throttled" // refused unchecked: the address failed too often
)

// authGuard makes guessing credentials slow. Each client address has an allowance
// of failed attempts that refills steadily, so a mistyped token or a console retrying
// with a stale one never runs out; an address that spends it is refused, whatever it
// sends, for a time that doubles with every further exhaustion, up to maxBlock.
type authGuard struct {
	mu    sync.Mutex
	addrs map[string]*guessing
	now   func() time.Time
	// refill and allowance: failed attempts per second an address may keep making,
	// and how many at once.
	refill               rate.Limit
	allowance            int
	firstBlock, maxBlock time.Duration
	sweepAt              int

	log      *slog.Logger
	failures *prometheus.CounterVec
}

// guessing is what the guard remembers of one address.
type guessing struct {
	left         *rate.Limiter
	strikes      int // exhaustions since the address was last quiet
	blockedUntil time.Time
}

func newAuthGuard(log *slog.Logger, failures *prometheus.CounterVec) *authGuard {
	return &authGuard{addrs: map[string]*guessing{}, now: time.Now, refill: 1, allowance: 20,
		firstBlock: time.Second, maxBlock: 5 * time.Minute, log: log, failures: failures}
}

// wait is how long the address must wait before it may try a credential again; 0
// when it may now.
func (g *authGuard) wait(addr string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.addrs[addr]
	if st == nil {
		return 0
	}
	return max(st.blockedUntil.Sub(g.now()), 0)
}

// refused counts an attempt turned away while the address waits.
func (g *authGuard) refused() { g.failures.WithLabelValues(authThrottled).Inc() }

// failed records a failed attempt: a missing credential is counted, a wrong one spends
// the address's allowance too. It logs the address and route, never the credential.
func (g *authGuard) failed(addr, route, reason string) {
	g.failures.WithLabelValues(reason).Inc()
	if reason != authInvalid {
		return
	}
	g.mu.Lock()
	now := g.now()
	st := g.addrs[addr]
	if st == nil {
		if len(g.addrs) >= max(g.sweepAt, maxLimiters) {
			g.forgetQuiet(now)
			g.sweepAt = 2 * len(g.addrs)
		}
		st = &guessing{left: rate.NewLimiter(g.refill, g.allowance)}
		g.addrs[addr] = st
	}
	if st.left.TokensAt(now) >= float64(g.allowance) {
		st.strikes = 0 // quiet long enough to be forgiven
	}
	var block time.Duration
	if !st.left.AllowN(now, 1) {
		st.strikes++
		block = g.firstBlock * time.Duration(math.Pow(2, float64(min(st.strikes-1, 30))))
		block = min(block, g.maxBlock)
		st.blockedUntil = now.Add(block)
	}
	g.mu.Unlock()
	if block > 0 {
		g.log.Warn("too many failed sign-ins from one address: refusing it for a while", "address", addr, "route", route, "refused_for", block)
		return
	}
	g.log.Warn("failed sign-in: the credential signs nobody in", "address", addr, "route", route)
}

// forgetQuiet drops the addresses whose allowance is full and that wait for nothing:
// they are as a new one would be. Called with mu held.
func (g *authGuard) forgetQuiet(now time.Time) {
	for addr, st := range g.addrs {
		if !now.Before(st.blockedUntil) && st.left.TokensAt(now) >= float64(g.allowance) {
			delete(g.addrs, addr)
		}
	}
}

// throttled answers 429 when the request's address must wait, and reports whether it
// did.
func (s *Server) throttled(w http.ResponseWriter, r *http.Request) bool {
	wait := s.guard.wait(addrKey(s.clientAddr(r)))
	if wait <= 0 {
		return false
	}
	s.guard.refused()
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, "rate_limited",
		fmt.Sprintf("too many failed sign-ins from your address: try again in %d s", secs))
	return true
}

// authFailed records a failed sign-in and answers 401 with what to do.
func (s *Server) authFailed(w http.ResponseWriter, r *http.Request, credential string) {
	s.guard.failed(addrKey(s.clientAddr(r)), r.Pattern, authReason(credential))
	writeError(w, http.StatusUnauthorized, "unauthenticated", unauthenticatedMessage(r))
}

func authReason(credential string) string {
	if credential == "" {
		return authMissing
	}
	return authInvalid
}

// unauthenticatedMessage says how to send a credential.
func unauthenticatedMessage(r *http.Request) string {
	if auth.QueryTokenRefused(r) {
		return "?access_token= is accepted on WebSocket upgrades only: send your token as Authorization: Bearer <token>"
	}
	return "missing or invalid credentials: send your token as Authorization: Bearer <token>"
}

// verify returns the operator (or employee) the request's credential signs in, or
// answers 429 or 401 itself.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) (string, bool) {
	if s.throttled(w, r) {
		return "", false
	}
	cred := auth.Credential(r)
	name, err := s.verifier.Verify(cred)
	if err != nil {
		s.authFailed(w, r, cred)
		return "", false
	}
	return name, true
}
