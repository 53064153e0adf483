package chat_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Supervisors reassign chats to an operator of the chat's queue who can take it,
// and are told why not otherwise; the activity stream names who reassigned.
func TestReassign(t *testing.T) {
	for _, tt := range []struct {
		name     string
		actor    string
		target   string
		setup    func(h *harness)
		wantKind chat.Kind
		wantText string
	}{
		{name: "by a supervisor", actor: "sam", target: "bob"},
		{name: "by an operator", actor: "alice", target: "bob", wantKind: chat.KindForbidden, wantText: "only supervisors may reassign"},
		{name: "to an operator of another queue", actor: "sam", target: "dave", setup: func(h *harness) { h.presence("dave", store.PresenceOnline) },
			wantKind: chat.KindConflict, wantText: `dave does not answer queue "first-line"`},
		{name: "to an offline operator", actor: "sam", target: "carol", wantKind: chat.KindConflict, wantText: "carol is offline"},
		{name: "to nobody known", actor: "sam", target: "zed", wantKind: chat.KindNotFound, wantText: `"zed" does not exist`},
		{name: "to an operator at their limit", actor: "sam", target: "bob", setup: func(h *harness) {
			for _, v := range []string{"b1", "b2", "b3"} { // bob's limit is 3
				o, err := h.e.Open(ctx, "website", chat.Identity{Name: v})
				if err != nil {
					h.t.Fatal(err)
				}
				if _, err := h.e.Take(ctx, "bob", o.Conversation.ID); err != nil {
					h.t.Fatal(err)
				}
			}
		}, wantKind: chat.KindConflict, wantText: "bob already holds as many chats as their limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, samples(t), t.TempDir())
			h.presence("alice", store.PresenceOnline)
			h.presence("bob", store.PresenceOnline)
			if tt.setup != nil {
				tt.setup(h)
			}
			c := h.visit("v")
			h.want(c, store.StateAssigned, "alice")
			next, err := h.e.Reassign(ctx, tt.actor, c.ID, tt.target)
			if tt.wantKind != 0 {
				if chat.KindOf(err) != tt.wantKind || !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("reassign: %v, want kind %d saying %q", err, tt.wantKind, tt.wantText)
				}
				h.want(c, store.StateAssigned, "alice")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if next.State != store.StateAssigned || next.Operator != tt.target || next.AcceptDeadline == nil {
				t.Errorf("reassigned chat %+v, want assigned to %s awaiting acceptance", next, tt.target)
			}
			a := h.lastActivity(c.ID)
			if a.Actor != tt.actor || !strings.Contains(a.Detail, "reassigned from alice to bob by supervisor sam") {
				t.Errorf("activity %+v, want it to name the supervisor", a)
			}
		})
	}
}

// A supervisor takes a chat over: it is theirs, active at once, beyond their limit
// if need be; operators may not.
func TestTakeover(t *testing.T) {
	h := newHarness(t, samples(t), t.TempDir())
	h.presence("alice", store.PresenceOnline)
	c := h.visit("v")
	if _, err := h.e.Take(ctx, "alice", c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.e.Takeover(ctx, "bob", c.ID); chat.KindOf(err) != chat.KindForbidden {
		t.Errorf("an operator takes over: %v, want forbidden", err)
	}
	next, err := h.e.Takeover(ctx, "sam", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if next.State != store.StateActive || next.Operator != "sam" {
		t.Errorf("taken over chat is %s with %q, want active with sam", next.State, next.Operator)
	}
	if a := h.lastActivity(c.ID); a.Actor != "sam" || a.Detail != "taken over from alice by supervisor sam" {
		t.Errorf("activity %+v", a)
	}
	if _, err := h.e.Reply(ctx, "sam", c.ID, "Sam here"); err != nil {
		t.Errorf("the supervisor answers the chat they took over: %v", err)
	}
}

// The overview lists every queue's waiting chats, oldest first with their wait, and
// every operator's presence and load; only supervisors see it.
func TestOverview(t *testing.T) {
	h := newHarness(t, samples(t), t.TempDir())
	h.presence("alice", store.PresenceOnline)
	c1 := h.visit("v1")
	if _, err := h.e.Take(ctx, "alice", c1.ID); err != nil {
		t.Fatal(err)
	}
	h.presence("alice", store.PresenceAway)
	w := h.visit("v2") // a second passes
	h.clock.Advance(90 * time.Second)
	if _, err := h.e.Overview(ctx, "alice"); chat.KindOf(err) != chat.KindForbidden {
		t.Errorf("an operator reads the overview: %v, want forbidden", err)
	}
	o, err := h.e.Overview(ctx, "sam")
	if err != nil {
		t.Fatal(err)
	}
	var first *chat.QueueOverview
	for i := range o.Queues {
		if o.Queues[i].Name == "first-line" {
			first = &o.Queues[i]
		}
	}
	if first == nil || first.WaitingCount != 1 || len(first.Waiting) != 1 || first.Waiting[0].ID != w.ID || first.Waiting[0].WaitSeconds != 91 {
		t.Fatalf("first-line in the overview: %+v, want chat %s waiting 91 s", first, w.ID)
	}
	for _, op := range o.Operators {
		if op.Name == "alice" && (op.Presence != store.PresenceAway || op.Load != 1 || op.Limit != 2) {
			t.Errorf("alice in the overview: %+v", op)
		}
	}
}
