package e2e

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-chat/switchboard/runtime/api"
)

func TestBadInputGetsAClearAnswer(t *testing.T) {
	rt := standalone(t, manifestsDir(t), t.TempDir())
	v := newVisitor(t, rt, "first")
	msgs := rt.base + "/api/v1/channels/website/conversations/" + v.conversation + "/messages"
	opMsgs := rt.base + "/api/v1/conversations/" + v.conversation + "/messages"
	tests := []struct {
		name     string
		method   string
		url      string
		token    string
		body     any
		headers  []string
		wantCode int
		wantMsg  string
	}{
		{"invalid JSON", "POST", msgs, v.token, `{"text": "unterminated`, nil, 400, "invalid JSON"},
		{"unknown field", "POST", msgs, v.token, `{"txt": "typo"}`, nil, 400, `unknown field "txt"`},
		{"two objects", "POST", msgs, v.token, `{"text": "a"} {"text": "b"}`, nil, 400, "unexpected data after the JSON object"},
		{"empty body", "POST", msgs, v.token, "", nil, 400, "the body is empty"},
		{"empty text", "POST", msgs, v.token, `{"text": "   "}`, nil, 400, "text is empty"},
		{"text over the limit", "POST", msgs, v.token, map[string]string{"text": strings.Repeat("x", 5000)}, nil, 400, "the limit is 4096"},
		{"body over the limit", "POST", msgs, v.token, `{"text": "` + strings.Repeat("x", 70000) + `"}`, nil, 413, "larger than 65536 bytes"},
		{"not JSON", "POST", msgs, v.token, "text=hello", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "application/json"},
		{"bad after", "GET", msgs + "?after=-3", v.token, nil, nil, 400, "after must be a number, 0 or more"},
		{"unknown conversation", "POST", rt.base + "/api/v1/channels/website/conversations/nope/messages", v.token, map[string]string{"text": "x"}, nil, 404, "no such conversation"},
		{"unknown conversation for an operator", "POST", rt.base + "/api/v1/conversations/nope/take", alice, nil, nil, 404, "no such conversation"},
		{"unknown presence", "PUT", rt.base + "/api/v1/me/presence", alice, map[string]string{"presence": "busy"}, nil, 400, `presence "busy": use online, away or offline`},
		{"unknown state filter", "GET", rt.base + "/api/v1/conversations?state=Sleeping", alice, nil, nil, 400, "state Sleeping is unknown"},
		{"operator message without a body", "POST", opMsgs, alice, "", nil, 400, "the body is empty"},
		{"closing a chat twice", "POST", rt.base + "/api/v1/conversations/" + v.conversation + "/close", sam, nil, nil, 200, ""},
		{"closed means closed", "POST", rt.base + "/api/v1/conversations/" + v.conversation + "/close", sam, nil, nil, 409, "already closed"},
		{"operator reply to a closed chat", "POST", opMsgs, sam, map[string]string{"text": "hello?"}, nil, 409, "the chat is closed"},
		{"unknown endpoint", "POST", rt.base + "/api/v1/nothing-here", alice, nil, nil, 404, "no such endpoint"},
		{"wrong method", "DELETE", msgs, v.token, nil, nil, 405, "DELETE is not supported here: use GET or POST"},
		{"widget feed without a conversation", "GET", rt.base + "/api/v1/channels/website/ws?access_token=" + v.token, "", nil, nil, 400,
			"name the conversation to follow: ?conversation=<id>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out struct {
				Error struct{ Code, Message string }
			}
			headers := append([]string{"Origin", origin}, tt.headers...)
			code := call(t, tt.method, tt.url, tt.token, tt.body, &out, headers...)
			if code != tt.wantCode || !strings.Contains(out.Error.Message, tt.wantMsg) {
				t.Errorf("%d %q, want %d containing %q", code, out.Error.Message, tt.wantCode, tt.wantMsg)
			}
		})
	}

	// The store lost nothing and took nothing bad: one message, the first.
	var stored struct{ Messages []struct{ Text string } }
	call(t, "GET", msgs, v.token, nil, &stored, "Origin", origin)
	if len(stored.Messages) != 1 || stored.Messages[0].Text != "first" {
		t.Errorf("stored messages after bad input: %+v", stored.Messages)
	}
	if code := call(t, "GET", rt.base+"/healthz", "", nil, nil); code != 200 {
		t.Errorf("healthz after bad input: %d", code)
	}
}

func TestVisitorRateLimit(t *testing.T) {
	rt := standalone(t, manifestsDir(t), t.TempDir())
	v := newVisitor(t, rt, "hello")
	msgs := rt.base + "/api/v1/channels/website/conversations/" + v.conversation + "/messages"
	limited := 0
	for range 40 {
		if code := call(t, "POST", msgs, v.token, map[string]string{"text": "spam"}, nil, "Origin", origin); code == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("40 messages at once were never rate limited")
	}
	// Over the WebSocket, a flood closes the connection with a code that says why.
	w := v.connect(t, 0)
	for range 60 {
		if err := w.c.WriteJSON(map[string]string{"type": "message", "text": "flood"}); err != nil {
			break
		}
	}
	select {
	case <-w.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("a flooding visitor was not disconnected")
	}
	if w.code != 4029 {
		t.Errorf("close code %d, want 4029 (rate limited)", w.code)
	}
	// Another visitor is unaffected.
	other := newVisitor(t, rt, "I am fine")
	if code := call(t, "POST", rt.base+"/api/v1/channels/website/conversations/"+other.conversation+"/messages", other.token,
		map[string]string{"text": "still fine"}, nil, "Origin", origin); code != 201 {
		t.Errorf("another visitor: %d", code)
	}
}

func TestSlowConsoleIsDisconnected(t *testing.T) {
	rt := standalone(t, manifestsDir(t), t.TempDir(), api.Limits{MessagesPerSecond: 1e6, MessageBurst: 1e6, SendQueue: 16})
	// A console that never reads: its events pile up, then it is dropped.
	c, _, err := websocket.DefaultDialer.Dial(wsURL(rt.base, "/api/v1/operator/ws", url.Values{"access_token": {sam}}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if tc, ok := c.UnderlyingConn().(interface{ SetReadBuffer(int) error }); ok {
		_ = tc.SetReadBuffer(64 << 10)
	}
	big := strings.Repeat("long message ", 310)
	v := newVisitor(t, rt, "hello")
	msgs := rt.base + "/api/v1/conversations/" + v.conversation + "/messages"
	call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/take", alice, nil, nil)
	deadline := time.Now().Add(60 * time.Second)
	var closeCode int
	for closeCode == 0 && time.Now().Before(deadline) {
		for _, tok := range []string{alice, sam} {
			call(t, "POST", msgs, tok, map[string]string{"text": big}, nil)
		}
		if rt.connections(t, "operator") == 0 {
			closeCode = -1
		}
	}
	if closeCode == 0 {
		t.Fatal("a console that reads nothing was never disconnected")
	}
	// Draining what was sent ends in the connection's end: a close frame with code 4008
	// when there was room for it, else the end of the stream (a stalled reader's buffers
	// may be too full for the close frame), never more events.
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) && ce.Code != 4008 && ce.Code != websocket.CloseAbnormalClosure {
			t.Errorf("closed with code %d, want 4008 (too slow) or the stream's end", ce.Code)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("the server never ended the connection: %v", err)
		}
		break
	}
	if code := call(t, "GET", rt.base+"/healthz", "", nil, nil); code != 200 {
		t.Errorf("healthz: %d", code)
	}
}
