package smtp_test

import (
	"context"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/smtptest"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/notify/smtp"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
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

func TestErrors(t *testing.T) {
	type want int
	const (
		temporary want = iota
		permanent
	)
	for _, tc := range []struct {
		name     string
		server   smtptest.Options
		mode     config.SMTPTLS
		auth     bool
		trust    bool // trust the server's certificate
		fail     []smtptest.Failure
		deliver  func(*notify.Delivery)
		addr     string // connect here instead of the server
		want     want
		wantAuth bool
		wantText string
	}{
		{name: "wrong password", server: smtptest.Options{TLS: smtptest.StartTLS, Users: map[string]string{user: "another"}},
			mode: smtp.TLSStartTLS, auth: true, trust: true, want: permanent, wantAuth: true, wantText: "refused the user name or password (535"},
		{name: "wrong password over login", server: smtptest.Options{TLS: smtptest.Implicit, Users: map[string]string{user: "another"}, Mechanisms: []string{"LOGIN"}},
			mode: smtp.TLSImplicit, auth: true, trust: true, want: permanent, wantAuth: true, wantText: "refused the user name or password"},
		{name: "starttls required but not offered", server: smtptest.Options{TLS: smtptest.None},
			mode: smtp.TLSStartTLS, trust: true, want: permanent, wantText: "does not offer STARTTLS"},
		{name: "implicit tls against plain smtp", server: smtptest.Options{TLS: smtptest.None},
			mode: smtp.TLSImplicit, trust: true, want: permanent, wantText: "does not speak TLS"},
		{name: "untrusted certificate", server: smtptest.Options{TLS: smtptest.StartTLS},
			mode: smtp.TLSStartTLS, want: permanent, wantText: "certificate does not verify"},
		{name: "credentials but no auth offered", server: smtptest.Options{TLS: smtptest.StartTLS},
			mode: smtp.TLSStartTLS, auth: true, trust: true, want: permanent, wantText: "offers no login"},
		{name: "auth required but not configured", server: smtptest.Options{TLS: smtptest.StartTLS, Users: map[string]string{user: password}},
			mode: smtp.TLSStartTLS, trust: true, want: permanent, wantText: "502"},
		{name: "connection refused", addr: closedPort(t), mode: smtp.TLSNone, want: temporary, wantText: "refused"},
		{name: "mailbox busy", server: smtptest.Options{}, mode: smtp.TLSNone,
			fail: []smtptest.Failure{{Stage: "RCPT", Code: 450, EnhancedCode: [3]int{4, 2, 1}, Message: "Mailbox busy"}}, want: temporary, wantText: "450"},
		{name: "no such user", server: smtptest.Options{}, mode: smtp.TLSNone,
			fail: []smtptest.Failure{{Stage: "RCPT", Code: 550, EnhancedCode: [3]int{5, 1, 1}, Message: "No such user"}}, want: permanent, wantText: "550"},
		{name: "greylisted", server: smtptest.Options{}, mode: smtp.TLSNone,
			fail: []smtptest.Failure{{Stage: "MAIL", Code: 451, EnhancedCode: [3]int{4, 7, 1}, Message: "Greylisted, try again later"}}, want: temporary, wantText: "451"},
		{name: "sender rejected", server: smtptest.Options{}, mode: smtp.TLSNone,
			fail: []smtptest.Failure{{Stage: "MAIL", Code: 553, EnhancedCode: [3]int{5, 7, 1}, Message: "Sender not allowed"}}, want: permanent, wantText: "553"},
		{name: "queue full at data", server: smtptest.Options{}, mode: smtp.TLSNone,
			fail: []smtptest.Failure{{Stage: "DATA", Code: 452, EnhancedCode: [3]int{4, 3, 1}, Message: "Insufficient storage"}}, want: temporary, wantText: "452"},
		{name: "spam at data", server: smtptest.Options{}, mode: smtp.TLSNone,
			fail: []smtptest.Failure{{Stage: "DATA", Code: 554, EnhancedCode: [3]int{5, 7, 1}, Message: "Message rejected as spam"}}, want: permanent, wantText: "554"},
		{name: "no email address", server: smtptest.Options{}, mode: smtp.TLSNone,
			deliver: func(d *notify.Delivery) { d.To.Email = "" }, want: permanent, wantText: "no email address"},
		{name: "invalid email address", server: smtptest.Options{}, mode: smtp.TLSNone,
			deliver: func(d *notify.Delivery) { d.To.Email = "alice at example" }, want: permanent, wantText: "not valid"},
		{name: "no body", server: smtptest.Options{}, mode: smtp.TLSNone,
			deliver: func(d *notify.Delivery) { d.Text = "" }, want: permanent, wantText: "neither a text nor an HTML body"},
		{name: "no idempotency key", server: smtptest.Options{}, mode: smtp.TLSNone,
			deliver: func(d *notify.Delivery) { d.IdempotencyKey = "" }, want: permanent, wantText: "idempotency key"},
		{name: "unsubscribe link that is no URL", server: smtptest.Options{}, mode: smtp.TLSNone,
			deliver: func(d *notify.Delivery) { d.Unsubscribe = "<javascript:alert(1)>" }, want: permanent, wantText: "not a URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, port := "", 0
			var srv *smtptest.Server
			if tc.addr == "" {
				srv = start(t, tc.server)
				srv.FailNext(tc.fail...)
				host, port = srv.Host, srv.Port
			} else {
				h, p, _ := net.SplitHostPort(tc.addr)
				host, port = h, atoi(t, p)
			}
			c := &config.SMTPProvider{Host: host, Port: int32(port), TLS: tc.mode, From: "support@example.com"}
			if tc.auth {
				c.UsernameSecretRef, c.PasswordSecretRef = userRef, passRef
			}
			o := smtp.Options{Timeout: 5 * time.Second}
			if tc.trust {
				o.TLSConfig = srv.ClientTLS()
			}
			m, err := smtp.New(c, secrets, o)
			if err != nil {
				t.Fatal(err)
			}
			d := delivery()
			if tc.deliver != nil {
				tc.deliver(&d)
			}
			err = m.Deliver(context.Background(), d)
			if err == nil {
				t.Fatal("Deliver succeeded")
			}
			t.Log(err)
			if got := outbox.IsPermanent(err); got != (tc.want == permanent) {
				t.Errorf("permanent = %v, want %v: %v", got, tc.want == permanent, err)
			}
			if _, ok := outbox.RetryAfterOf(err); ok {
				t.Errorf("an SMTP error asks to retry after a time: %v", err)
			}
			if notify.IsAuth(err) != tc.wantAuth {
				t.Errorf("IsAuth = %v, want %v: %v", notify.IsAuth(err), tc.wantAuth, err)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not say %q", err, tc.wantText)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("error %q holds the password", err)
			}
			if srv != nil && len(srv.Messages()) != 0 {
				t.Errorf("the server took %d messages", len(srv.Messages()))
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	valid := func() *config.SMTPProvider {
		return &config.SMTPProvider{Host: "smtp.example.com", Port: 587, TLS: smtp.TLSStartTLS, From: "support@example.com",
			UsernameSecretRef: userRef, PasswordSecretRef: passRef}
	}
	for _, tc := range []struct {
		name    string
		mutate  func(*config.SMTPProvider)
		secrets notify.SecretFunc
		want    string
	}{
		{name: "no settings", want: "no smtp settings"},
		{name: "no host", mutate: func(c *config.SMTPProvider) { c.Host = "" }, want: "smtp.host is empty"},
		{name: "no port", mutate: func(c *config.SMTPProvider) { c.Port = 0 }, want: "is not a port"},
		{name: "unknown tls mode", mutate: func(c *config.SMTPProvider) { c.TLS = "SSL" }, want: `smtp.tls "SSL"`},
		{name: "sender with a name", mutate: func(c *config.SMTPProvider) { c.From = "Support <support@example.com>" }, want: "smtp.from"},
		{name: "sender that is no address", mutate: func(c *config.SMTPProvider) { c.From = "support" }, want: "smtp.from"},
		{name: "user name without password", mutate: func(c *config.SMTPProvider) { c.PasswordSecretRef = nil }, want: "set both"},
		{name: "missing password", secrets: func(r config.SecretKeyReference) []byte {
			if r == *userRef {
				return []byte(user)
			}
			return nil
		}, want: `Secret "smtp" has no key "password"`},
		{name: "password in clear over the network", mutate: func(c *config.SMTPProvider) { c.TLS = smtp.TLSNone }, want: "unencrypted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			if tc.mutate != nil {
				tc.mutate(c)
			}
			if tc.name == "no settings" {
				c = nil
			}
			s := tc.secrets
			if s == nil {
				s = secrets
			}
			_, err := smtp.New(c, s, smtp.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("error %q holds the password", err)
			}
		})
	}
}

func TestContextDeadlineBoundsTheSend(t *testing.T) {
	// A server that accepts connections and never greets: the send must end with the
	// context, not after the default timeout.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	host, port, _ := net.SplitHostPort(l.Addr().String())
	m, err := smtp.New(&config.SMTPProvider{Host: host, Port: int32(atoi(t, port)), TLS: smtp.TLSNone, From: "support@example.com"}, nil, smtp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = m.Deliver(ctx, delivery())
	if err == nil || outbox.IsPermanent(err) {
		t.Fatalf("Deliver: %v, want a temporary error", err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Errorf("Deliver waited %v past its context's deadline", waited)
	}
}

// closedPort is an address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
