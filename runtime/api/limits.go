package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// What switchboard_runtime_rate_limited_total counts.
const (
	limitedMessage      = "message"            // a contact's or operator's message (429, or 4029 on a WebSocket)
	limitedConversation = "conversation"       // a new visitor's conversation, per address (429)
	limitedWebSocket    = "websocket"          // a visitor's WebSocket upgrade, per address (429)
	limitedWSAddress    = "websocket_address"  // a visitor's WebSocket beyond the cap of their address (429)
	limitedWSToken      = "websocket_token"    // a WebSocket beyond the cap of its token (429)
	limitedWSPing       = "websocket_ping"     // a connection closed for pinging too often (4029)
	limitedWSInvalid    = "websocket_invalid"  // a connection closed for too many invalid events (1008)
	limitedWSSlowReader = "websocket_too_slow" // a connection closed for not reading its events (4008)
)

var limitedWhat = []string{limitedMessage, limitedConversation, limitedWebSocket, limitedWSAddress, limitedWSToken,
	limitedWSPing, limitedWSInvalid, limitedWSSlowReader}

// Each connection's allowance of pings (events and control frames) and of events
// the runtime cannot use (invalid JSON, unknown types); fixed, as no client needs more.
const (
	wsPingsPerSecond   = 1
	wsPingBurst        = 10
	wsInvalidPerSecond = 0.1
	wsInvalidBurst     = 10
)

// rateLimits are token buckets by key (an address, a contact, an operator). Their
// memory is bounded: past maxLimiters keys, the keys whose allowance is full again
// are forgotten. A nil *rateLimits limits nothing.
type rateLimits struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	m     map[string]*rate.Limiter
	// sweepAt is the count of limiters at which idle ones are next forgotten; it grows
	// with the busy ones left, so many active keys do not cost a sweep each.
	sweepAt int
}

// maxLimiters is how many limiters a rateLimits keeps before idle ones are forgotten.
const maxLimiters = 100_000

// newRateLimits returns limits of perSecond with bursts of burst, the defaults when
// either is 0, or nil (no limit) when perSecond is negative.
func newRateLimits(perSecond float64, burst int, defaultRate float64, defaultBurst int) *rateLimits {
	if perSecond < 0 {
		return nil
	}
	if perSecond == 0 {
		perSecond = defaultRate
	}
	if burst <= 0 {
		burst = defaultBurst
	}
	return &rateLimits{every: rate.Limit(perSecond), burst: burst, m: map[string]*rate.Limiter{}}
}

// wait spends one of key's allowance and returns 0; when none is left it spends
// nothing and returns how long until there is one.
func (l *rateLimits) wait(key string) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	lim := l.m[key]
	if lim == nil {
		if len(l.m) >= max(l.sweepAt, maxLimiters) {
			l.forgetIdle()
			l.sweepAt = 2 * len(l.m)
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.m[key] = lim
	}
	l.mu.Unlock()
	r := lim.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return d
	}
	return 0
}

// forgetIdle drops the limiters whose allowance is full again: they are as a new one
// would be, so forgetting them resets nobody's limit, unlike clearing the map would.
// Called with mu held.
func (l *rateLimits) forgetIdle() {
	for key, lim := range l.m {
		if lim.Tokens() >= float64(l.burst) {
			delete(l.m, key)
		}
	}
}

// size is how many keys the limits remember.
func (l *rateLimits) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// tooMany answers 429 with Retry-After and counts the refusal; msg may hold %d for
// the seconds to wait.
func (s *Server) tooMany(w http.ResponseWriter, what string, wait time.Duration, msg string) {
	s.metrics.rateLimited.WithLabelValues(what).Inc()
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, "rate_limited", fmt.Sprintf(msg, secs))
}

// allowMessage spends one message of a contact's (or operator's) allowance, or
// answers 429 and reports false.
func (s *Server) allowMessage(w http.ResponseWriter, key string) bool {
	if wait := s.messages.wait(key); wait > 0 {
		s.tooMany(w, limitedMessage, wait, "too many messages: slow down and send again in %d s")
		return false
	}
	return true
}

// newCap is n, def when n is 0, or no cap (0) when n is negative.
func newCap(n, def int) int {
	switch {
	case n < 0:
		return 0
	case n == 0:
		return def
	}
	return n
}
