package whatsapp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/channels/meta"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// Cloud API media limits: which types go as which message type, and how large.
// Anything else goes as a document, which takes any type.
var (
	mediaTypes = map[string]map[string]bool{
		"image": {"image/jpeg": true, "image/png": true},
		"audio": {"audio/aac": true, "audio/amr": true, "audio/mpeg": true, "audio/mp4": true, "audio/ogg": true},
		"video": {"video/mp4": true, "video/3gpp": true},
	}
	mediaLimits = map[string]int{"image": 5 << 20, "audio": 16 << 20, "video": 16 << 20, "document": 100 << 20}
)

// maxCaption is the longest caption of a media message, in characters.
const maxCaption = 1024

// Fetch implements channels.Fetcher: GET /{media-id} gives a short-lived URL of the
// file, which is downloaded with the access token.
func (a *Adapter) Fetch(ctx context.Context, att channels.Attachment, maxBytes int64) ([]byte, string, error) {
	var m struct {
		URL      string `json:"url"`
		MimeType string `json:"mime_type"`
		FileSize int64  `json:"file_size"`
	}
	// phone_number_id makes Graph refuse media of another business number.
	if err := a.graph.Call(ctx, http.MethodGet, url.PathEscape(att.Ref), url.Values{"phone_number_id": {a.phoneNumberID}}, nil, &m); err != nil {
		return nil, "", meta.Classify(err, "whatsapp media", nil)
	}
	if m.FileSize > maxBytes {
		return nil, "", channels.ErrTooLarge
	}
	data, ct, err := a.graph.Download(ctx, m.URL, maxBytes, true, "whatsapp media")
	if ct == "" || ct == "application/octet-stream" {
		ct = m.MimeType
	}
	return data, ct, err
}

// mediaMessage is the Cloud API's body of a media message: the uploaded media's id,
// and a caption (not for audio) and file name (documents).
type mediaMessage struct {
	MessagingProduct string    `json:"messaging_product"`
	RecipientType    string    `json:"recipient_type"`
	To               string    `json:"to"`
	Type             string    `json:"type"`
	Image            *mediaRef `json:"image,omitempty"`
	Audio            *mediaRef `json:"audio,omitempty"`
	Video            *mediaRef `json:"video,omitempty"`
	Document         *mediaRef `json:"document,omitempty"`
}

type mediaRef struct {
	ID       string `json:"id"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// sendFile uploads an operator's file (POST /{phone-number-id}/media) and sends it as
// an image, audio, video or document message with the text as its caption. Audio
// takes no caption, nor does a file whose text is too long for one: the text follows
// it as a message of its own.
func (a *Adapter) sendFile(ctx context.Context, m channels.Outgoing) (channels.Sent, error) {
	if !m.LastInbound.IsZero() && a.now().Sub(m.LastInbound) > ReplyWindow {
		return channels.Sent{}, outbox.Permanent(errors.New("whatsapp send: " + outsideWindow))
	}
	f := m.Attachment
	typ := "document"
	for t, types := range mediaTypes {
		if types[f.ContentType] && len(f.Data) <= mediaLimits[t] {
			typ = t
		}
	}
	if len(f.Data) > mediaLimits[typ] {
		return channels.Sent{}, outbox.Permanent(errors.New("whatsapp send: the file is larger than WhatsApp's limit of 100 MB for documents"))
	}
	var uploaded struct {
		ID string `json:"id"`
	}
	err := a.graph.Upload(ctx, url.PathEscape(a.phoneNumberID)+"/media",
		[]channels.Field{{Name: "messaging_product", Value: "whatsapp"}, {Name: "type", Value: f.ContentType}}, "file", f, &uploaded)
	if err != nil {
		return channels.Sent{}, meta.Classify(err, "whatsapp media upload", explain)
	}
	if uploaded.ID == "" {
		return channels.Sent{}, errors.New("whatsapp media upload: the Cloud API named no media id")
	}
	// A caption is at most 1024 characters, and audio takes none: the text follows.
	after := typ == "audio" || utf8.RuneCountInString(m.Text) > maxCaption
	body := &mediaRef{ID: uploaded.ID, Caption: m.Text}
	if after {
		body.Caption = ""
	}
	req := mediaMessage{MessagingProduct: "whatsapp", RecipientType: "individual", To: m.To, Type: typ}
	switch typ {
	case "image":
		req.Image = body
	case "audio":
		req.Audio = body
	case "video":
		req.Video = body
	default:
		body.Filename, req.Document = f.Name, body
	}
	sent, err := a.post(ctx, req)
	if err != nil || !after || m.Text == "" {
		return sent, err
	}
	return a.Send(ctx, channels.Outgoing{To: m.To, Text: m.Text, LastInbound: m.LastInbound})
}

// post sends one message body and returns its id.
func (a *Adapter) post(ctx context.Context, req any) (channels.Sent, error) {
	var resp struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := a.graph.Call(ctx, http.MethodPost, url.PathEscape(a.phoneNumberID)+"/messages", nil, req, &resp); err != nil {
		return channels.Sent{}, meta.Classify(err, "whatsapp send", explain)
	}
	if len(resp.Messages) == 0 || resp.Messages[0].ID == "" {
		return channels.Sent{}, errors.New("whatsapp send: the Cloud API accepted the message but named no message id")
	}
	return channels.Sent{ProviderID: resp.Messages[0].ID}, nil
}
