package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/webhooktest"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/notify/webhook"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

const secret = "whsec_0123456789abcdef"

var secretRef = &config.SecretKeyReference{Name: "hooks", Key: "signing"}

func secrets(r config.SecretKeyReference) []byte {
	if r == *secretRef {
		return []byte(secret + "\n")
	}
	return nil
}

func sender(t *testing.T, url string, format config.WebhookFormat, signed bool, timeout time.Duration) *webhook.Sender {
	t.Helper()
	c := &config.WebhookProvider{Webhook: config.Webhook{URL: url, Timeout: config.Duration{Duration: timeout}}, Format: format}
	if signed {
		c.SecretRef = secretRef
	}
	s, err := webhook.New(c, secrets, &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func delivery() notify.Delivery {
	return notify.Delivery{
		IdempotencyKey: notify.Key("event-1", "to-slack", "team", "hook"),
		To:             notify.Recipient{Name: "Alice", Email: "alice@example.org"},
		Subject:        "New message from Bob", Text: "Bob wrote: 1 < 2 & \"yes\"", HTML: "<p>hi</p>",
		Link: "https://chat.example.com/console/c/42?tab=a&b=c", Event: "MessageReceived",
		Data: map[string]any{"conversationId": "42", "channel": "website"},
	}
}

func TestJSONIsSignedAndVerifies(t *testing.T) {
	rcv := webhooktest.New(webhooktest.Options{Secret: []byte(secret)})
	defer rcv.Close()
	s := sender(t, rcv.URL+"/hooks", "", true, 10*time.Second)
	d := delivery()
	for range 2 { // a retry sends the same document
		if err := s.Deliver(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	got := rcv.Accepted()
	if len(got) != 2 || len(rcv.Rejections()) != 0 {
		t.Fatalf("accepted %d, rejected %v", len(got), rcv.Rejections())
	}
	if !bytes.Equal(got[0].Body, got[1].Body) {
		t.Errorf("a retry sent another body:\n%s\n%s", got[0].Body, got[1].Body)
	}
	h := got[0].Header
	for name, want := range map[string]string{
		"Content-Type":        "application/json",
		"Idempotency-Key":     d.IdempotencyKey,
		"X-Switchboard-Event": "MessageReceived",
	} {
		if h.Get(name) != want {
			t.Errorf("%s: %q, want %q", name, h.Get(name), want)
		}
	}
	if !strings.HasPrefix(h.Get("X-Switchboard-Signature"), "v1=") {
		t.Errorf("signature %q has no v1= prefix", h.Get("X-Switchboard-Signature"))
	}
	var doc map[string]any
	if err := json.Unmarshal(got[0].Body, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": d.IdempotencyKey, "event": "MessageReceived", "subject": d.Subject, "text": d.Text, "html": d.HTML,
		"link": d.Link, "data": map[string]any{"conversationId": "42", "channel": "website"},
		"recipient": map[string]any{"name": "Alice", "email": "alice@example.org", "visitor": false}}
	if a, b := mustJSON(t, doc), mustJSON(t, want); a != b {
		t.Errorf("document\n%s\nwant\n%s", a, b)
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTheReceiverRefusesForgeriesAndReplays(t *testing.T) {
	rcv := webhooktest.New(webhooktest.Options{Secret: []byte(secret)})
	defer rcv.Close()
	if err := sender(t, rcv.URL, "", true, 0).Deliver(context.Background(), delivery()); err != nil {
		t.Fatal(err)
	}
	sent := rcv.Accepted()[0]
	for _, tc := range []struct {
		name    string
		body    []byte
		header  func(http.Header)
		later   time.Duration
		status  int
		because string
	}{
		{name: "the same request again at once", body: sent.Body, status: 204},
		{name: "replayed six minutes later", body: sent.Body, later: 6 * time.Minute, status: 401, because: "stale"},
		{name: "a changed body", body: bytes.Replace(sent.Body, []byte("Bob"), []byte("Eve"), 1), status: 401, because: "does not verify"},
		{name: "a moved timestamp", body: sent.Body, header: func(h http.Header) {
			ts, _ := strconv.ParseInt(h.Get("X-Switchboard-Timestamp"), 10, 64)
			h.Set("X-Switchboard-Timestamp", strconv.FormatInt(ts-1, 10))
		}, status: 401, because: "does not verify"},
		{name: "no signature", body: sent.Body, header: func(h http.Header) { h.Del("X-Switchboard-Signature") }, status: 401, because: "does not verify"},
		{name: "signed with another secret", body: sent.Body, header: func(h http.Header) {
			h.Set("X-Switchboard-Signature", "v1="+webhook.Sign([]byte("other"), h.Get("X-Switchboard-Timestamp"), sent.Body))
		}, status: 401, because: "does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv.SetClock(func() time.Time { return time.Now().Add(tc.later) })
			req, _ := http.NewRequest("POST", rcv.URL, bytes.NewReader(tc.body))
			req.Header = sent.Header.Clone()
			if tc.header != nil {
				tc.header(req.Header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.because != "" {
				r := rcv.Rejections()
				if len(r) == 0 || !strings.Contains(r[len(r)-1].Reason, tc.because) {
					t.Errorf("rejections %v, want one because %q", r, tc.because)
				}
			}
		})
	}
}

func TestUnsignedWithoutASecret(t *testing.T) {
	rcv := webhooktest.New(webhooktest.Options{})
	defer rcv.Close()
	if err := sender(t, rcv.URL, "JSON", false, 0).Deliver(context.Background(), delivery()); err != nil {
		t.Fatal(err)
	}
	h := rcv.Accepted()[0].Header
	if h.Get("X-Switchboard-Signature") != "" || h.Get("X-Switchboard-Timestamp") != "" {
		t.Errorf("an unsigned provider signed: %v", h)
	}
	if h.Get("Idempotency-Key") == "" {
		t.Error("no Idempotency-Key")
	}
}

func TestSlack(t *testing.T) {
	for _, tc := range []struct {
		name        string
		mutate      func(*notify.Delivery)
		wantText    string
		wantSection string
		wantContext string
	}{
		{name: "subject, text, link and event", wantText: "New message from Bob: Bob wrote: 1 &lt; 2 &amp; \"yes\"",
			wantSection: "*New message from Bob*\nBob wrote: 1 &lt; 2 &amp; \"yes\"",
			wantContext: "<https://chat.example.com/console/c/42?tab=a&amp;b=c|Open the conversation> · MessageReceived"},
		{name: "mentions stay literal", mutate: func(d *notify.Delivery) {
			d.Subject, d.Text = "<!channel>", "<@U123> <https://evil.example|click>"
		}, wantText: "&lt;!channel&gt;: &lt;@U123&gt; &lt;https://evil.example|click&gt;",
			wantSection: "*&lt;!channel&gt;*\n&lt;@U123&gt; &lt;https://evil.example|click&gt;",
			wantContext: "<https://chat.example.com/console/c/42?tab=a&amp;b=c|Open the conversation> · MessageReceived"},
		{name: "a link Slack cannot carry is left out", mutate: func(d *notify.Delivery) {
			d.Link, d.Text = "https://x.example/a|b>", ""
		}, wantText: "New message from Bob", wantSection: "New message from Bob", wantContext: "MessageReceived"},
		{name: "long text is cut", mutate: func(d *notify.Delivery) { d.Subject, d.Text, d.Event, d.Link = "", strings.Repeat("&", 3000), "", "" },
			wantText: strings.Repeat("&amp;", 799) + "…", wantSection: strings.Repeat("&amp;", 599) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := webhooktest.New(webhooktest.Options{})
			defer rcv.Close()
			d := delivery()
			if tc.mutate != nil {
				tc.mutate(&d)
			}
			if err := sender(t, rcv.URL+"/services/T000/B000/XXXX", webhook.FormatSlack, false, 0).Deliver(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			var msg struct {
				Text   string `json:"text"`
				Blocks []struct {
					Type string `json:"type"`
					Text struct {
						Type, Text string
					} `json:"text"`
					Elements []struct{ Type, Text string } `json:"elements"`
				} `json:"blocks"`
			}
			if err := json.Unmarshal(rcv.Accepted()[0].Body, &msg); err != nil {
				t.Fatal(err)
			}
			if msg.Text != tc.wantText {
				t.Errorf("text %q, want %q", msg.Text, tc.wantText)
			}
			if len(msg.Blocks) == 0 || msg.Blocks[0].Type != "section" || msg.Blocks[0].Text.Type != "mrkdwn" || msg.Blocks[0].Text.Text != tc.wantSection {
				t.Errorf("blocks %+v, want a section %q", msg.Blocks, tc.wantSection)
			}
			var context string
			if len(msg.Blocks) > 1 && msg.Blocks[1].Type == "context" && len(msg.Blocks[1].Elements) == 1 {
				context = msg.Blocks[1].Elements[0].Text
			}
			if context != tc.wantContext {
				t.Errorf("context %q, want %q", context, tc.wantContext)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		answer     webhooktest.Answer
		timeout    time.Duration
		closed     bool
		permanent  bool
		retryAfter time.Duration
		want       string
	}{
		{name: "server error", answer: webhooktest.Answer{Status: 500, Body: "boom"}, want: "500 Internal Server Error: boom"},
		{name: "rate limited", answer: webhooktest.Answer{Status: 429, Header: http.Header{"Retry-After": {"30"}}, Body: "rate_limited"},
			retryAfter: 30 * time.Second, want: "429"},
		{name: "unavailable until a date", answer: webhooktest.Answer{Status: 503, Header: http.Header{"Retry-After": {time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}}},
			retryAfter: time.Hour, want: "503"},
		{name: "slack's no_service", answer: webhooktest.Answer{Status: 404, Body: "no_service"}, permanent: true, want: "404 Not Found: no_service"},
		{name: "slack's channel_is_archived", answer: webhooktest.Answer{Status: 410, Body: "channel_is_archived"}, permanent: true, want: "channel_is_archived"},
		{name: "a redirect", answer: webhooktest.Answer{Status: 308, Header: http.Header{"Location": {"/moved"}}},
			permanent: true, want: "redirects elsewhere"},
		{name: "the secret echoed back is scrubbed", answer: webhooktest.Answer{Status: 400, Body: "bad secret " + secret}, permanent: true, want: "[redacted]"},
		{name: "no answer in time", answer: webhooktest.Answer{Status: 204, Delay: 5 * time.Second}, timeout: 100 * time.Millisecond, want: "did not answer in time"},
		{name: "unreachable", closed: true, want: "reaching http://127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := webhooktest.New(webhooktest.Options{Secret: []byte(secret)})
			defer rcv.Close()
			rcv.AnswerNext(tc.answer)
			// The path of a Slack webhook URL is its credential.
			s := sender(t, rcv.URL+"/services/T000/B000/"+secret, "", true, tc.timeout)
			if tc.closed {
				rcv.Close()
			}
			err := s.Deliver(context.Background(), delivery())
			if err == nil {
				t.Fatal("Deliver succeeded")
			}
			t.Log(err)
			if outbox.IsPermanent(err) != tc.permanent {
				t.Errorf("permanent %v, want %v", outbox.IsPermanent(err), tc.permanent)
			}
			after, ok := outbox.RetryAfterOf(err)
			if tc.retryAfter >= time.Minute { // from an HTTP date: seconds pass meanwhile
				after = after.Round(time.Minute)
			}
			if ok != (tc.retryAfter > 0) || after != tc.retryAfter {
				t.Errorf("RetryAfter %v %v, want %v", after, ok, tc.retryAfter)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "/services/") {
				t.Errorf("error %q holds the secret or the URL's path", err)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    *config.WebhookProvider
		want string
	}{
		{name: "no settings", want: "no webhook settings"},
		{name: "relative url", c: &config.WebhookProvider{Webhook: config.Webhook{URL: "/hooks"}}, want: "not an absolute"},
		{name: "ftp url", c: &config.WebhookProvider{Webhook: config.Webhook{URL: "ftp://x.example/"}}, want: "not an absolute"},
		{name: "unknown format", c: &config.WebhookProvider{Webhook: config.Webhook{URL: "https://x.example/"}, Format: "XML"}, want: `webhook.format "XML"`},
		{name: "missing secret", c: &config.WebhookProvider{Webhook: config.Webhook{URL: "https://x.example/",
			SecretRef: &config.SecretKeyReference{Name: "hooks", Key: "other"}}}, want: `Secret "hooks" has no key "other"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := webhook.New(tc.c, secrets, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
