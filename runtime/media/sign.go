package media

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// KeyName is the store's runtime key that signs public media URLs: random, made once
// per database, so every replica signs and checks the same way and no Secret is needed.
const KeyName = "media-url"

// URLLifetime is how long a signed media URL works: long enough for a provider to
// fetch the file while the send is tried, short enough that a leaked URL soon stops
// working. Each attempt signs a new one.
const URLLifetime = time.Hour

// PublicPath is the runtime's route of signed media URLs, below the LiveChat's publicURL.
const PublicPath = "/api/v1/media/"

// ErrBadToken: a media URL that was not signed by this LiveChat, names another file,
// or has expired. It never says which.
var ErrBadToken = errors.New("the media link is invalid or has expired")

// Sign returns the token of a URL that serves one attachment until expires:
// "<id>.<unix expiry>.<HMAC-SHA256>".
func Sign(key []byte, attachmentID string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return attachmentID + "." + exp + "." + mac(key, attachmentID, exp)
}

// Verify returns the attachment a token names, if it was signed with key and has not
// expired at now.
func Verify(key []byte, token string, now time.Time) (string, error) {
	id, rest, ok := strings.Cut(token, ".")
	exp, sig, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || id == "" || len(key) == 0 {
		return "", ErrBadToken
	}
	if !hmac.Equal([]byte(sig), []byte(mac(key, id, exp))) {
		return "", ErrBadToken
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !now.Before(time.Unix(unix, 0)) {
		return "", ErrBadToken
	}
	return id, nil
}

func mac(key []byte, id, exp string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("switchboard/media\x00" + id + "\x00" + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
