package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// testContactHistory: a contact's conversations, closed ones included, in the list's
// order, narrowed by queues and states, and no other contact's. (A contact has one
// open conversation per channel: the missed one is on another.)
func testContactHistory(t *testing.T, open Opener) {
	s := open(t)
	vera := contact(t, s, "vera")
	other := contact(t, s, "otto")
	at := time.Now()
	create := func(id, channel, queue, contactID string, state store.State) {
		t.Helper()
		at = at.Add(time.Second)
		queued := at
		must[store.Conversation](t)(s.CreateConversation(ctx, store.Conversation{ID: id, Channel: channel, Queue: queue,
			ContactID: contactID, State: state, QueuedAt: &queued}, store.Activity{Type: "ChatStarted", Actor: contactID}))
	}
	create("v-closed", "website", "first-line", vera.ID, store.StateClosed)
	create("o-closed", "website", "first-line", other.ID, store.StateClosed)
	create("v-missed", "staff-helpdesk", "accounting", vera.ID, store.StateMissed)
	create("v-open", "website", "first-line", vera.ID, store.StateActive)

	tests := []struct {
		name   string
		filter store.ConversationFilter
		want   []string
	}{
		{"every state", store.ConversationFilter{ContactID: vera.ID}, []string{"v-closed", "v-missed", "v-open"}},
		{"the queues seen", store.ConversationFilter{ContactID: vera.ID, Queues: []string{"first-line"}}, []string{"v-closed", "v-open"}},
		{"closed ones", store.ConversationFilter{ContactID: vera.ID, States: []store.State{store.StateClosed}}, []string{"v-closed"}},
		{"the other contact", store.ConversationFilter{ContactID: other.ID, Queues: []string{"first-line", "accounting"}}, []string{"o-closed"}},
		{"a page", store.ConversationFilter{ContactID: vera.ID, Limit: 2}, []string{"v-closed", "v-missed"}},
	}
	for _, tt := range tests {
		if got := ids(must[[]store.Conversation](t)(s.Conversations(ctx, tt.filter))); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
