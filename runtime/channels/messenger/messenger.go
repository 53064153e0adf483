// Package messenger is the Facebook Messenger channel: a Facebook Page, through the
// Messenger Platform. Meta delivers the Page's events to the webhook set in the app's
// dashboard; replies go out through the Send API. With a bot on the channel, the
// Page's thread is shared with the bot's app by the handover protocol, and a reply
// from switchboard first takes the thread.
package messenger

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/channels/meta"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// MaxText is the Send API's limit on a text message, in characters; a longer reply
// goes out in parts.
const MaxText = 2000

// ReplyWindow is how long after a person's last message a Page may reply freely.
const ReplyWindow = 24 * time.Hour

// Provider is Facebook Messenger. Meta publishes no per-second Send API limit for a
// Page: its limits scale with the Page's audience and show as codes 4, 613 and 80006,
// which the outbox retries later. A person reads at human speed, so one message a
// second to one person (bursts of five for a split reply or quick answers) loses
// nothing; 250 a second for the Page keeps a busy Page's queue moving without
// bursting into those limits.
var Provider = channels.Provider{New: New, Limits: channels.Limits{
	PerRecipient: outbox.Rate{Limit: 1, Burst: 5},
	PerSender:    outbox.Rate{Limit: rate.Limit(250), Burst: 250},
}}

// Adapter is one Page.
type Adapter struct {
	pageID string
	graph  *meta.Client
	hook   meta.Webhook
	// handover: the channel has a bot, whose app shares the Page's threads.
	handover bool
	now      func() time.Time
}

// New makes the adapter of a Facebook Messenger channel.
func New(s channels.Spec) (channels.Adapter, error) {
	if s.Channel == nil || s.Channel.FacebookMessenger == nil {
		return nil, errors.New("the channel has no facebookMessenger settings")
	}
	fb := s.Channel.FacebookMessenger
	token, err := meta.SecretValue(s, fb.PageAccessTokenSecretRef, "page access token",
		"add the Page access token of the Page from the Meta app dashboard")
	if err != nil {
		return nil, err
	}
	appSecret, err := meta.SecretValue(s, fb.AppSecretSecretRef, "app secret",
		"add the app secret from the Meta app dashboard (App settings, Basic)")
	if err != nil {
		return nil, err
	}
	verify, err := meta.SecretValue(s, fb.VerifyTokenSecretRef, "verify token",
		"add the verify token you set in the app's webhook settings")
	if err != nil {
		return nil, err
	}
	if fb.PageID == "" {
		return nil, errors.New("the channel has no Page id: set facebookMessenger.pageID")
	}
	now := s.Now
	if now == nil {
		now = time.Now
	}
	graph, err := meta.NewClient(fb.APIBaseURL, fb.GraphAPIVersion, string(token), s.HTTP, now)
	if err != nil {
		return nil, err
	}
	return &Adapter{pageID: fb.PageID, graph: graph, hook: meta.Webhook{AppSecret: appSecret, VerifyToken: verify},
		handover: s.Channel.Bot != nil, now: now}, nil
}

// sendRequest is the Send API's body for a text reply.
type sendRequest struct {
	Recipient     recipient `json:"recipient"`
	MessagingType string    `json:"messaging_type"`
	Message       struct {
		Text string `json:"text"`
	} `json:"message"`
}

type recipient struct {
	ID string `json:"id"`
}

// Send replies to a person with a text, in parts of at most MaxText characters. With
// a bot on the channel it first takes the thread from the bot's app.
func (a *Adapter) Send(ctx context.Context, m channels.Outgoing) (channels.Sent, error) {
	if m.To == "" {
		return channels.Sent{}, outbox.Permanent(errors.New("messenger send: the contact has no page-scoped id to reply to"))
	}
	if m.Attachment != nil {
		return a.sendFile(ctx, m)
	}
	parts := meta.SplitText(m.Text, MaxText)
	if len(parts) == 0 {
		return channels.Sent{}, outbox.Permanent(errors.New("messenger send: the message has no text"))
	}
	if !m.LastInbound.IsZero() && a.now().Sub(m.LastInbound) > ReplyWindow {
		return channels.Sent{}, outbox.Permanent(errors.New("messenger send: " + outsideWindow))
	}
	if a.handover && !m.ByBot {
		if err := a.TakeThreadControl(ctx, m.To); err != nil && (outbox.IsAuth(err) || !outbox.IsPermanent(err)) {
			return channels.Sent{}, err
		}
		// Refused for good (the thread is idle or already ours, or only the bot's app
		// may take it): the send itself says whether the Page may reply.
	}
	var sent channels.Sent
	for _, text := range parts {
		var req sendRequest
		req.Recipient.ID, req.MessagingType, req.Message.Text = m.To, "RESPONSE", text
		var resp struct {
			MessageID string `json:"message_id"`
		}
		err := a.graph.Call(ctx, http.MethodPost, url.PathEscape(a.pageID)+"/messages", nil, req, &resp)
		if err != nil {
			return channels.Sent{}, meta.Classify(err, "messenger send", explainSend)
		}
		// The last part's id: its delivery, in order, implies the earlier parts'.
		sent.ProviderID = resp.MessageID
	}
	return sent, nil
}

// outsideWindow words Messenger's refusal of a reply after the 24-hour window.
const outsideWindow = "more than 24 hours since the contact's last message: Messenger allows no reply outside the 24-hour window"

// explainSend words the Send API's refusals that have a plain cause.
func explainSend(e *meta.Error) string {
	switch {
	case e.Code == meta.CodePermission && e.Subcode == 2018278:
		return outsideWindow
	case e.Code == 551 || e.Subcode == 1545041:
		return "the person cannot get messages from the Page right now (they may have blocked it or left Messenger)"
	case e.Code == meta.CodeInvalidParam && e.Subcode == 2018001:
		return "no person has this page-scoped id: the contact cannot get messages from this Page"
	}
	return ""
}

// threadRequest is the body of the handover calls.
type threadRequest struct {
	Recipient   recipient `json:"recipient"`
	TargetAppID string    `json:"target_app_id,omitempty"`
	Metadata    string    `json:"metadata,omitempty"`
}

// TakeThreadControl makes switchboard's app the owner of the person's thread, so an
// operator's reply reaches them and the bot's app gets their messages only on standby.
func (a *Adapter) TakeThreadControl(ctx context.Context, psid string) error {
	return a.threadControl(ctx, "take_thread_control", threadRequest{Recipient: recipient{psid},
		Metadata: "switchboard: an operator answers"})
}

// PassThreadControl gives the person's thread to the app appID (the bot's, or Meta's
// Page inbox), with metadata for it.
func (a *Adapter) PassThreadControl(ctx context.Context, psid, appID, metadata string) error {
	return a.threadControl(ctx, "pass_thread_control", threadRequest{Recipient: recipient{psid}, TargetAppID: appID,
		Metadata: metadata})
}

func (a *Adapter) threadControl(ctx context.Context, edge string, req threadRequest) error {
	if req.Recipient.ID == "" {
		return outbox.Permanent(fmt.Errorf("messenger %s: no page-scoped id", edge))
	}
	var resp struct {
		Success bool `json:"success"`
	}
	if err := a.graph.Call(ctx, http.MethodPost, url.PathEscape(a.pageID)+"/"+edge, nil, req, &resp); err != nil {
		return meta.Classify(err, "messenger "+edge, nil)
	}
	if !resp.Success {
		return outbox.Permanent(fmt.Errorf("messenger %s: the Graph API did not confirm it", edge))
	}
	return nil
}

// Probe checks that the Page access token works and belongs to the channel's Page.
func (a *Adapter) Probe(ctx context.Context) error {
	var page struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	err := a.graph.Call(ctx, http.MethodGet, "me", url.Values{"fields": {"id,name"}}, nil, &page)
	var ge *meta.Error
	switch {
	case errors.As(err, &ge) && ge.IsAuth():
		return meta.TokenError("the page access token", ge)
	case errors.As(err, &ge) && (ge.Code == meta.CodePermission || (ge.Code >= 200 && ge.Code <= 299)):
		return outbox.Auth(fmt.Errorf("the page access token lacks a permission: %s", ge.Describe()))
	case err != nil:
		return meta.Classify(err, "checking the page access token", nil)
	case page.ID != a.pageID:
		return outbox.Auth(fmt.Errorf("the page access token is a token of %s, not of Page %s: use a Page access token of Page %s",
			describePage(page.ID, page.Name), a.pageID, a.pageID))
	}
	return nil
}

func describePage(id, name string) string {
	if id == "" {
		return "no Page"
	}
	if name = strings.TrimSpace(name); name != "" {
		return fmt.Sprintf("Page %s (%q)", id, name)
	}
	return "Page " + id
}

// Register checks the credentials only: a Messenger webhook's URL and verify token are
// set in the Meta app's dashboard (Messenger, Webhooks), which Meta checks with the
// handshake Webhook answers, and the Page is subscribed to the app there too.
func (a *Adapter) Register(ctx context.Context, _ string) error { return a.Probe(ctx) }

// Deregister does nothing: the app's webhook is removed in its dashboard.
func (a *Adapter) Deregister(context.Context) error { return nil }
