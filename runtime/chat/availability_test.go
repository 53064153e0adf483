package chat_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

func (h *harness) presenceOf(op string) store.Operator {
	h.t.Helper()
	ops, err := h.s.Operators(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, o := range ops {
		if o.Name == op {
			return o
		}
	}
	return store.Operator{Name: op, Presence: store.PresenceOffline, Active: true}
}

func (h *harness) operatorEvents(op string) []chatv1alpha1.EventType {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []chatv1alpha1.EventType
	for _, ev := range h.events {
		if ev.Conversation == nil && ev.Operator == op {
			out = append(out, ev.Type)
		}
	}
	return out
}

// lastActivity is the detail and actor of a conversation's last activity entry.
func (h *harness) lastActivity(id string) store.Activity {
	h.t.Helper()
	acts, err := h.s.Activity(ctx, id, 0, 0)
	if err != nil || len(acts) == 0 {
		h.t.Fatalf("activity of %s: %v %v", id, acts, err)
	}
	return acts[len(acts)-1]
}

// An operator whose console closed stays online for offlineAfter; then they are
// offline (one OperatorOffline) and their open chats are forwarded back to routing or
// dropped, as the LiveChat says.
func TestOperatorGoesOfflineWhenTheConsoleLapses(t *testing.T) {
	for _, tt := range []struct {
		policy     config.OpenChatsPolicy
		wantState  store.State
		wantDetail string
	}{
		{config.OpenChatsForward, store.StateQueued, "back to queue first-line: alice went offline"},
		{config.OpenChatsDrop, store.StateClosed, "dropped: alice went offline"},
		{"", store.StateQueued, "back to queue first-line"}, // a configuration from before: Forward
	} {
		t.Run(string(tt.policy), func(t *testing.T) {
			cfg := samples(t)
			const grace = 30 * time.Second
			cfg.LiveChat.OperatorPresence = &config.OperatorPresence{OfflineAfter: config.Duration{Duration: grace}, OpenChatsWhenOffline: tt.policy}
			if tt.policy == "" {
				cfg.LiveChat.OperatorPresence = nil
			}
			h := newHarness(t, cfg, t.TempDir())
			consoles := h.s.(*sqlstore.DB).OperatorConsoles()
			if err := h.e.ConsoleOpened(ctx, "alice", false); err != nil {
				t.Fatal(err)
			}
			if p := h.presenceOf("alice").Presence; p != store.PresenceOnline {
				t.Fatalf("a console opened: alice is %s, want online", p)
			}
			c := h.visit("v")
			h.want(c, store.StateAssigned, "alice")
			if _, err := h.e.Take(ctx, "alice", c.ID); err != nil {
				t.Fatal(err)
			}
			// The console closes: its record lingers for the grace (what the
			// presence tracker writes).
			if err := consoles.SetOnline(ctx, "replica-a", []string{"alice"}, h.clock.Now().Add(grace)); err != nil {
				t.Fatal(err)
			}
			h.clock.Advance(grace - time.Second)
			if err := h.e.LapseConsoles(ctx); err != nil {
				t.Fatal(err)
			}
			if p := h.presenceOf("alice").Presence; p != store.PresenceOnline {
				t.Fatalf("within the grace alice is %s, want online", p)
			}
			h.want(c, store.StateActive, "alice")

			h.clock.Advance(2 * time.Second)
			for range 2 { // a second sweep finds nothing more to do
				if err := h.e.LapseConsoles(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if p := h.presenceOf("alice").Presence; p != store.PresenceOffline {
				t.Fatalf("after the grace alice is %s, want offline", p)
			}
			if got := h.operatorEvents("alice"); !slices.Equal(got, []chatv1alpha1.EventType{"OperatorOnline", "OperatorOffline"}) {
				t.Errorf("alice's presence events: %v", got)
			}
			got := h.get(c.ID)
			if got.State != tt.wantState || got.Operator != "" && tt.wantState != store.StateClosed {
				t.Errorf("alice's chat is %s with %q, want %s", got.State, got.Operator, tt.wantState)
			}
			if a := h.lastActivity(c.ID); !strings.Contains(a.Detail, tt.wantDetail) {
				t.Errorf("activity %q, want it to say %q", a.Detail, tt.wantDetail)
			}
		})
	}
}

// Opening a console brings an operator online unless their console session goes on
// (a reload within the grace), in which a presence they chose stays.
func TestConsoleOpenedKeepsAChoiceWithinTheSession(t *testing.T) {
	for _, tt := range []struct {
		name          string
		before        store.Presence
		sessionGoesOn bool
		want          store.Presence
		wantEvent     chatv1alpha1.EventType
	}{
		{"signing in", store.PresenceOffline, false, store.PresenceOnline, "OperatorOnline"},
		{"signing in after choosing away last time", store.PresenceAway, false, store.PresenceOnline, "OperatorBack"},
		{"a reload after choosing offline", store.PresenceOffline, true, store.PresenceOffline, ""},
		{"a reload after choosing away", store.PresenceAway, true, store.PresenceAway, ""},
		{"a second tab", store.PresenceOnline, true, store.PresenceOnline, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, samples(t), t.TempDir())
			h.presence("alice", store.PresenceOnline)
			if tt.before != store.PresenceOnline {
				h.presence("alice", tt.before)
			}
			before := len(h.operatorEvents("alice"))
			if err := h.e.ConsoleOpened(ctx, "alice", tt.sessionGoesOn); err != nil {
				t.Fatal(err)
			}
			if got := h.presenceOf("alice").Presence; got != tt.want {
				t.Errorf("alice is %s, want %s", got, tt.want)
			}
			events := h.operatorEvents("alice")[before:]
			if tt.wantEvent == "" && len(events) > 0 || tt.wantEvent != "" && !slices.Equal(events, []chatv1alpha1.EventType{tt.wantEvent}) {
				t.Errorf("events %v, want %q", events, tt.wantEvent)
			}
		})
	}
}

// Choosing offline forwards (or drops) one's open chats at once; away keeps them.
func TestChoosingOfflineReleasesChats(t *testing.T) {
	for _, tt := range []struct {
		presence store.Presence
		want     store.State
	}{
		{store.PresenceAway, store.StateActive},
		{store.PresenceOffline, store.StateQueued},
	} {
		t.Run(string(tt.presence), func(t *testing.T) {
			h := newHarness(t, samples(t), t.TempDir())
			h.presence("alice", store.PresenceOnline)
			c := h.visit("v")
			if _, err := h.e.Take(ctx, "alice", c.ID); err != nil {
				t.Fatal(err)
			}
			h.presence("alice", tt.presence)
			if got := h.get(c.ID).State; got != tt.want {
				t.Errorf("alice went %s: her chat is %s, want %s", tt.presence, got, tt.want)
			}
		})
	}
}

// An operator an accept timeout made inactive takes no chat until they set
// themselves active, and is told how; GET /me's availability says why.
func TestInactiveOperatorCannotTakeChats(t *testing.T) {
	h := newHarness(t, samples(t), t.TempDir())
	h.presence("alice", store.PresenceOnline)
	c := h.visit("v")
	h.want(c, store.StateAssigned, "alice")
	h.clock.Advance(3 * time.Minute)
	h.settle() // alice lets it lapse
	h.want(c, store.StateQueued, "")

	me, err := h.e.Me(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if me.Active || !strings.Contains(me.InactiveReason, "did not accept chat "+c.ID) {
		t.Errorf("alice's availability %+v, want inactive with the chat she let lapse", *me.Availability)
	}
	if _, err := h.e.Take(ctx, "alice", c.ID); chat.KindOf(err) != chat.KindConflict || !strings.Contains(err.Error(), `PUT /api/v1/me/presence {"active":true}`) {
		t.Errorf("an inactive operator takes a chat: %v, want a conflict that says how to become active", err)
	}
	active := true
	if _, err := h.e.SetPresence(ctx, "alice", "", &active); err != nil {
		t.Fatalf(`{"active":true} alone: %v`, err)
	}
	if me, _ := h.e.Me(ctx, "alice"); !me.Active || me.InactiveReason != "" || me.Presence != store.PresenceOnline {
		t.Errorf("after setting herself active: %+v", *me.Availability)
	}
	h.settle()
	if _, err := h.e.Take(ctx, "alice", c.ID); err != nil {
		t.Errorf("active again, alice cannot take the chat: %v", err)
	}
}

// An operator at their limit lists no waiting chats and is told atLimit; below it,
// they see them again.
func TestOperatorAtLimitSeesNoNewChats(t *testing.T) {
	h := newHarness(t, samples(t), t.TempDir())
	h.presence("alice", store.PresenceOnline)
	me := &recorder{}
	h.hub.Subscribe(me, chat.TopicOperator("alice"))
	c1, c2 := h.visit("v1"), h.visit("v2")
	for _, c := range []store.Conversation{c1, c2} {
		if _, err := h.e.Take(ctx, "alice", c.ID); err != nil {
			t.Fatal(err)
		}
	}
	waiting := h.visit("v3") // alice's limit is 2
	h.want(waiting, store.StateQueued, "")
	if err := h.e.PublishAvailability(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		operator   string
		seesWaitng bool
	}{{"alice", false}, {"bob", true}, {"sam", true}} {
		list, err := h.e.Visible(ctx, tt.operator, nil)
		if err != nil {
			t.Fatal(err)
		}
		sees := slices.ContainsFunc(list, func(c store.Conversation) bool { return c.ID == waiting.ID })
		if sees != tt.seesWaitng {
			t.Errorf("%s sees the waiting chat: %v, want %v", tt.operator, sees, tt.seesWaitng)
		}
	}
	if !me.contains(`"atLimit":true`) {
		t.Errorf("alice's console was not told she is at her limit: %v", me.all())
	}
	if _, err := h.e.CloseConversation(ctx, "alice", c1.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.e.PublishAvailability(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if list, _ := h.e.Visible(ctx, "alice", nil); !slices.ContainsFunc(list, func(c store.Conversation) bool { return c.ID == waiting.ID }) {
		t.Error("below her limit again, alice does not see the waiting chat")
	}
	if !me.contains(`"atLimit":false`) {
		t.Errorf("alice's console was not told she is below her limit: %v", me.all())
	}
}

// A message left while nobody was online is routed like any chat once an operator
// of its queue is online and active: never a dead end.
func TestOfflineMessageIsRoutedOnceSomeoneIsOnline(t *testing.T) {
	h := newHarness(t, samples(t), t.TempDir())
	c := h.visit("v")
	h.want(c, store.StateMissed, "")
	h.presence("bob", store.PresenceOnline)
	h.settle()
	h.want(c, store.StateAssigned, "bob")
	if got := h.get(c.ID).QueuedAt; got == nil || !got.Equal(*c.QueuedAt) {
		t.Errorf("queued at %v, want when the visitor wrote (%v)", got, c.QueuedAt)
	}
}
