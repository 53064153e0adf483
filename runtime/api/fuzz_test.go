package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/samples"

	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/auth"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/hub"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

// newServer serves the samples from a fresh SQLite database, with one visitor and
// their conversation.
func newServer(t testing.TB) (h http.Handler, visitorToken, conversation string) {
	t.Helper()
	cfg, err := samples.Config()
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.OpenSQLite(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	engine := chat.New(st, hub.New(), cfg, chat.Options{})
	t.Cleanup(engine.Close)
	srv := api.New(api.Options{Engine: engine, Verifier: auth.NewTokens(map[string][]byte{"alice": []byte("tok-alice-0123456789")}),
		Limits: api.Limits{MessagesPerSecond: 1e9, MessageBurst: 1e9}})
	opened, err := engine.Open(context.Background(), "website", chat.Identity{Name: "Fuzz"})
	if err != nil {
		t.Fatal(err)
	}
	return srv, opened.Token, opened.Conversation.ID
}

// FuzzRequestBodies sends arbitrary bodies to every endpoint that decodes JSON: each
// must answer, and never with a server error.
func FuzzRequestBodies(f *testing.F) {
	for _, seed := range []string{``, `{}`, `{"text":"hi"}`, `{"name":"x","email":"y","text":"z"}`, `{"presence":"online","active":true}`,
		`{"text":`, `[]`, `null`, `{"text":"a"}{"text":"b"}`, "{\"text\":\"\xff\xfe\"}", `{"text":1}`, `{"unknown":true}`} {
		f.Add([]byte(seed))
	}
	h, token, conv := newServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, req := range []struct{ method, path, token string }{
			{"POST", "/api/v1/channels/website/conversations", ""},
			{"POST", "/api/v1/channels/website/conversations/" + conv + "/messages", token},
			{"PUT", "/api/v1/me/presence", "tok-alice-0123456789"},
			{"POST", "/api/v1/conversations/" + conv + "/messages", "tok-alice-0123456789"},
		} {
			r := httptest.NewRequest(req.method, req.path, bytes.NewReader(body))
			r.Header.Set("Origin", "http://localhost:8080")
			r.Header.Set("Content-Type", "application/json")
			if req.token != "" {
				r.Header.Set("Authorization", "Bearer "+req.token)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("%s %s with %q: %d %s", req.method, req.path, body, w.Code, w.Body)
			}
			if w.Code >= 400 {
				var e struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Message == "" {
					t.Fatalf("%s %s: error answer without a message: %s", req.method, req.path, w.Body)
				}
			}
		}
	})
}
