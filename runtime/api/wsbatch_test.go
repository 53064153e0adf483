package api

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// countingConn counts the writes that reach the network.
type countingConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestQueuedEventsGoOutInOneWrite: the events queued for a connection when its writer
// comes round reach the network in one write, in order; a lone event in one too.
func TestQueuedEventsGoOutInOneWrite(t *testing.T) {
	for _, tc := range []struct {
		name       string
		events     int
		wantWrites int32
	}{
		{"one event", 1, 1},
		{"five events queued together", 5, 1},
		{"a hundred events queued together", 100, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limited := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "limited"}, []string{"what"})
			type upgraded struct {
				w       *wsConn
				counter *countingConn
			}
			conns := make(chan upgraded, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, gathering, err := upgradeGathering(w, r)
				if err != nil {
					return
				}
				counter := &countingConn{Conn: gathering.Conn}
				gathering.Conn = counter
				conn := newWSConn(c, 1000, limited)
				conn.gathering = gathering
				conns <- upgraded{conn, counter}
			}))
			defer srv.Close()
			client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			u := <-conns
			u.w.mu.Lock()
			u.w.writing = true // the test is the writer
			u.w.mu.Unlock()
			for i := range tc.events {
				u.w.Deliver([]byte(fmt.Sprintf(`{"n":%d}`, i)))
			}
			u.w.flush()
			if got := u.counter.writes.Load(); got != tc.wantWrites {
				t.Errorf("%d events took %d writes, want %d", tc.events, got, tc.wantWrites)
			}
			_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
			for i := range tc.events {
				_, data, err := client.ReadMessage()
				if err != nil {
					t.Fatalf("reading event %d: %v", i, err)
				}
				if want := fmt.Sprintf(`{"n":%d}`, i); string(data) != want {
					t.Fatalf("event %d is %s, want %s", i, data, want)
				}
			}
		})
	}
}

// TestGatheringConnCloseSendsWhatWasGathered: a close frame written while the writer
// gathers still reaches the client.
func TestGatheringConnCloseSendsWhatWasGathered(t *testing.T) {
	server, client := net.Pipe()
	c := &gatheringConn{Conn: server}
	c.gather()
	if _, err := c.Write([]byte("frame")); err != nil {
		t.Fatal(err)
	}
	got := make(chan string)
	go func() {
		buf := make([]byte, 16)
		n, _ := client.Read(buf)
		got <- string(buf[:n])
	}()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "frame" {
		t.Fatalf("the client read %q, want the gathered frame", s)
	}
}
