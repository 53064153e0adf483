package chat

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

// leaks are what an action's error must never show an operator: the resolver, the
// addresses dialled, the URL's credentials.
var leaks = []string{"10.96.0.10", ":53", "lookup", "192.0.2.7", "127.0.0.1", "s3cret", "dial tcp"}

func noLeaks(t *testing.T, msg string) {
	t.Helper()
	for _, l := range leaks {
		if strings.Contains(msg, l) {
			t.Errorf("%q shows %q", msg, l)
		}
	}
}

// TestActionErrorsSayWhatFailed: the errors http.Client returns, as they come from a
// cluster, become a sentence naming what failed and nothing of the infrastructure.
func TestActionErrorsSayWhatFailed(t *testing.T) {
	dial := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://user:s3cret@crm.example.com/hooks?key=s3cret",
			Err: &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 443}, Err: err}}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unknown host", dial(&net.DNSError{Err: "no such host", Name: "crm.example.com", Server: "10.96.0.10:53", IsNotFound: true}),
			`the action's host "crm.example.com" could not be resolved: no such host`},
		{"resolver down", dial(&net.DNSError{Err: "server misbehaving", Name: "crm.example.com", Server: "10.96.0.10:53", IsTemporary: true}),
			`the action's host "crm.example.com" could not be resolved: name resolution failed`},
		{"refused", dial(os.NewSyscallError("connect", syscall.ECONNREFUSED)), "the action's host refused the connection"},
		{"unreachable", dial(os.NewSyscallError("connect", syscall.EHOSTUNREACH)), "no route to it"},
		{"reset", dial(os.NewSyscallError("read", syscall.ECONNRESET)), "closed the connection before answering"},
		{"timeout", dial(os.ErrDeadlineExceeded), "did not answer in time"},
		{"untrusted certificate", &url.Error{Op: "Post", URL: "https://crm.example.com", Err: x509.UnknownAuthorityError{}},
			"a TLS certificate the runtime does not trust"},
		{"scheme", &url.Error{Op: "Post", URL: "ftp://crm.example.com", Err: errors.New(`unsupported protocol scheme "ftp"`)},
			`could not be called: unsupported protocol scheme "ftp"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := describeCallError(tt.err)
			if !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want it to contain %q", got, tt.want)
			}
			noLeaks(t, got)
		})
	}
}

// TestActionCallErrorsOverTheNetwork: real calls that fail say so without addresses.
func TestActionCallErrorsOverTheNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/hook"
	ln.Close()
	tests := []struct {
		name, url, want string
	}{
		{"refused", closed, "the action's host refused the connection"},
		// .invalid never resolves (RFC 2606); without a resolver the lookup fails anyway.
		{"unresolvable", "http://crm.switchboard.invalid/hook", "could not be resolved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := (&Engine{}).post(context.Background(), config.Webhook{URL: tt.url, Timeout: config.Duration{Duration: 5 * time.Second}}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			noLeaks(t, err.Error())
		})
	}
}
