package telegram

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// Bot API limits on files: bots download files of up to 20 MB, upload photos of up
// to 10 MB (larger pictures go as documents) and captions of 1024 characters.
const (
	maxDownload = 20 << 20
	maxPhoto    = 10 << 20
	maxCaption  = 1024
)

// photoTypes are what sendPhoto takes; other pictures go as documents.
var photoTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/webp": true}

// Fetch implements channels.Fetcher: getFile gives the file's path on the Bot API's
// file server, where the file is downloaded under the bot token.
func (a *Adapter) Fetch(ctx context.Context, att channels.Attachment, maxBytes int64) ([]byte, string, error) {
	var f struct {
		FileSize int64  `json:"file_size"`
		FilePath string `json:"file_path"`
	}
	if err := a.call(ctx, "getFile", map[string]any{"file_id": att.Ref}, &f); err != nil {
		return nil, "", err
	}
	switch {
	case f.FileSize > maxBytes:
		return nil, "", channels.ErrTooLarge
	case f.FilePath == "":
		return nil, "", outbox.Permanent(errors.New("telegram getFile: no file path to download the file from"))
	}
	// a.api is <base>/bot<token>/; files are under <base>/file/bot<token>/.
	base := strings.TrimSuffix(a.api, "bot"+a.token+"/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"file/bot"+a.token+"/"+(&url.URL{Path: f.FilePath}).EscapedPath(), nil)
	if err != nil {
		return nil, "", outbox.Permanent(errors.New("telegram file: the API base URL is invalid"))
	}
	return channels.Download(a.http, req, min(maxBytes, maxDownload), "telegram file", a.redact)
}

// redact removes the bot token and the webhook secret derived from it from an error's
// text, such as a description the API (or a proxy in front of it) echoed them in.
func (a *Adapter) redact(s string) string {
	s = strings.ReplaceAll(s, a.token, "<token>")
	if a.secret != "" {
		s = strings.ReplaceAll(s, a.secret, "<secret>")
	}
	return s
}

// sendFile sends an operator's file: a picture with sendPhoto, anything else with
// sendDocument, uploaded as a multipart form, with the text as its caption. A text
// too long for a caption follows the file as a message of its own.
func (a *Adapter) sendFile(ctx context.Context, m channels.Outgoing) (channels.Sent, error) {
	f := m.Attachment
	method, field := "sendDocument", "document"
	if f.Kind == channels.AttachmentImage && photoTypes[f.ContentType] && len(f.Data) <= maxPhoto {
		method, field = "sendPhoto", "photo"
	}
	caption, rest := m.Text, ""
	if utf8.RuneCountInString(caption) > maxCaption {
		caption, rest = "", m.Text
	}
	fields := []channels.Field{{Name: "chat_id", Value: m.To}}
	if caption != "" {
		fields = append(fields, channels.Field{Name: "caption", Value: caption})
	}
	body, contentType, err := channels.MultipartFile(fields, field, f)
	if err != nil {
		return channels.Sent{}, outbox.Permanent(err)
	}
	var sent sentMessage
	if err := a.do(ctx, method, contentType, body, &sent); err != nil {
		return channels.Sent{}, err
	}
	if rest != "" {
		if err := a.call(ctx, "sendMessage", map[string]any{"chat_id": m.To, "text": rest}, &sent); err != nil {
			return channels.Sent{}, err
		}
	}
	return channels.Sent{ProviderID: messageKey(sent.Chat.ID, sent.MessageID)}, nil
}

// sentMessage is the part of a sent Message the adapter reads.
type sentMessage struct {
	MessageID int64 `json:"message_id"`
	Chat      struct {
		ID int64 `json:"id"`
	} `json:"chat"`
}
