package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// behindProxy lets tests name the client's address in X-Forwarded-For.
var behindProxy = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

const (
	visitorA, visitorB = "203.0.113.5", "198.51.100.7"
	widgetOrigin       = "http://localhost:8080"
)

// wantTooMany checks a 429 with a Retry-After of whole seconds and the API's error shape.
func wantTooMany(t *testing.T, what string, res *http.Response, body string) {
	t.Helper()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("%s: %d %s, want 429", what, res.StatusCode, body)
	}
	if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("%s: Retry-After %q, want whole seconds", what, res.Header.Get("Retry-After"))
	}
	if body != "" && !strings.Contains(body, `"rate_limited"`) {
		t.Errorf("%s: body %s, want the code rate_limited", what, body)
	}
}

// TestNewConversationsAreLimitedPerAddress: new visitors from one address start
// conversations up to the burst, then get 429 with Retry-After; another address, and a
// returning visitor resuming with their token, are unaffected.
func TestNewConversationsAreLimitedPerAddress(t *testing.T) {
	rg := startRig(t, api.Options{Limits: api.Limits{TrustedProxies: behindProxy, ConversationsPerSecond: 0.001, ConversationBurst: 3}})
	open := rg.srv.URL + "/api/v1/channels/website/conversations"
	var first struct{ Token string }
	for i := range 3 {
		res, body := do(t, "POST", open, "", `{"name":"Vera","email":"vera@example.com"}`, "Origin", widgetOrigin, "X-Forwarded-For", visitorA)
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("conversation %d within the burst: %d %s", i+1, res.StatusCode, body)
		}
		if i == 0 {
			_ = json.Unmarshal([]byte(body), &first)
		}
	}
	res, body := do(t, "POST", open, "", `{"name":"Vera","email":"vera@example.com"}`, "Origin", widgetOrigin, "X-Forwarded-For", visitorA)
	wantTooMany(t, "a fourth new visitor from the address", res, body)
	if !strings.Contains(body, "new conversations from your address") {
		t.Errorf("the refusal does not say why: %s", body)
	}
	steps := []struct {
		name, token, from string
	}{
		{"a new visitor from another address", "", visitorB},
		{"a returning visitor from the limited address", first.Token, visitorA},
	}
	for _, st := range steps {
		if res, body := do(t, "POST", open, st.token, `{"email":"vera@example.com"}`, "Origin", widgetOrigin, "X-Forwarded-For", st.from); res.StatusCode != http.StatusCreated {
			t.Errorf("%s: %d %s, want 201", st.name, res.StatusCode, body)
		}
	}
	if n := rg.counter(t, "switchboard_runtime_rate_limited_total", "what", "conversation"); n != 1 {
		t.Errorf("refusals counted %v times, want 1", n)
	}
}

// TestOneOpenConversationPerToken: a visitor token holds at most one open conversation
// on its channel: opening again, however often and at once, resumes it.
func TestOneOpenConversationPerToken(t *testing.T) {
	rg := startRig(t, api.Options{})
	v := openVisitor(t, rg)
	open := rg.srv.URL + "/api/v1/channels/website/conversations"
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			res, body := do(t, "POST", open, v.Token, `{}`, "Origin", widgetOrigin)
			var out struct{ Conversation struct{ ID string } }
			_ = json.Unmarshal([]byte(body), &out)
			if res.StatusCode != http.StatusCreated {
				t.Errorf("opening again: %d %s", res.StatusCode, body)
			}
			ids[i] = out.Conversation.ID
		})
	}
	wg.Wait()
	for i, id := range ids {
		if id != v.Conversation.ID {
			t.Errorf("open %d gave conversation %q, want the open one, %s", i, id, v.Conversation.ID)
		}
	}
	open2, err := rg.engine.Store().Conversations(context.Background(), store.ConversationFilter{ContactID: v.Contact.ID, States: chat.OpenStates})
	if err != nil {
		t.Fatal(err)
	}
	if len(open2) != 1 {
		t.Errorf("the visitor holds %d open conversations, want 1", len(open2))
	}
}

// wsURL is a visitor's WebSocket.
func wsURL(rg *rig, v chat.Opened) string {
	return "ws" + strings.TrimPrefix(rg.srv.URL, "http") + "/api/v1/channels/website/ws?conversation=" + v.Conversation.ID + "&access_token=" + v.Token
}

// dialFrom opens a WebSocket as seen from an address; res is the refusal, if any.
func dialFrom(t *testing.T, url, from string) (*websocket.Conn, *http.Response) {
	t.Helper()
	c, res, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {widgetOrigin}, "X-Forwarded-For": {from}})
	if err != nil {
		if res == nil {
			t.Fatal(err)
		}
		return nil, res
	}
	t.Cleanup(func() { c.Close() })
	return c, nil
}

// TestWebSocketsAreCappedPerAddressAndToken: a visitor's token holds at most
// WebSocketsPerToken connections and an address WebSocketsPerAddress; beyond, the
// upgrade gets 429. Closing one makes room. Operators count by token, not address.
func TestWebSocketsAreCappedPerAddressAndToken(t *testing.T) {
	rg := startRig(t, api.Options{Limits: api.Limits{TrustedProxies: behindProxy, WebSocketsPerAddress: 3, WebSocketsPerToken: 2}})
	v1, v2, v3 := openVisitor(t, rg), openVisitor(t, rg), openVisitor(t, rg)
	operatorURL := "ws" + strings.TrimPrefix(rg.srv.URL, "http") + "/api/v1/operator/ws?access_token=" + aliceToken
	var held []*websocket.Conn
	steps := []struct {
		name, url, from string
		want            string // "" for open, else what the refusal counts
	}{
		{"the visitor's first tab", wsURL(rg, v1), visitorA, ""},
		{"the visitor's second tab", wsURL(rg, v1), visitorA, ""},
		{"the visitor's third tab", wsURL(rg, v1), visitorA, "websocket_token"},
		{"another visitor of the address", wsURL(rg, v2), visitorA, ""},
		{"a fourth connection from the address", wsURL(rg, v2), visitorA, "websocket_address"},
		{"a visitor from another address", wsURL(rg, v3), visitorB, ""},
		{"an operator from the full address", operatorURL, visitorA, ""},
		{"the operator's second console", operatorURL, visitorA, ""},
		{"the operator's third console", operatorURL, visitorA, "websocket_token"},
	}
	for _, st := range steps {
		c, refused := dialFrom(t, st.url, st.from)
		switch {
		case st.want == "" && refused != nil:
			t.Fatalf("%s: refused with %d", st.name, refused.StatusCode)
		case st.want != "" && refused == nil:
			t.Fatalf("%s: opened beyond the cap", st.name)
		case st.want != "":
			wantTooMany(t, st.name, refused, "")
			if n := rg.counter(t, "switchboard_runtime_rate_limited_total", "what", st.want); n < 1 {
				t.Errorf("%s: not counted as %s", st.name, st.want)
			}
		default:
			held = append(held, c)
		}
	}
	// Closing the first tab makes room for the other visitor of that address.
	held[0].Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, refused := dialFrom(t, wsURL(rg, v2), visitorA)
		if refused == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection still counts against its address")
		}
	}
}

// TestWebSocketUpgradesAreLimitedPerAddress: visitors from one address open
// WebSockets up to the burst, then get 429 with Retry-After; another address is
// unaffected.
func TestWebSocketUpgradesAreLimitedPerAddress(t *testing.T) {
	rg := startRig(t, api.Options{Limits: api.Limits{TrustedProxies: behindProxy, WebSocketsPerSecond: 0.001, WebSocketBurst: 2}})
	v := openVisitor(t, rg)
	for i := range 2 {
		c, refused := dialFrom(t, wsURL(rg, v), visitorA)
		if refused != nil {
			t.Fatalf("upgrade %d within the burst: %d", i+1, refused.StatusCode)
		}
		c.Close()
	}
	_, refused := dialFrom(t, wsURL(rg, v), visitorA)
	if refused == nil {
		t.Fatal("a third upgrade from the address opened")
	}
	wantTooMany(t, "a third upgrade", refused, "")
	if _, refused := dialFrom(t, wsURL(rg, v), visitorB); refused != nil {
		t.Fatalf("an upgrade from another address: %d", refused.StatusCode)
	}
	if n := rg.counter(t, "switchboard_runtime_rate_limited_total", "what", "websocket"); n != 1 {
		t.Errorf("refusals counted %v times, want 1", n)
	}
}

// TestWebSocketFloodsAreClosed: a client that sends pings (events or frames) faster
// than allowed is closed with 4029, one that keeps sending what the runtime cannot use
// with 1008; each close says why and is counted.
func TestWebSocketFloodsAreClosed(t *testing.T) {
	tests := []struct {
		name   string
		send   func(*websocket.Conn) error
		code   int
		what   string
		reason string
	}{
		{"ping events", func(c *websocket.Conn) error { return c.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)) },
			4029, "websocket_ping", "too many pings"},
		{"ping frames", func(c *websocket.Conn) error {
			return c.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
		}, 4029, "websocket_ping", "too many pings"},
		{"invalid JSON", func(c *websocket.Conn) error { return c.WriteMessage(websocket.TextMessage, []byte(`{"type":`)) },
			websocket.ClosePolicyViolation, "websocket_invalid", "too many invalid events"},
		{"unknown event types", func(c *websocket.Conn) error {
			return c.WriteMessage(websocket.TextMessage, []byte(`{"type":"dance"}`))
		}, websocket.ClosePolicyViolation, "websocket_invalid", "too many invalid events"},
		{"bytes that are not UTF-8", func(c *websocket.Conn) error { return c.WriteMessage(websocket.TextMessage, []byte("\xff")) },
			websocket.ClosePolicyViolation, "websocket_invalid", "too many invalid events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := startRig(t, api.Options{})
			v := openVisitor(t, rg)
			c, refused := dialFrom(t, wsURL(rg, v), visitorA)
			if refused != nil {
				t.Fatalf("refused: %d", refused.StatusCode)
			}
			closed := make(chan error, 1)
			go func() {
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second)) // against a hang, should the limit be gone
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						closed <- err
						return
					}
				}
			}()
			for range 100 {
				if tt.send(c) != nil {
					break // closed meanwhile
				}
			}
			err := <-closed
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != tt.code || !strings.Contains(ce.Text, tt.reason) {
				t.Fatalf("the connection ended with %v, want close code %d saying %q", err, tt.code, tt.reason)
			}
			if n := rg.counter(t, "switchboard_runtime_rate_limited_total", "what", tt.what); n != 1 {
				t.Errorf("counted %v times as %s, want 1", n, tt.what)
			}
		})
	}
}

// TestSlowReaderIsClosedWith4008: a client that stops reading is dropped once its
// queue is full: the hub forgets it at once, its queue is let go, and when it reads
// again it finds the close code 4008 after what was already on its way.
func TestSlowReaderIsClosedWith4008(t *testing.T) {
	rg := startRig(t, api.Options{Limits: api.Limits{SendQueue: 4}})
	v := openVisitor(t, rg)
	c, refused := dialFrom(t, wsURL(rg, v), visitorA)
	if refused != nil {
		t.Fatalf("refused: %d", refused.StatusCode)
	}
	topic := chat.TopicVisitor(v.Conversation.ID)
	event := []byte(`{"type":"position","position":1,"padding":"` + strings.Repeat("x", 64<<10) + `"}`)
	// The client reads nothing: the sockets' buffers fill, the writer waits, then the
	// queue fills. (Events come a moment apart, so the writer is stuck before the
	// queue is full, as with a client that never reads.)
	for i := 0; rg.counter(t, "switchboard_runtime_rate_limited_total", "what", "websocket_too_slow") == 0; i++ {
		if i == 5000 {
			t.Fatal("5000 events of 64 KiB unread, and the client is still connected")
		}
		rg.engine.Hub().Publish(event, topic)
		time.Sleep(time.Millisecond)
	}
	if n := rg.engine.Hub().Subscribers(topic); n != 0 {
		t.Errorf("the slow client is still subscribed (%d)", n)
	}
	// A client paused for a moment (a busy tab) still learns why when it reads again:
	// the close frame waits for the frame on its way.
	time.Sleep(2 * time.Second)
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	var err error
	for err == nil {
		_, _, err = c.ReadMessage()
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4008 || !strings.Contains(ce.Text, "too slow") {
		t.Fatalf("the connection ended with %v, want close code 4008", err)
	}
	for deadline := time.Now().Add(5 * time.Second); rg.api.ContactOnline(v.Contact.ID); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server still holds the slow client's connection")
		}
	}
}
