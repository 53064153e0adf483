package api

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestAuthGuardBacksOff: an address has 20 failures at once and one a second after;
// past that it is refused for 1 s, then 2 s, 4 s... up to the cap, and forgiven once
// it has been quiet long enough for its allowance to refill.
func TestAuthGuardBacksOff(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	g := newAuthGuard(slog.New(slog.NewTextHandler(io.Discard, nil)),
		prometheus.NewCounterVec(prometheus.CounterOpts{Name: "f"}, []string{"reason"}))
	g.now = func() time.Time { return now }
	g.maxBlock = 8 * time.Second
	const addr = "203.0.113.5"
	steps := []struct {
		name     string
		advance  time.Duration
		failures int
		wantWait time.Duration
	}{
		{"the allowance", 0, 20, 0},
		{"one more", 0, 1, time.Second},
		{"still waiting", 500 * time.Millisecond, 0, 500 * time.Millisecond},
		{"after the wait, a refilled failure", 500 * time.Millisecond, 1, 0},
		{"exhausted again: twice as long", 0, 1, 2 * time.Second},
		{"after it, two refilled, then four seconds", 2 * time.Second, 3, 4 * time.Second},
		{"then eight", 4 * time.Second, 5, 8 * time.Second},
		{"the cap holds", 8 * time.Second, 9, 8 * time.Second},
		{"quiet until refilled: forgiven", 8*time.Second + 20*time.Second, 21, time.Second},
		{"another address is unaffected", 0, 0, 0},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		a := addr
		if st.name == "another address is unaffected" {
			a = "203.0.113.9"
		}
		for range st.failures {
			g.failed(a, "GET /api/v1/me", authInvalid)
		}
		if got := g.wait(a); got != st.wantWait {
			t.Fatalf("%s: wait %v, want %v", st.name, got, st.wantWait)
		}
	}
	// Missing credentials are counted, not held against the address.
	for range 100 {
		g.failed("198.51.100.1", "GET /api/v1/me", authMissing)
	}
	if w := g.wait("198.51.100.1"); w != 0 {
		t.Errorf("missing credentials made the address wait %v", w)
	}
}

func TestClientAddr(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 192.168.1.7,fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{trustedProxies: trusted, log: slog.New(slog.DiscardHandler)}
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"direct", "203.0.113.5:4000", nil, "203.0.113.5"},
		{"X-Forwarded-For from an untrusted peer is ignored", "203.0.113.5:4000", []string{"198.51.100.1"}, "203.0.113.5"},
		{"through a trusted proxy", "10.1.2.3:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"a forged first hop is skipped", "10.1.2.3:4000", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"through two trusted proxies", "10.1.2.3:4000", []string{"198.51.100.1, 192.168.1.7"}, "198.51.100.1"},
		{"several headers", "10.1.2.3:4000", []string{"1.2.3.4", "198.51.100.1"}, "198.51.100.1"},
		{"a hop with a port", "10.1.2.3:4000", []string{"198.51.100.1:5555"}, "198.51.100.1"},
		{"a garbled hop stops at the last proxy", "10.1.2.3:4000", []string{"198.51.100.1, garbage"}, "10.1.2.3"},
		{"a trusted proxy without the header", "10.1.2.3:4000", nil, "10.1.2.3"},
		{"IPv6 through a trusted proxy", "[fd00::1]:4000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:4000", []string{"198.51.100.1"}, "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := s.clientAddr(r); got != netip.MustParseAddr(tt.want) {
				t.Errorf("got %v, want %s", got, tt.want)
			}
		})
	}
	if k := addrKey(netip.MustParseAddr("2001:db8::1:2:3:4")); k != "2001:db8::/64" {
		t.Errorf("an IPv6 address is limited as %s, want its /64", k)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example.com", "10.0.0"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("--trusted-proxies=%s was accepted", bad)
		}
	}
}
