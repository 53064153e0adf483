package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// classify turns a send's error into one the outbox acts on, in plain words and
// without the password: SMTP's 4xx replies are temporary and its 5xx permanent, a
// refused login is permanent and says so, a connection that fails is temporary, and
// TLS that cannot work as configured is permanent.
func (m *Mailer) classify(err error) error {
	if err == nil {
		return nil
	}
	where := "smtp " + m.addr()
	wrap := func(format string, args ...any) error {
		return errors.New(m.scrub(where + ": " + fmt.Sprintf(format, args...)))
	}
	var (
		sendErr  *gomail.SendError
		reply    *textproto.Error
		record   tls.RecordHeaderError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		netErr   net.Error
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return wrap("gave up waiting for the server: %v", cause(err))
	case errors.As(err, &sendErr):
		// Refused in the mail transaction (MAIL, RCPT, DATA): the reply's code decides;
		// a transaction broken off without a reply is tried again.
		text := wrap("the server did not take the message: %v", sendErr)
		if code := sendErr.ErrorCode(); code >= 500 && !sendErr.IsTemp() {
			return outbox.Permanent(text)
		}
		return text
	case errors.As(err, &reply) && reply.Code >= 500 && isAuthFailure(err, reply.Code):
		return outbox.Permanent(outbox.Auth(wrap("the server refused the user name or password (%d %s): check the Secret's values",
			reply.Code, reply.Msg)))
	case errors.As(err, &reply) && reply.Code >= 500:
		return outbox.Permanent(wrap("%d %s", reply.Code, reply.Msg))
	case errors.As(err, &reply):
		return wrap("%d %s", reply.Code, reply.Msg)
	case strings.Contains(err.Error(), "does not support STARTTLS"):
		return outbox.Permanent(wrap("the server does not offer STARTTLS, which tls: StartTLS requires: use tls: TLS if the port expects TLS at once (465), or a server that offers STARTTLS"))
	case errors.As(err, &record):
		return outbox.Permanent(wrap("the server does not speak TLS on this port, which tls: TLS requires: use tls: StartTLS for port 587"))
	case errors.As(err, &unknown), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verify):
		return outbox.Permanent(wrap("the server's TLS certificate does not verify: %v", cause(err)))
	case errors.Is(err, gosmtp.ErrUnencrypted):
		return outbox.Permanent(wrap("the connection is not encrypted, so the password is not sent: set tls to StartTLS or TLS"))
	case strings.Contains(err.Error(), "does not support SMTP AUTH"), errors.Is(err, gomail.ErrNoSupportedAuthDiscovered):
		return outbox.Permanent(wrap("the server offers no login this runtime can use (PLAIN or LOGIN): remove the credentials if it needs none"))
	case errors.As(err, &netErr):
		return wrap("connecting: %v", cause(err))
	}
	return wrap("%v", cause(err))
}

// isAuthFailure reports whether a 5xx reply came from the login: 535 (credentials
// invalid) and 534 (mechanism too weak) only come from AUTH; go-mail marks the rest.
func isAuthFailure(err error, code int) bool {
	return code == 535 || code == 534 || strings.Contains(err.Error(), "SMTP AUTH failed")
}

// cause drops go-mail's "dial failed:" and "send failed:" prefixes: the innermost
// useful error.
func cause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		var ne net.Error
		if errors.As(err, &ne) && !errors.As(next, &ne) {
			return err
		}
		err = next
	}
}

// scrub keeps the password, and the AUTH PLAIN answer that carries it, out of text.
func (m *Mailer) scrub(text string) string {
	if m.password == "" {
		return text
	}
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + m.user + "\x00" + m.password))
	return strings.ReplaceAll(notify.Scrub(text, m.password), plain, "[redacted]")
}
