package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The load of TestKilledMidConversationLosesNothing, and the ledger of what the
// runtime acknowledged under it.

// killPad makes messages long enough that a commit carries several pages.
var killPad = strings.Repeat("x", 1000)

// roundLedger is everything one runtime process acknowledged.
type roundLedger struct {
	mu          sync.Mutex
	messages    []ackedMessage
	transitions []ackedTransition
	n           struct{ http, ws, reply, take, close, unexpected int }
	// unread lists acknowledged messages that a read right after the answer did not
	// find: the runtime answered before it committed.
	unread []string
	// killAt is when the process dies: right after the first answer to a write once
	// this many writes were acknowledged.
	killAt int
	kill   func()
	killed sync.Once
}

// ackedMessage is a message the runtime acknowledged: over HTTP with its conversation
// and sequence number; over a visitor's WebSocket by the message event carrying it,
// which names no conversation, so it is one of the visitor's.
type ackedMessage struct {
	conv    string
	visitor *wsVisitor
	seq     int64
	text    string
}

// ackedTransition is a take or a close the runtime answered 200 to.
type ackedTransition struct {
	conv, event, actor string
	version            int64
	closed             bool
}

// wsVisitor is a visitor writing over their WebSocket, with every conversation the
// runtime told them about: a message after their chat was closed starts a new one.
type wsVisitor struct {
	token string
	mu    sync.Mutex
	convs []string
}

func (v *wsVisitor) follow(id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !slices.Contains(v.convs, id) {
		v.convs = append(v.convs, id)
	}
}

func (v *wsVisitor) conversations() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.convs)
}

// message records an acknowledged message; answered when the acknowledgement was
// the answer to the request that wrote it.
func (l *roundLedger) message(m ackedMessage, counter *int, answered bool) {
	l.mu.Lock()
	l.messages = append(l.messages, m)
	*counter++
	l.mu.Unlock()
	if answered {
		l.answered()
	}
}

func (l *roundLedger) transition(tr ackedTransition, counter *int) {
	l.mu.Lock()
	l.transitions = append(l.transitions, tr)
	*counter++
	l.mu.Unlock()
	l.answered()
}

// answered kills the process once killAt writes were acknowledged, right as an answer
// arrives: the moment a write answered before its commit is most likely lost.
func (l *roundLedger) answered() {
	l.mu.Lock()
	due := len(l.messages)+len(l.transitions) >= l.killAt
	l.mu.Unlock()
	if due {
		l.killed.Do(l.kill)
	}
}

func (l *roundLedger) notRead(what string) {
	l.mu.Lock()
	l.unread = append(l.unread, what)
	l.mu.Unlock()
}

func (l *roundLedger) unexpected() {
	l.mu.Lock()
	l.n.unexpected++
	l.mu.Unlock()
}

func (l *roundLedger) add(o *roundLedger) {
	l.n.http += o.n.http
	l.n.ws += o.n.ws
	l.n.reply += o.n.reply
	l.n.take += o.n.take
	l.n.close += o.n.close
	l.n.unexpected += o.n.unexpected
}

func (l *roundLedger) summary() string {
	return fmt.Sprintf("acknowledged: %d visitor messages over HTTP, %d over WebSockets, %d operator replies, %d takes, %d closes (%d other answers)",
		l.n.http, l.n.ws, l.n.reply, l.n.take, l.n.close, l.n.unexpected)
}

// load drives one runtime process until it dies.
type load struct {
	rt     *runtime
	round  int
	client *http.Client
	l      *roundLedger
}

// runLoad runs visitors over HTTP, visitors over WebSockets and the operators of the
// first-line queue against rt, kills the process with kill right after the first
// answer once killAt writes were acknowledged (or after a minute, should the load
// stall), and returns what the runtime acknowledged once every client has seen it go.
func runLoad(t *testing.T, rt *runtime, round, killAt int, kill func()) *roundLedger {
	t.Helper()
	ld := &load{rt: rt, round: round, l: &roundLedger{killAt: killAt, kill: kill},
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	defer ld.client.CloseIdleConnections()
	operators := map[string]string{"alice": alice, "bob": bob, "carol": carol}
	for _, token := range operators {
		// Online before the first chat, so chats are routed rather than left as
		// offline messages.
		if code := call(t, "PUT", rt.base+"/api/v1/me/presence", token, map[string]any{"presence": "online", "active": true}, nil); code != http.StatusOK {
			t.Fatalf("going online: %d", code)
		}
	}
	var wg sync.WaitGroup
	for name, token := range operators {
		wg.Go(func() { ld.operator(name, token) })
	}
	for i := range killVisitors {
		wg.Go(func() { ld.httpVisitor(i) })
	}
	for i := range killWebSocket {
		wg.Go(func() { ld.wsVisitor(i) })
	}
	stall := time.AfterFunc(time.Minute, func() { ld.l.killed.Do(kill) })
	defer stall.Stop()
	wg.Wait()
	return ld.l
}

// do makes a request; err is set when the runtime did not answer.
func (ld *load) do(method, path, token string, body any, out any, headers ...string) (int, error) {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, ld.rt.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := ld.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			return 0, err
		}
	}
	return res.StatusCode, nil
}

// open starts a visitor's conversation with a first message.
func (ld *load) open(name, text string) (token, conv string, ok bool) {
	var out struct {
		Token        string
		Conversation struct{ ID string }
		Message      struct{ Seq int64 }
	}
	code, err := ld.do("POST", "/api/v1/channels/website/conversations", "", map[string]string{"name": name, "email": "visitor@example.com", "text": text}, &out, "Origin", origin)
	if err != nil {
		return "", "", false
	}
	if code != http.StatusCreated {
		ld.l.unexpected()
		return "", "", false
	}
	ld.l.message(ackedMessage{conv: out.Conversation.ID, seq: out.Message.Seq, text: text}, &ld.l.n.http, true)
	return out.Token, out.Conversation.ID, true
}

func (ld *load) text(who string, n int) string {
	return fmt.Sprintf("r%d %s #%d %s", ld.round, who, n, killPad)
}

// httpVisitor writes one message after another over HTTP, following their chat into a
// new one when an operator closed it, and reads each message back as soon as it is
// acknowledged.
func (ld *load) httpVisitor(i int) {
	who := fmt.Sprintf("h%d", i)
	text := ld.text(who, 0)
	token, conv, ok := ld.open("Visitor "+who, text)
	if !ok {
		return
	}
	for n := 1; ; n++ {
		text := ld.text(who, n)
		var out struct {
			Message      struct{ Seq int64 }
			Conversation struct{ ID string }
		}
		code, err := ld.do("POST", "/api/v1/channels/website/conversations/"+conv+"/messages", token, map[string]string{"text": text}, &out)
		switch {
		case err != nil:
			return
		case code != http.StatusCreated:
			ld.l.unexpected()
			continue
		}
		conv = out.Conversation.ID
		ld.l.message(ackedMessage{conv: conv, seq: out.Message.Seq, text: text}, &ld.l.n.http, true)
		// Acknowledged means committed: a read from now on finds it.
		var page struct{ Messages []struct{ Seq int64 } }
		code, err = ld.do("GET", fmt.Sprintf("/api/v1/channels/website/conversations/%s/messages?after=%d", conv, out.Message.Seq-1), token, nil, &page)
		switch {
		case err != nil:
			return
		case code != http.StatusOK || len(page.Messages) == 0 || page.Messages[0].Seq != out.Message.Seq:
			ld.l.notRead(fmt.Sprintf("message %q (seq %d of %s): %d, %d messages", strings.TrimSuffix(text, " "+killPad), out.Message.Seq, conv, code, len(page.Messages)))
		}
	}
}

// wsVisitor opens a chat over HTTP and then writes over the conversation's WebSocket;
// a message counts as acknowledged when its event comes back.
func (ld *load) wsVisitor(i int) {
	who := fmt.Sprintf("w%d", i)
	token, conv, ok := ld.open("Visitor "+who, ld.text(who, 0))
	if !ok {
		return
	}
	v := &wsVisitor{token: token, convs: []string{conv}}
	q := url.Values{"conversation": {conv}, "after": {"1"}, "access_token": {token}}
	c, _, err := websocket.DefaultDialer.Dial(wsURL(ld.rt.base, "/api/v1/channels/website/ws", q), http.Header{"Origin": {origin}})
	if err != nil {
		return
	}
	defer c.Close()
	mine := fmt.Sprintf("r%d %s #", ld.round, who)
	read := make(chan struct{})
	go func() {
		defer close(read)
		defer c.Close() // and the writer stops
		for {
			var ev struct {
				Type    string
				Message *struct {
					Seq       int64
					Direction string
					Text      string
				}
				Conversation *struct{ ID string }
			}
			if err := c.ReadJSON(&ev); err != nil {
				return
			}
			switch {
			case ev.Type == "conversation" && ev.Conversation != nil:
				v.follow(ev.Conversation.ID)
			case ev.Type == "message" && ev.Message != nil && ev.Message.Direction == "in" && strings.HasPrefix(ev.Message.Text, mine):
				ld.l.message(ackedMessage{visitor: v, seq: ev.Message.Seq, text: ev.Message.Text}, &ld.l.n.ws, false)
			}
		}
	}()
	for n := 1; ; n++ {
		if err := c.WriteJSON(map[string]string{"type": "message", "text": ld.text(who, n)}); err != nil {
			break
		}
		time.Sleep(time.Millisecond) // below the runtime's rate limit of 1,000/s
	}
	// The runtime is gone: the reader ends with the connection, after the events
	// the runtime wrote before it went.
	<-read
}

// operator takes the chats of the first-line queue that are waiting or assigned to
// them, answers each and closes it.
func (ld *load) operator(name, token string) {
	n := 0
	for {
		var list struct {
			Conversations []struct{ ID, State, Operator string }
		}
		code, err := ld.do("GET", "/api/v1/conversations?state=Queued,Assigned,Active,Missed", token, nil, &list)
		if err != nil {
			return
		}
		if code != http.StatusOK {
			ld.l.unexpected()
			continue
		}
		rand.Shuffle(len(list.Conversations), func(i, j int) {
			list.Conversations[i], list.Conversations[j] = list.Conversations[j], list.Conversations[i]
		})
		worked := false
		for _, c := range list.Conversations {
			switch {
			case c.State == "Queued", c.State == "Missed", c.State == "Assigned" && c.Operator == name:
				if !ld.transition(name, token, c.ID, "take", "ChatAccepted", &ld.l.n.take) {
					continue
				}
			case c.State == "Active" && c.Operator == name:
			default:
				continue
			}
			worked = true
			n++
			text := ld.text(name, n)
			var m struct{ Seq int64 }
			code, err := ld.do("POST", "/api/v1/conversations/"+c.ID+"/messages", token, map[string]string{"text": text}, &m)
			switch {
			case err != nil:
				return
			case code == http.StatusCreated:
				ld.l.message(ackedMessage{conv: c.ID, seq: m.Seq, text: text}, &ld.l.n.reply, true)
			default:
				ld.l.unexpected()
			}
			ld.transition(name, token, c.ID, "close", "ChatFinished", &ld.l.n.close)
		}
		if !worked {
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// transition takes or closes a chat and records it when the runtime says it did.
func (ld *load) transition(name, token, conv, verb, event string, counter *int) bool {
	var c struct {
		State   string
		Version int64
	}
	code, err := ld.do("POST", "/api/v1/conversations/"+conv+"/"+verb, token, nil, &c)
	switch {
	case err != nil:
		return false
	case code == http.StatusOK:
		ld.l.transition(ackedTransition{conv: conv, event: event, actor: name, version: c.Version, closed: c.State == "Closed"}, counter)
		return true
	case code != http.StatusConflict: // someone else was first
		ld.l.unexpected()
	}
	return false
}

// storedConversation is a conversation as a restarted runtime has it.
type storedConversation struct {
	found    bool
	state    string
	version  int64
	texts    map[int64]string // by sequence number
	activity map[string]bool  // "ChatAccepted by alice"
}

// readConversation reads a conversation, all its messages and its activity, as the
// supervisor.
func readConversation(t *testing.T, rt *runtime, id string) *storedConversation {
	t.Helper()
	var c struct {
		State   string
		Version int64
	}
	switch code := call(t, "GET", rt.base+"/api/v1/conversations/"+id, sam, nil, &c); code {
	case http.StatusOK:
	case http.StatusNotFound:
		return &storedConversation{}
	default:
		t.Fatalf("reading conversation %s: %d", id, code)
	}
	s := &storedConversation{found: true, state: c.State, version: c.Version, texts: map[int64]string{}, activity: map[string]bool{}}
	for after := int64(0); ; {
		var page struct {
			Messages []struct {
				Seq  int64
				Text string
			}
		}
		if code := call(t, "GET", fmt.Sprintf("%s/api/v1/conversations/%s/messages?after=%d", rt.base, id, after), sam, nil, &page); code != http.StatusOK {
			t.Fatalf("reading the messages of %s: %d", id, code)
		}
		if len(page.Messages) == 0 {
			break
		}
		for _, m := range page.Messages {
			s.texts[m.Seq] = m.Text
			after = max(after, m.Seq)
		}
	}
	var acts struct {
		Activity []struct{ Type, Actor string }
	}
	if code := call(t, "GET", rt.base+"/api/v1/conversations/"+id+"/activity", sam, nil, &acts); code != http.StatusOK {
		t.Fatalf("reading the activity of %s: %d", id, code)
	}
	for _, a := range acts.Activity {
		s.activity[a.Type+" by "+a.Actor] = true
	}
	return s
}

// verifyLedger checks that rt, restarted on the killed process's data, has everything
// that process acknowledged, and returns how many conversations it read.
func verifyLedger(t *testing.T, rt *runtime, l *roundLedger) int {
	t.Helper()
	convs := map[string]*storedConversation{}
	get := func(id string) *storedConversation {
		if s, ok := convs[id]; ok {
			return s
		}
		s := readConversation(t, rt, id)
		convs[id] = s
		return s
	}
	for i, what := range l.unread {
		if i == 20 {
			t.Errorf("... and %d more", len(l.unread)-i)
			break
		}
		t.Errorf("acknowledged, and not there when read right after the answer: %s", what)
	}
	var lost []string
	short := func(text string) string { return strings.TrimSuffix(text, " "+killPad) }
	for _, m := range l.messages {
		has := func(id string) bool { return get(id).texts[m.seq] == m.text }
		if m.visitor == nil {
			if s := get(m.conv); !s.found {
				lost = append(lost, fmt.Sprintf("message %q (seq %d): its conversation %s is gone", short(m.text), m.seq, m.conv))
			} else if !has(m.conv) {
				lost = append(lost, fmt.Sprintf("message %q: conversation %s has %q at seq %d", short(m.text), m.conv, short(s.texts[m.seq]), m.seq))
			}
			continue
		}
		if slices.ContainsFunc(m.visitor.conversations(), has) {
			continue
		}
		// The message may have started a conversation whose event the visitor never
		// got: the visitor's open conversation is the one.
		var open struct{ Conversation struct{ ID string } }
		if code := call(t, "POST", rt.base+"/api/v1/channels/website/conversations", m.visitor.token, map[string]string{}, &open, "Origin", origin); code == http.StatusCreated {
			m.visitor.follow(open.Conversation.ID)
			if has(open.Conversation.ID) {
				continue
			}
		}
		lost = append(lost, fmt.Sprintf("message %q (seq %d), acknowledged over a WebSocket, is in none of the visitor's conversations %v", short(m.text), m.seq, m.visitor.conversations()))
	}
	for _, tr := range l.transitions {
		s := get(tr.conv)
		switch {
		case !s.found:
			lost = append(lost, fmt.Sprintf("%s by %s: conversation %s is gone", tr.event, tr.actor, tr.conv))
		case !s.activity[tr.event+" by "+tr.actor]:
			lost = append(lost, fmt.Sprintf("%s by %s is not in the activity of %s", tr.event, tr.actor, tr.conv))
		case s.version < tr.version:
			lost = append(lost, fmt.Sprintf("%s by %s returned version %d of %s; after the restart it is at %d", tr.event, tr.actor, tr.version, tr.conv, s.version))
		case tr.closed && s.state != "Closed":
			lost = append(lost, fmt.Sprintf("%s by %s closed %s; after the restart it is %s", tr.event, tr.actor, tr.conv, s.state))
		}
	}
	for i, what := range lost {
		if i == 20 {
			t.Errorf("... and %d more", len(lost)-i)
			break
		}
		t.Errorf("acknowledged before SIGKILL, gone after it: %s", what)
	}
	return len(convs)
}
