package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestChatActions: an operator runs a queue's chat action; the runtime POSTs the chat
// and contact ids, signed, and shows and records how it went.
func TestChatActions(t *testing.T) {
	const key = "REPLACE-with-another-long-random-string" // config/samples/secrets.yaml, webhook-signing/actions
	var mu sync.Mutex
	var got []map[string]any
	fail := false
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := signedBody(r, key)
		if !ok {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var call map[string]any
		_ = json.Unmarshal(body, &call)
		mu.Lock()
		got = append(got, call)
		f := fail
		mu.Unlock()
		if f {
			http.Error(w, "case system down", http.StatusInternalServerError)
		}
	}))
	defer hook.Close()
	dir := manifestsDir(t)
	edit(t, dir, "chatqueues.yaml", "https://crm.example.com/hooks/create-case", hook.URL+"/create-case")
	rt := standalone(t, dir, t.TempDir())
	online(t, rt, alice)
	v := newVisitor(t, rt, "please open a case")
	accept(t, rt, alice, v.conversation)

	var res struct {
		OK     bool
		Status int
		Error  string
	}
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/actions/create-case", alice, nil, &res); code != 200 || !res.OK {
		t.Fatalf("running the action: %d %+v", code, res)
	}
	mu.Lock()
	if len(got) != 1 || got[0]["chatId"] != v.conversation || got[0]["contactId"] == "" || got[0]["action"] != "create-case" {
		t.Errorf("the webhook got %v", got)
	}
	fail = true
	mu.Unlock()
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/actions/create-case", alice, nil, &res); code != 502 ||
		res.OK || !strings.Contains(res.Error, "answered 500") {
		t.Errorf("a failing action: %d %+v", code, res)
	}
	var out struct{ Error struct{ Message string } }
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/actions/launch-rocket", alice, nil, &out); code != 404 {
		t.Errorf("an unknown action: %d %q", code, out.Error.Message)
	}
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/actions/create-case", bob, nil, &out); code != 403 {
		t.Errorf("an operator not holding the chat: %d %q", code, out.Error.Message)
	}
	var acts struct {
		Activity []struct{ Type, Detail string }
	}
	call(t, "GET", rt.base+"/api/v1/conversations/"+v.conversation+"/activity", alice, nil, &acts)
	var details []string
	for _, a := range acts.Activity {
		if a.Type == "ChatAction" {
			details = append(details, a.Detail)
		}
	}
	if len(details) != 2 || !strings.HasSuffix(details[0], ": ok") || !strings.Contains(details[1], "failed: the action's webhook answered 500") {
		t.Errorf("activity of the actions: %v", details)
	}
}
