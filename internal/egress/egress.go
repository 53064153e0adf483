// Package egress is the HTTP client the runtime calls providers with (messenger APIs,
// notification providers, chat-action webhooks). Go's default transport keeps two idle
// connections per host; the outbox sends to one provider from up to 64 workers at
// once, so with the default nearly every call dialled (and, against a real provider,
// shook hands over TLS) afresh. One shared transport keeps enough connections warm
// for every worker.
package egress

import (
	"net/http"
	"time"
)

// IdleConnsPerHost is how many connections to one provider stay open between calls:
// the outbox's default number of workers.
const IdleConnsPerHost = 64

// Transport is shared by every provider client, so connections to one host are reused
// across channels and policies.
var Transport http.RoundTripper = newTransport()

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 4 * IdleConnsPerHost
	t.MaxIdleConnsPerHost = IdleConnsPerHost
	return t
}

// Client returns a client on the shared transport that gives up on a call after
// timeout (no limit when timeout is 0).
func Client(timeout time.Duration) *http.Client {
	return &http.Client{Transport: Transport, Timeout: timeout}
}
