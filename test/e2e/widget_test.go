package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestVisitorAndOperatorChat is the whole standalone flow on SQLite: a visitor opens a
// chat in the widget, an operator sees it live, takes it and answers; the conversation
// goes both ways over WebSockets, is closed, and the visitor's next message starts a
// new one.
func TestVisitorAndOperatorChat(t *testing.T) {
	rt := standalone(t, manifestsDir(t), t.TempDir())
	op := console(t, rt, alice)
	op.waitEvent(t, "snapshot", func(ev map[string]any) bool { return ev["type"] == "snapshot" })
	online(t, rt, alice)

	// first-line routes to an available agent: the only one online, alice.
	v := newVisitor(t, rt, "Hello, my invoice is wrong")
	op.waitEvent(t, "the new chat assigned on the console", isConversationState(v.conversation, "Assigned"))
	vw := v.connect(t, 0)
	history := vw.waitEvent(t, "history", func(ev map[string]any) bool { return ev["type"] == "history" })
	if msgs, _ := history["messages"].([]any); len(msgs) != 1 {
		t.Fatalf("history = %v, want the first message", history)
	}

	var taken map[string]any
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/accept", alice, nil, &taken); code != 200 {
		t.Fatalf("accept: %d %v", code, taken)
	}
	active := vw.waitEvent(t, "the chat becoming active", func(ev map[string]any) bool {
		return ev["type"] == "conversation" && field(ev, "conversation", "state") == "Active"
	})
	if field(active, "conversation", "operatorName") != "Alice Andersen" {
		t.Errorf("the visitor sees operator %v, want her display name", field(active, "conversation", "operatorName"))
	}
	if _, leaked := active["conversation"].(map[string]any)["operator"]; leaked {
		t.Error("the visitor's view carries the operator's login")
	}

	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/messages", alice, map[string]string{"text": "Let me check that for you."}, nil); code != 201 {
		t.Fatalf("reply: %d", code)
	}
	got := vw.waitEvent(t, "the operator's reply", isMessage("Let me check that for you."))
	if field(got, "message", "authorName") != "Alice Andersen" || field(got, "message", "direction") != "out" {
		t.Errorf("reply as the visitor sees it: %v", got)
	}
	v.send(t, vw, "Thank you!")
	op.waitEvent(t, "the visitor's message on the console", isMessage("Thank you!"))

	var msgs struct {
		Messages []struct {
			Seq  int64
			Text string
		}
	}
	call(t, "GET", rt.base+"/api/v1/conversations/"+v.conversation+"/messages", alice, nil, &msgs)
	if len(msgs.Messages) != 3 || msgs.Messages[2].Text != "Thank you!" || msgs.Messages[2].Seq != 3 {
		t.Fatalf("stored conversation: %+v", msgs.Messages)
	}
	var acts struct {
		Activity []struct{ Type, Actor string }
	}
	call(t, "GET", rt.base+"/api/v1/conversations/"+v.conversation+"/activity", alice, nil, &acts)
	if len(acts.Activity) < 3 || acts.Activity[0].Type != "ChatStarted" || acts.Activity[1].Type != "ChatAssigned" ||
		acts.Activity[2].Type != "ChatAccepted" || acts.Activity[2].Actor != "alice" {
		t.Errorf("activity stream: %+v", acts.Activity)
	}

	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/close", alice, nil, nil); code != 200 {
		t.Fatalf("close: %d", code)
	}
	vw.waitEvent(t, "the chat closing", isConversationState(v.conversation, "Closed"))
	v.send(t, vw, "One more question")
	next := vw.waitEvent(t, "a new conversation", func(ev map[string]any) bool {
		return ev["type"] == "conversation" && field(ev, "conversation", "id") != v.conversation
	})
	op.waitEvent(t, "the new chat assigned on the console", isConversationState(field(next, "conversation", "id").(string), "Assigned"))
}

func TestFirstTakeWins(t *testing.T) {
	rt := standalone(t, manifestsDir(t), t.TempDir())
	for round := range 5 {
		v := newVisitor(t, rt, fmt.Sprintf("race %d", round))
		var wg sync.WaitGroup
		codes := make([]int, 3)
		for i, tok := range []string{alice, bob, carol} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/take", tok, nil, nil)
			}()
		}
		wg.Wait()
		wins := 0
		for _, c := range codes {
			switch c {
			case 200:
				wins++
			case 409:
			default:
				t.Fatalf("take answered %d", c)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d takes succeeded (%v); exactly one must", round, wins, codes)
		}
		// The winner closes, so the next round starts with free operators.
		for _, tok := range []string{alice, bob, carol} {
			call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/close", tok, nil, nil)
		}
	}
}

func TestWhoSeesWhat(t *testing.T) {
	rt := standalone(t, manifestsDir(t), t.TempDir())
	a := newVisitor(t, rt, "I am visitor A")
	b := newVisitor(t, rt, "I am visitor B")
	conv := func(v *visitor, id string) string {
		return rt.base + "/api/v1/channels/website/conversations/" + id + "/messages"
	}
	tests := []struct {
		name     string
		method   string
		url      string
		token    string
		headers  []string
		wantCode int
		wantMsg  string
	}{
		{"a visitor reads their own conversation", "GET", conv(a, a.conversation), a.token, []string{"Origin", origin}, 200, ""},
		{"a visitor cannot read another's", "GET", conv(b, a.conversation), b.token, []string{"Origin", origin}, 404, "no such conversation"},
		{"no token", "GET", conv(a, a.conversation), "", []string{"Origin", origin}, 401, "missing visitor token"},
		{"a made-up token", "GET", conv(a, a.conversation), "not-a-token", []string{"Origin", origin}, 401, "unknown visitor token"},
		{"an origin not allowed", "GET", conv(a, a.conversation), a.token, []string{"Origin", "https://evil.example.net"}, 403,
			`origin "https://evil.example.net" may not use channel "website"`},
		{"a non-browser client sends no origin", "POST", rt.base + "/api/v1/channels/website/conversations", "", nil, 201, ""},
		{"the runtime's own pages count at its public URL only, not at any Host", "GET", conv(a, a.conversation), a.token, []string{"Origin", rt.base}, 403,
			"may not use channel"},
		{"an unknown channel", "GET", rt.base + "/api/v1/channels/nope", "", nil, 404, `channel "nope" does not exist`},
		{"a messenger channel has no client API", "GET", rt.base + "/api/v1/channels/telegram", "", nil, 404, "provider's webhook"},
		{"an operator of the queue sees the chat", "GET", rt.base + "/api/v1/conversations/" + a.conversation, carol, nil, 200, ""},
		{"an operator of another queue does not", "GET", rt.base + "/api/v1/conversations/" + a.conversation, dave, nil, 404, "no such conversation"},
		{"a supervisor sees every queue", "GET", rt.base + "/api/v1/conversations/" + a.conversation, sam, nil, 200, ""},
		{"an employee is no operator", "GET", rt.base + "/api/v1/conversations", frank, nil, 403, "frank is not an operator"},
		{"a wrong operator token", "GET", rt.base + "/api/v1/me", "sample-token-mallory", nil, 401, "missing or invalid credentials"},
		{"an operator cannot answer a chat they do not hold", "POST", rt.base + "/api/v1/conversations/" + a.conversation + "/messages", bob, nil, 403, "take the chat before answering it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out struct {
				Error struct{ Code, Message string }
			}
			var body any
			if tt.method == "POST" {
				body = map[string]string{"text": "hi"}
				if strings.HasSuffix(tt.url, "/conversations") {
					body = map[string]string{"email": "visitor@example.com"} // nobody is online: the offline form asks for it
				}
			}
			code := call(t, tt.method, tt.url, tt.token, body, &out, tt.headers...)
			if code != tt.wantCode || !strings.Contains(out.Error.Message, tt.wantMsg) {
				t.Errorf("%s %s = %d %q, want %d containing %q", tt.method, tt.url, code, out.Error.Message, tt.wantCode, tt.wantMsg)
			}
		})
	}

	// The console of a first-line operator lists first-line chats only.
	var list struct{ Conversations []struct{ ID, Queue string } }
	call(t, "GET", rt.base+"/api/v1/conversations", dave, nil, &list)
	for _, c := range list.Conversations {
		if c.Queue != "accounting" {
			t.Errorf("dave (accounting) sees a %s chat", c.Queue)
		}
	}
}

func TestInternalChannel(t *testing.T) {
	rt := standalone(t, manifestsDir(t), t.TempDir())
	base := rt.base + "/api/v1/channels/staff-helpdesk/conversations"
	var opened struct {
		Token        string
		Conversation struct{ ID, State string }
	}
	if code := call(t, "POST", base, frank, map[string]string{"text": "My payslip is missing"}, &opened); code != 201 {
		t.Fatalf("an employee in the client groups opens a chat: %d", code)
	}
	if opened.Token != "" {
		t.Error("employees authenticate with their own token: no visitor token is issued")
	}
	var out struct{ Error struct{ Message string } }
	if code := call(t, "POST", base, bob, map[string]string{"text": "hi"}, &out); code != 403 || !strings.Contains(out.Error.Message, "bob is in none of the client groups") {
		t.Errorf("an operator outside the client groups: %d %q", code, out.Error.Message)
	}
	if code := call(t, "POST", base, "", map[string]string{"text": "hi"}, &out); code != 401 {
		t.Errorf("no credentials: %d", code)
	}
	// The chat lands in the accounting queue, where dave answers it.
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+opened.Conversation.ID+"/take", dave, nil, nil); code != 200 {
		t.Fatalf("dave takes the internal chat: %d", code)
	}
	call(t, "POST", rt.base+"/api/v1/conversations/"+opened.Conversation.ID+"/messages", dave, map[string]string{"text": "Sending it now"}, nil)
	var msgs struct {
		Messages []struct{ Text, AuthorName string }
	}
	call(t, "GET", base+"/"+opened.Conversation.ID+"/messages", frank, nil, &msgs)
	if len(msgs.Messages) != 2 || msgs.Messages[1].AuthorName != "Dave Dubois" {
		t.Errorf("frank's view: %+v", msgs.Messages)
	}
}

func TestRestartKeepsHistoryAndConsoleResumes(t *testing.T) {
	dir, data := manifestsDir(t), t.TempDir()
	rt := standalone(t, dir, data)
	v := newVisitor(t, rt, "before the restart")
	call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/take", alice, nil, nil)
	call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/messages", alice, map[string]string{"text": "answer before"}, nil)
	rt.stop()

	rt = standalone(t, dir, data)
	v.rt = rt
	vw := v.connect(t, 0)
	h := vw.waitEvent(t, "history", func(ev map[string]any) bool { return ev["type"] == "history" })
	if msgs, _ := h["messages"].([]any); len(msgs) != 2 {
		t.Fatalf("history after restart = %v", h["messages"])
	}
	op := console(t, rt, alice)
	snap := op.waitEvent(t, "snapshot", func(ev map[string]any) bool { return ev["type"] == "snapshot" })
	found := false
	for _, c := range snap["conversations"].([]any) {
		cm := c.(map[string]any)
		if cm["id"] == v.conversation && cm["state"] == "Active" && cm["operator"] == "alice" {
			found = true
		}
	}
	if !found {
		t.Fatalf("alice's console does not resume her active chat: %v", snap["conversations"])
	}
	v.send(t, vw, "after the restart")
	op.waitEvent(t, "a message after the restart", isMessage("after the restart"))
	var msgs struct{ Messages []struct{ Seq int64 } }
	call(t, "GET", rt.base+"/api/v1/conversations/"+v.conversation+"/messages", alice, nil, &msgs)
	if len(msgs.Messages) != 3 || msgs.Messages[2].Seq != 3 {
		t.Errorf("the sequence does not continue: %+v", msgs.Messages)
	}
}

func TestEditedManifestsApplyLive(t *testing.T) {
	dir := manifestsDir(t)
	rt := standalone(t, dir, t.TempDir())
	var before struct{ ConfigRevision string }
	call(t, "GET", rt.base+"/status", alice, nil, &before)
	vw := newVisitor(t, rt, "still here?")
	ws := vw.connect(t, 0)
	ws.waitEvent(t, "history", func(ev map[string]any) bool { return ev["type"] == "history" })

	edit(t, dir, "channels.yaml", "title: Example Support", "title: Example Support, reloaded")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var info struct{ Title string }
		call(t, "GET", rt.base+"/api/v1/channels/website", "", nil, &info, "Origin", origin)
		if info.Title == "Example Support, reloaded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the edited title did not apply: %q", info.Title)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var after struct{ ConfigRevision string }
	call(t, "GET", rt.metrics+"/status", "", nil, &after)
	if after.ConfigRevision == before.ConfigRevision {
		t.Error("/status still shows the old revision")
	}
	// The visitor's connection survived the new configuration.
	vw.send(t, ws, "yes")
	var msgs struct{ Messages []struct{ Text string } }
	deadline = time.Now().Add(5 * time.Second)
	for len(msgs.Messages) < 2 && time.Now().Before(deadline) {
		call(t, "GET", rt.base+"/api/v1/channels/website/conversations/"+vw.conversation+"/messages", vw.token, nil, &msgs, "Origin", origin)
		time.Sleep(20 * time.Millisecond)
	}
	if len(msgs.Messages) != 2 {
		t.Fatalf("a message over the old connection after the reload was not stored: %+v", msgs.Messages)
	}
	if code := call(t, "GET", rt.metrics+"/metrics", "", nil, nil); code != http.StatusOK {
		t.Errorf("metrics: %d", code)
	}
}
