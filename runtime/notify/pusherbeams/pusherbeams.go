// Package pusherbeams sends push notifications through Pusher Beams, publishing to
// one authenticated user (POST {base}/publish_api/v1/instances/{instanceId}/publishes/users,
// Bearer secret key) with a payload for each platform: web browsers, Android (FCM)
// and iOS (APNs).
package pusherbeams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/notify/internal/httpcall"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// Limits of what a publish carries. Beams takes user ids of up to 164 characters;
// APNs and FCM take payloads of about 4 KB, so titles and bodies are cut to lengths
// that fit in any script.
const (
	MaxUserIDLength = 164
	MaxTitleLength  = 100
	MaxBodyLength   = 500
)

// Publisher sends deliveries through one Beams instance.
type Publisher struct {
	instanceID string
	secretKey  string // never logged, never in an error
	endpoint   string
	http       *http.Client
}

var _ notify.Provider = (*Publisher)(nil)

// New makes the publisher of a pusherBeams provider block; hc nil means a client with
// a 30s timeout. The API is at https://<instanceID>.pushnotifications.pusher.com unless
// the block's APIBaseURL says otherwise.
func New(c *config.PusherBeamsProvider, secret notify.SecretFunc, hc *http.Client) (*Publisher, error) {
	if c == nil {
		return nil, errors.New("the provider has no pusherBeams settings")
	}
	if c.InstanceID == "" || strings.ContainsAny(c.InstanceID, "/.:?#@ ") {
		return nil, fmt.Errorf("pusherBeams.instanceID %q is not an instance id: copy it from the Keys page of the Beams dashboard", c.InstanceID)
	}
	var key string
	if secret != nil {
		key = strings.TrimSpace(string(secret(c.SecretKeySecretRef)))
	}
	if key == "" {
		return nil, fmt.Errorf("Secret %q has no key %q: add the Beams instance's primary key",
			c.SecretKeySecretRef.Name, c.SecretKeySecretRef.Key)
	}
	base := strings.TrimSuffix(c.APIBaseURL, "/")
	if base == "" {
		base = "https://" + c.InstanceID + ".pushnotifications.pusher.com"
	}
	if hc == nil {
		hc = httpcall.DefaultClient
	}
	return &Publisher{instanceID: c.InstanceID, secretKey: key, http: hc,
		endpoint: base + "/publish_api/v1/instances/" + url.PathEscape(c.InstanceID) + "/publishes/users"}, nil
}

// publish is the body of a publish to users.
type publish struct {
	Users []string `json:"users"`
	Web   web      `json:"web"`
	FCM   fcm      `json:"fcm"`
	APNs  apns     `json:"apns"`
}

type web struct {
	Notification webNotification   `json:"notification"`
	Data         map[string]string `json:"data,omitempty"`
}

type webNotification struct {
	Title    string `json:"title,omitempty"`
	Body     string `json:"body,omitempty"`
	DeepLink string `json:"deep_link,omitempty"`
}

type fcm struct {
	Notification alert             `json:"notification"`
	Data         map[string]string `json:"data,omitempty"`
}

type alert struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
}

type apns struct {
	APS  aps               `json:"aps"`
	Data map[string]string `json:"data,omitempty"`
}

type aps struct {
	Alert alert  `json:"alert"`
	Sound string `json:"sound,omitempty"`
}

// Deliver publishes d to the Beams user d.To.PushUserID, on every device the user
// signed in on. Beams has no idempotency key: a retry after an answer that was lost on
// the way notifies twice.
func (p *Publisher) Deliver(ctx context.Context, d notify.Delivery) error {
	user := d.To.PushUserID
	switch {
	case user == "":
		return outbox.Permanent(errors.New("pusher beams: the recipient has no push user id"))
	case len(user) > MaxUserIDLength || !utf8.ValidString(user):
		return outbox.Permanent(fmt.Errorf("pusher beams: the push user id %q is not a Beams user id (at most %d characters of UTF-8)", clip(user, 40), MaxUserIDLength))
	case strings.TrimSpace(d.Subject) == "" && strings.TrimSpace(d.Text) == "":
		return outbox.Permanent(errors.New("pusher beams: the notification has neither a title nor a text"))
	}
	title, text := clip(d.Subject, MaxTitleLength), clip(d.Text, MaxBodyLength)
	data := map[string]string{}
	for k, v := range map[string]string{"event": d.Event, "link": d.Link} {
		if v != "" {
			data[k] = v
		}
	}
	var link string
	if strings.HasPrefix(d.Link, "https://") || strings.HasPrefix(d.Link, "http://") {
		link = d.Link
	}
	body, err := json.Marshal(publish{
		Users: []string{user},
		Web:   web{Notification: webNotification{Title: title, Body: text, DeepLink: link}, Data: data},
		FCM:   fcm{Notification: alert{Title: title, Body: text}, Data: data},
		APNs:  apns{APS: aps{Alert: alert{Title: title, Body: text}, Sound: "default"}, Data: data},
	})
	if err != nil {
		return outbox.Permanent(fmt.Errorf("pusher beams: %w", err))
	}
	req, err := httpcall.NewJSON(ctx, p.endpoint, body)
	if err != nil {
		return outbox.Permanent(fmt.Errorf("pusher beams: %w", err))
	}
	req.Header.Set("Authorization", "Bearer "+p.secretKey)
	resp, _, err := httpcall.Do(p.http, req, httpcall.Call{What: "pusher beams publish", Detail: detail, Secrets: []string{p.secretKey}})
	if err != nil && resp != nil && resp.StatusCode == http.StatusUnauthorized {
		return outbox.Permanent(outbox.Auth(fmt.Errorf("pusher beams publish: Beams refused the secret key of instance %s: copy the primary key from the Keys page of the Beams dashboard into the Secret", p.instanceID)))
	}
	if err != nil && resp != nil && resp.StatusCode == http.StatusNotFound {
		return outbox.Permanent(fmt.Errorf("pusher beams publish: Beams knows no instance %s: check pusherBeams.instanceID (%w)", p.instanceID, err))
	}
	return err
}

// detail reads Beams's error document: {"error": "…", "description": "…"}.
func detail(_ int, body []byte) string {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"description"`
	}
	if json.Unmarshal(body, &e) != nil || (e.Error == "" && e.Description == "") {
		return ""
	}
	if e.Description == "" {
		return e.Error
	}
	return e.Error + ": " + e.Description
}

// clip cuts s to n characters, ending in "…" when cut.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
