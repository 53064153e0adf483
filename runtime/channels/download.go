package channels

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// ErrTooLarge: a file is larger than the most the caller would read. The fetch job
// keeps the message and notes why the file was not kept.
var ErrTooLarge = errors.New("the file is larger than the limit")

// Download performs req (a GET of a file) with client and reads at most maxBytes of
// the answer, returning the bytes and the Content-Type the server gave. what names the
// file in errors ("telegram file"); redact removes secrets (a token in the URL) from
// any error text. Errors are classified for the outbox: a file the server no longer
// has or refuses us is permanent, an outage or a rate limit temporary.
func Download(client *http.Client, req *http.Request, maxBytes int64, what string, redact func(string) string) ([]byte, string, error) {
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text holds the URL, and the URL may hold a credential
		}
		return nil, "", fmt.Errorf("%s: %s", what, redact(err.Error()))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		err := fmt.Errorf("%s: the server answered %s", what, resp.Status)
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			if d, ok := outbox.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				return nil, "", outbox.RetryAfter(err, d)
			}
			return nil, "", err
		case resp.StatusCode == http.StatusRequestTimeout:
			return nil, "", err
		}
		return nil, "", outbox.Permanent(err)
	}
	if resp.ContentLength > maxBytes {
		return nil, "", ErrTooLarge
	}
	data, err := ReadLimited(resp.Body, maxBytes)
	if err != nil && !errors.Is(err, ErrTooLarge) {
		return nil, "", fmt.Errorf("%s: reading it: %s", what, redact(err.Error()))
	}
	return data, resp.Header.Get("Content-Type"), err
}

// ReadLimited reads r to its end, or fails with ErrTooLarge past maxBytes.
func ReadLimited(r io.Reader, maxBytes int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxBytes {
		return nil, ErrTooLarge
	}
	return data, nil
}
