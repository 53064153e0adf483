package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/source"
)

// runSamples runs the sample platform (no messenger connects anywhere) with short
// timeouts, and returns its HTTP and metrics addresses.
func runSamples(t *testing.T, limits api.Limits) (httpAddr, metricsAddr string) {
	t.Helper()
	saved := httpTimeouts
	httpTimeouts.header, httpTimeouts.idle = 300*time.Millisecond, 600*time.Millisecond
	t.Cleanup(func() { httpTimeouts = saved })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan [2]string, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() {
		done <- Run(ctx, Options{HTTPAddress: "127.0.0.1:0", MetricsAddress: "127.0.0.1:0", DataDir: t.TempDir(),
			Source: &source.Files{Dir: samples.Dir(), Log: log}, Log: log, Limits: limits,
			Providers: map[config.ChannelType]channels.Provider{}, Ready: func(h, m string) { ready <- [2]string{h, m} }})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case a := <-ready:
		return a[0], a[1]
	case err := <-done:
		t.Fatalf("the runtime stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the runtime did not start")
	}
	return "", ""
}

// exchange writes a request in parts, a pause before each, and reads until the
// server answers or closes. It returns the status line ("" if none) and how long the
// connection lasted.
func exchange(t *testing.T, addr string, pause time.Duration, parts ...string) (status string, lasted time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	read := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(c).ReadString('\n')
		read <- strings.TrimSpace(line)
	}()
	for i, p := range parts {
		if i > 0 {
			select {
			case status = <-read:
				return status, time.Since(start)
			case <-time.After(pause):
			}
		}
		if _, err := io.WriteString(c, p); err != nil {
			var ne net.Error
			if errors.As(err, &ne) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "broken pipe") {
				break // the server hung up: what it said, if anything, is in read
			}
			t.Fatal(err)
		}
	}
	select {
	case status = <-read:
	case <-time.After(10 * time.Second):
		t.Fatal("the server neither answered nor hung up within 10 s")
	}
	return status, time.Since(start)
}

// TestSlowAndOversizedRequestsAreCutOff: clients that hold connections with slow
// headers, slow bodies or idleness are cut off on both ports, and a body declared
// larger than allowed is refused before a byte of it is read.
func TestSlowAndOversizedRequestsAreCutOff(t *testing.T) {
	httpAddr, metricsAddr := runSamples(t, api.Limits{BodyTimeout: 300 * time.Millisecond})
	open := "POST /api/v1/channels/website/conversations HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:8080\r\nContent-Type: application/json\r\n"
	trickle := make([]string, 30) // a byte every 200 ms would take 6 s
	for i := range trickle {
		trickle[i] = " "
	}
	tests := []struct {
		name       string
		addr       string
		pause      time.Duration
		parts      []string
		wantStatus string // "" when the server hangs up without a word
		within     time.Duration
	}{
		{"API: a body sent a byte at a time", httpAddr, 200 * time.Millisecond,
			append([]string{open + "Content-Length: 40\r\n\r\n{"}, trickle...), "HTTP/1.1 408 Request Timeout", 3 * time.Second},
		{"API: a chunked body sent a byte at a time", httpAddr, 200 * time.Millisecond,
			append([]string{open + "Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n"}, trickle...), "HTTP/1.1 408 Request Timeout", 5 * time.Second},
		{"API: an oversized body announced with Expect: 100-continue", httpAddr, 0,
			[]string{open + "Content-Length: 1048576\r\nExpect: 100-continue\r\n\r\n"}, "HTTP/1.1 413 Request Entity Too Large", time.Second},
		{"API: an oversized body, sent", httpAddr, 0,
			[]string{open + "Content-Length: 1048576\r\n\r\n" + strings.Repeat("x", 4096)}, "HTTP/1.1 413 Request Entity Too Large", time.Second},
		{"API: headers over 64 KiB", httpAddr, 0,
			[]string{"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + strings.Repeat("p", 80<<10) + "\r\n\r\n"}, "HTTP/1.1 431 Request Header Fields Too Large", time.Second},
		{"API: headers a line at a time", httpAddr, 200 * time.Millisecond,
			[]string{"GET /healthz HTTP/1.1\r\n", "Host: x\r\n", "A: 1\r\n", "B: 1\r\n", "C: 1\r\n", "D: 1\r\n", "E: 1\r\n", "\r\n"}, "", 2 * time.Second},
		{"metrics: headers a line at a time", metricsAddr, 200 * time.Millisecond,
			[]string{"GET /metrics HTTP/1.1\r\n", "Host: x\r\n", "A: 1\r\n", "B: 1\r\n", "C: 1\r\n", "D: 1\r\n", "E: 1\r\n", "\r\n"}, "", 2 * time.Second},
		{"metrics: headers over 64 KiB", metricsAddr, 0,
			[]string{"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Padding: " + strings.Repeat("p", 80<<10) + "\r\n\r\n"}, "HTTP/1.1 431 Request Header Fields Too Large", time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, lasted := exchange(t, tt.addr, tt.pause, tt.parts...)
			if status != tt.wantStatus {
				t.Errorf("answered %q, want %q", status, tt.wantStatus)
			}
			if lasted > tt.within {
				t.Errorf("the connection lasted %v, want at most %v", lasted.Round(time.Millisecond), tt.within)
			}
		})
	}
}

// TestIdleConnectionsAreClosed: a keep-alive connection left idle after its request
// is closed by both servers.
func TestIdleConnectionsAreClosed(t *testing.T) {
	httpAddr, metricsAddr := runSamples(t, api.Limits{})
	for _, addr := range []string{httpAddr, metricsAddr} {
		t.Run(addr, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprint(c, "GET /status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sample-token-alice\r\n\r\n")
			br := bufio.NewReader(c)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			start := time.Now()
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err = br.ReadByte()
			switch {
			case err == nil:
				t.Fatal("the server sent more than its answer")
			case errors.Is(err, os.ErrDeadlineExceeded):
				t.Fatal("an idle connection was kept open for 10 s")
			case time.Since(start) > 3*time.Second:
				t.Errorf("an idle connection was closed after %v, want about 0.6 s", time.Since(start).Round(time.Millisecond))
			}
		})
	}
}
