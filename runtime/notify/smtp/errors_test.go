package smtp_test

import (
	"context"
	"net"
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
			if outbox.IsAuth(err) != tc.wantAuth {
				t.Errorf("IsAuth = %v, want %v: %v", outbox.IsAuth(err), tc.wantAuth, err)
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
