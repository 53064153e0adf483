package meta

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// Upload posts a multipart form of fields and one file to path below the version
// (WhatsApp's /{phone-number-id}/media, Messenger's /{page-id}/messages with filedata)
// with the token, and decodes the answer into out, as Call does.
func (c *Client) Upload(ctx context.Context, path string, fields []channels.Field, fileField string, f *channels.OutgoingAttachment, out any) error {
	body, contentType, err := channels.MultipartFile(fields, fileField, f)
	if err != nil {
		return outbox.Permanent(err)
	}
	return c.do(ctx, http.MethodPost, c.base+"/"+c.version+"/"+strings.TrimPrefix(path, "/"), contentType, body, out)
}

// Download fetches a file Meta named by URL, reading at most maxBytes. WhatsApp's media
// URLs want the token (withToken); Messenger's attachment URLs are signed links that
// need none, and get none.
func (c *Client) Download(ctx context.Context, rawURL string, maxBytes int64, withToken bool, what string) ([]byte, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "", outbox.Permanent(errors.New(what + ": Meta gave no usable URL for the file"))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", outbox.Permanent(errors.New(what + ": " + c.Redact(err.Error())))
	}
	if withToken {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return channels.Download(c.http, req, maxBytes, what, c.Redact)
}
