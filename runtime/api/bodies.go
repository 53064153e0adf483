package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// statusClientClosed records a request whose client went away before the answer
// (nginx's 499): the client sees nothing, the metrics and log tell it from a failure.
const statusClientClosed = 499

// minBodyRate is the slowest a body may arrive, beyond Limits.BodyTimeout: a client
// that sends a byte now and then to hold a connection open is cut off, while an
// upload over a poor mobile link still gets minutes.
const minBodyRate = 32 << 10 // bytes per second

// boundBody refuses a body declared larger than limit before reading any of it (with
// Expect: 100-continue the client is never asked to send it), and gives the body a
// deadline in proportion to its size. It reports whether the request may go on.
func (s *Server) boundBody(w http.ResponseWriter, r *http.Request, limit int64) bool {
	if r.ContentLength > limit {
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes", limit))
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength == 0 {
		return true // no body (GET, WebSocket upgrades): nothing to wait for
	}
	size := r.ContentLength
	if size < 0 {
		size = limit // chunked: as long as the largest body allowed may take
	}
	rc := http.NewResponseController(w)
	deadline := time.Now().Add(s.bodyTimeout + time.Duration(size)*time.Second/minBodyRate)
	if rc.SetReadDeadline(deadline) == nil {
		r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
	}
	return true
}

// deadlineBody lifts the body's read deadline once the body is read: the server
// then watches the idle connection for the client going away, and a deadline left
// behind would end the request's context in the middle of a slow handler.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// decode reads a JSON body into v, refusing unknown fields, trailing data, text that
// is not UTF-8 and bodies over the limit, with a message that says what is wrong. The
// whole body is read first, so one cut short is never taken for a complete one.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json")
		return false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.bodyFailed(w, r, err)
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_json", "the body is empty: send a JSON object")
		return false
	}
	// encoding/json would turn bad bytes and lone surrogate escapes into U+FFFD
	// silently, storing text the sender never wrote.
	if !utf8.Valid(body) || hasLoneSurrogate(body) {
		writeError(w, http.StatusBadRequest, "invalid_json", "the body is not valid UTF-8: send text as UTF-8")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the JSON object")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", "invalid JSON: "+err.Error())
		return false
	}
	return true
}

// bodyFailed answers a body that could not be read: too large, too slow, or cut off
// by a client that went away.
func (s *Server) bodyFailed(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes", tooBig.Limit))
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusRequestTimeout, "timeout", "the body did not arrive in time: send it at once")
	default:
		s.clientClosed(w, r, "the client went away before its request's body arrived", err)
	}
}

// clientGone answers a request whose client has gone away (its context ends when the
// connection closes), reporting whether it had.
func (s *Server) clientGone(w http.ResponseWriter, r *http.Request, err error) bool {
	if r.Context().Err() == nil {
		return false
	}
	s.clientClosed(w, r, "the client went away before the answer", err)
	return true
}

// clientClosed counts a request as closed by its client, not as a failure of ours:
// nothing is wrong with the runtime, so it is logged at debug only.
func (s *Server) clientClosed(w http.ResponseWriter, r *http.Request, msg string, err error) {
	s.log.Debug(msg, "method", r.Method, "route", r.Pattern, "error", err)
	w.Header().Set("Connection", "close")
	w.WriteHeader(statusClientClosed)
}

// hasLoneSurrogate reports whether a JSON text escapes half of a UTF-16 surrogate
// pair (\ud800 alone), which decodes to no character at all.
func hasLoneSurrogate(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if i >= len(b) || b[i] != 'u' {
			continue
		}
		r, ok := hex4(b, i+1)
		if !ok {
			continue // invalid JSON, which the decoder reports
		}
		i += 4
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return true // a low half without a high one
		case r >= 0xd800 && r <= 0xdbff:
			if i+6 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
				return true
			}
			lo, ok := hex4(b, i+3)
			if !ok || lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 reads four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}
