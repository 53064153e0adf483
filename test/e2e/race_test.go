package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestTwoProcessesRaceForClaimsOnPostgres: two runtime processes share one database.
// 200 chats arrive through both at once; both route the same queue, so their claims
// race, and each operator accepts through both processes at once, so the accepts race
// too. No chat may be accepted twice, nobody may go over their limit, and every chat
// the limits allow must be taken.
func TestTwoProcessesRaceForClaimsOnPostgres(t *testing.T) {
	dir := postgresManifests(t)
	edit(t, dir, "livechat.yaml", "simultaneousChats: 2", "simultaneousChats: 50") // alice and carol
	edit(t, dir, "operatorgroups.yaml", "maxChats: 3", "maxChats: 40")             // bob
	limits := map[string]int{"alice": 50, "bob": 40, "carol": 50}
	tokens := map[string]string{"alice": alice, "bob": bob, "carol": carol}
	const chats, capacity = 200, 140
	_, a := runtimeProcess(t, dir, t.TempDir(), freeAddr(t))
	_, b := runtimeProcess(t, dir, t.TempDir(), freeAddr(t))
	replicas := []*runtime{a, b}
	online(t, a, alice)
	online(t, b, bob)
	online(t, a, carol)

	var mu sync.Mutex
	accepted := map[string][]string{} // conversation → operators whose accept succeeded
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	stop := make(chan struct{})
	var operators sync.WaitGroup
	for name, token := range tokens {
		for _, rt := range replicas {
			operators.Add(1)
			go func() {
				defer operators.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					var list struct {
						Conversations []struct{ ID, Operator string }
					}
					if _, err := request("GET", rt.base+"/api/v1/conversations?state=Assigned", token, nil, &list); err != nil {
						fail(err)
						return
					}
					for _, c := range list.Conversations {
						if c.Operator != name {
							continue
						}
						code, err := request("POST", rt.base+"/api/v1/conversations/"+c.ID+"/accept", token, nil, nil)
						switch {
						case err != nil:
							fail(err)
							return
						case code == http.StatusOK:
							mu.Lock()
							accepted[c.ID] = append(accepted[c.ID], name)
							mu.Unlock()
						case code != http.StatusConflict:
							fail(fmt.Errorf("%s accepting %s: %d", name, c.ID, code))
						}
					}
					time.Sleep(5 * time.Millisecond)
				}
			}()
		}
	}

	var visitors sync.WaitGroup
	for w := range 20 {
		visitors.Add(1)
		go func() {
			defer visitors.Done()
			for i := range chats / 20 {
				rt := replicas[(w+i)%2]
				var out visitorOpen
				code, err := request("POST", rt.base+"/api/v1/channels/website/conversations", "",
					map[string]string{"name": fmt.Sprintf("v%d-%d", w, i), "email": "visitor@example.com", "text": "hello"}, &out, "Origin", origin)
				if err != nil || code != http.StatusCreated {
					fail(fmt.Errorf("opening a chat: %d %v", code, err))
				}
			}
		}()
	}
	visitors.Wait()

	type state struct{ active, assigned, queued int }
	count := func() (state, map[string]int) {
		var list struct {
			Conversations []struct{ State, Operator string }
		}
		call(t, "GET", a.base+"/api/v1/conversations?state=Queued,Assigned,Active", sam, nil, &list)
		var s state
		held := map[string]int{}
		for _, c := range list.Conversations {
			switch c.State {
			case "Active":
				s.active++
				held[c.Operator]++
			case "Assigned":
				s.assigned++
				held[c.Operator]++
			case "Queued":
				s.queued++
			}
		}
		return s, held
	}
	var s state
	var held map[string]int
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		s, held = count()
		if s.active == capacity && s.assigned == 0 {
			break
		}
		if time.Now().After(deadline) {
			break
		}
	}
	close(stop)
	operators.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if s.active != capacity || s.queued != chats-capacity {
		t.Errorf("%d active, %d assigned, %d queued; want %d active and %d waiting", s.active, s.assigned, s.queued, capacity, chats-capacity)
	}
	for name, n := range held {
		if n > limits[name] {
			t.Errorf("%s holds %d chats, over the limit of %d", name, n, limits[name])
		}
	}
	doubles := 0
	for id, by := range accepted {
		if len(by) > 1 {
			doubles++
			t.Errorf("chat %s accepted %d times: %v", id, len(by), by)
		}
	}
	if len(accepted) != capacity {
		t.Errorf("%d chats accepted, want %d", len(accepted), capacity)
	}
	t.Logf("%d chats through two processes: %d accepted once each, %d waiting; held %v", chats, len(accepted), s.queued, held)
}
