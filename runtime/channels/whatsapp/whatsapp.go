// Package whatsapp is the WhatsApp channel: a business phone number, through Meta's
// WhatsApp Cloud API. Meta delivers messages and the statuses of sent ones to the
// webhook set in the app's dashboard; replies go out with POST /{phone-number-id}/messages.
package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/channels/meta"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// MaxText is the Cloud API's limit on a text message's body, in characters.
const MaxText = 4096

// ReplyWindow is how long after a customer's last message a business may send free
// text; after it only a template message reopens the conversation.
const ReplyWindow = 24 * time.Hour

// Provider is WhatsApp. A business phone number handles 80 messages a second by
// default (Meta's documented throughput, error 130429 beyond it). To one customer Meta
// allows about one message every six seconds over time, with bursts (error 131056
// beyond); a second each with bursts of five keeps a live conversation flowing, and
// the outbox retries what the pair limit defers.
var Provider = channels.Provider{New: New, Limits: channels.Limits{
	PerRecipient: outbox.Rate{Limit: 1, Burst: 5},
	PerSender:    outbox.Rate{Limit: rate.Limit(80), Burst: 80},
}}

// Adapter is one business phone number.
type Adapter struct {
	phoneNumberID     string
	businessAccountID string
	graph             *meta.Client
	hook              meta.Webhook
	now               func() time.Time
}

// New makes the adapter of a WhatsApp channel.
func New(s channels.Spec) (channels.Adapter, error) {
	if s.Channel == nil || s.Channel.WhatsApp == nil {
		return nil, errors.New("the channel has no whatsApp settings")
	}
	wa := s.Channel.WhatsApp
	token, err := meta.SecretValue(s, wa.AccessTokenSecretRef, "access token",
		"add a system user's access token with the whatsapp_business_messaging permission")
	if err != nil {
		return nil, err
	}
	appSecret, err := meta.SecretValue(s, wa.AppSecretSecretRef, "app secret",
		"add the app secret from the Meta app dashboard (App settings, Basic)")
	if err != nil {
		return nil, err
	}
	verify, err := meta.SecretValue(s, wa.VerifyTokenSecretRef, "verify token",
		"add the verify token you set in the app's webhook settings")
	if err != nil {
		return nil, err
	}
	if wa.PhoneNumberID == "" {
		return nil, errors.New("the channel has no phone number id: set whatsApp.phoneNumberID")
	}
	now := s.Now
	if now == nil {
		now = time.Now
	}
	graph, err := meta.NewClient(wa.APIBaseURL, wa.GraphAPIVersion, string(token), s.HTTP, now)
	if err != nil {
		return nil, err
	}
	return &Adapter{phoneNumberID: wa.PhoneNumberID, businessAccountID: wa.BusinessAccountID, graph: graph,
		hook: meta.Webhook{AppSecret: appSecret, VerifyToken: verify}, now: now}, nil
}

// sendRequest is the Cloud API's body of a text message.
type sendRequest struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to"`
	Type             string `json:"type"`
	Text             struct {
		PreviewURL bool   `json:"preview_url"`
		Body       string `json:"body"`
	} `json:"text"`
}

// Send sends a text to a customer, in parts of at most MaxText characters.
func (a *Adapter) Send(ctx context.Context, m channels.Outgoing) (channels.Sent, error) {
	if m.To == "" {
		return channels.Sent{}, outbox.Permanent(errors.New("whatsapp send: the contact has no WhatsApp number to reply to"))
	}
	if m.Attachment != nil {
		return a.sendFile(ctx, m)
	}
	parts := meta.SplitText(m.Text, MaxText)
	if len(parts) == 0 {
		return channels.Sent{}, outbox.Permanent(errors.New("whatsapp send: the message has no text"))
	}
	if !m.LastInbound.IsZero() && a.now().Sub(m.LastInbound) > ReplyWindow {
		return channels.Sent{}, outbox.Permanent(errors.New("whatsapp send: " + outsideWindow))
	}
	var sent channels.Sent
	for _, text := range parts {
		req := sendRequest{MessagingProduct: "whatsapp", RecipientType: "individual", To: m.To, Type: "text"}
		req.Text.Body = text
		var resp struct {
			Messages []struct {
				ID string `json:"id"`
			} `json:"messages"`
		}
		err := a.graph.Call(ctx, http.MethodPost, url.PathEscape(a.phoneNumberID)+"/messages", nil, req, &resp)
		if err != nil {
			return channels.Sent{}, meta.Classify(err, "whatsapp send", explain)
		}
		if len(resp.Messages) == 0 || resp.Messages[0].ID == "" {
			return channels.Sent{}, errors.New("whatsapp send: the Cloud API accepted the message but named no message id")
		}
		sent.ProviderID = resp.Messages[0].ID
	}
	return sent, nil
}

// outsideWindow words the Cloud API's refusal of free text after the 24-hour window.
const outsideWindow = "more than 24 hours since the contact's last message: WhatsApp requires a template message to reopen the conversation"

// Cloud API error codes with a plain cause.
const (
	codeReEngagement  = 131047
	codeUndeliverable = 131026
)

// explain words the Cloud API's errors, of a send or of a failed status, that have a
// plain cause.
func explain(e *meta.Error) string {
	switch e.Code {
	case codeReEngagement:
		return outsideWindow
	case codeUndeliverable:
		return "WhatsApp could not deliver the message: the number may not be on WhatsApp, or its app is too old or has not accepted WhatsApp's terms"
	case 131021:
		return "the recipient is the business phone number itself"
	case 131030:
		return "the number is not on the test phone number's list of allowed recipients"
	case 131049:
		return "WhatsApp did not deliver the message to keep the contact's experience healthy (too many business messages)"
	case 130472:
		return "the number is part of a Meta experiment and gets no marketing messages"
	}
	return ""
}

// Probe checks that the access token works and can see the channel's phone number.
func (a *Adapter) Probe(ctx context.Context) error {
	var phone struct {
		ID string `json:"id"`
	}
	err := a.graph.Call(ctx, http.MethodGet, url.PathEscape(a.phoneNumberID), nil, nil, &phone)
	return a.credentialError(err, "checking the access token")
}

// credentialError words a failed probe or subscription for the Connected condition.
func (a *Adapter) credentialError(err error, what string) error {
	var ge *meta.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ge) && ge.IsAuth():
		return meta.TokenError("the access token", ge)
	case errors.As(err, &ge) && ge.Code == meta.CodeInvalidParam && ge.Subcode == meta.SubcodeNoSuchNode:
		return outbox.Auth(fmt.Errorf("the access token cannot see phone number id %s (it does not exist or the token's system user has no access to it): check whatsApp.phoneNumberID and the token's whatsapp_business_messaging permission",
			a.phoneNumberID))
	case errors.As(err, &ge) && (ge.Code == meta.CodePermission || (ge.Code >= 200 && ge.Code <= 299)):
		return outbox.Auth(fmt.Errorf("the access token lacks a permission: %s", ge.Describe()))
	}
	return meta.Classify(err, what, nil)
}

// Register checks the credentials and, with a business account id, subscribes the app
// to the account's webhooks (POST /{waba-id}/subscribed_apps; Meta delivers nothing
// of an account the app is not subscribed to). The webhook's URL and verify token are
// set in the Meta app's dashboard (WhatsApp, Configuration).
func (a *Adapter) Register(ctx context.Context, _ string) error {
	if err := a.Probe(ctx); err != nil {
		return err
	}
	if a.businessAccountID == "" {
		return nil
	}
	var resp struct {
		Success bool `json:"success"`
	}
	err := a.graph.Call(ctx, http.MethodPost, url.PathEscape(a.businessAccountID)+"/subscribed_apps", nil, nil, &resp)
	var ge *meta.Error
	if errors.As(err, &ge) && ge.Code == meta.CodeInvalidParam && ge.Subcode == meta.SubcodeNoSuchNode {
		return outbox.Auth(fmt.Errorf("the access token cannot see business account %s: check whatsApp.businessAccountID", a.businessAccountID))
	}
	if err := a.credentialError(err, "subscribing the app to the business account's webhooks"); err != nil {
		return err
	}
	if !resp.Success {
		return errors.New("subscribing the app to the business account's webhooks: the Graph API did not confirm it")
	}
	return nil
}

// Deregister does nothing: unsubscribing the app from the business account would cut
// off every phone number of the account, which other channels may use; the webhook is
// removed in the app's dashboard.
func (a *Adapter) Deregister(context.Context) error { return nil }
