// Package smtp sends notifications as email through an SMTP server, with
// github.com/wneessen/go-mail: one connection per delivery, secured as configured
// (STARTTLS, required when configured; implicit TLS; or none), authenticated with
// PLAIN or LOGIN when credentials are set. A retried delivery carries the same
// Message-ID, so mail clients and archives can tell the copies apart.
package smtp

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// TLS modes of config.SMTPProvider.TLS.
const (
	TLSStartTLS config.SMTPTLS = "StartTLS"
	TLSImplicit config.SMTPTLS = "TLS"
	TLSNone     config.SMTPTLS = "None"
)

// DefaultTimeout bounds connecting and each SMTP command.
const DefaultTimeout = 30 * time.Second

// Options are the settings the compiled configuration does not carry.
type Options struct {
	// TLSConfig verifies the server's certificate; the system's roots and the
	// configured host when nil. Tests and private CAs set RootCAs here.
	TLSConfig *tls.Config
	// Timeout bounds connecting and each command; DefaultTimeout when zero.
	Timeout time.Duration
	// Now is the clock of the Date header; time.Now when nil.
	Now func() time.Time
}

// Mailer sends deliveries through one SMTP server.
type Mailer struct {
	host     string
	port     int
	mode     config.SMTPTLS
	from     mail.Address
	domain   string // of the sender, for Message-IDs
	user     string
	password string // never logged, never in an error
	tls      *tls.Config
	timeout  time.Duration
	now      func() time.Time
}

var _ notify.Provider = (*Mailer)(nil)

// New makes the mailer of an smtp provider block. Its error says what to fix in the
// configuration or its Secrets.
func New(c *config.SMTPProvider, secret notify.SecretFunc, o Options) (*Mailer, error) {
	if c == nil {
		return nil, errors.New("the provider has no smtp settings")
	}
	if c.Host == "" {
		return nil, errors.New("smtp.host is empty: set the SMTP server's host name")
	}
	if c.Port < 1 || c.Port > 65535 {
		return nil, fmt.Errorf("smtp.port %d is not a port: use 587 for StartTLS or 465 for TLS", c.Port)
	}
	switch c.TLS {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, fmt.Errorf("smtp.tls %q is not one of StartTLS, TLS or None", c.TLS)
	}
	from, err := mail.ParseAddress(c.From)
	if err != nil || from.Name != "" {
		return nil, fmt.Errorf("smtp.from %q is not an email address such as support@example.com", c.From)
	}
	m := &Mailer{host: c.Host, port: int(c.Port), mode: c.TLS, from: mail.Address{Name: oneLine(c.FromName), Address: from.Address},
		domain: from.Address[strings.LastIndexByte(from.Address, '@')+1:], timeout: o.Timeout, now: o.Now}
	if (c.UsernameSecretRef == nil) != (c.PasswordSecretRef == nil) {
		return nil, errors.New("set both smtp.usernameSecretRef and smtp.passwordSecretRef, or neither")
	}
	if c.UsernameSecretRef != nil {
		if m.user, err = secretValue(secret, *c.UsernameSecretRef, "the SMTP user name"); err != nil {
			return nil, err
		}
		if m.password, err = secretValue(secret, *c.PasswordSecretRef, "the SMTP password"); err != nil {
			return nil, err
		}
		if c.TLS == TLSNone && !loopback(c.Host) {
			return nil, fmt.Errorf("smtp.tls is None, so the password would cross the network to %s unencrypted: set tls to StartTLS (port 587) or TLS (port 465)", c.Host)
		}
	}
	m.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	if o.TLSConfig != nil {
		m.tls = o.TLSConfig.Clone()
	}
	if m.tls.ServerName == "" {
		m.tls.ServerName = c.Host
	}
	if m.timeout <= 0 {
		m.timeout = DefaultTimeout
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m, nil
}

func secretValue(secret notify.SecretFunc, ref config.SecretKeyReference, what string) (string, error) {
	var v []byte
	if secret != nil {
		v = secret(ref)
	}
	if s := strings.TrimSpace(string(v)); s != "" {
		return s, nil
	}
	return "", fmt.Errorf("Secret %q has no key %q: add %s", ref.Name, ref.Key, what)
}

// loopback reports whether host is this machine: a relay beside the runtime, where
// credentials never cross a network.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Deliver sends d as one email to d.To.Email.
func (m *Mailer) Deliver(ctx context.Context, d notify.Delivery) error {
	msg, err := m.message(d)
	if err != nil {
		return outbox.Permanent(fmt.Errorf("smtp: %w", err))
	}
	client, err := gomail.NewClient(m.host, m.clientOptions(ctx)...)
	if err != nil {
		return outbox.Permanent(fmt.Errorf("smtp: %w", err))
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if err != nil && msg.IsDelivered() {
		// The server took the message and only the goodbye failed: sending it
		// again would deliver it twice.
		return nil
	}
	return m.classify(err)
}

// clientOptions configure a client for one delivery.
func (m *Mailer) clientOptions(ctx context.Context) []gomail.Option {
	timeout := m.timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, max(time.Until(dl), time.Millisecond))
	}
	opts := []gomail.Option{gomail.WithPort(m.port), gomail.WithTimeout(timeout), gomail.WithTLSConfig(m.tls)}
	switch m.mode {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if m.user != "" {
		plain, login := gomail.SMTPAuthPlain, gomail.SMTPAuthLogin
		if m.mode == TLSNone { // a loopback relay: New refused any other host
			plain, login = gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc
		}
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(plain, login),
			gomail.WithUsername(m.user), gomail.WithPassword(m.password))
	}
	return opts
}

// message builds the email of d.
func (m *Mailer) message(d notify.Delivery) (*gomail.Msg, error) {
	if d.IdempotencyKey == "" {
		return nil, errors.New("the delivery has no idempotency key")
	}
	if d.To.Email == "" {
		return nil, errors.New("the recipient has no email address")
	}
	to, err := mail.ParseAddress(d.To.Email)
	if err != nil || to.Name != "" {
		return nil, fmt.Errorf("the recipient's email address %q is not valid", d.To.Email)
	}
	if d.Text == "" && d.HTML == "" {
		return nil, errors.New("the notification has neither a text nor an HTML body")
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(&m.from)
	msg.ToMailAddress(&mail.Address{Name: oneLine(d.To.Name), Address: to.Address})
	msg.Subject(oneLine(d.Subject))
	msg.SetMessageIDWithValue(messageID(d.IdempotencyKey, m.domain))
	msg.SetDateWithValue(m.now())
	// RFC 3834: an automatic message; vacation responders stay quiet.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	if d.Unsubscribe != "" {
		if err := unsubscribe(msg, d.Unsubscribe); err != nil {
			return nil, err
		}
	}
	switch {
	case d.HTML == "":
		msg.SetBodyString(gomail.TypeTextPlain, d.Text)
	case d.Text == "":
		msg.SetBodyString(gomail.TypeTextHTML, d.HTML)
	default:
		msg.SetBodyString(gomail.TypeTextPlain, d.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, d.HTML)
	}
	return msg, nil
}

// unsubscribe sets List-Unsubscribe (RFC 2369), and List-Unsubscribe-Post for
// one-click unsubscribing (RFC 8058), which only an https URL can offer.
func unsubscribe(msg *gomail.Msg, link string) error {
	if strings.ContainsAny(link, "<>, \r\n") {
		return fmt.Errorf("the unsubscribe link %q is not a URL", link)
	}
	switch {
	case strings.HasPrefix(link, "https://"):
		if err := msg.SetListUnsubscribeOneClick(link); err != nil {
			return fmt.Errorf("the unsubscribe link %q is not an https URL", link)
		}
	case strings.HasPrefix(link, "http://"), strings.HasPrefix(link, "mailto:"):
		msg.SetListUnsubscribe(link)
	default:
		return fmt.Errorf("the unsubscribe link %q is neither an http(s) nor a mailto URL", link)
	}
	return nil
}

// messageID derives the Message-ID of a delivery from its idempotency key, so every
// attempt of a delivery sends the same one.
func messageID(key, domain string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16]) + ".notify@" + domain
}

// oneLine keeps a header value on one line: a line break in a subject or a name could
// otherwise start a header of its own.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }), " ")
}

func (m *Mailer) addr() string { return net.JoinHostPort(m.host, strconv.Itoa(m.port)) }
