package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Session lifetimes: a session ends after SessionIdleTimeout unused (an open console
// feed counts as use) and SessionMaxAge after sign-in however much it is used.
const (
	SessionIdleTimeout = 2 * time.Hour
	SessionMaxAge      = 12 * time.Hour
	// sessionTouchEvery is how precisely use is recorded: at most one write per
	// session this often.
	sessionTouchEvery = time.Minute
)

// Sign-in methods a session records.
const (
	MethodToken = "token"
	MethodOIDC  = "oidc"
)

// sessionKeyName names the runtime key (store.Store.RuntimeKey) that signs session
// cookies and derives their CSRF tokens; every replica shares it.
const sessionKeyName = "operator-sessions"

// SessionStore keeps sessions where every replica sees them (sqlstore.DB).
type SessionStore interface {
	RuntimeKey(ctx context.Context, name string) ([]byte, error)
	CreateSession(ctx context.Context, s store.OperatorSession, idleBefore time.Time) error
	Session(ctx context.Context, idHash string) (store.OperatorSession, error)
	TouchSession(ctx context.Context, idHash string, seen time.Time) error
	DeleteSession(ctx context.Context, idHash string) error
}

// SessionOptions tune Sessions; zero fields take the defaults above.
type SessionOptions struct {
	IdleTimeout, MaxAge time.Duration
	Now                 func() time.Time
}

// Sessions are operators' console sessions. A session cookie holds a random id and
// its HMAC under a key the replicas share in the store, so a forged cookie is refused
// without a lookup; the store keeps the id's SHA-256 with the operator, so a session
// deleted on sign-out is gone on every replica, and a copy of the database holds no
// usable cookie. The CSRF token is another HMAC of the id: it needs no storage and
// only the runtime can make it.
type Sessions struct {
	st        SessionStore
	idle, max time.Duration
	now       func() time.Time
	keyMu     sync.Mutex
	key       []byte
}

// Session is a live session.
type Session struct {
	store.OperatorSession
	// CSRFToken must come back in X-CSRF-Token on requests that change something.
	CSRFToken string
}

// ErrNoSession means the cookie names no live session: none, forged, ended or
// expired. It never says which.
var ErrNoSession = errors.New("no session: sign in again")

// NewSessions returns sessions kept in st.
func NewSessions(st SessionStore, o SessionOptions) *Sessions {
	s := &Sessions{st: st, idle: o.IdleTimeout, max: o.MaxAge, now: o.Now}
	if s.idle <= 0 {
		s.idle = SessionIdleTimeout
	}
	if s.max <= 0 {
		s.max = SessionMaxAge
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// IdleTimeout and MaxAge are the lifetimes in force.
func (s *Sessions) IdleTimeout() time.Duration { return s.idle }
func (s *Sessions) MaxAge() time.Duration      { return s.max }

func (s *Sessions) signingKey(ctx context.Context) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	key, err := s.st.RuntimeKey(ctx, sessionKeyName)
	if err != nil {
		return nil, err
	}
	s.key = key
	return key, nil
}

// Create starts a session for operator and returns it with the cookie value that
// carries it; credential is the token it was opened with ("" for OIDC), of which
// only the SHA-256 is kept (TokenHash).
func (s *Sessions) Create(ctx context.Context, operator, method, credential string) (Session, string, error) {
	key, err := s.signingKey(ctx)
	if err != nil {
		return Session{}, "", err
	}
	id := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		return Session{}, "", err
	}
	now := s.now()
	rec := store.OperatorSession{IDHash: hashID(id), Operator: operator, Method: method, Credential: TokenHash(credential),
		CreatedAt: now, SeenAt: now, ExpiresAt: now.Add(s.max)}
	if err := s.st.CreateSession(ctx, rec, now.Add(-s.idle)); err != nil {
		return Session{}, "", err
	}
	cookie := b64(id) + "." + b64(mac(key, "session", id))
	return Session{OperatorSession: rec, CSRFToken: b64(mac(key, "csrf", id))}, cookie, nil
}

// Lookup returns the live session a cookie value carries, recording its use;
// ErrNoSession when there is none. Other errors are the store's.
func (s *Sessions) Lookup(ctx context.Context, cookie string) (Session, error) {
	id, err := s.verify(ctx, cookie)
	if err != nil {
		return Session{}, err
	}
	rec, err := s.Use(ctx, hashID(id))
	if err != nil {
		return Session{}, err
	}
	key, _ := s.signingKey(ctx)
	return Session{OperatorSession: rec, CSRFToken: b64(mac(key, "csrf", id))}, nil
}

// Use returns the live session stored under idHash, recording its use (an open
// console feed uses its session); ErrNoSession when it ended or expired.
func (s *Sessions) Use(ctx context.Context, idHash string) (store.OperatorSession, error) {
	rec, err := s.st.Session(ctx, idHash)
	if errors.Is(err, store.ErrNotFound) {
		return rec, ErrNoSession
	}
	if err != nil {
		return rec, err
	}
	now := s.now()
	if !now.Before(rec.ExpiresAt) || !now.Before(rec.SeenAt.Add(s.idle)) {
		return rec, ErrNoSession
	}
	if now.Sub(rec.SeenAt) >= sessionTouchEvery {
		if err := s.st.TouchSession(ctx, rec.IDHash, now); err != nil {
			return rec, err
		}
		rec.SeenAt = now
	}
	return rec, nil
}

// Revoke ends the session a cookie value carries, on every replica. A cookie that
// carries none is no error: there is nothing to end.
func (s *Sessions) Revoke(ctx context.Context, cookie string) error {
	id, err := s.verify(ctx, cookie)
	if errors.Is(err, ErrNoSession) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.st.DeleteSession(ctx, hashID(id))
}

// CSRFValid reports whether token is the session's CSRF token, in constant time.
func CSRFValid(sess Session, token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRFToken)) == 1
}

// verify returns the id a cookie value carries if the runtime made it.
func (s *Sessions) verify(ctx context.Context, cookie string) ([]byte, error) {
	idPart, macPart, ok := strings.Cut(cookie, ".")
	if !ok {
		return nil, ErrNoSession
	}
	id, err1 := base64.RawURLEncoding.DecodeString(idPart)
	sum, err2 := base64.RawURLEncoding.DecodeString(macPart)
	if err1 != nil || err2 != nil || len(id) != 32 {
		return nil, ErrNoSession
	}
	key, err := s.signingKey(ctx)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(sum, mac(key, "session", id)) {
		return nil, ErrNoSession
	}
	return id, nil
}

// SessionIDHash is the key the store keeps a session under, from its cookie value;
// "" when the cookie carries no id. Open connections remember it to find the
// session again.
func SessionIDHash(cookie string) string {
	idPart, _, _ := strings.Cut(cookie, ".")
	id, err := base64.RawURLEncoding.DecodeString(idPart)
	if err != nil || len(id) != 32 {
		return ""
	}
	return hashID(id)
}

func hashID(id []byte) string {
	h := sha256.Sum256(id)
	return hex.EncodeToString(h[:])
}

// mac is the HMAC-SHA256 of id under key, for one purpose.
func mac(key []byte, purpose string, id []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(id)
	return m.Sum(nil)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// TokenHash is the SHA-256 (hex) a session keeps of the token it was opened with; ""
// for none.
func TokenHash(token string) string {
	if token == "" {
		return ""
	}
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
