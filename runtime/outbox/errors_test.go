package outbox

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestStatusError(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		status     int
		retryAfter string
		permanent  bool
		wait       time.Duration // with a Retry-After; 0 for none
	}{
		{http.StatusTooManyRequests, "7", false, 7 * time.Second},
		{http.StatusTooManyRequests, now.Add(90 * time.Second).Format(http.TimeFormat), false, 90 * time.Second},
		{http.StatusTooManyRequests, "", false, 0},
		{http.StatusServiceUnavailable, "2", false, 2 * time.Second},
		{http.StatusBadGateway, "", false, 0},
		{http.StatusRequestTimeout, "", false, 0},
		{http.StatusBadRequest, "", true, 0},
		{http.StatusForbidden, "5", true, 0},
		{http.StatusNotFound, "", true, 0},
	} {
		t.Run(fmt.Sprint(tc.status, tc.retryAfter), func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Status: fmt.Sprintf("%d %s", tc.status, http.StatusText(tc.status)), Header: http.Header{}}
			if tc.retryAfter != "" {
				resp.Header.Set("Retry-After", tc.retryAfter)
			}
			err := StatusError(resp, "telegram sendMessage", "chat not found", now)
			if IsPermanent(err) != tc.permanent {
				t.Errorf("permanent = %v, want %v", IsPermanent(err), tc.permanent)
			}
			wait, ok := RetryAfterOf(err)
			if ok != (tc.wait > 0) || wait != tc.wait {
				t.Errorf("retry after %s (%v), want %s", wait, ok, tc.wait)
			}
			if want := "telegram sendMessage: " + resp.Status + ": chat not found"; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{" 30 ", 30 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	} {
		if got, ok := ParseRetryAfter(tc.in, now); got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestErrorTextKeepsNoCredentials(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&url.Error{Op: "Post", URL: "https://api.telegram.org/bot123456:AAH-secret/sendMessage", Err: errors.New("connection refused")},
			`Post "https://api.telegram.org/…": connection refused`},
		{fmt.Errorf("calling hook: %w", &url.Error{Op: "Post", URL: "https://user:pw@hooks.example.com/x?token=abc", Err: errors.New("EOF")}),
			`calling hook: Post "https://hooks.example.com/…": EOF`},
		{errors.New("403 Forbidden: bot was blocked by the user"), "403 Forbidden: bot was blocked by the user"},
	} {
		if got := errorText(tc.err); got != tc.want {
			t.Errorf("errorText(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
	long := errorText(errors.New(strings.Repeat("é", 400)))
	if len(long) > maxErrorLen+len("…") || !strings.HasSuffix(long, "…") {
		t.Errorf("a long error is kept at %d bytes: %q", len(long), long[len(long)-10:])
	}
}

func TestBackoff(t *testing.T) {
	k := &Kind{MinBackoff: time.Second, MaxBackoff: time.Minute}
	for _, tc := range []struct {
		attempt int
		full    time.Duration // the wait before jitter
	}{
		{1, time.Second}, {2, 2 * time.Second}, {6, 32 * time.Second}, {7, time.Minute}, {100, time.Minute},
	} {
		for range 50 {
			if got := backoff(k, tc.attempt); got < tc.full/2 || got > tc.full {
				t.Fatalf("backoff after attempt %d = %s, want within [%s, %s]", tc.attempt, got, tc.full/2, tc.full)
			}
		}
	}
}
