package api

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRateLimitsForgetIdleKeys: past maxLimiters keys, those whose allowance is full
// again are forgotten, and only those: forgetting a busy key would reset its limit.
func TestRateLimitsForgetIdleKeys(t *testing.T) {
	tests := []struct {
		name     string
		perSec   float64
		wantSize int
	}{
		{"idle keys are forgotten", 1e9, 1}, // refilled at once
		{"busy keys are kept", 0.001, maxLimiters + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newRateLimits(tt.perSec, 1, 0, 0)
			for i := range maxLimiters {
				l.wait(fmt.Sprint(i))
			}
			l.wait("one more")
			if n := l.size(); n != tt.wantSize {
				t.Errorf("%d keys remembered, want %d", n, tt.wantSize)
			}
			if tt.perSec < 1 && l.wait("0") == 0 {
				t.Error("a busy key's limit was reset")
			}
		})
	}
}

// TestForwardedFromAnUntrustedPeerIsWarnedOnce: X-Forwarded-For from a peer that is
// no trusted proxy is ignored, and the log says so once, naming --trusted-proxies.
func TestForwardedFromAnUntrustedPeerIsWarnedOnce(t *testing.T) {
	var log strings.Builder
	s := &Server{log: slog.New(slog.NewTextHandler(&log, nil))}
	for range 3 {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.9:4000"
		r.Header.Set("X-Forwarded-For", "203.0.113.5")
		s.clientAddr(r)
	}
	if n := strings.Count(log.String(), "--trusted-proxies"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, log.String())
	}
	if !strings.Contains(log.String(), "peer=10.0.0.9") {
		t.Errorf("the warning does not name the peer:\n%s", log.String())
	}
}
