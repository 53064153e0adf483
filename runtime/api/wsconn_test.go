package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestDeliverBoundsTheQueue: a connection's queue holds at most its count of events
// and wsQueueBytes of them, except one larger event alone.
func TestDeliverBoundsTheQueue(t *testing.T) {
	small, big := make([]byte, 100), make([]byte, wsQueueBytes/2+1)
	tests := []struct {
		name   string
		max    int
		events [][]byte
		want   []bool
	}{
		{"by count", 3, [][]byte{small, small, small, small}, []bool{true, true, true, false}},
		{"by bytes", 100, [][]byte{big, big}, []bool{true, false}},
		{"a large event alone", 100, [][]byte{make([]byte, 2*wsQueueBytes)}, []bool{true}},
		{"nothing after a large event", 100, [][]byte{make([]byte, 2*wsQueueBytes), small}, []bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &wsConn{max: tt.max, writing: true} // no writer takes the queue
			for i, ev := range tt.events {
				if got := w.Deliver(ev); got != tt.want[i] {
					t.Errorf("event %d delivered %v, want %v", i, got, tt.want[i])
				}
			}
		})
	}
}

// TestRepliesToASlowReaderClose: the runtime's own replies to a client that does not
// read (pongs, errors, histories) are bounded like the hub's events: the client is
// disconnected with 4008 rather than the replies silently dropped.
func TestRepliesToASlowReaderClose(t *testing.T) {
	limited := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "limited"}, []string{"what"})
	w, client := connectedWSConn(t, 4, limited)
	var err error
	reply := map[string]string{"type": "error", "message": strings.Repeat("x", 64<<10)}
	for i := 0; !w.isClosed(); i++ {
		if i == 5000 {
			t.Fatal("5000 replies of 64 KiB unread, and the connection is open")
		}
		w.send(reply)
		w.mu.Lock()
		n := len(w.queue)
		w.mu.Unlock()
		if n > 4 {
			t.Fatalf("%d replies queued, past the bound of 4", n)
		}
	}
	_ = client.SetReadDeadline(time.Now().Add(20 * time.Second))
	for err == nil {
		_, _, err = client.ReadMessage()
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != closeTooSlow {
		t.Fatalf("the connection ended with %v, want close code 4008", err)
	}
	if n := testutil.ToFloat64(limited.WithLabelValues(limitedWSSlowReader)); n != 1 {
		t.Errorf("counted %v times, want 1", n)
	}
}

// TestHeldEventsFollowTheFirst: events delivered to a held connection (changes while
// a console's snapshot is read) reach the client after the event sent first.
func TestHeldEventsFollowTheFirst(t *testing.T) {
	limited := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "limited"}, []string{"what"})
	w, client := connectedWSConn(t, 16, limited)
	w.hold()
	w.Deliver([]byte(`{"type":"conversation"}`))
	w.Deliver([]byte(`{"type":"operator"}`))
	w.mu.Lock()
	writing := w.writing
	w.mu.Unlock()
	if writing {
		t.Fatal("a held connection started writing before its first event")
	}
	w.sendFirst(map[string]string{"type": "snapshot"})
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	for _, want := range []string{"snapshot", "conversation", "operator"} {
		var ev struct{ Type string }
		if err := client.ReadJSON(&ev); err != nil || ev.Type != want {
			t.Fatalf("read %q (%v), want %q", ev.Type, err, want)
		}
	}
}

// connectedWSConn is the server side of a WebSocket with at most max events queued,
// and a client connected to it; both close when the test ends.
func connectedWSConn(t *testing.T, max int, limited *prometheus.CounterVec) (*wsConn, *websocket.Conn) {
	t.Helper()
	conns := make(chan *wsConn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		conns <- newWSConn(c, max, limited)
	}))
	t.Cleanup(srv.Close)
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return <-conns, client
}
