package chat_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/routing"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// propertyConfig is the samples plus a web channel into the AllAgents queue.
func propertyConfig(t *testing.T) *config.Config {
	cfg := samples(t)
	for _, ch := range cfg.Channels {
		if ch.Name == "website" {
			ch.Name, ch.Queue = "accounting-web", "accounting"
			cfg.Channels = append(cfg.Channels, ch)
			break
		}
	}
	return cfg
}

var propertyOperators = []string{"alice", "bob", "carol", "dave", "erin"}

// checkInvariants asserts what must hold whenever routing has settled.
func checkInvariants(t *testing.T, h *harness, cfg *config.Config, step int, firstAssigned map[string][]time.Time) {
	t.Helper()
	loads, err := h.s.Loads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ops, _ := h.s.Operators(ctx)
	byName := map[string]store.Operator{}
	for _, o := range ops {
		byName[o.Name] = o
	}
	limit := map[string]int{}
	for _, p := range cfg.People {
		limit[p.Name] = int(p.MaxChats)
	}
	for op, n := range loads {
		if n > limit[op] {
			t.Fatalf("step %d: %s holds %d chats, over their limit of %d", step, op, n, limit[op])
		}
	}
	all, _ := h.s.Conversations(ctx, store.ConversationFilter{})
	for _, c := range all {
		held := c.State == store.StateAssigned || c.State == store.StateActive
		if held != (c.Operator != "" && c.State.Open()) && c.State != store.StateClosed {
			t.Fatalf("step %d: chat %s is %s with operator %q", step, c.ID, c.State, c.Operator)
		}
	}
	for _, q := range cfg.Queues {
		waiting, _ := h.s.Conversations(ctx, store.ConversationFilter{Queues: []string{q.Name}, States: []store.State{store.StateQueued}})
		if len(waiting) == 0 {
			continue
		}
		var cands []routing.Candidate
		for _, name := range q.Operators {
			o, known := byName[name]
			cands = append(cands, routing.Candidate{Name: name, Online: known && o.Presence == store.PresenceOnline,
				Active: !known || o.Active, Load: loads[name], Limit: limit[name], LastAssigned: o.LastAssignedAt})
		}
		if q.Rule == config.RoutingAllAgents {
			offer := routing.OfferAll(cands)
			for _, c := range waiting {
				if !slices.Equal(c.Offered, offer) {
					t.Fatalf("step %d: chat %s is offered to %v, but %v are eligible", step, c.ID, c.Offered, offer)
				}
			}
			continue
		}
		if name, ok := routing.PickAvailable(cands, waiting[0].Lapsed); ok {
			t.Fatalf("step %d: chat %s waits in %s while %s could take it", step, waiting[0].ID, q.Name, name)
		}
	}
	for q, times := range firstAssigned {
		for i := 1; i < len(times); i++ {
			if times[i].Before(times[i-1]) {
				t.Fatalf("step %d: queue %s assigned a newer chat before an older one", step, q)
			}
		}
	}
}

// TestRoutingProperties runs long random sequences of what visitors, operators and
// time do, and checks the invariants after every step: no operator over their limit,
// no chat held by two operators, no eligible operator idle while a chat waits, first
// come first served in each queue.
func TestRoutingProperties(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			cfg := propertyConfig(t)
			h := newHarness(t, cfg, t.TempDir())
			rng := rand.New(rand.NewPCG(seed, 99))
			firstAssigned := map[string][]time.Time{}
			seen := map[string]bool{}
			h.e.OnEvent(func(n chat.Notification) {
				if n.Type == chatv1alpha1.EventChatAssigned && !seen[n.Conversation.ID] && n.Conversation.QueuedAt != nil {
					seen[n.Conversation.ID] = true
					firstAssigned[n.Conversation.Queue] = append(firstAssigned[n.Conversation.Queue], *n.Conversation.QueuedAt)
				}
			})
			pickConv := func(states ...store.State) (store.Conversation, bool) {
				list, _ := h.s.Conversations(ctx, store.ConversationFilter{States: states})
				if len(list) == 0 {
					return store.Conversation{}, false
				}
				return list[rng.IntN(len(list))], true
			}
			op := func() string { return propertyOperators[rng.IntN(len(propertyOperators))] }
			for step := range 300 {
				switch rng.IntN(10) {
				case 0, 1:
					channel := []string{"website", "accounting-web"}[rng.IntN(2)]
					o, err := h.e.Open(ctx, channel, chat.Identity{Name: fmt.Sprintf("v%d", step)})
					if err != nil {
						t.Fatal(err)
					}
					h.clock.Advance(time.Millisecond)
					_, _, _ = h.e.InboundTo(ctx, o.Contact, o.Conversation.ID, "hi", "")
				case 2:
					h.presence(op(), []store.Presence{store.PresenceOnline, store.PresenceOnline, store.PresenceAway, store.PresenceOffline}[rng.IntN(4)])
				case 3:
					h.activate(op())
				case 4:
					if c, ok := pickConv(store.StateAssigned); ok {
						_, _ = h.e.Take(ctx, c.Operator, c.ID)
					}
				case 5:
					if c, ok := pickConv(store.StateQueued, store.StateMissed); ok {
						_, _ = h.e.Take(ctx, op(), c.ID)
					}
				case 6:
					if c, ok := pickConv(store.StateActive); ok {
						_, _ = h.e.Reply(ctx, c.Operator, c.ID, "ok")
					}
				case 7:
					if c, ok := pickConv(store.StateActive); ok {
						_, _ = h.e.CloseConversation(ctx, c.Operator, c.ID)
					}
				case 8:
					if c, ok := pickConv(store.StateActive, store.StateAssigned); ok {
						if rng.IntN(2) == 0 {
							_, _ = h.e.Forward(ctx, c.Operator, c.ID, op(), "")
						} else {
							_, _ = h.e.Forward(ctx, c.Operator, c.ID, "", "accounting")
						}
					}
				case 9:
					h.clock.Advance(time.Duration(rng.IntN(150)) * time.Second)
				}
				h.settle()
				checkInvariants(t, h, cfg, step, firstAssigned)
			}
			counts, _ := h.s.CountByState(ctx)
			t.Logf("after 300 steps: %v", counts)
		})
	}
}
