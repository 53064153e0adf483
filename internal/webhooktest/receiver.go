// Package webhooktest is a webhook receiver for tests that checks what switchboard's
// notification webhooks promise, the way a receiver is told to in
// docs/notifications.md: the X-Switchboard-Signature header is "v1=" and the hex
// HMAC-SHA256, keyed with the shared secret, of the X-Switchboard-Timestamp value, a
// dot, and the raw body; a request whose timestamp is more than five minutes from the
// receiver's clock is a replay and refused. It is written apart from the sender, so a
// mistake in one is not mirrored in the other.
package webhooktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Headers of a signed webhook.
const (
	SignatureHeader = "X-Switchboard-Signature"
	TimestampHeader = "X-Switchboard-Timestamp"
)

// DefaultTolerance is how far a timestamp may be from the receiver's clock.
const DefaultTolerance = 5 * time.Minute

// Verify checks a signed request's headers and raw body against secret at now.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts := h.Get(TimestampHeader)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q is not a unix time in seconds", TimestampHeader, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("stale: signed %v from now, more than %v", d.Round(time.Second), tolerance)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "." + string(body)))
	want := mac.Sum(nil)
	for _, sig := range strings.Split(h.Get(SignatureHeader), ",") {
		hexSig, ok := strings.CutPrefix(strings.TrimSpace(sig), "v1=")
		got, err := hex.DecodeString(hexSig)
		if ok && err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("the signature does not verify")
}

// Options describe the receiver.
type Options struct {
	// Secret verifies signatures; nil accepts unsigned requests and refuses none.
	Secret []byte
	// Tolerance is DefaultTolerance when zero.
	Tolerance time.Duration
}

// Request is a request the receiver accepted.
type Request struct {
	Header http.Header
	Body   []byte
}

// Rejection is a request the receiver refused.
type Rejection struct {
	Status int
	Reason string
}

// Answer is a programmed answer to a verified request.
type Answer struct {
	Status int
	Header http.Header
	Body   string
	// Delay holds the answer back this long, or until the caller gives up.
	Delay time.Duration
}

// Receiver is a running webhook receiver.
type Receiver struct {
	URL string

	srv  *httptest.Server
	opts Options

	mu         sync.Mutex
	now        func() time.Time
	accepted   []Request
	rejections []Rejection
	answers    []Answer
}

// New starts a receiver at URL; Close stops it.
func New(o Options) *Receiver {
	if o.Tolerance <= 0 {
		o.Tolerance = DefaultTolerance
	}
	r := &Receiver{opts: o, now: time.Now}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL
	return r
}

// Close stops the receiver.
func (r *Receiver) Close() { r.srv.Close() }

// SetClock sets the receiver's clock, to see a request arrive later than it was sent.
func (r *Receiver) SetClock(now func() time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = now
}

// AnswerNext answers the next verified requests with a, in order; afterwards 204.
func (r *Receiver) AnswerNext(a ...Answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers = append(r.answers, a...)
}

// Accepted returns the requests accepted so far, in order.
func (r *Receiver) Accepted() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.accepted)
}

// Rejections returns the requests refused so far, in order.
func (r *Receiver) Rejections() []Rejection {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.rejections)
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 1<<20))
	if err != nil {
		r.reject(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	if req.Method != http.MethodPost {
		r.reject(w, http.StatusMethodNotAllowed, "not a POST")
		return
	}
	r.mu.Lock()
	now := r.now()
	r.mu.Unlock()
	if r.opts.Secret != nil {
		if err := Verify(r.opts.Secret, req.Header, body, now, r.opts.Tolerance); err != nil {
			r.reject(w, http.StatusUnauthorized, err.Error())
			return
		}
	}
	r.mu.Lock()
	answer := Answer{Status: http.StatusNoContent}
	if len(r.answers) > 0 {
		answer, r.answers = r.answers[0], r.answers[1:]
	}
	if answer.Status/100 == 2 {
		r.accepted = append(r.accepted, Request{Header: req.Header.Clone(), Body: body})
	}
	r.mu.Unlock()
	if answer.Delay > 0 {
		select {
		case <-req.Context().Done():
			return
		case <-time.After(answer.Delay):
		}
	}
	for k, vs := range answer.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(answer.Status)
	_, _ = io.WriteString(w, answer.Body)
}

func (r *Receiver) reject(w http.ResponseWriter, status int, reason string) {
	r.mu.Lock()
	r.rejections = append(r.rejections, Rejection{Status: status, Reason: reason})
	r.mu.Unlock()
	http.Error(w, reason, status)
}
