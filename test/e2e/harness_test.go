// Package e2e drives the runtime through its real HTTP and WebSocket surface: a
// visitor in the widget, operators in their consoles, on SQLite and on PostgreSQL.
package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/internal/telegramfake"

	"github.com/gorilla/websocket"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/server"
	"github.com/switchboard-chat/switchboard/runtime/source"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

const origin = "http://localhost:8080"

// runtime is one running runtime process (in this test process).
type runtime struct {
	base    string
	metrics string
	cancel  context.CancelFunc
	done    chan error
}

// manifestsDir copies config/samples into a temporary directory, where a test may
// change them. The sample Telegram channel talks to a local fake Bot API (the one of
// sampleTelegram), never to Telegram, and the sample notification policy is suspended.
func manifestsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := samples.Dir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit(t, dir, "channels.yaml", "      key: token\n", "      key: token\n    apiBaseURL: "+sampleTelegram().URL+"\n")
	// The sample policy's providers are placeholders on the internet: tests that
	// look at notifications point them at local servers and switch it on.
	edit(t, dir, "notificationpolicy.yaml", "spec:\n", "spec:\n  suspend: true\n")
	return dir
}

var (
	sampleTelegramOnce sync.Once
	sampleTelegramFake *telegramfake.Server
)

// sampleTelegram is a fake Bot API for the sample bot, shared by the tests that do
// not look at Telegram: their runtimes poll it and find nothing. Tests of the
// Telegram channel use a fake of their own (telegramSetup).
func sampleTelegram() *telegramfake.Server {
	sampleTelegramOnce.Do(func() { sampleTelegramFake = telegramfake.New(telegramfake.Bot{Token: sampleBotToken}) })
	return sampleTelegramFake
}

// sampleBotToken is the bot token of config/samples/secrets.yaml.
const sampleBotToken = "123456789:REPLACE-with-the-token-from-BotFather"

// edit rewrites a manifest file, replacing old with new.
func edit(t *testing.T, dir, file, old, new string) {
	t.Helper()
	path := filepath.Join(dir, file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

func startRuntime(t testing.TB, src source.Source, dataDir string, limits ...api.Limits) *runtime {
	return startRuntimeOn(t, "127.0.0.1:0", src, dataDir, limits...)
}

// startRuntimeAt runs the manifests in dir standalone on a given address.
func startRuntimeAt(t testing.TB, dir, addr string) *runtime {
	return startRuntimeOn(t, addr, &source.Files{Dir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, t.TempDir())
}

func startRuntimeOn(t testing.TB, addr string, src source.Source, dataDir string, limits ...api.Limits) *runtime {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan [2]string, 1)
	rt := &runtime{cancel: cancel, done: make(chan error, 1)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() {
		rt.done <- server.Run(ctx, server.Options{HTTPAddress: addr, MetricsAddress: "127.0.0.1:0", DataDir: dataDir,
			Source: src, Log: log, Ready: func(h, m string) { ready <- [2]string{h, m} }, Limits: firstOr(limits)})
	}()
	select {
	case addrs := <-ready:
		rt.base, rt.metrics = "http://"+addrs[0], "http://"+addrs[1]
	case err := <-rt.done:
		cancel()
		t.Fatalf("runtime exited: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("runtime did not start")
	}
	t.Cleanup(rt.stop)
	return rt
}

func firstOr(l []api.Limits) api.Limits {
	if len(l) == 0 {
		return api.Limits{}
	}
	return l[0]
}

// connections reads the runtime's WebSocket gauge for a role.
func (rt *runtime) connections(t testing.TB, role string) int {
	t.Helper()
	res, err := http.Get(rt.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	prefix := `switchboard_runtime_websocket_connections{role="` + role + `"} `
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, prefix) {
			var n int
			fmt.Sscan(strings.TrimPrefix(line, prefix), &n)
			return n
		}
	}
	return 0
}

func (rt *runtime) stop() {
	if rt.cancel == nil {
		return
	}
	rt.cancel()
	<-rt.done
	rt.cancel = nil
}

// standalone starts a runtime on the sample manifests in dir with SQLite in dataDir.
func standalone(t testing.TB, dir, dataDir string, limits ...api.Limits) *runtime {
	return startRuntime(t, &source.Files{Dir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, dataDir, limits...)
}

// call makes a request and decodes the JSON answer into out (when not nil).
func call(t testing.TB, method, u, token string, body any, out any, headers ...string) int {
	t.Helper()
	code, err := request(method, u, token, body, out, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// request is call for any goroutine: it reports what went wrong instead of failing the
// test.
func request(method, u, token string, body any, out any, headers ...string) (int, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: %d %s: %w", method, u, res.StatusCode, data, err)
		}
	}
	return res.StatusCode, nil
}

// visitor is a widget visitor.
type visitor struct {
	rt           *runtime
	channel      string
	token        string
	conversation string
}

type visitorOpen struct {
	Token        string `json:"token"`
	Conversation struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"conversation"`
}

func newVisitor(t testing.TB, rt *runtime, text string) *visitor {
	t.Helper()
	var out visitorOpen
	code := call(t, "POST", rt.base+"/api/v1/channels/website/conversations", "", map[string]string{"name": "Vera", "email": "vera@example.com", "text": text}, &out,
		"Origin", origin)
	if code != http.StatusCreated || out.Token == "" {
		t.Fatalf("opening a conversation: %d %+v", code, out)
	}
	return &visitor{rt: rt, channel: "website", token: out.Token, conversation: out.Conversation.ID}
}

// ws is a WebSocket client that collects every event it receives.
type ws struct {
	c      *websocket.Conn
	mu     sync.Mutex
	events []map[string]any
	closed chan struct{}
	code   int
}

func dial(t testing.TB, u string, header http.Header) *ws {
	t.Helper()
	c, res, err := websocket.DefaultDialer.Dial(u, header)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dialing %s: %v (HTTP %d)", u, err, status)
	}
	w := &ws{c: c, closed: make(chan struct{})}
	go func() {
		defer close(w.closed)
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					w.mu.Lock()
					w.code = ce.Code
					w.mu.Unlock()
				}
				return
			}
			var ev map[string]any
			_ = json.Unmarshal(data, &ev)
			w.mu.Lock()
			w.events = append(w.events, ev)
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close() })
	return w
}

func wsURL(base, path string, q url.Values) string {
	return "ws" + strings.TrimPrefix(base, "http") + path + "?" + q.Encode()
}

func (v *visitor) connect(t testing.TB, after int) *ws {
	q := url.Values{"conversation": {v.conversation}, "after": {fmt.Sprint(after)}, "access_token": {v.token}}
	return dial(t, wsURL(v.rt.base, "/api/v1/channels/"+v.channel+"/ws", q), http.Header{"Origin": {origin}})
}

func console(t testing.TB, rt *runtime, token string) *ws {
	return dial(t, wsURL(rt.base, "/api/v1/operator/ws", url.Values{"access_token": {token}}), nil)
}

func (v *visitor) send(t testing.TB, w *ws, text string) {
	t.Helper()
	if err := w.c.WriteJSON(map[string]string{"type": "message", "text": text}); err != nil {
		t.Fatal(err)
	}
}

// waitEvent waits for an event for which match holds and returns it.
func (w *ws) waitEvent(t testing.TB, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		for _, ev := range w.events {
			if match(ev) {
				w.mu.Unlock()
				return ev
			}
		}
		w.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Fatalf("no %s within 10s; got %d events: %v", what, len(w.events), w.events)
	return nil
}

func field(ev map[string]any, path ...string) any {
	var cur any = ev
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// isMessage matches a message event with this text, or a history that holds it (the
// message may have been stored before the WebSocket connected).
func isMessage(text string) func(map[string]any) bool {
	return func(ev map[string]any) bool {
		if ev["type"] == "message" && field(ev, "message", "text") == text {
			return true
		}
		if ev["type"] == "history" {
			msgs, _ := ev["messages"].([]any)
			for _, m := range msgs {
				if mm, ok := m.(map[string]any); ok && mm["text"] == text {
					return true
				}
			}
		}
		return false
	}
}

// conversationIn matches a conversation event, or a console snapshot, in which the
// conversation satisfies match.
func conversationIn(id string, match func(map[string]any) bool) func(map[string]any) bool {
	return func(ev map[string]any) bool {
		var convs []any
		switch ev["type"] {
		case "conversation":
			convs = []any{ev["conversation"]}
		case "snapshot":
			convs, _ = ev["conversations"].([]any)
		}
		for _, c := range convs {
			if cm, ok := c.(map[string]any); ok && cm["id"] == id && match(cm) {
				return true
			}
		}
		return false
	}
}

func isConversationState(id, state string) func(map[string]any) bool {
	return conversationIn(id, func(c map[string]any) bool { return c["state"] == state })
}

// online sets an operator online.
func online(t testing.TB, rt *runtime, token string) {
	t.Helper()
	if code := call(t, "PUT", rt.base+"/api/v1/me/presence", token, map[string]string{"presence": "online"}, nil); code != 200 {
		t.Fatalf("going online: %d", code)
	}
}

// accept waits until routing has assigned the chat to the operator, then accepts it.
func accept(t testing.TB, rt *runtime, token, conversation string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		var c struct{ State string }
		call(t, "GET", rt.base+"/api/v1/conversations/"+conversation, token, nil, &c)
		if c.State == "Assigned" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the chat was not assigned: %s", c.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+conversation+"/accept", token, nil, nil); code != 200 {
		t.Fatalf("accept: %d", code)
	}
}

// Tokens from config/samples/secrets.yaml.
const (
	alice = "sample-token-alice"
	bob   = "sample-token-bob"
	carol = "sample-token-carol"
	dave  = "sample-token-dave"
	erin  = "sample-token-erin"
	sam   = "sample-token-sam"
	frank = "sample-token-frank"
)

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

// signedBody reads a webhook call's body and checks its X-Switchboard-Signature, as a
// receiver following docs/routing.md would.
func signedBody(r *http.Request, key string) ([]byte, bool) {
	body, _ := io.ReadAll(r.Body)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return body, r.Header.Get("X-Switchboard-Signature") == "sha256="+hex.EncodeToString(mac.Sum(nil))
}
