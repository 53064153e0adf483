package outbox

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A handler's error says what to do with the job: nil, it is done; Permanent, it
// fails now (the provider refused it and always will); RetryAfter, try again no sooner
// than the provider asked; any other error, try again after a backoff.

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as final: the job is not tried again.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e retryAfterError) Error() string { return e.err.Error() }
func (e retryAfterError) Unwrap() error { return e.err }

// RetryAfter marks err as temporary with the provider's wait: the next attempt comes
// no sooner than after (HTTP Retry-After, Telegram's retry_after).
func RetryAfter(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return retryAfterError{err, max(after, 0)}
}

// RetryAfterOf returns the wait err asks for, if it was marked with RetryAfter.
func RetryAfterOf(err error) (time.Duration, bool) {
	var r retryAfterError
	if errors.As(err, &r) {
		return r.after, true
	}
	return 0, false
}

// ParseRetryAfter reads an HTTP Retry-After value: seconds, or an HTTP date.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

type authError struct{ err error }

func (e authError) Error() string { return e.err.Error() }
func (e authError) Unwrap() error { return e.err }

// Auth marks err as the provider refusing the credentials (an invalid token, a wrong
// password or account), so a status can say which Secret to fix. It says nothing of
// retrying: combine it with Permanent when retrying cannot help.
func Auth(err error) error {
	if err == nil {
		return nil
	}
	return authError{err}
}

// IsAuth reports whether err was marked with Auth.
func IsAuth(err error) bool {
	var a authError
	return errors.As(err, &a)
}

// StatusError classifies a provider's HTTP response that was not a success, for
// handlers: 408, 425, 429 and 5xx are temporary (429 and 503 honour Retry-After),
// every other status is permanent. what names the call, as "telegram sendMessage";
// detail is the provider's explanation, if any. Neither may hold secrets.
func StatusError(resp *http.Response, what, detail string, now time.Time) error {
	err := fmt.Errorf("%s: %s", what, resp.Status)
	if detail != "" {
		err = fmt.Errorf("%s: %s: %s", what, resp.Status, detail)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			return RetryAfter(err, d)
		}
		return err
	case code == http.StatusRequestTimeout || code == http.StatusTooEarly || code >= 500:
		return err
	default:
		return Permanent(err)
	}
}

// maxErrorLen bounds the error text kept with a job.
const maxErrorLen = 500

// urlRE matches URLs; their user info, path and query may hold credentials (a
// Telegram bot token is part of the path), so only scheme and host are kept.
var urlRE = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)(?:[^/\s"'@]*@)?([^/\s"'?#]+)[^\s"']*`)

// errorText is what the store keeps of an attempt's error.
func errorText(err error) string {
	s := urlRE.ReplaceAllString(err.Error(), "$1$2/…")
	if len(s) > maxErrorLen {
		s = s[:maxErrorLen]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}
