package api

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/presence"
)

// Close codes that ask a client to connect again, beside the standard ones.
const (
	// closeSignedOut: the credential the connection was opened with no longer signs
	// this person in (a rotated token, an operator removed from the LiveChat, an
	// employee removed from the channel's client groups).
	closeSignedOut = 4001
	// closeReconfigured: the operator's queues or role changed; a new connection
	// carries the new set.
	closeReconfigured = 4009
	// closeResync: the runtime may have missed updates (its database connection was
	// lost and is back); a new connection starts from a fresh snapshot or ?after=.
	closeResync = 4012
)

// connection is what the server remembers of an open WebSocket to check it again when
// the configuration changes: who opened it with which credential. Visitors' widget
// tokens do not depend on the configuration, so they carry no credential.
type connection struct {
	credential string
	// session is the SHA-256 of the id of the console session the connection was
	// opened with, instead of a credential.
	session  string
	operator *chat.Me // an operator console
	channel  string   // an internal client's channel
	name     string   // an internal client's employee name
	contact  string   // a visitor's or internal client's contact id
	// addr is a widget visitor's address (addrKey) and holder whoever the connection's
	// token signs in ("contact:<id>", "operator:<name>"): what its caps count by.
	addr, holder string
}

// The cap a connection would pass, as admit tells.
const (
	capAddress = "address"
	capToken   = "token"
)

// connections are the WebSockets this server has open, and their reader goroutines,
// which shutdown waits for: a reader may be writing a message to the store.
type connections struct {
	mu      sync.Mutex
	open    map[*wsConn]connection
	closing bool
	readers sync.WaitGroup
	// byContact indexes the connections of visitors and internal clients;
	// byOperator counts operators' consoles.
	byContact  map[string]map[*wsConn]struct{}
	byOperator map[string]int
	// consolesChanged, when set, is called (on its own goroutine) after a console
	// opened or closed.
	consolesChanged func()
	// consoles tracks operators' consoles across replicas; nil until SetConsoles.
	consoles atomic.Pointer[presence.Tracker]
	// byAddr and byHolder count the connections admitted, open or opening, by address
	// and by token holder.
	byAddr, byHolder map[string]int
}

// admit counts a connection about to open, unless it would take its address past
// perAddress or its token's holder past perToken connections (0: no cap); then it
// counts nothing and names the cap. A connection admitted is released by remove, or
// by release if it never opens.
func (cs *connections) admit(c connection, perAddress, perToken int) string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c.addr != "" && perAddress > 0 && cs.byAddr[c.addr] >= perAddress {
		return capAddress
	}
	if c.holder != "" && perToken > 0 && cs.byHolder[c.holder] >= perToken {
		return capToken
	}
	if cs.byAddr == nil {
		cs.byAddr, cs.byHolder = map[string]int{}, map[string]int{}
	}
	if c.addr != "" {
		cs.byAddr[c.addr]++
	}
	if c.holder != "" {
		cs.byHolder[c.holder]++
	}
	return ""
}

// release uncounts a connection admit counted.
func (cs *connections) release(c connection) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.releaseLocked(c)
}

func (cs *connections) releaseLocked(c connection) {
	uncount := func(m map[string]int, key string) {
		if key == "" {
			return
		}
		if m[key]--; m[key] <= 0 {
			delete(m, key) // forgotten once closed: the maps hold open connections only
		}
	}
	uncount(cs.byAddr, c.addr)
	uncount(cs.byHolder, c.holder)
}

// add registers a connection and its reader goroutine, which must call remove when it
// ends. After shutdown began it registers nothing and reports false.
func (cs *connections) add(w *wsConn, c connection) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closing {
		return false
	}
	if cs.open == nil {
		cs.open = map[*wsConn]connection{}
	}
	cs.open[w] = c
	if c.contact != "" {
		if cs.byContact == nil {
			cs.byContact = map[string]map[*wsConn]struct{}{}
		}
		if cs.byContact[c.contact] == nil {
			cs.byContact[c.contact] = map[*wsConn]struct{}{}
		}
		cs.byContact[c.contact][w] = struct{}{}
	}
	if c.operator != nil {
		if cs.byOperator == nil {
			cs.byOperator = map[string]int{}
		}
		cs.byOperator[c.operator.Name]++
		cs.notifyConsoles()
	}
	cs.readers.Add(1)
	return true
}

// notifyConsoles calls consolesChanged, if set; under mu.
func (cs *connections) notifyConsoles() {
	if fn := cs.consolesChanged; fn != nil {
		go fn()
	}
}

func (cs *connections) remove(w *wsConn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c, ok := cs.open[w]; ok {
		delete(cs.open, w)
		if set := cs.byContact[c.contact]; set != nil {
			delete(set, w)
			if len(set) == 0 {
				delete(cs.byContact, c.contact)
			}
		}
		if c.operator != nil {
			if cs.byOperator[c.operator.Name]--; cs.byOperator[c.operator.Name] <= 0 {
				delete(cs.byOperator, c.operator.Name)
			}
			cs.notifyConsoles()
		}
		cs.releaseLocked(c)
		cs.readers.Done()
	}
}

// consoleOpen reports whether an operator has a console open here.
func (cs *connections) consoleOpen(name string) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.byOperator[name] > 0
}

// OperatorsConnected lists the operators with a console open here.
func (s *Server) OperatorsConnected() []string {
	s.conns.mu.Lock()
	defer s.conns.mu.Unlock()
	out := make([]string, 0, len(s.conns.byOperator))
	for name := range s.conns.byOperator {
		out = append(out, name)
	}
	return out
}

// OperatorConnected reports whether an operator has a console open here.
func (s *Server) OperatorConnected(name string) bool { return s.conns.consoleOpen(name) }

// contactOnline reports whether a contact has a connection open here.
func (cs *connections) contactOnline(id string) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.byContact[id]) > 0
}

// OnlineContacts lists the contacts (visitors, internal clients) with a connection
// open here.
func (s *Server) OnlineContacts() []string {
	s.conns.mu.Lock()
	defer s.conns.mu.Unlock()
	out := make([]string, 0, len(s.conns.byContact))
	for id, set := range s.conns.byContact {
		if len(set) > 0 {
			out = append(out, id)
		}
	}
	return out
}

// all lists the open connections.
func (cs *connections) all() []*wsConn {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	open := make([]*wsConn, 0, len(cs.open))
	for w := range cs.open {
		open = append(open, w)
	}
	return open
}

func (cs *connections) list() map[*wsConn]connection {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := make(map[*wsConn]connection, len(cs.open))
	for w, c := range cs.open {
		if c.credential != "" || c.session != "" {
			out[w] = c
		}
	}
	return out
}

// Reconfigured checks every open operator console and internal client against the
// configuration and credentials now in force, and closes those it no longer admits
// or whose queues changed, with a code that says why. Connections that still hold
// carry on untouched.
func (s *Server) Reconfigured() {
	for w, c := range s.conns.list() {
		name, err := s.verifier.Verify(c.credential)
		if c.session != "" { // the session names its operator, whose queues follow
			name, err = c.operator.Name, nil
		}
		switch {
		case err != nil:
			w.close(closeSignedOut, "your credential is no longer valid: sign in again")
		case c.operator != nil:
			me, err := s.engine.Operator(name)
			switch {
			case err != nil || name != c.operator.Name:
				w.close(closeSignedOut, "you are no longer an operator of this LiveChat")
			case !slices.Equal(me.Queues, c.operator.Queues) || me.Supervisor != c.operator.Supervisor:
				w.close(closeReconfigured, "your queues changed: reconnect to see the new ones")
			}
		case name != c.name || !s.engine.IsClient(c.channel, name):
			w.close(closeSignedOut, "you are no longer a client of this channel")
		}
	}
}

// Resync closes every WebSocket after the runtime may have missed updates, so each
// client reconnects and reads afresh what it shows.
func (s *Server) Resync() {
	for _, w := range s.conns.all() {
		w.close(closeResync, "updates may have been missed: reconnect to resume")
	}
}

// Shutdown closes every WebSocket with 1001 (going away), refuses new ones, and waits
// until their readers have finished what they were doing (a message being stored), so
// the store can close after it. It gives up when ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.conns.mu.Lock()
	s.conns.closing = true
	s.conns.mu.Unlock()
	for _, w := range s.conns.all() {
		w.close(websocket.CloseGoingAway, "the runtime is shutting down: reconnect")
	}
	done := make(chan struct{})
	go func() { s.conns.readers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("WebSocket readers still busy at shutdown: %w", ctx.Err())
	}
}
