package meta

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/switchboard-chat/switchboard/runtime/channels"
)

// SignatureHeader carries Meta's signature of a webhook request's body:
// "sha256=" and the hex HMAC-SHA256 of the raw body, keyed with the app secret.
const SignatureHeader = "X-Hub-Signature-256"

// maxChallengeBytes bounds the challenge echoed in the handshake; Meta's is a number.
const maxChallengeBytes = 1024

// Webhook verifies the requests Meta makes to a channel's webhook.
type Webhook struct {
	// AppSecret keys the signature of every delivery.
	AppSecret []byte
	// VerifyToken is what the app's webhook settings hold, echoed in the handshake.
	VerifyToken []byte
}

// Authenticate checks a webhook request. A GET is the subscription handshake: when
// it verifies, handshake is true and reply answers Meta's challenge. A POST verifies
// when its body bears the app's signature; the adapter then parses body. Any other
// request is refused with a *channels.RequestError.
func (w Webhook) Authenticate(r *http.Request, body []byte) (reply channels.Reply, handshake bool, err error) {
	switch r.Method {
	case http.MethodGet:
		reply, err = w.handshake(r)
		return reply, err == nil, err
	case http.MethodPost:
		return channels.Reply{}, false, w.verifySignature(r, body)
	}
	return channels.Reply{}, false, &channels.RequestError{Status: http.StatusMethodNotAllowed, Reason: "malformed",
		Message: "Meta's webhooks are GET (verification) and POST (events) requests"}
}

// handshake answers the verification request Meta makes when the webhook is set up:
// hub.mode=subscribe with the verify token, answered with hub.challenge.
func (w Webhook) handshake(r *http.Request) (channels.Reply, error) {
	q := r.URL.Query()
	if q.Get("hub.mode") != "subscribe" {
		return channels.Reply{}, channels.Malformed("a verification request has hub.mode=subscribe")
	}
	if !equalSecret([]byte(q.Get("hub.verify_token")), w.VerifyToken) {
		return channels.Reply{}, channels.Forged("hub.verify_token does not match the channel's verify token: set the same value in the app's webhook settings and the Secret")
	}
	challenge := q.Get("hub.challenge")
	if challenge == "" || len(challenge) > maxChallengeBytes {
		return channels.Reply{}, channels.Malformed("a verification request has a hub.challenge of 1 to %d bytes", maxChallengeBytes)
	}
	return channels.Reply{Response: []byte(challenge), ContentType: "text/plain; charset=utf-8"}, nil
}

// verifySignature checks X-Hub-Signature-256 against the raw body.
func (w Webhook) verifySignature(r *http.Request, body []byte) error {
	h := r.Header.Get(SignatureHeader)
	if h == "" {
		return channels.Forged("the request has no " + SignatureHeader + " header: Meta signs every delivery")
	}
	hexSig, ok := strings.CutPrefix(h, "sha256=")
	sig, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(sig) != sha256.Size {
		return channels.Forged("the " + SignatureHeader + " header is not sha256= and 64 hex digits")
	}
	if !hmac.Equal(sig, Signature(w.AppSecret, body)) {
		return channels.Forged("the " + SignatureHeader + " signature does not match the body: check that the Secret holds the app secret of the app that sends the webhooks")
	}
	return nil
}

// Signature is the HMAC-SHA256 of body keyed with the app secret.
func Signature(appSecret, body []byte) []byte {
	mac := hmac.New(sha256.New, appSecret)
	mac.Write(body)
	return mac.Sum(nil)
}

// equalSecret compares in constant time, also in the length: both sides are hashed
// first.
func equalSecret(got, want []byte) bool {
	if len(want) == 0 {
		return false
	}
	g, w := sha256.Sum256(got), sha256.Sum256(want)
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
