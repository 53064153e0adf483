package chat_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/hub"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

// propertyConfig is the samples plus a web channel into the AllAgents queue, and one
// operator of each queue answering the other queue too, so that limits have to count
// the chats of both.
func propertyConfig(t *testing.T) *config.Config {
	cfg := samples(t)
	for _, ch := range cfg.Channels {
		if ch.Name == "website" {
			ch.Name, ch.Queue = "accounting-web", "accounting"
			cfg.Channels = append(cfg.Channels, ch)
			break
		}
	}
	shared := map[string]string{"first-line": "dave", "accounting": "carol"}
	for i := range cfg.Queues {
		q := &cfg.Queues[i]
		if op := shared[q.Name]; op != "" && !slices.Contains(q.Operators, op) {
			q.Operators = append(q.Operators, op)
		}
	}
	return cfg
}

var propertyOperators = []string{"alice", "bob", "carol", "dave", "erin"}

// facts are what the reference model knows, read straight from the store and the
// configuration.
type facts struct {
	online, active map[string]bool
	// held counts the chats each operator holds (Assigned or Active) in every queue.
	held  map[string]int
	last  map[string]*time.Time
	limit map[string]int
}

func readFacts(ctx context.Context, s store.Store, cfg *config.Config) (facts, error) {
	f := facts{online: map[string]bool{}, active: map[string]bool{}, held: map[string]int{},
		last: map[string]*time.Time{}, limit: map[string]int{}}
	ops, err := s.Operators(ctx)
	if err != nil {
		return f, err
	}
	for _, o := range ops {
		f.online[o.Name], f.active[o.Name], f.last[o.Name] = o.Presence == store.PresenceOnline, o.Active, o.LastAssignedAt
	}
	all, err := s.Conversations(ctx, store.ConversationFilter{})
	if err != nil {
		return f, err
	}
	for _, c := range all {
		if c.State == store.StateAssigned || c.State == store.StateActive {
			f.held[c.Operator]++
		}
	}
	for _, q := range cfg.Queues {
		for _, op := range q.Operators {
			f.limit[op] = int(cfg.LiveChat.SimultaneousChats)
		}
	}
	for _, p := range cfg.People {
		f.limit[p.Name] = int(p.MaxChats)
	}
	return f, nil
}

// eligible: online, active, and fewer chats than the limit.
func (f facts) eligible(op string) bool {
	return f.online[op] && f.active[op] && f.held[op] < f.limit[op]
}

// allAgents is who a chat of q is offered to under AllAgents: every eligible operator.
func (f facts) allAgents(q *config.Queue) []string {
	var out []string
	for _, op := range q.Operators {
		if f.eligible(op) {
			out = append(out, op)
		}
	}
	slices.Sort(out)
	return out
}

// availableAgent is who gets a chat of q under AvailableAgent, narrowed step by step
// as the rule reads.
func (f facts) availableAgent(q *config.Queue, lapsed []string) (string, bool) {
	// Those who let this chat lapse get it again only when nobody else can take it.
	var fresh, again []string
	for _, op := range q.Operators {
		switch {
		case !f.eligible(op):
		case slices.Contains(lapsed, op):
			again = append(again, op)
		default:
			fresh = append(fresh, op)
		}
	}
	pool := fresh
	if len(pool) == 0 {
		pool = again
	}
	if len(pool) == 0 {
		return "", false
	}
	// The fewest chats in progress...
	fewest := f.held[pool[0]]
	for _, op := range pool {
		fewest = min(fewest, f.held[op])
	}
	pool = slices.DeleteFunc(pool, func(op string) bool { return f.held[op] != fewest })
	// ...then the longest without being assigned a chat; never beats any time...
	var oldest *time.Time
	never := false
	for _, op := range pool {
		switch last := f.last[op]; {
		case last == nil:
			never = true
		case oldest == nil || last.Before(*oldest):
			oldest = last
		}
	}
	pool = slices.DeleteFunc(pool, func(op string) bool {
		if never {
			return f.last[op] != nil
		}
		return f.last[op] == nil || !f.last[op].Equal(*oldest)
	})
	// ...then the first by name, so that the choice never depends on order.
	return slices.Min(pool), true
}

// describe lists what the model knew about q's operators, for failure messages.
func (f facts) describe(q *config.Queue) string {
	var b strings.Builder
	for _, op := range q.Operators {
		last := "never"
		if f.last[op] != nil {
			last = f.last[op].Format(time.TimeOnly)
		}
		fmt.Fprintf(&b, "\n\t%s: online=%v active=%v holds %d of %d, last assigned %s", op, f.online[op], f.active[op], f.held[op], f.limit[op], last)
	}
	return b.String()
}

func queueNamed(cfg *config.Config, name string) *config.Queue {
	for i := range cfg.Queues {
		if cfg.Queues[i].Name == name {
			return &cfg.Queues[i]
		}
	}
	return nil
}

// referee is the store the engine runs on here. It judges every claim routing makes
// against the reference model before passing it on: the store would refuse an
// operator who is full or inactive, and routing would quietly move on to the next one,
// so only the choice itself shows a wrong rule.
type referee struct {
	store.Store
	cfg *config.Config

	mu     sync.Mutex
	judged int
	faults []string
}

func (r *referee) Transition(ctx context.Context, t store.Transition) (store.Conversation, error) {
	if t.Claim != nil && t.Claim.Routed {
		r.judge(ctx, t)
	}
	return r.Store.Transition(ctx, t)
}

func (r *referee) judge(ctx context.Context, t store.Transition) {
	fault := func(format string, args ...any) {
		r.mu.Lock()
		r.faults = append(r.faults, fmt.Sprintf(format, args...))
		r.mu.Unlock()
	}
	c, err := r.Store.Conversation(ctx, t.ID)
	if err != nil {
		fault("reading chat %s: %v", t.ID, err)
		return
	}
	if c.Version != t.Version {
		return // routing read it before a change: the store refuses the claim anyway
	}
	f, err := readFacts(ctx, r.Store, r.cfg)
	if err != nil {
		fault("reading the facts: %v", err)
		return
	}
	r.mu.Lock()
	r.judged++
	r.mu.Unlock()
	q, op := queueNamed(r.cfg, c.Queue), t.Claim.Operator
	if q == nil || q.Rule != config.RoutingAvailableAgent {
		fault("routing claimed chat %s of queue %s for %s; only AvailableAgent queues assign", c.ID, c.Queue, op)
		return
	}
	switch want, ok := f.availableAgent(q, c.Lapsed); {
	case !ok:
		fault("chat %s went to %s, but nobody in %s may take it:%s", c.ID, op, q.Name, f.describe(q))
	case want != op:
		fault("chat %s went to %s, but the rule picks %s (lapsed: %v):%s", c.ID, op, want, c.Lapsed, f.describe(q))
	case t.Claim.Limit != f.limit[op]:
		fault("chat %s was claimed for %s with a limit of %d; theirs is %d", c.ID, op, t.Claim.Limit, f.limit[op])
	}
}

func (r *referee) takeFaults() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.faults
	r.faults = nil
	return out
}

// newRefereedHarness is newHarness with the engine on a referee.
func newRefereedHarness(t *testing.T, cfg *config.Config) (*harness, *referee) {
	h := &harness{t: t, clock: &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}, hub: hub.New()}
	s, err := sqlstore.OpenSQLite(ctx, t.TempDir(), sqlstore.Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ref := &referee{Store: s, cfg: cfg}
	h.s = ref
	h.e = chat.New(ref, h.hub, cfg, chat.Manual(chat.Options{Now: h.clock.Now}))
	t.Cleanup(h.close)
	return h, ref
}

// checkSettled asserts what must hold whenever routing has settled.
func checkSettled(t *testing.T, h *harness, ref *referee, cfg *config.Config, step int, firstAssigned map[string][]time.Time) {
	t.Helper()
	if faults := ref.takeFaults(); len(faults) > 0 {
		t.Fatalf("step %d: %s", step, strings.Join(faults, "\n"))
	}
	f, err := readFacts(ctx, h.s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for op, n := range f.held {
		if n > f.limit[op] {
			t.Fatalf("step %d: %s holds %d chats, over their limit of %d", step, op, n, f.limit[op])
		}
	}
	loads, err := h.s.Loads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(loads, f.held) {
		t.Fatalf("step %d: the store counts loads %v, its chats say %v", step, loads, f.held)
	}
	all, err := h.s.Conversations(ctx, store.ConversationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		held := c.State == store.StateAssigned || c.State == store.StateActive
		if c.State != store.StateClosed && held != (c.Operator != "") {
			t.Fatalf("step %d: chat %s is %s with operator %q", step, c.ID, c.State, c.Operator)
		}
	}
	for i := range cfg.Queues {
		q := &cfg.Queues[i]
		waiting, err := h.s.Conversations(ctx, store.ConversationFilter{Queues: []string{q.Name}, States: []store.State{store.StateQueued}})
		if err != nil {
			t.Fatal(err)
		}
		if len(waiting) == 0 {
			continue
		}
		if q.Rule == config.RoutingAllAgents {
			want := f.allAgents(q)
			for _, c := range waiting {
				if !slices.Equal(c.Offered, want) {
					t.Fatalf("step %d: chat %s is offered to %v, but %v are eligible:%s", step, c.ID, c.Offered, want, f.describe(q))
				}
			}
			continue
		}
		if name, ok := f.availableAgent(q, waiting[0].Lapsed); ok {
			t.Fatalf("step %d: chat %s waits in %s while %s could take it:%s", step, waiting[0].ID, q.Name, name, f.describe(q))
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
// time do. Every operator routing picks is checked against a reference model of the
// rule as it reads (online, active, under the limit across queues; fewest chats in
// progress; longest since the last assignment), and after every step: no operator over
// their limit, no eligible operator idle while a chat waits, AllAgents chats offered
// to exactly the eligible operators, first come first served in each queue.
func TestRoutingProperties(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			cfg := propertyConfig(t)
			h, ref := newRefereedHarness(t, cfg)
			rng := rand.New(rand.NewPCG(seed, 99))
			firstAssigned := map[string][]time.Time{}
			seen := map[string]bool{}
			h.e.OnEvent(func(n chat.Notification) {
				if n.Type == chatv1alpha1.EventChatAssigned && !seen[n.Conversation.ID] && n.Conversation.QueuedAt != nil {
					seen[n.Conversation.ID] = true
					firstAssigned[n.Conversation.Queue] = append(firstAssigned[n.Conversation.Queue], *n.Conversation.QueuedAt)
				}
			})
			var step int
			// Random actions are often refused (a chat taken meanwhile, a forward the
			// queue does not allow); anything but such a refusal is a failure.
			act := func(err error) {
				t.Helper()
				if err != nil && chat.KindOf(err) == 0 {
					t.Fatalf("step %d: %v", step, err)
				}
			}
			pickConv := func(states ...store.State) (store.Conversation, bool) {
				list, err := h.s.Conversations(ctx, store.ConversationFilter{States: states})
				if err != nil {
					t.Fatal(err)
				}
				if len(list) == 0 {
					return store.Conversation{}, false
				}
				return list[rng.IntN(len(list))], true
			}
			op := func() string { return propertyOperators[rng.IntN(len(propertyOperators))] }
			for step = range 300 {
				switch rng.IntN(10) {
				case 0, 1:
					channel := []string{"website", "accounting-web"}[rng.IntN(2)]
					o, err := h.e.Open(ctx, channel, chat.Identity{Name: fmt.Sprintf("v%d", step)})
					if err != nil {
						t.Fatal(err)
					}
					h.clock.Advance(time.Millisecond)
					_, _, err = h.e.InboundTo(ctx, o.Contact, o.Conversation.ID, "hi", "")
					act(err)
				case 2:
					h.presence(op(), []store.Presence{store.PresenceOnline, store.PresenceOnline, store.PresenceAway, store.PresenceOffline}[rng.IntN(4)])
				case 3:
					h.activate(op())
				case 4:
					if c, ok := pickConv(store.StateAssigned); ok {
						_, err := h.e.Take(ctx, c.Operator, c.ID)
						act(err)
					}
				case 5:
					if c, ok := pickConv(store.StateQueued, store.StateMissed); ok {
						_, err := h.e.Take(ctx, op(), c.ID)
						act(err)
					}
				case 6:
					if c, ok := pickConv(store.StateActive); ok {
						_, err := h.e.Reply(ctx, c.Operator, c.ID, "ok")
						act(err)
					}
				case 7:
					if c, ok := pickConv(store.StateActive); ok {
						_, err := h.e.CloseConversation(ctx, c.Operator, c.ID)
						act(err)
					}
				case 8:
					if c, ok := pickConv(store.StateActive, store.StateAssigned); ok {
						var err error
						if rng.IntN(2) == 0 {
							_, err = h.e.Forward(ctx, c.Operator, c.ID, op(), "")
						} else {
							_, err = h.e.Forward(ctx, c.Operator, c.ID, "", "accounting")
						}
						act(err)
					}
				case 9:
					h.clock.Advance(time.Duration(rng.IntN(150)) * time.Second)
				}
				h.settle()
				checkSettled(t, h, ref, cfg, step, firstAssigned)
			}
			// The referee must have had routing decisions to judge.
			if ref.judged < 20 {
				t.Fatalf("only %d routing decisions in 300 steps", ref.judged)
			}
			counts, err := h.s.CountByState(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("after 300 steps, %d routing decisions judged: %v", ref.judged, counts)
		})
	}
}
