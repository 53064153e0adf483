// Package meta holds what the Facebook Messenger and WhatsApp Cloud API channels share:
// both are Meta products on the Graph API. It verifies Meta's webhook requests (the
// subscription handshake and the X-Hub-Signature-256 signature), calls the Graph API
// with the token in the Authorization header (never in a URL, so never in a log), and
// turns Graph API errors into plain words classified for the outbox.
package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/internal/egress"
	"github.com/switchboard-chat/switchboard/internal/neterr"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// maxResponseBytes bounds what is read of a Graph API answer; its answers to our
// calls are a few hundred bytes.
const maxResponseBytes = 1 << 20

var versionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// Client calls the Graph API with one access token.
type Client struct {
	base    string // scheme://host[/prefix], without a trailing slash
	version string
	token   string
	http    *http.Client
	now     func() time.Time
}

// NewClient returns a client of the Graph API at baseURL (config.DefaultGraphAPIBaseURL
// when empty), version (config.DefaultGraphAPIVersion when empty, else like "v21.0").
func NewClient(baseURL, version, token string, hc *http.Client, now func() time.Time) (*Client, error) {
	if baseURL == "" {
		baseURL = config.DefaultGraphAPIBaseURL
	}
	u, err := url.Parse(baseURL)
	switch {
	case err == nil && u.User != nil:
		// Not quoted: the error would show the credentials.
		return nil, errors.New("the Graph API base URL holds credentials: give only scheme, host and path")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "":
		return nil, fmt.Errorf("the Graph API base URL %q is not an http(s) URL without a query", baseURL)
	}
	if version == "" {
		version = config.DefaultGraphAPIVersion
	}
	if !versionRE.MatchString(version) {
		return nil, fmt.Errorf("the Graph API version %q is not like v21.0", version)
	}
	if hc == nil {
		hc = egress.Client(30 * time.Second)
	}
	if now == nil {
		now = time.Now
	}
	return &Client{base: strings.TrimSuffix(u.String(), "/"), version: version, token: token, http: hc, now: now}, nil
}

// Call makes one Graph API request: method on path (below the version, its IDs
// escaped with url.PathEscape), with query, in as the JSON body (nil for none), and
// decodes the answer into out (nil to discard it). A refusal is an *Error; any other
// error is the call not getting through. No error holds the token.
func (c *Client) Call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	target := c.base + "/" + c.version + "/" + strings.TrimPrefix(path, "/")
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var body io.Reader
	contentType := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding the request: %w", err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	return c.do(ctx, method, target, contentType, body, out)
}

// do sends an encoded body (JSON, or a multipart upload) to target with the token, and
// decodes the answer as Call does.
func (c *Client) do(ctx context.Context, method, target, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return errors.New(c.Redact(err.Error()))
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// Not the error's own text: it names the cluster's resolver and addresses.
		return errors.New(neterr.Describe(err, "the Graph API", "the Graph API"))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return errors.New(c.Redact(fmt.Sprintf("reading the answer (%s): %v", resp.Status, err)))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := decodeError(resp.StatusCode, raw)
		e.Message, e.Details = c.Redact(e.Message), c.Redact(e.Details)
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), c.now()); ok {
			e.RetryAfter, e.HasRetryAfter = d, true
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("the Graph API answered %s with a body that is not the expected JSON", resp.Status)
	}
	return nil
}

// Redact removes the token from s, in case a provider or proxy ever echoes it.
func (c *Client) Redact(s string) string {
	if len(c.token) < 4 {
		return s
	}
	return strings.ReplaceAll(s, c.token, "[redacted]")
}

// SecretValue reads a channel's Secret value, trimmed of the line break editors add;
// what names it in the error ("page access token"), hint says where it comes from.
func SecretValue(s channels.Spec, ref config.SecretKeyReference, what, hint string) ([]byte, error) {
	var v []byte
	if s.Secret != nil {
		v = bytes.TrimSpace(s.Secret(ref))
	}
	if len(v) == 0 {
		return nil, fmt.Errorf("Secret %q has no %s under key %q: %s", ref.Name, what, ref.Key, hint)
	}
	return v, nil
}
