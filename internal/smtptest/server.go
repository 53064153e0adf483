// Package smtptest is a real SMTP server for tests, in process: it speaks SMTP through
// github.com/emersion/go-smtp, offers no TLS, STARTTLS or implicit TLS with a
// self-signed certificate made at start, checks AUTH PLAIN and LOGIN against its
// users, and records every message with how its connection was secured and who
// authenticated. Programmed refusals test how a client classifies SMTP replies.
package smtptest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strconv"
	"sync"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLSMode is how the server secures connections.
type TLSMode string

// TLS modes, named as the SMTP provider's configuration names them.
const (
	// None: plain SMTP; STARTTLS is not offered.
	None TLSMode = "None"
	// StartTLS: plain SMTP that offers STARTTLS; AUTH is offered only after it.
	StartTLS TLSMode = "StartTLS"
	// Implicit: TLS from the first byte, as on port 465.
	Implicit TLSMode = "TLS"
)

// Options describe the server.
type Options struct {
	// TLS is None when empty.
	TLS TLSMode
	// Users maps user names to passwords. When set, the server offers AUTH and takes
	// mail only from an authenticated client. On a None server AUTH is offered
	// unencrypted; otherwise only once the connection is encrypted.
	Users map[string]string
	// Mechanisms are the AUTH mechanisms offered, "PLAIN" and "LOGIN"; both when empty.
	Mechanisms []string
	// Host is the address to listen on and to make the certificate for; 127.0.0.1
	// when empty.
	Host string
}

// Message is a message the server accepted.
type Message struct {
	From string
	To   []string
	// Data is the message as received, headers and body, with CRLF line ends.
	Data []byte
	// TLS is how the connection that carried it was secured.
	TLS TLSMode
	// Mechanism and User of the authentication; empty without.
	Mechanism, User string
}

// Auth is an authentication attempt.
type Auth struct {
	Mechanism, User string
	OK              bool
	TLS             TLSMode
}

// Failure is a programmed refusal: the next command of Stage is answered with Code,
// EnhancedCode and Message.
type Failure struct {
	// Stage is "MAIL", "RCPT" or "DATA".
	Stage        string
	Code         int
	EnhancedCode [3]int
	Message      string
}

// Server is a running SMTP server.
type Server struct {
	// Host and Port to connect to; Addr is both.
	Host string
	Port int
	Addr string
	// RootCAs trusts the server's certificate.
	RootCAs *x509.CertPool

	opts Options
	srv  *smtp.Server
	l    net.Listener
	done chan struct{}

	mu       sync.Mutex
	messages []Message
	auths    []Auth
	fail     []Failure
}

// New starts a server; Close stops it.
func New(o Options) (*Server, error) {
	if o.TLS == "" {
		o.TLS = None
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if len(o.Mechanisms) == 0 {
		o.Mechanisms = []string{sasl.Plain, sasl.Login}
	}
	cert, pool, err := selfSigned(o.Host)
	if err != nil {
		return nil, fmt.Errorf("smtptest: making a certificate: %w", err)
	}
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	l, err := net.Listen("tcp", net.JoinHostPort(o.Host, "0"))
	if err != nil {
		return nil, fmt.Errorf("smtptest: %w", err)
	}
	s := &Server{Host: o.Host, RootCAs: pool, opts: o, done: make(chan struct{})}
	s.Port = l.Addr().(*net.TCPAddr).Port
	s.Addr = net.JoinHostPort(o.Host, strconv.Itoa(s.Port))

	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "smtptest.invalid"
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.AllowInsecureAuth = o.TLS == None
	switch o.TLS {
	case StartTLS:
		s.srv.TLSConfig = tlsConfig
	case Implicit:
		s.srv.TLSConfig = tlsConfig
		l = tls.NewListener(l, tlsConfig)
	case None:
	default:
		l.Close()
		return nil, fmt.Errorf("smtptest: unknown TLS mode %q", o.TLS)
	}
	s.l = l
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(l)
	}()
	return s, nil
}

// Close stops the server and closes its connections.
func (s *Server) Close() {
	// Closing the listener ends Serve even if it has not registered it yet, which
	// the server's own Close would miss.
	_ = s.l.Close()
	_ = s.srv.Close()
	<-s.done
}

// ClientTLS is a client configuration that trusts the server.
func (s *Server) ClientTLS() *tls.Config {
	return &tls.Config{RootCAs: s.RootCAs, ServerName: s.Host, MinVersion: tls.VersionTLS12}
}

// Messages returns copies of the messages accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		m.To, m.Data = slices.Clone(m.To), slices.Clone(m.Data)
		out[i] = m
	}
	return out
}

// Auths returns the authentication attempts so far, in order.
func (s *Server) Auths() []Auth {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.auths)
}

// FailNext queues refusals; each answers the next command of its stage.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = append(s.fail, f...)
}

// failure takes the queued refusal of stage, if one is next.
func (s *Server) failure(stage string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fail) == 0 || s.fail[0].Stage != stage {
		return nil
	}
	f := s.fail[0]
	s.fail = s.fail[1:]
	return &smtp.SMTPError{Code: f.Code, EnhancedCode: smtp.EnhancedCode(f.EnhancedCode), Message: f.Message}
}

// session is one connection's state; STARTTLS starts a new one.
type session struct {
	s         *Server
	tls       TLSMode
	mechanism string
	user      string
	from      string
	to        []string
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	mode := None
	if _, ok := c.TLSConnectionState(); ok {
		mode = StartTLS
		if s.opts.TLS == Implicit {
			mode = Implicit
		}
	}
	return &session{s: s, tls: mode}, nil
}

func (ss *session) AuthMechanisms() []string {
	if len(ss.s.opts.Users) == 0 {
		return nil
	}
	return ss.s.opts.Mechanisms
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if !slices.Contains(ss.AuthMechanisms(), mech) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	check := func(user, pass string) error {
		want, known := ss.s.opts.Users[user]
		ok := known && pass == want
		ss.s.mu.Lock()
		ss.s.auths = append(ss.s.auths, Auth{Mechanism: mech, User: user, OK: ok, TLS: ss.tls})
		ss.s.mu.Unlock()
		if !ok {
			return smtp.ErrAuthFailed
		}
		ss.mechanism, ss.user = mech, user
		return nil
	}
	if mech == sasl.Login {
		return newLoginServer(check), nil
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if identity != "" && identity != user {
			return smtp.ErrAuthFailed
		}
		return check(user, pass)
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if len(ss.s.opts.Users) > 0 && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	if err := ss.s.failure("MAIL"); err != nil {
		return err
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.s.failure("RCPT"); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := ss.s.failure("DATA"); err != nil {
		return err
	}
	if ss.from == "" || len(ss.to) == 0 {
		return errors.New("smtptest: DATA without MAIL and RCPT")
	}
	ss.s.mu.Lock()
	ss.s.messages = append(ss.s.messages, Message{From: ss.from, To: slices.Clone(ss.to), Data: data,
		TLS: ss.tls, Mechanism: ss.mechanism, User: ss.user})
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }
