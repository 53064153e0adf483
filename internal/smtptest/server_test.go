package smtptest_test

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/switchboard-chat/switchboard/internal/smtptest"
)

const body = "From: a@example.com\r\nTo: b@example.com\r\nSubject: =?UTF-8?q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n"

// The server is checked with go-smtp's own client, independently of the provider
// that uses it in its tests.
func TestServer(t *testing.T) {
	users := map[string]string{"u": "p"}
	for _, tc := range []struct {
		name     string
		opts     smtptest.Options
		dial     func(s *smtptest.Server) (*smtp.Client, error)
		starttls bool
		auth     sasl.Client
		fail     []smtptest.Failure
		wantTLS  smtptest.TLSMode
		wantMech string
		wantErr  string
	}{
		{name: "plain", dial: plain, wantTLS: smtptest.None},
		{name: "starttls with plain auth", opts: smtptest.Options{TLS: smtptest.StartTLS, Users: users}, dial: startTLS, starttls: true,
			auth: sasl.NewPlainClient("", "u", "p"), wantTLS: smtptest.StartTLS, wantMech: "PLAIN"},
		{name: "implicit tls with login", opts: smtptest.Options{TLS: smtptest.Implicit, Users: users}, dial: implicit,
			auth: sasl.NewLoginClient("u", "p"), wantTLS: smtptest.Implicit, wantMech: "LOGIN"},
		{name: "wrong password", opts: smtptest.Options{TLS: smtptest.Implicit, Users: users}, dial: implicit,
			auth: sasl.NewPlainClient("", "u", "wrong"), wantErr: "535"},
		{name: "unoffered mechanism", opts: smtptest.Options{TLS: smtptest.Implicit, Users: users, Mechanisms: []string{"LOGIN"}}, dial: implicit,
			auth: sasl.NewPlainClient("", "u", "p"), wantErr: "504"},
		{name: "mail without auth", opts: smtptest.Options{TLS: smtptest.Implicit, Users: users}, dial: implicit, wantErr: "502"},
		{name: "programmed refusal", dial: plain, fail: []smtptest.Failure{{Stage: "RCPT", Code: 451, EnhancedCode: [3]int{4, 3, 0}, Message: "later"}},
			wantErr: "451"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := smtptest.New(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			srv.FailNext(tc.fail...)
			if tc.starttls {
				c, err := plain(srv)
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Hello("test"); err != nil {
					t.Fatal(err)
				}
				if ok, _ := c.Extension("STARTTLS"); !ok {
					t.Error("STARTTLS is not offered")
				}
				if ok, _ := c.Extension("AUTH"); ok {
					t.Error("AUTH is offered before STARTTLS")
				}
				c.Close()
			}
			c, err := tc.dial(srv)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = func() error {
				if tc.auth != nil {
					if err := c.Auth(tc.auth); err != nil {
						return err
					}
				}
				return c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(body))
			}()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one with %s", err, tc.wantErr)
				}
				if n := len(srv.Messages()); n != 0 {
					t.Errorf("%d messages accepted", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("%d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.TLS != tc.wantTLS || m.Mechanism != tc.wantMech {
				t.Errorf("TLS %s, mechanism %q; want %s, %q", m.TLS, m.Mechanism, tc.wantTLS, tc.wantMech)
			}
			p, err := m.Parse()
			if err != nil {
				t.Fatal(err)
			}
			if p.Subject != "Grüße" || p.Text != "Grüße\r\n" || p.MediaType != "text/plain" {
				t.Errorf("parsed subject %q text %q type %s", p.Subject, p.Text, p.MediaType)
			}
		})
	}
}

func plain(s *smtptest.Server) (*smtp.Client, error) { return smtp.Dial(s.Addr) }

func startTLS(s *smtptest.Server) (*smtp.Client, error) {
	return smtp.DialStartTLS(s.Addr, s.ClientTLS())
}

func implicit(s *smtptest.Server) (*smtp.Client, error) {
	return smtp.DialTLS(s.Addr, &tls.Config{RootCAs: s.RootCAs, ServerName: s.Host})
}
