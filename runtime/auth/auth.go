// Package auth authenticates operators (and employees chatting as internal clients).
// A Verifier turns a bearer credential into an operator name; tokens from the
// LiveChat's tokens Secret are one Verifier, and an OIDC verifier can stand beside it.
package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
)

// ErrUnauthenticated means no credential or a wrong one. It never says which.
var ErrUnauthenticated = errors.New("missing or invalid credentials")

// Verifier checks a bearer credential.
type Verifier interface {
	// Verify returns the operator name the credential belongs to.
	Verify(credential string) (string, error)
}

// Tokens verifies static bearer tokens, one per operator, as kept in the LiveChat's
// tokens Secret. It can be replaced live when the Secret changes.
type Tokens struct {
	byHash atomic.Pointer[map[[32]byte]string]
}

// NewTokens returns a verifier of the given operator → token map.
func NewTokens(tokens map[string][]byte) *Tokens {
	t := &Tokens{}
	t.Set(tokens)
	return t
}

// MinTokenLength is the shortest token accepted: a shorter one can be guessed.
const MinTokenLength = 16

// Set replaces the tokens and returns what it refused, in plain words that name the
// operators and never a token. An empty token or one shorter than MinTokenLength is
// refused; so is a token two operators share, for both of them: it would sign in as
// either, at random.
func (t *Tokens) Set(tokens map[string][]byte) (problems []string) {
	m := make(map[[32]byte]string, len(tokens))
	owners := map[[32]byte][]string{}
	for name, tok := range tokens {
		tok := []byte(strings.TrimSpace(string(tok)))
		switch {
		case len(tok) == 0:
			problems = append(problems, fmt.Sprintf("the token of %s is empty: they cannot sign in until it is set", name))
		case len(tok) < MinTokenLength:
			problems = append(problems, fmt.Sprintf("the token of %s is shorter than %d characters and is refused: use a long random string", name, MinTokenLength))
		default:
			h := sha256.Sum256(tok)
			owners[h] = append(owners[h], name)
			m[h] = name
		}
	}
	for h, names := range owners {
		if len(names) > 1 {
			delete(m, h)
			slices.Sort(names)
			problems = append(problems, fmt.Sprintf("%s share one token, which is refused: give each operator their own", strings.Join(names, " and ")))
		}
	}
	slices.Sort(problems)
	t.byHash.Store(&m)
	return problems
}

// Verify implements Verifier. Tokens are looked up by their SHA-256, so the time taken
// tells nothing about how much of a guess is right.
func (t *Tokens) Verify(credential string) (string, error) {
	if credential == "" {
		return "", ErrUnauthenticated
	}
	m := t.byHash.Load()
	if m == nil {
		return "", ErrUnauthenticated
	}
	if name, ok := (*m)[sha256.Sum256([]byte(credential))]; ok {
		return name, nil
	}
	return "", ErrUnauthenticated
}

// Signs reports whether the token whose SHA-256 is tokenHash (TokenHash) still signs
// in operator: false once it was rotated or removed.
func (t *Tokens) Signs(tokenHash, operator string) bool {
	raw, err := hex.DecodeString(tokenHash)
	m := t.byHash.Load()
	if err != nil || len(raw) != sha256.Size || m == nil {
		return false
	}
	return (*m)[[32]byte(raw)] == operator
}

// Credential reads a bearer credential from the Authorization header, or, on a
// WebSocket upgrade only, from the access_token query parameter: browsers cannot set
// headers there. Elsewhere a token in the URL would end up in access logs, proxies'
// logs and browser history, so it is not accepted.
func Credential(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			return strings.TrimSpace(h[7:])
		}
		return ""
	}
	if IsWebSocketUpgrade(r) {
		return r.URL.Query().Get("access_token")
	}
	return ""
}

// QueryTokenRefused reports whether a request carries ?access_token= where it is not
// accepted, so the answer can say how to send the token instead.
func QueryTokenRefused(r *http.Request) bool {
	return r.Header.Get("Authorization") == "" && !IsWebSocketUpgrade(r) && r.URL.Query().Has("access_token")
}

// IsWebSocketUpgrade reports whether r asks to switch to the WebSocket protocol.
func IsWebSocketUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet && headerHasToken(r.Header, "Connection", "upgrade") &&
		headerHasToken(r.Header, "Upgrade", "websocket")
}

// headerHasToken reports whether a comma-separated header lists token.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
