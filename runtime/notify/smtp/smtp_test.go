package smtp_test

import (
	"context"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/smtptest"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/notify/smtp"
)

const (
	user     = "mailer@example.com"
	password = "s3cret-Passw0rd!"
)

var (
	userRef = &config.SecretKeyReference{Name: "smtp", Key: "username"}
	passRef = &config.SecretKeyReference{Name: "smtp", Key: "password"}
)

func secrets(ref config.SecretKeyReference) []byte {
	switch ref {
	case *userRef:
		return []byte(user)
	case *passRef:
		return []byte(password + "\n") // Secrets made with echo end in a newline
	}
	return nil
}

// start runs a test SMTP server.
func start(t *testing.T, o smtptest.Options) *smtptest.Server {
	t.Helper()
	srv, err := smtptest.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// mailer makes a mailer for srv that trusts its certificate.
func mailer(t *testing.T, srv *smtptest.Server, mode config.SMTPTLS, auth bool) *smtp.Mailer {
	t.Helper()
	c := &config.SMTPProvider{Host: srv.Host, Port: int32(srv.Port), TLS: mode, From: "support@example.com", FromName: "Example Support"}
	if auth {
		c.UsernameSecretRef, c.PasswordSecretRef = userRef, passRef
	}
	m, err := smtp.New(c, secrets, smtp.Options{TLSConfig: srv.ClientTLS(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func delivery() notify.Delivery {
	return notify.Delivery{
		IdempotencyKey: notify.Key("event-1", "first-message", "alice", "mail"),
		To:             notify.Recipient{Name: "Alice Operator", Email: "alice@example.org"},
		Subject:        "New message from Bob",
		Text:           "Bob wrote: hello",
		Event:          "MessageReceived",
	}
}

func TestTLSModesAndAuth(t *testing.T) {
	for _, tc := range []struct {
		name       string
		server     smtptest.TLSMode
		mechanisms []string
		mode       config.SMTPTLS
		auth       bool
		wantMech   string
	}{
		{name: "none without auth", server: smtptest.None, mode: smtp.TLSNone},
		{name: "none with auth to a loopback relay", server: smtptest.None, mode: smtp.TLSNone, auth: true, wantMech: "PLAIN"},
		{name: "starttls without auth", server: smtptest.StartTLS, mode: smtp.TLSStartTLS},
		{name: "starttls with plain", server: smtptest.StartTLS, mode: smtp.TLSStartTLS, auth: true, mechanisms: []string{"PLAIN"}, wantMech: "PLAIN"},
		{name: "starttls with login", server: smtptest.StartTLS, mode: smtp.TLSStartTLS, auth: true, mechanisms: []string{"LOGIN"}, wantMech: "LOGIN"},
		{name: "starttls prefers plain", server: smtptest.StartTLS, mode: smtp.TLSStartTLS, auth: true, wantMech: "PLAIN"},
		{name: "implicit tls with plain", server: smtptest.Implicit, mode: smtp.TLSImplicit, auth: true, mechanisms: []string{"PLAIN"}, wantMech: "PLAIN"},
		{name: "implicit tls with login", server: smtptest.Implicit, mode: smtp.TLSImplicit, auth: true, mechanisms: []string{"LOGIN"}, wantMech: "LOGIN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := smtptest.Options{TLS: tc.server, Mechanisms: tc.mechanisms}
			if tc.auth {
				o.Users = map[string]string{user: password}
			}
			srv := start(t, o)
			if err := mailer(t, srv, tc.mode, tc.auth).Deliver(context.Background(), delivery()); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("the server got %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.TLS != tc.server {
				t.Errorf("the message came over %s, want %s", m.TLS, tc.server)
			}
			if m.Mechanism != tc.wantMech {
				t.Errorf("authenticated with %q, want %q", m.Mechanism, tc.wantMech)
			}
			if tc.auth && m.User != user {
				t.Errorf("authenticated as %q, want %q", m.User, user)
			}
			if m.From != "support@example.com" || len(m.To) != 1 || m.To[0] != "alice@example.org" {
				t.Errorf("envelope from %q to %q", m.From, m.To)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	srv := start(t, smtptest.Options{TLS: smtptest.StartTLS})
	m := mailer(t, srv, smtp.TLSStartTLS, false)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	c := &config.SMTPProvider{Host: srv.Host, Port: int32(srv.Port), TLS: smtp.TLSStartTLS, From: "support@example.com", FromName: `Support, "Example" Inc.`}
	m, err := smtp.New(c, nil, smtp.Options{TLSConfig: srv.ClientTLS(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		mutate      func(*notify.Delivery)
		wantSubject string
		wantToName  string
		wantUnsub   string
		wantPost    bool
		rawSubject  func(string) bool
	}{
		{name: "ascii", mutate: func(*notify.Delivery) {}, wantSubject: "New message from Bob", wantToName: "Alice Operator",
			rawSubject: func(s string) bool { return s == "New message from Bob" }},
		{name: "non-ascii subject and name", mutate: func(d *notify.Delivery) {
			d.Subject, d.To.Name = "Neue Nachricht von Jürgen — 「こんにちは」", "Zoë Müller"
		}, wantSubject: "Neue Nachricht von Jürgen — 「こんにちは」", wantToName: "Zoë Müller",
			rawSubject: func(s string) bool { return strings.Contains(s, "=?UTF-8?") && !strings.Contains(s, "ü") }},
		{name: "line breaks cannot add headers", mutate: func(d *notify.Delivery) {
			d.Subject, d.To.Name = "Hi\r\nBcc: victim@example.net", "Eve\r\nX-Injected: yes"
		}, wantSubject: "Hi Bcc: victim@example.net", wantToName: "Eve X-Injected: yes",
			rawSubject: func(s string) bool { return !strings.Contains(s, "\n") }},
		{name: "quotes and commas in names", mutate: func(d *notify.Delivery) { d.To.Name = `Doe, "Jane"` },
			wantSubject: "New message from Bob", wantToName: `Doe, "Jane"`, rawSubject: func(string) bool { return true }},
		{name: "visitor mail with one-click unsubscribe", mutate: func(d *notify.Delivery) {
			d.To.Visitor, d.Unsubscribe = true, "https://chat.example.com/unsubscribe?t=abc"
		}, wantSubject: "New message from Bob", wantToName: "Alice Operator", wantUnsub: "<https://chat.example.com/unsubscribe?t=abc>", wantPost: true,
			rawSubject: func(string) bool { return true }},
		{name: "mailto unsubscribe is not one-click", mutate: func(d *notify.Delivery) {
			d.To.Visitor, d.Unsubscribe = true, "mailto:unsubscribe@example.com"
		}, wantSubject: "New message from Bob", wantToName: "Alice Operator", wantUnsub: "<mailto:unsubscribe@example.com>",
			rawSubject: func(string) bool { return true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := delivery()
			d.IdempotencyKey = "key-" + tc.name
			tc.mutate(&d)
			before := len(srv.Messages())
			if err := m.Deliver(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			msgs := srv.Messages()
			if len(msgs) != before+1 {
				t.Fatalf("%d messages, want %d", len(msgs), before+1)
			}
			p, err := msgs[len(msgs)-1].Parse()
			if err != nil {
				t.Fatal(err)
			}
			h := p.Header
			if p.Subject != tc.wantSubject {
				t.Errorf("Subject %q, want %q", p.Subject, tc.wantSubject)
			}
			if raw := h.Get("Subject"); !tc.rawSubject(raw) {
				t.Errorf("raw Subject %q is not encoded as it should be", raw)
			}
			for _, injected := range []string{"Bcc", "X-Injected"} {
				if v := h.Get(injected); v != "" {
					t.Errorf("header %s: %q was injected", injected, v)
				}
			}
			to, err := h.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Name != tc.wantToName || to[0].Address != d.To.Email {
				t.Errorf("To %q (%v), want %q <%s>", h.Get("To"), err, tc.wantToName, d.To.Email)
			}
			from, err := h.AddressList("From")
			if err != nil || len(from) != 1 || from[0].Name != `Support, "Example" Inc.` || from[0].Address != "support@example.com" {
				t.Errorf("From %q (%v)", h.Get("From"), err)
			}
			if date, err := h.Date(); err != nil || !date.Equal(now) {
				t.Errorf("Date %q (%v), want %v", h.Get("Date"), err, now)
			}
			if id := h.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") {
				t.Errorf("Message-ID %q is not <…@example.com>", id)
			}
			if got := h.Get("Auto-Submitted"); got != "auto-generated" {
				t.Errorf("Auto-Submitted %q", got)
			}
			if got := h.Get("List-Unsubscribe"); got != tc.wantUnsub {
				t.Errorf("List-Unsubscribe %q, want %q", got, tc.wantUnsub)
			}
			wantPost := ""
			if tc.wantPost {
				wantPost = "List-Unsubscribe=One-Click"
			}
			if got := h.Get("List-Unsubscribe-Post"); got != wantPost {
				t.Errorf("List-Unsubscribe-Post %q, want %q", got, wantPost)
			}
		})
	}
}

func TestMessageIDFollowsIdempotencyKey(t *testing.T) {
	srv := start(t, smtptest.Options{})
	m := mailer(t, srv, smtp.TLSNone, false)
	first, retry, other := delivery(), delivery(), delivery()
	other.IdempotencyKey = notify.Key("event-2", "first-message", "alice", "mail")
	for _, d := range []notify.Delivery{first, retry, other} {
		if err := m.Deliver(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for _, msg := range srv.Messages() {
		parsed, err := mail.ReadMessage(strings.NewReader(string(msg.Data)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, parsed.Header.Get("Message-Id"))
	}
	if ids[0] != ids[1] {
		t.Errorf("a retried delivery has Message-ID %s, the first attempt %s", ids[1], ids[0])
	}
	if ids[0] == ids[2] {
		t.Errorf("two deliveries share the Message-ID %s", ids[0])
	}
}

func TestBodies(t *testing.T) {
	srv := start(t, smtptest.Options{})
	m := mailer(t, srv, smtp.TLSNone, false)
	for _, tc := range []struct {
		name      string
		text      string
		html      string
		wantType  string
		wantParts []string
	}{
		{name: "text only", text: "Bob wrote:\nhello — ünïcode", wantType: "text/plain", wantParts: []string{"text/plain"}},
		{name: "text and html", text: "Bob wrote: hello", html: "<p>Bob wrote: <b>hello</b> &amp; ünïcode</p>",
			wantType: "multipart/alternative", wantParts: []string{"text/plain", "text/html"}},
		{name: "html only", html: "<p>hello</p>", wantType: "text/html", wantParts: []string{"text/html"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := delivery()
			d.Text, d.HTML = tc.text, tc.html
			if err := m.Deliver(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			msgs := srv.Messages()
			p, err := msgs[len(msgs)-1].Parse()
			if err != nil {
				t.Fatal(err)
			}
			if p.MediaType != tc.wantType {
				t.Errorf("Content-Type %s, want %s", p.MediaType, tc.wantType)
			}
			if strings.Join(p.Parts, ",") != strings.Join(tc.wantParts, ",") {
				t.Errorf("parts %v, want %v", p.Parts, tc.wantParts)
			}
			if normalize(p.Text) != tc.text || normalize(p.HTML) != tc.html {
				t.Errorf("bodies text %q html %q, want %q and %q", p.Text, p.HTML, tc.text, tc.html)
			}
		})
	}
}

// normalize undoes the CRLF line ends of mail, and the line end a single-part body
// gets.
func normalize(s string) string { return strings.TrimSuffix(strings.ReplaceAll(s, "\r\n", "\n"), "\n") }
