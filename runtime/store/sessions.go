package store

import "time"

// OperatorSession is an operator's console session, kept under the SHA-256 of the
// random id its cookie holds.
type OperatorSession struct {
	IDHash   string
	Operator string
	// Method is how the operator signed in: token or oidc.
	Method string
	// Credential is the SHA-256 (hex) of the token the session was opened with; ""
	// for OIDC. The session ends once that token no longer signs the operator in.
	Credential string
	CreatedAt  time.Time
	// SeenAt is when the session was last used, to the minute: it ends after a
	// while unused.
	SeenAt time.Time
	// ExpiresAt is when it ends however much it is used.
	ExpiresAt time.Time
}

// OIDCLogin is an OpenID Connect sign-in under way, kept under the SHA-256 of the
// random id of the browser's sign-in cookie until the provider sends the browser back.
type OIDCLogin struct {
	IDHash string
	// State, Verifier (PKCE) and Nonce are what the provider's answer must match.
	State, Verifier, Nonce string
	ExpiresAt              time.Time
}
