package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/media"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// MaxMMS is Twilio's limit on the media of one MMS.
const MaxMMS = 5 << 20

// Fetch implements channels.Fetcher: an incoming MMS names its media by MediaUrl,
// which Twilio serves with the account's credentials (when the account enforces
// HTTP auth on media) and redirects to its storage. The credentials go only to
// Twilio's own API host, never to a host a URL names otherwise.
func (a *Adapter) Fetch(ctx context.Context, att channels.Attachment, maxBytes int64) ([]byte, string, error) {
	u, err := url.Parse(att.Ref)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "", outbox.Permanent(errors.New("twilio media: the MediaUrl is not an http(s) URL"))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", outbox.Permanent(fmt.Errorf("twilio media: %w", err))
	}
	if api, err := url.Parse(a.api); err == nil && strings.EqualFold(api.Host, u.Host) {
		req.SetBasicAuth(a.accountSID, a.token)
	}
	return channels.Download(a.http, req, maxBytes, "twilio media", func(s string) string { return strings.ReplaceAll(s, a.token, "<token>") })
}

// sendMMS sends an operator's file as an MMS: Twilio fetches the file itself, from
// the signed, expiring URL the runtime serves it at below the LiveChat's public
// https URL. Without one, Twilio could not reach the file, and the send fails for
// good, saying so.
func (a *Adapter) sendMMS(ctx context.Context, m channels.Outgoing) (channels.Sent, error) {
	f := m.Attachment
	switch {
	case f.URL == "":
		return channels.Sent{}, outbox.Permanent(errors.New("twilio send: files go out as MMS, which Twilio fetches from the runtime: " +
			"set the LiveChat's spec.publicURL to an https URL Twilio can reach"))
	case len(f.Data) > MaxMMS:
		return channels.Sent{}, outbox.Permanent(fmt.Errorf("twilio send: the file is %s, larger than the %s Twilio takes in an MMS",
			media.FormatSize(int64(len(f.Data))), media.FormatSize(MaxMMS)))
	case utf16Len(m.Text) > MaxBodyLength:
		return channels.Sent{}, outbox.Permanent(fmt.Errorf(
			"the message is %d characters long and an SMS through Twilio takes at most %d: send it in shorter parts", utf16Len(m.Text), MaxBodyLength))
	}
	form := url.Values{"To": {m.To}, "MediaUrl": {f.URL}}
	if strings.TrimSpace(m.Text) != "" {
		form.Set("Body", m.Text)
	}
	return a.create(ctx, form)
}
