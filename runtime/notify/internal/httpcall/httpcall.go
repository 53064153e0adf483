// Package httpcall makes the one HTTP call an HTTP notification provider needs and
// classifies its outcome for the outbox, so every provider retries and gives up alike.
package httpcall

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/internal/egress"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// maxAnswer bounds what is read of an answer: services answer with small documents,
// and a webhook receiver may answer with anything.
const maxAnswer = 64 << 10

// Call describes a request to a service.
type Call struct {
	// What names the call in errors: "pusher beams publish".
	What string
	// Detail explains a refusal in the service's words, from the answer's body; the
	// text is scrubbed of Secrets and clipped before it goes into an error.
	Detail func(status int, body []byte) string
	// Secrets are the credentials the request carries, never to appear in an error.
	Secrets []string
}

// Do sends req with client and returns the body of a 2xx answer. Any other outcome
// is an error for the outbox: the transport failing is temporary (a certificate that
// does not verify is permanent: it needs fixing), a refusal is classified by status
// (outbox.StatusError: 408, 425, 429 and 5xx temporary, Retry-After honoured; every
// other status permanent).
func Do(client *http.Client, req *http.Request, c Call) (*http.Response, []byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, transportError(c.What, req, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: reading the answer from %s: %w", c.What, hostOf(req.URL), unwrapURL(err))
	}
	if resp.StatusCode/100 == 2 {
		return resp, body, nil
	}
	var detail string
	if c.Detail != nil {
		detail = Clip(notify.Scrub(c.Detail(resp.StatusCode, body), c.Secrets...), 300)
	}
	return resp, body, outbox.StatusError(resp, c.What, detail, time.Now())
}

// transportError says what went wrong on the way without the request's URL: its path
// or query may hold a credential (a Slack webhook URL is one).
func transportError(what string, req *http.Request, err error) error {
	err = unwrapURL(err)
	if ctxErr := req.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return fmt.Errorf("%s: %s did not answer in time: %w", what, hostOf(req.URL), ctxErr)
	}
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	if errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify) {
		return outbox.Permanent(fmt.Errorf("%s: the TLS certificate of %s does not verify: %w", what, hostOf(req.URL), err))
	}
	return fmt.Errorf("%s: reaching %s: %w", what, hostOf(req.URL), err)
}

// unwrapURL drops the *url.Error around err, whose text repeats the URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func hostOf(u *url.URL) string { return u.Scheme + "://" + u.Host }

// Clip shortens a service's text for an error message.
func Clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// NewJSON makes a POST of body as JSON.
func NewJSON(ctx context.Context, target string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, unwrapURL(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// DefaultClient is the client of providers made without one.
var DefaultClient = egress.Client(30 * time.Second)
