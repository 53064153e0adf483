// Package onesignal sends push notifications through OneSignal's REST API: one
// notification per delivery (POST {base}/notifications?c=push, "Authorization: Key
// <REST API key>"), targeted at the recipient's External ID, with an idempotency key
// derived from the delivery's, so a retry after a lost answer does not notify twice.
package onesignal

import (
	"context"
	"crypto/md5"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/notify/internal/httpcall"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// Limits of what a notification carries: APNs and FCM take payloads of about 4 KB, so
// headings and contents are cut to lengths that fit in any script.
const (
	MaxHeadingLength = 100
	MaxContentLength = 500
)

// Sender sends deliveries through one OneSignal app.
type Sender struct {
	appID    string
	apiKey   string // never logged, never in an error
	endpoint string
	http     *http.Client
}

var _ notify.Provider = (*Sender)(nil)

// New makes the sender of a oneSignal provider block; hc nil means a client with a
// 30s timeout.
func New(c *config.OneSignalProvider, secret notify.SecretFunc, hc *http.Client) (*Sender, error) {
	if c == nil {
		return nil, errors.New("the provider has no oneSignal settings")
	}
	if c.AppID == "" {
		return nil, errors.New("oneSignal.appID is empty: copy the App ID from Settings > Keys & IDs in the OneSignal dashboard")
	}
	var key string
	if secret != nil {
		key = strings.TrimSpace(string(secret(c.APIKeySecretRef)))
	}
	if key == "" {
		return nil, fmt.Errorf("Secret %q has no key %q: add the app's REST API key (Settings > Keys & IDs)",
			c.APIKeySecretRef.Name, c.APIKeySecretRef.Key)
	}
	base := strings.TrimSuffix(c.APIBaseURL, "/")
	if base == "" {
		base = config.DefaultOneSignalBaseURL
	}
	if hc == nil {
		hc = httpcall.DefaultClient
	}
	return &Sender{appID: c.AppID, apiKey: key, http: hc, endpoint: base + "/notifications?c=push"}, nil
}

// notification is the body of a create-notification request.
type notification struct {
	AppID          string              `json:"app_id"`
	IncludeAliases map[string][]string `json:"include_aliases"`
	TargetChannel  string              `json:"target_channel"`
	Headings       map[string]string   `json:"headings,omitempty"`
	Contents       map[string]string   `json:"contents"`
	URL            string              `json:"url,omitempty"`
	Data           map[string]string   `json:"data,omitempty"`
	IdempotencyKey string              `json:"idempotency_key"`
}

// answer is OneSignal's answer to a create request. Errors is a list of strings, or
// an object such as {"invalid_aliases": {"external_id": […]}}.
type answer struct {
	ID     string          `json:"id"`
	Errors json.RawMessage `json:"errors"`
}

// Deliver sends d to the OneSignal user whose External ID is d.To.PushUserID. The
// contents go out in English ("en"), the language OneSignal requires.
func (s *Sender) Deliver(ctx context.Context, d notify.Delivery) error {
	user := d.To.PushUserID
	switch {
	case d.IdempotencyKey == "":
		return outbox.Permanent(errors.New("onesignal: the delivery has no idempotency key"))
	case user == "":
		return outbox.Permanent(errors.New("onesignal: the recipient has no push user id (OneSignal External ID)"))
	case strings.TrimSpace(d.Text) == "" && strings.TrimSpace(d.Subject) == "":
		return outbox.Permanent(errors.New("onesignal: the notification has neither a title nor a text"))
	}
	contents := clip(d.Text, MaxContentLength)
	if contents == "" {
		contents = clip(d.Subject, MaxContentLength)
	}
	n := notification{AppID: s.appID, IncludeAliases: map[string][]string{"external_id": {user}}, TargetChannel: "push",
		Contents: map[string]string{"en": contents}, IdempotencyKey: IdempotencyKey(d.IdempotencyKey)}
	if title := clip(d.Subject, MaxHeadingLength); title != "" {
		n.Headings = map[string]string{"en": title}
	}
	if strings.HasPrefix(d.Link, "https://") || strings.HasPrefix(d.Link, "http://") {
		n.URL = d.Link
	}
	for k, v := range map[string]string{"event": d.Event, "link": d.Link} {
		if v != "" {
			if n.Data == nil {
				n.Data = map[string]string{}
			}
			n.Data[k] = v
		}
	}
	body, err := json.Marshal(n)
	if err != nil {
		return outbox.Permanent(fmt.Errorf("onesignal: %w", err))
	}
	req, err := httpcall.NewJSON(ctx, s.endpoint, body)
	if err != nil {
		return outbox.Permanent(fmt.Errorf("onesignal: %w", err))
	}
	req.Header.Set("Authorization", "Key "+s.apiKey)
	resp, data, err := httpcall.Do(s.http, req, httpcall.Call{What: "onesignal create notification", Detail: detail, Secrets: []string{s.apiKey}})
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
			return outbox.Permanent(outbox.Auth(fmt.Errorf("onesignal create notification: OneSignal refused the REST API key of app %s (%s): copy it from Settings > Keys & IDs into the Secret", s.appID, resp.Status)))
		}
		return err
	}
	return s.accepted(data, user)
}

// accepted checks a 200's answer: OneSignal answers 200 also when it created no
// notification, or when it could not reach the user.
func (s *Sender) accepted(data []byte, user string) error {
	var a answer
	if err := json.Unmarshal(data, &a); err != nil {
		// OneSignal took the request; sending it again is safe with the idempotency
		// key, but an answer that is not JSON will not change by asking again.
		return nil
	}
	reasons, invalid := readErrors(a.Errors)
	if a.ID == "" || slices.Contains(invalid, user) {
		why := strings.Join(reasons, "; ")
		if why == "" {
			why = "no reason given"
		}
		return outbox.Permanent(fmt.Errorf("onesignal create notification: OneSignal sent nothing to External ID %q, which has no push subscription in app %s (%s)",
			user, s.appID, httpcall.Clip(why, 200)))
	}
	return nil
}

// readErrors reads the "errors" of an answer: its messages, and the External IDs it
// names as invalid.
func readErrors(raw json.RawMessage) (reasons, invalidExternalIDs []string) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if json.Unmarshal(raw, &reasons) == nil {
		return reasons, nil
	}
	var doc struct {
		InvalidAliases struct {
			ExternalID []string `json:"external_id"`
		} `json:"invalid_aliases"`
	}
	if json.Unmarshal(raw, &doc) == nil && len(doc.InvalidAliases.ExternalID) > 0 {
		return []string{"invalid_aliases"}, doc.InvalidAliases.ExternalID
	}
	return []string{string(raw)}, nil
}

// detail reads OneSignal's error document: {"errors": ["…"]}.
func detail(_ int, body []byte) string {
	var doc struct {
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return ""
	}
	reasons, _ := readErrors(doc.Errors)
	return strings.Join(reasons, "; ")
}

// IdempotencyKey turns a delivery's idempotency key into OneSignal's: a name-based
// (version 3) UUID, which OneSignal accepts, so every attempt sends the same one.
func IdempotencyKey(key string) string {
	// The URL namespace of RFC 9562, with a name of our own under it.
	namespace := [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	h := md5.New()
	h.Write(namespace[:])
	h.Write([]byte("urn:switchboard:notify:" + key))
	u := h.Sum(nil)
	u[6] = u[6]&0x0f | 0x30
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// clip cuts s to n characters, ending in "…" when cut.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
