package chat

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// The change feed announces a commit after this replica tracked a later state of the
// same conversation (its own commit); the stale state must not move or drop the deadline.
func TestDeadlinesIgnoreStaleStates(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	later := at.Add(time.Hour)
	accepted := store.Conversation{ID: "c", State: store.StateActive, Version: 4, Seq: 2}
	replied := accepted
	replied.Seq, replied.CompletionDeadline = 3, &at
	moved := replied
	moved.Version, moved.CompletionDeadline = 5, &later
	closed := moved
	closed.Version, closed.State, closed.CompletionDeadline = 6, store.StateClosed, nil

	tests := []struct {
		name  string
		steps []store.Conversation
		due   time.Time
		want  []string
	}{
		{"in order", []store.Conversation{accepted, replied}, at, []string{"c"}},
		{"accept announced after the reply", []store.Conversation{accepted, replied, accepted}, at, []string{"c"}},
		{"the same state twice", []store.Conversation{replied, replied}, at, []string{"c"}},
		{"reply announced after the move", []store.Conversation{moved, replied}, at, nil},
		{"moved deadline fires later", []store.Conversation{replied, moved, replied}, later, []string{"c"}},
		{"closed forgets", []store.Conversation{replied, closed}, later, nil},
		{"closed, then a stale state", []store.Conversation{moved, closed, replied}, at, []string{"c"}}, // fire() re-reads and finds it closed
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeadlines()
			for i := range tt.steps {
				d.track(&tt.steps[i])
			}
			if got := d.due(tt.due); !slices.Equal(got, tt.want) {
				t.Errorf("due at %s: %v, want %v", tt.due.Format(time.Kitchen), got, tt.want)
			}
		})
	}
}

// Only a change of what routing depends on (state, queue, operator) costs a routing
// pass; a reply that moved the completion deadline does not.
func TestRoutingPassesOnlyForChangesThatMoveSomething(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	queued := store.Conversation{ID: "c", State: store.StateQueued, Queue: "first-line"}
	assigned := queued
	assigned.State, assigned.Operator = store.StateAssigned, "alice"
	active := assigned
	active.State = store.StateActive
	replied := active
	replied.CompletionDeadline = &at
	forwarded := active
	forwarded.Queue, forwarded.State, forwarded.Operator = "accounting", store.StateQueued, ""
	closed := forwarded
	closed.State = store.StateClosed

	d := newDispatcher()
	for _, step := range []struct {
		name string
		c    store.Conversation
		want bool
	}{
		{"first seen", queued, true},
		{"the same again", queued, false},
		{"assigned", assigned, true},
		{"accepted", active, true},
		{"a reply moved the deadline", replied, false},
		{"forwarded to another queue", forwarded, true},
		{"closed", closed, true},
		{"closed: forgotten", closed, true},
	} {
		if got := d.moved(&step.c); got != step.want {
			t.Errorf("%s: moved %v, want %v", step.name, got, step.want)
		}
	}
	if len(d.facts) != 0 {
		t.Errorf("closed conversations are remembered: %v", d.facts)
	}
}
