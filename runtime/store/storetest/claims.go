package storetest

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// claimScenario is one way claims contend for chats.
type claimScenario struct {
	name string
	// limits of the operators; each has claimers goroutines claiming for them.
	limits   map[string]int
	claimers int
	// handles the claimers are spread over, as replicas would be. With more claimers
	// than handles, an operator's claims also race within a handle.
	handles int
	// rounds: each adds more queued chats than there is room for, lets every claimer
	// race for all of them in its own shuffled order, then frees some of each
	// operator's chats so the next round races at the limit again.
	rounds int
}

var claimScenarios = []claimScenario{
	{name: "a limit of one", limits: map[string]int{"solo-a": 1, "solo-b": 1, "solo-c": 1}, claimers: 6, handles: 3, rounds: 12},
	{name: "different limits", limits: map[string]int{"mix-1": 1, "mix-2": 2, "mix-3": 3, "mix-5": 5}, claimers: 6, handles: 3, rounds: 8},
}

// testClaims races claims for the same operators through several handles. Every
// successful claim is checked as it returns, since an operator pushed past the limit
// stays there only until one of their chats closes.
func testClaims(t *testing.T, open Opener) {
	for i, sc := range claimScenarios {
		t.Run(sc.name, func(t *testing.T) { runClaimScenario(t, open, i, sc) })
	}
}

func runClaimScenario(t *testing.T, open Opener, seed int, sc claimScenario) {
	prefix := fmt.Sprintf("claim%d", seed)
	handles := make([]store.Store, sc.handles)
	for i := range handles {
		handles[i] = open(t)
	}
	s := handles[0]
	// The orders are reproducible; how the claims interleave is up to the scheduler.
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	ops := slices.Sorted(maps.Keys(sc.limits))
	ledger := &claimLedger{holder: map[string]string{}, held: map[string][]string{}}
	for round := range sc.rounds {
		room := 0
		for _, op := range ops {
			room += sc.limits[op] - len(ledger.held[op])
		}
		var convs []store.Conversation
		for n := range room + 3 {
			convs = append(convs, conversation(t, s, fmt.Sprintf("%s-r%d-%d", prefix, round, n), "first-line", store.StateQueued))
		}

		start := make(chan struct{})
		errs := make(chan error, len(ops)*sc.claimers)
		var wg sync.WaitGroup
		for o, op := range ops {
			for k := range sc.claimers {
				// Each operator's claimers go through different handles.
				h := handles[(o+k)%len(handles)]
				order := slices.Clone(convs)
				rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if err := claimAll(h, op, sc.limits[op], order, ledger); err != nil {
						errs <- err
					}
				}()
			}
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		if t.Failed() {
			t.FailNow()
		}

		// Every claimer tried every chat, and there were more chats than room: a claim
		// refused while its operator had room would leave them short.
		loads := must[map[string]int](t)(s.Loads(ctx))
		for _, op := range ops {
			if loads[op] != sc.limits[op] || len(ledger.held[op]) != sc.limits[op] {
				t.Errorf("round %d: %s holds %d chats (%d claims succeeded), want their limit of %d",
					round, op, loads[op], len(ledger.held[op]), sc.limits[op])
			}
		}
		for _, c := range convs {
			if got := must[store.Conversation](t)(s.Conversation(ctx, c.ID)); got.Operator != ledger.holder[c.ID] {
				t.Errorf("round %d: chat %s is held by %q, but %q claimed it", round, c.ID, got.Operator, ledger.holder[c.ID])
			}
		}
		if t.Failed() {
			t.FailNow()
		}

		for _, op := range ops {
			held := slices.Clone(ledger.held[op])
			for _, id := range held[:1+rng.IntN(len(held))] {
				release(t, s, id)
				ledger.released(op, id)
			}
		}
	}
	for _, op := range ops {
		lastAssigned(t, s, op) // fails the test if a claim recorded no assignment time
	}
}

// claimAll claims each chat in order for op, checking each claim that succeeds.
// Losing a chat to another claimer and being at the limit are expected refusals.
func claimAll(s store.Store, op string, limit int, order []store.Conversation, ledger *claimLedger) error {
	for _, c := range order {
		tr := claim(op, limit)
		tr.ID, tr.Version = c.ID, c.Version
		got, err := s.Transition(ctx, tr)
		switch {
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrLimit):
			continue
		case err != nil:
			return fmt.Errorf("%s claiming %s: %w", op, c.ID, err)
		case got.Operator != op:
			return fmt.Errorf("%s claimed %s, which came back held by %q", op, c.ID, got.Operator)
		}
		if err := ledger.claimed(op, c.ID, limit); err != nil {
			return err
		}
		held, err := s.Conversations(ctx, store.ConversationFilter{Operator: op, States: []store.State{store.StateAssigned, store.StateActive}})
		if err != nil {
			return err
		}
		if len(held) > limit || !slices.Contains(ids(held), c.ID) {
			return fmt.Errorf("right after %s claimed %s the store has them holding %v, limit %d", op, c.ID, ids(held), limit)
		}
	}
	return nil
}

// claimLedger records who holds what by the claims that succeeded. Nothing is released
// while claims race, and a claim commits before it returns, so the ledger is exact: an
// operator over their limit here was over it in the store.
type claimLedger struct {
	mu     sync.Mutex
	holder map[string]string   // chat → operator
	held   map[string][]string // operator → chats
}

func (l *claimLedger) claimed(op, id string, limit int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if other := l.holder[id]; other != "" {
		return fmt.Errorf("%s claimed chat %s, which %s holds", op, id, other)
	}
	l.holder[id] = op
	l.held[op] = append(l.held[op], id)
	if len(l.held[op]) > limit {
		return fmt.Errorf("%s holds %v, over their limit of %d", op, l.held[op], limit)
	}
	return nil
}

func (l *claimLedger) released(op, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.holder, id)
	l.held[op] = slices.DeleteFunc(l.held[op], func(h string) bool { return h == id })
}

// release closes a held chat, which frees its operator's place.
func release(t *testing.T, s store.Store, id string) {
	t.Helper()
	c := must[store.Conversation](t)(s.Conversation(ctx, id))
	must[store.Conversation](t)(s.Transition(ctx, store.Transition{ID: c.ID, Version: c.Version, Change: func(c *store.Conversation) {
		c.State, c.Operator = store.StateClosed, ""
	}}))
}

// testReclaim: accepting a chat one already holds goes through a claim too. It must
// pass at the limit, and it is not a new assignment for routing's tie-break.
func testReclaim(t *testing.T, open Opener) {
	s := open(t)
	claimFor := func(id string, version int64) (store.Conversation, error) {
		tr := claim("rhea", 2)
		tr.ID, tr.Version = id, version
		return s.Transition(ctx, tr)
	}
	var held []store.Conversation
	for i := range 2 {
		c := conversation(t, s, fmt.Sprintf("held-%d", i), "first-line", store.StateQueued)
		held = append(held, must[store.Conversation](t)(claimFor(c.ID, c.Version)))
	}
	third := conversation(t, s, "held-2", "first-line", store.StateQueued)
	if _, err := claimFor(third.ID, third.Version); !errors.Is(err, store.ErrLimit) {
		t.Errorf("a third chat at a limit of 2: %v, want ErrLimit", err)
	}
	before := lastAssigned(t, s, "rhea")
	time.Sleep(5 * time.Millisecond) // so that a new assignment would get a later time
	if _, err := claimFor(held[0].ID, held[0].Version); err != nil {
		t.Errorf("re-claiming a held chat at the limit: %v", err)
	}
	if after := lastAssigned(t, s, "rhea"); !after.Equal(before) {
		t.Errorf("accepting a held chat moved the last assignment time from %v to %v", before, after)
	}
}
