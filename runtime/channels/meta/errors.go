package meta

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// Error is the Graph API refusing a call: its error object and HTTP status.
type Error struct {
	Status  int
	Code    int
	Subcode int
	Type    string
	// Message is Graph's text; Details, WhatsApp's error_data.details.
	Message string
	Details string
	// Transient is Graph's is_transient: trying again later may work.
	Transient bool
	// RetryAfter is the wait an HTTP Retry-After header asked for, if HasRetryAfter.
	RetryAfter    time.Duration
	HasRetryAfter bool
}

func (e *Error) Error() string {
	return "the Graph API refused the call: " + e.Describe()
}

// Describe says what Graph said and its codes, which its documentation explains.
func (e *Error) Describe() string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if d := strings.TrimSpace(e.Details); d != "" && d != msg {
		msg += ": " + d
	}
	switch {
	case e.Code != 0 && e.Subcode != 0:
		return msg + " (code " + strconv.Itoa(e.Code) + ", subcode " + strconv.Itoa(e.Subcode) + ")"
	case e.Code != 0:
		return msg + " (code " + strconv.Itoa(e.Code) + ")"
	case e.Status != 0:
		return msg + " (HTTP " + strconv.Itoa(e.Status) + ")"
	}
	return msg
}

// graphError is the JSON of a Graph API error answer.
type graphError struct {
	Error struct {
		Message     string          `json:"message"`
		Type        string          `json:"type"`
		Code        json.Number     `json:"code"`
		Subcode     json.Number     `json:"error_subcode"`
		IsTransient bool            `json:"is_transient"`
		ErrorData   json.RawMessage `json:"error_data"`
	} `json:"error"`
}

// decodeError reads a Graph error answer; a body that is none (a proxy's page) leaves
// only the status.
func decodeError(status int, body []byte) *Error {
	e := &Error{Status: status}
	var g graphError
	if json.Unmarshal(body, &g) != nil {
		return e
	}
	e.Message, e.Type, e.Transient = g.Error.Message, g.Error.Type, g.Error.IsTransient
	e.Code, _ = strconv.Atoi(g.Error.Code.String())
	e.Subcode, _ = strconv.Atoi(g.Error.Subcode.String())
	e.Details = ErrorDetails(g.Error.ErrorData)
	return e
}

// ErrorDetails reads an error_data: an object with details (WhatsApp), or a string.
func ErrorDetails(raw json.RawMessage) string {
	var d struct {
		Details string `json:"details"`
	}
	if json.Unmarshal(raw, &d) == nil {
		return d.Details
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

func retryAfter(v string, now time.Time) (time.Duration, bool) { return outbox.ParseRetryAfter(v, now) }

// Graph error codes the channels act on.
const (
	CodeInvalidToken  = 190
	CodeAPISession    = 102
	CodePermission    = 10
	CodeInvalidParam  = 100
	SubcodeNoSuchNode = 33 // "object with ID … does not exist, cannot be loaded due to missing permissions"
)

// rateLimitCodes are Graph's throttling codes: the call may work later. 4 app, 17 user,
// 32 page, 613 call rate, 80001–80009 business use cases (80006 Messenger, 80007
// WhatsApp account), 130429 WhatsApp throughput, 131048 spam rate, 131056 pair rate.
var rateLimitCodes = map[int]bool{4: true, 17: true, 32: true, 341: true, 613: true,
	80001: true, 80002: true, 80003: true, 80004: true, 80005: true, 80006: true, 80007: true, 80008: true, 80009: true,
	130429: true, 131048: true, 131056: true}

// temporaryCodes are outages on Meta's side: 1 unknown, 2 service, 368 temporarily
// blocked, 131000 something went wrong, 131016 service unavailable, 133004 server
// temporarily unavailable.
var temporaryCodes = map[int]bool{1: true, 2: true, 368: true, 131000: true, 131016: true, 133004: true}

// IsAuth reports whether Graph refused the token itself.
func (e *Error) IsAuth() bool { return e.Code == CodeInvalidToken || e.Code == CodeAPISession }

// IsRateLimit reports whether Graph is throttling the caller.
func (e *Error) IsRateLimit() bool {
	return rateLimitCodes[e.Code] || e.Status == http.StatusTooManyRequests
}

// IsTemporary reports whether the same call may work later.
func (e *Error) IsTemporary() bool {
	s := e.Status
	return e.IsRateLimit() || e.Transient || temporaryCodes[e.Code] ||
		s == http.StatusRequestTimeout || s == http.StatusTooEarly || s >= 500
}

// tokenWords say why Graph refused a token, by the subcodes of code 190 it documents.
func tokenWords(e *Error) string {
	switch e.Subcode {
	case 458:
		return "the app was removed from the account that issued it"
	case 459, 464:
		return "the account that issued it must log in to Facebook to fix a problem"
	case 460:
		return "it was invalidated when its user changed their password"
	case 463:
		return "it expired"
	case 467:
		return "it is no longer valid"
	case 492:
		return "its session is no longer valid"
	}
	return "Meta refused it"
}

// TokenError words a refused token for the Connected condition: what ("the page
// access token") is invalid or expired, and Graph's reason by its subcode. It holds no
// Graph message, which may name the time and so would change on every probe.
func TokenError(what string, e *Error) error {
	return outbox.Auth(fmt.Errorf("%s is invalid or expired: %s (code %d%s); put a valid token in the Secret",
		what, tokenWords(e), e.Code, subcodeSuffix(e)))
}

func subcodeSuffix(e *Error) string {
	if e.Subcode == 0 {
		return ""
	}
	return ", subcode " + strconv.Itoa(e.Subcode)
}

// Classify makes err from Call the error an adapter returns: in plain words, without
// secrets, and marked as the outbox and the Connected condition expect. what names the
// call ("messenger send") and prefixes the text unless empty. explain, when not nil,
// words the Graph errors an adapter knows (the 24-hour window) and returns "" for the
// rest. A refused token is Auth and permanent; throttling and outages are temporary,
// honouring Retry-After; every other refusal is permanent; a call that did not get
// through is temporary.
func Classify(err error, what string, explain func(*Error) string) error {
	if err == nil {
		return nil
	}
	prefix := ""
	if what != "" {
		prefix = what + ": "
	}
	var e *Error
	if !errors.As(err, &e) {
		return fmt.Errorf("%s%w", prefix, err)
	}
	text := ""
	if explain != nil {
		text = explain(e)
	}
	switch {
	case text != "":
		text += " (Graph API: " + e.Describe() + ")"
	case e.IsAuth():
		text = "Meta refused the access token: " + e.Describe()
	case e.IsRateLimit():
		text = "Meta is limiting the rate of calls, trying again later: " + e.Describe()
	default:
		text = e.Describe()
	}
	out := errors.New(prefix + text)
	switch {
	case e.IsAuth():
		return outbox.Permanent(outbox.Auth(out))
	case e.IsTemporary():
		if e.HasRetryAfter {
			return outbox.RetryAfter(out, e.RetryAfter)
		}
		return out
	default:
		return outbox.Permanent(out)
	}
}
