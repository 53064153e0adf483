package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/presence"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// meBody is GET /api/v1/me's availability.
type meBody struct {
	Presence       store.Presence
	Active         bool
	InactiveReason string
	AtLimit        bool
	Load, Limit    int
}

func getMe(t *testing.T, rg *rig, token string) meBody {
	t.Helper()
	res, body := do(t, "GET", rg.srv.URL+"/api/v1/me", token, "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/me: %d %s", res.StatusCode, body)
	}
	var me meBody
	if err := json.Unmarshal([]byte(body), &me); err != nil || !strings.Contains(body, `"active"`) || !strings.Contains(body, `"atLimit"`) {
		t.Fatalf("GET /api/v1/me: %s (%v), want presence, active and atLimit", body, err)
	}
	return me
}

// console opens alice's console feed and reads its snapshot.
func console(t *testing.T, rg *rig, token string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(rg.srv.URL, "http") + "/api/v1/operator/ws?access_token=" + token
	c, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {widgetOrigin}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	var snap struct{ Type string }
	if err := c.ReadJSON(&snap); err != nil || snap.Type != "snapshot" {
		t.Fatalf("first event %+v, %v: want the snapshot", snap, err)
	}
	// The feed answers an event it does not take with an error, once the console's
	// opening is done (presence included): a point to go on from.
	if err := c.WriteJSON(map[string]string{"type": "sync"}); err != nil {
		t.Fatal(err)
	}
	for {
		var ev struct{ Type string }
		if err := c.ReadJSON(&ev); err != nil {
			t.Fatalf("waiting for the console to open: %v", err)
		}
		if ev.Type == "error" {
			return c
		}
	}
}

// waitPresence polls GET /api/v1/me until alice's presence is want.
func waitPresence(t *testing.T, rg *rig, want store.Presence) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for getMe(t, rg, aliceToken).Presence != want {
		if time.Now().After(deadline) {
			t.Fatalf("alice never became %s", want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// takeChat takes a chat for alice; routing may assign it to her meanwhile, which a
// second take accepts.
func takeChat(t *testing.T, rg *rig, id string) {
	t.Helper()
	for range 5 {
		res, body := do(t, "POST", rg.srv.URL+"/api/v1/conversations/"+id+"/take", aliceToken, "")
		if res.StatusCode == http.StatusOK {
			return
		}
		if res.StatusCode != http.StatusConflict || !strings.Contains(body, "changed meanwhile") {
			t.Fatalf("take: %d %s", res.StatusCode, body)
		}
	}
	t.Fatal("take: the chat kept changing")
}

// An operator is online while a console is open: opening one signs them in online, a
// reload keeps a presence they chose, and once the last console has been closed for
// offlineAfter they are offline; the next console brings them online again.
func TestPresenceFollowsTheConsole(t *testing.T) {
	const grace = time.Second
	rg := startRig(t, api.Options{}, func(cfg *config.Config) {
		cfg.LiveChat.OperatorPresence = &config.OperatorPresence{OfflineAfter: config.Duration{Duration: grace},
			OpenChatsWhenOffline: config.OpenChatsForward}
	})
	tracker := presence.New(rg.st.OperatorConsoles(), rg.api.OperatorsConnected, rg.api.OperatorConnected,
		slog.New(slog.NewTextHandler(io.Discard, nil)), presence.Linger(func() time.Duration { return grace }))
	rg.api.SetConsoles(tracker)

	if p := getMe(t, rg, aliceToken).Presence; p != store.PresenceOffline {
		t.Fatalf("before any console alice is %s", p)
	}
	c := console(t, rg, aliceToken)
	if p := getMe(t, rg, aliceToken).Presence; p != store.PresenceOnline {
		t.Fatalf("with a console open alice is %s, want online", p)
	}
	// She chooses away, then reloads: away she stays.
	if res, body := do(t, "PUT", rg.srv.URL+"/api/v1/me/presence", aliceToken, `{"presence":"away"}`); res.StatusCode != 200 {
		t.Fatalf("away: %d %s", res.StatusCode, body)
	}
	c.Close()
	c = console(t, rg, aliceToken)
	if p := getMe(t, rg, aliceToken).Presence; p != store.PresenceAway {
		t.Errorf("after a reload alice is %s, want the away she chose", p)
	}
	// The console closes for good: offline after the grace.
	c.Close()
	waitPresence(t, rg, store.PresenceOffline)
	// Signing in again brings her online.
	console(t, rg, aliceToken)
	if p := getMe(t, rg, aliceToken).Presence; p != store.PresenceOnline {
		t.Errorf("a new console session: alice is %s, want online", p)
	}
}

// An operator an accept timeout made inactive gets 409 on take and accept, saying
// how to become active; PUT /api/v1/me/presence {"active":true} alone lets them
// take chats again. GET /api/v1/me says why.
func TestInactiveOperatorCannotTakeUntilActive(t *testing.T) {
	rg := startRig(t, api.Options{})
	v := openVisitor(t, rg)
	const why = "you did not accept chat x within 2m0s"
	if _, err := rg.st.SetInactive(context.Background(), "alice", why); err != nil {
		t.Fatal(err)
	}
	if me := getMe(t, rg, aliceToken); me.Active || me.InactiveReason != why {
		t.Errorf("GET /api/v1/me: %+v, want inactive because %s", me, why)
	}
	for _, verb := range []string{"take", "accept"} {
		res, body := do(t, "POST", rg.srv.URL+"/api/v1/conversations/"+v.Conversation.ID+"/"+verb, aliceToken, "")
		if res.StatusCode != http.StatusConflict || !strings.Contains(body, `set yourself active (PUT /api/v1/me/presence {\"active\":true})`) {
			t.Errorf("%s while inactive: %d %s, want 409 saying how to become active", verb, res.StatusCode, body)
		}
	}
	if res, body := do(t, "PUT", rg.srv.URL+"/api/v1/me/presence", aliceToken, `{"active":true}`); res.StatusCode != http.StatusOK {
		t.Fatalf(`{"active":true}: %d %s`, res.StatusCode, body)
	}
	if me := getMe(t, rg, aliceToken); !me.Active || me.InactiveReason != "" {
		t.Errorf("after setting herself active: %+v", me)
	}
	if res, body := do(t, "POST", rg.srv.URL+"/api/v1/conversations/"+v.Conversation.ID+"/take", aliceToken, ""); res.StatusCode != http.StatusOK {
		t.Errorf("take once active: %d %s", res.StatusCode, body)
	}
}

// While an operator is at their limit their console is offered no new chat: the
// list leaves waiting chats out and the feed withholds them; GET /me says atLimit.
func TestOperatorAtLimitIsOfferedNoNewChats(t *testing.T) {
	for _, tt := range []struct {
		name           string
		connectAtLimit bool
	}{{"the console open as she reaches her limit", false}, {"a console opened at her limit", true}} {
		t.Run(tt.name, func(t *testing.T) { testAtLimit(t, tt.connectAtLimit) })
	}
}

func testAtLimit(t *testing.T, connectAtLimit bool) {
	rg := startRig(t, api.Options{})
	var c *websocket.Conn
	if connectAtLimit {
		if _, err := rg.engine.SetPresence(context.Background(), "alice", store.PresenceOnline, nil); err != nil {
			t.Fatal(err)
		}
	} else {
		c = console(t, rg, aliceToken) // alice online
	}
	var held []string
	for range 2 { // alice's limit
		v := openVisitor(t, rg)
		takeChat(t, rg, v.Conversation.ID)
		held = append(held, v.Conversation.ID)
	}
	if connectAtLimit {
		c = console(t, rg, aliceToken)
	} else {
		// The console hears that she is at her limit.
		for {
			var ev chat.Event
			if err := c.ReadJSON(&ev); err != nil {
				t.Fatalf("waiting for atLimit: %v", err)
			}
			if ev.Type == "me" && ev.Me != nil && ev.Me.Availability != nil && ev.Me.AtLimit {
				break
			}
		}
	}
	if !getMe(t, rg, aliceToken).AtLimit {
		t.Error("GET /api/v1/me: atLimit is false at her limit")
	}
	waiting := openVisitor(t, rg)
	var list struct{ Conversations []struct{ ID string } }
	_, body := do(t, "GET", rg.srv.URL+"/api/v1/conversations", aliceToken, "")
	_ = json.Unmarshal([]byte(body), &list)
	for _, l := range list.Conversations {
		if l.ID == waiting.Conversation.ID {
			t.Error("at her limit, alice's list offers the waiting chat")
		}
	}
	// She closes a chat: the waiting one is routed to her. Before that her feed
	// carried nothing of it waiting.
	if res, body := do(t, "POST", rg.srv.URL+"/api/v1/conversations/"+held[0]+"/close", aliceToken, ""); res.StatusCode != 200 {
		t.Fatalf("close: %d %s", res.StatusCode, body)
	}
	for {
		var ev chat.Event
		if err := c.ReadJSON(&ev); err != nil {
			t.Fatalf("waiting for the chat to reach alice: %v", err)
		}
		if ev.Type != "conversation" || ev.Conversation.ID != waiting.Conversation.ID {
			continue
		}
		if ev.Conversation.State == store.StateQueued || ev.Conversation.State == store.StateMissed {
			t.Fatalf("at her limit, alice's feed offered the waiting chat (%s)", ev.Conversation.State)
		}
		if ev.Conversation.State == store.StateAssigned && ev.Conversation.Operator == "alice" {
			break
		}
	}
}

// Channel info says whether anyone answers and what the widget shows otherwise;
// while nobody is online, a channel whose offline form requires an email refuses a
// new conversation without a valid one, and keeps the one given on the contact.
func TestOfflineFormRequiresEmail(t *testing.T) {
	rg := startRig(t, api.Options{})
	base := rg.srv.URL + "/api/v1/channels/website"
	info := func() map[string]any {
		t.Helper()
		res, body := do(t, "GET", base, "", "", "Origin", widgetOrigin)
		var out map[string]any
		if err := json.Unmarshal([]byte(body), &out); err != nil || res.StatusCode != 200 {
			t.Fatalf("channel info: %d %s", res.StatusCode, body)
		}
		return out
	}
	got := info()
	offline, _ := got["offline"].(map[string]any)
	form, _ := offline["form"].(map[string]any)
	if got["online"] != false || !strings.HasPrefix(offline["message"].(string), "We are offline right now") ||
		form["enabled"] != true || form["requireEmail"] != true {
		t.Errorf("channel info while nobody is online: %v", got)
	}
	for _, tt := range []struct {
		name, body string
		wantCode   int
		wantText   string
	}{
		{"no email", `{"name":"Vera","text":"hello?"}`, 400, `send your email address (\"email\")`},
		{"not an email", `{"email":"vera at example"}`, 400, `\"vera at example\" is not a valid email address`},
		{"an email", `{"name":"Vera","email":"vera@example.com","text":"hello?"}`, 201, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, body := do(t, "POST", base+"/conversations", "", tt.body, "Origin", widgetOrigin)
			if res.StatusCode != tt.wantCode || !strings.Contains(body, tt.wantText) {
				t.Fatalf("%d %s, want %d saying %s", res.StatusCode, body, tt.wantCode, tt.wantText)
			}
			if tt.wantCode != 201 {
				return
			}
			var out struct {
				Token        string
				Conversation struct{ ID, State string }
			}
			_ = json.Unmarshal([]byte(body), &out)
			contact, err := rg.engine.ContactByToken(context.Background(), out.Token)
			if err != nil || contact.Email != "vera@example.com" || out.Conversation.State != "Missed" {
				t.Errorf("contact %+v (%v), conversation %+v: want the email kept and an offline message", contact, err, out.Conversation)
			}
		})
	}
	if _, err := rg.engine.SetPresence(context.Background(), "alice", store.PresenceOnline, nil); err != nil {
		t.Fatal(err)
	}
	if got := info(); got["online"] != true {
		t.Errorf("channel info with alice online: online %v", got["online"])
	}
	if res, body := do(t, "POST", base+"/conversations", "", `{}`, "Origin", widgetOrigin); res.StatusCode != 201 {
		t.Errorf("with someone online, no email is needed: %d %s", res.StatusCode, body)
	}
}

// Supervisors read the overview, reassign and take over chats; operators get 403
// saying who may.
func TestSupervisorEndpoints(t *testing.T) {
	rg := startRig(t, api.Options{})
	ctx := context.Background()
	for _, op := range []string{"alice", "bob", "dave"} {
		if _, err := rg.engine.SetPresence(ctx, op, store.PresenceOnline, nil); err != nil {
			t.Fatal(err)
		}
	}
	v := openVisitor(t, rg)
	// Routing may move the new chat (offering it) while alice takes it: a conflict
	// says to read it again, as a console would.
	_, err := rg.engine.Take(ctx, "alice", v.Conversation.ID)
	for tries := 0; chat.KindOf(err) == chat.KindConflict && tries < 20; tries++ {
		_, err = rg.engine.Take(ctx, "alice", v.Conversation.ID)
	}
	if err != nil {
		t.Fatal(err)
	}
	conv := rg.srv.URL + "/api/v1/conversations/" + v.Conversation.ID
	for _, tt := range []struct {
		name, method, url, token, body string
		wantCode                       int
		wantText                       string
	}{
		{"an operator reads the overview", "GET", rg.srv.URL + "/api/v1/supervisor/overview", aliceToken, "", 403, "only supervisors may see the supervisor overview"},
		{"a supervisor reads the overview", "GET", rg.srv.URL + "/api/v1/supervisor/overview", samToken, "", 200, `"operatorsOnline":2`},
		{"an operator reassigns", "POST", conv + "/reassign", aliceToken, `{"operator":"bob"}`, 403, "only supervisors may reassign chats"},
		{"to an operator of another queue", "POST", conv + "/reassign", samToken, `{"operator":"dave"}`, 409, `dave does not answer queue \"first-line\"`},
		{"to nobody", "POST", conv + "/reassign", samToken, `{}`, 400, "name the operator"},
		{"a supervisor reassigns", "POST", conv + "/reassign", samToken, `{"operator":"bob"}`, 200, `"operator":"bob"`},
		{"an operator takes over", "POST", conv + "/takeover", aliceToken, "", 403, "only supervisors may take chats over"},
		{"a supervisor takes over", "POST", conv + "/takeover", samToken, "", 200, `"operator":"sam"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, body := do(t, tt.method, tt.url, tt.token, tt.body)
			if res.StatusCode != tt.wantCode || !strings.Contains(body, tt.wantText) {
				t.Errorf("%d %s, want %d with %s", res.StatusCode, body, tt.wantCode, tt.wantText)
			}
		})
	}
	acts, err := rg.engine.Store().Activity(ctx, v.Conversation.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var reassigned bool
	for _, a := range acts {
		reassigned = reassigned || a.Actor == "sam" && strings.Contains(a.Detail, "reassigned from alice to bob by supervisor sam")
	}
	if !reassigned {
		t.Errorf("the activity stream does not say who reassigned: %+v", acts)
	}
}
