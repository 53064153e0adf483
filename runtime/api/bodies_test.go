package api_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// openVisitor starts a widget visitor's conversation.
func openVisitor(t *testing.T, rg *rig) chat.Opened {
	t.Helper()
	opened, err := rg.engine.Open(context.Background(), "website", chat.Identity{Name: "Vera"})
	if err != nil {
		t.Fatal(err)
	}
	return opened
}

func storedTexts(t *testing.T, rg *rig, conversation string) []string {
	t.Helper()
	msgs, err := rg.engine.Messages(context.Background(), conversation, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Text)
	}
	return texts
}

// TestTextMustBeUTF8: bytes that are not UTF-8, or escapes of half a surrogate pair,
// are refused with 400 instead of being stored as U+FFFD; valid text, escaped or
// not, is stored as sent.
func TestTextMustBeUTF8(t *testing.T) {
	rg := startRig(t, api.Options{})
	v := openVisitor(t, rg)
	msgs := rg.srv.URL + "/api/v1/channels/website/conversations/" + v.Conversation.ID + "/messages"
	tests := []struct {
		name, body string
		want       int
	}{
		{"a byte that is no UTF-8", "{\"text\":\"price \xff\"}", 400},
		{"an overlong encoding", "{\"text\":\"\xc0\xae\xc0\xae\"}", 400},
		{"a lone high surrogate", `{"text":"a \ud83d b"}`, 400},
		{"a lone low surrogate", `{"text":"a \ude00 b"}`, 400},
		{"a high surrogate at the end", `{"text":"a \ud83d"}`, 400},
		{"an escaped backslash before u", `{"text":"C:\\ud800"}`, 201},
		{"a surrogate pair", `{"text":"smile \ud83d\ude00"}`, 201},
		{"UTF-8 as is", `{"text":"smile 😀 ✓"}`, 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := do(t, "POST", msgs, v.Token, tt.body, "Origin", "http://localhost:8080")
			if res.StatusCode != tt.want {
				t.Errorf("%d %s, want %d", res.StatusCode, body, tt.want)
			}
			if tt.want == 400 && !strings.Contains(body, "not valid UTF-8") {
				t.Errorf("the refusal does not say why: %s", body)
			}
		})
	}
	for _, text := range storedTexts(t, rg, v.Conversation.ID) {
		if strings.ContainsRune(text, '\uFFFD') {
			t.Errorf("stored %q", text)
		}
	}

	// The same over the widget's WebSocket.
	u := "ws" + strings.TrimPrefix(rg.srv.URL, "http") + "/api/v1/channels/website/ws?conversation=" + v.Conversation.ID + "&access_token=" + v.Token
	c, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {"http://localhost:8080"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WriteMessage(websocket.TextMessage, []byte("{\"type\":\"message\",\"text\":\"over the socket \xff\"}")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var ev map[string]any
		if err := c.ReadJSON(&ev); err != nil {
			t.Fatalf("no error event for invalid UTF-8: %v", err)
		}
		if ev["type"] == "error" && strings.Contains(fmt.Sprint(ev["message"]), "not valid UTF-8") {
			break
		}
	}
	for _, text := range storedTexts(t, rg, v.Conversation.ID) {
		if strings.Contains(text, "over the socket") {
			t.Errorf("stored %q", text)
		}
	}
}

// TestClientGoneIsNoServerError: a client that goes away mid-request is counted as
// client-closed (499) and logged at debug, not as a server error, and a body cut
// short is never taken for a complete one.
func TestClientGoneIsNoServerError(t *testing.T) {
	hookCalled := make(chan struct{}, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // then the server notices the caller hanging up
		hookCalled <- struct{}{}
		<-r.Context().Done() // answers only once the runtime gives up on it
	}))
	defer hook.Close()
	rg := startRig(t, api.Options{}, func(cfg *config.Config) {
		for i := range cfg.Queues {
			for j := range cfg.Queues[i].Actions {
				cfg.Queues[i].Actions[j].Webhook.URL, cfg.Queues[i].Actions[j].Webhook.SecretRef = hook.URL, nil
			}
		}
	})
	v := openVisitor(t, rg)
	addr := strings.TrimPrefix(rg.srv.URL, "http://")
	send := func(request string) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, request); err != nil {
			t.Fatal(err)
		}
		return c
	}
	msgs := "/api/v1/channels/website/conversations/" + v.Conversation.ID + "/messages"
	headers := "Host: x\r\nOrigin: http://localhost:8080\r\nContent-Type: application/json\r\nAuthorization: Bearer " + v.Token + "\r\n"

	// A body that parses as JSON but stops short of its Content-Length.
	complete := `{"text":"looks complete"}`
	c := send(fmt.Sprintf("POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s", msgs, headers, len(complete)+20, complete))
	time.Sleep(100 * time.Millisecond)
	c.Close()
	// A body cut in the middle.
	c = send(fmt.Sprintf("POST %s HTTP/1.1\r\n%sContent-Length: 100\r\n\r\n{\"text\":\"cut", msgs, headers))
	time.Sleep(100 * time.Millisecond)
	c.Close()
	// An operator running an action whose webhook is slow, and leaving.
	ctx := context.Background()
	if _, err := rg.engine.SetPresence(ctx, "alice", store.PresenceOnline, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rg.engine.Inbound(ctx, v.Contact, "please open a case", ""); err != nil {
		t.Fatal(err)
	}
	takeEventually(t, rg, "alice", v.Conversation.ID)
	c = send("POST /api/v1/conversations/" + v.Conversation.ID + "/actions/create-case HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + aliceToken + "\r\nContent-Length: 0\r\n\r\n")
	select {
	case <-hookCalled:
	case <-time.After(5 * time.Second):
		t.Fatal("the action's webhook was never called")
	}
	c.Close()

	routes := []string{"POST /api/v1/channels/{channel}/conversations/{id}/messages", "POST /api/v1/conversations/{id}/actions/{action}"}
	want := []float64{2, 1}
	deadline := time.Now().Add(5 * time.Second)
	for i, route := range routes {
		for rg.counter(t, "switchboard_runtime_http_request_duration_seconds", "route", route, "code", "499") < want[i] && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := rg.counter(t, "switchboard_runtime_http_request_duration_seconds", "route", route, "code", "499"); n != want[i] {
			t.Errorf("%s: %v requests counted as client-closed, want %v", route, n, want[i])
		}
	}
	for _, code := range []string{"201", "400", "500", "502"} {
		if n := rg.counter(t, "switchboard_runtime_http_request_duration_seconds", "code", code); n != 0 {
			t.Errorf("%v requests counted with code %s", n, code)
		}
	}
	if texts := storedTexts(t, rg, v.Conversation.ID); len(texts) != 1 {
		t.Errorf("stored %q, want only the message sent whole", texts)
	}
	log := rg.log.String()
	if strings.Contains(log, "level=ERROR") {
		t.Errorf("a client going away was logged as an error:\n%s", log)
	}
	if !strings.Contains(log, "level=DEBUG msg=\"the client went away") {
		t.Errorf("a client going away was not logged at debug:\n%s", log)
	}
}

// cutShort reads as a body that stops before its declared length: the connection
// ended, though the request is not over for the handler.
type cutShort struct{ r io.Reader }

func (c cutShort) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// TestTruncatedBodyIsNotComplete: a body that parses as JSON but ends before its
// declared length is not stored, even while the request's context still runs.
func TestTruncatedBodyIsNotComplete(t *testing.T) {
	rg := startRig(t, api.Options{})
	v := openVisitor(t, rg)
	body := `{"text":"looks complete"}`
	r := httptest.NewRequest("POST", "/api/v1/channels/website/conversations/"+v.Conversation.ID+"/messages", cutShort{strings.NewReader(body)})
	r.ContentLength = int64(len(body) + 20)
	r.Header.Set("Origin", "http://localhost:8080")
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+v.Token)
	w := httptest.NewRecorder()
	rg.srv.Config.Handler.ServeHTTP(w, r)
	if w.Code != 499 {
		t.Errorf("answered %d %s, want 499 (client closed)", w.Code, w.Body)
	}
	if texts := storedTexts(t, rg, v.Conversation.ID); len(texts) != 0 {
		t.Errorf("stored %q from a body cut short", texts)
	}
}

// takeEventually takes a chat once routing has settled it.
func takeEventually(t *testing.T, rg *rig, operator, conversation string) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err = rg.engine.Take(context.Background(), operator, conversation); err == nil {
			return
		}
	}
	t.Fatalf("%s could not take the chat: %v", operator, err)
}
