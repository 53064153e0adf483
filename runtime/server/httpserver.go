package server

import (
	"net/http"
	"time"
)

// httpTimeouts bound how long a client may hold a connection without making
// progress: sending its headers, or idle between requests. Bodies have deadlines of
// their own, by size (api.Limits.BodyTimeout). Tests shorten them.
var httpTimeouts = struct{ header, idle time.Duration }{header: 10 * time.Second, idle: 2 * time.Minute}

// maxHeaderBytes bounds a request's headers: far above what browsers send with a
// bearer token, far below net/http's default of 1 MiB per connection.
const maxHeaderBytes = 64 << 10

// newAPIServer serves the chat API, widget and console. No overall read or write
// timeout: WebSockets and uploads last as long as they make progress.
func newAPIServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: httpTimeouts.header, IdleTimeout: httpTimeouts.idle,
		MaxHeaderBytes: maxHeaderBytes}
}

// newMetricsServer serves /metrics and /status: bodiless requests and answers a
// scraper reads at once, so whole requests and answers get deadlines too.
func newMetricsServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: httpTimeouts.header, ReadTimeout: httpTimeouts.header,
		WriteTimeout: time.Minute, IdleTimeout: httpTimeouts.idle, MaxHeaderBytes: maxHeaderBytes}
}
