package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/switchboard-chat/switchboard/runtime/auth"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

const (
	wsWriteTimeout = 10 * time.Second
	// wsPingEvery keeps connections alive through proxies and finds dead peers:
	// a peer that answers no ping within wsIdleTimeout is dropped.
	wsPingEvery   = 30 * time.Second
	wsIdleTimeout = 75 * time.Second
	wsReadLimit   = 8 << 10
)

// Close codes, beside the standard ones.
const (
	closeTooSlow     = 4008 // the client did not read its events fast enough
	closeRateLimited = 4029
)

// writeBuffers are shared: an idle connection holds no write buffer.
var writeBuffers = &sync.Pool{}

var upgrader = websocket.Upgrader{
	ReadBufferSize:  512,
	WriteBufferSize: 2048,
	WriteBufferPool: writeBuffers,
	// Origins are checked before the upgrade: allowedOrigins for widgets, the
	// console's origin for operators.
	CheckOrigin: func(*http.Request) bool { return true },
}

// wsConn is one WebSocket with a bounded queue of events to send. A writer goroutine
// exists only while there is something to write, so an idle connection costs one
// goroutine (its reader) and a small read buffer.
type wsConn struct {
	c       *websocket.Conn
	max     int
	mu      sync.Mutex
	queue   [][]byte
	writing bool
	closed  bool
	ping    *time.Timer
	// following is the conversation a visitor's or internal client's connection
	// carries; it moves to the next one when the contact starts it (follow.go).
	following string
}

func newWSConn(c *websocket.Conn, max int) *wsConn {
	w := &wsConn{c: c, max: max}
	c.SetReadLimit(wsReadLimit)
	_ = c.SetReadDeadline(time.Now().Add(wsIdleTimeout))
	c.SetPongHandler(func(string) error { return c.SetReadDeadline(time.Now().Add(wsIdleTimeout)) })
	w.ping = time.AfterFunc(wsPingEvery, w.sendPing)
	return w
}

func (w *wsConn) sendPing() {
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed {
		return
	}
	if err := w.c.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteTimeout)); err != nil {
		w.close(websocket.CloseGoingAway, "")
		return
	}
	w.ping.Reset(wsPingEvery)
}

// Deliver implements hub.Subscriber.
func (w *wsConn) Deliver(event []byte) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return true
	}
	if len(w.queue) >= w.max {
		return false
	}
	w.queue = append(w.queue, event)
	if !w.writing {
		w.writing = true
		go w.flush()
	}
	return true
}

// Overflow implements hub.Subscriber.
func (w *wsConn) Overflow() {
	w.close(closeTooSlow, "too slow: events were not read in time; reconnect and resume with ?after=")
}

func (w *wsConn) send(v any) {
	b, err := json.Marshal(v)
	if err == nil {
		w.Deliver(b)
	}
}

func (w *wsConn) flush() {
	for {
		w.mu.Lock()
		batch := w.queue
		w.queue = nil
		if len(batch) == 0 || w.closed {
			w.writing = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		for _, b := range batch {
			_ = w.c.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
			if err := w.c.WriteMessage(websocket.TextMessage, b); err != nil {
				w.close(websocket.CloseGoingAway, "")
				return
			}
		}
	}
}

// close sends a close frame with a reason and closes the connection; the reader then
// returns and unsubscribes.
func (w *wsConn) close(code int, reason string) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.queue = nil
	w.mu.Unlock()
	w.ping.Stop()
	_ = w.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	_ = w.c.Close()
}

// clientEvent is what a widget or internal client sends.
type clientEvent struct {
	Type string `json:"type"`
	Text string `json:"text,omitempty"`
}

// clientWS carries one conversation to a widget or internal client: first the history
// after ?after=, then every change live. The client sends messages as
// {"type":"message","text":"..."}.
func (s *Server) clientWS(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("conversation")
	if id == "" {
		writeError(w, http.StatusBadRequest, "invalid", "name the conversation to follow: ?conversation=<id>")
		return
	}
	contact, conv, ok := s.clientConversationFor(w, r, id)
	if !ok {
		return
	}
	after, ok := afterParam(w, r)
	if !ok {
		return
	}
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered already
	}
	role := "visitor"
	var registered connection
	if contact.Channel != "" && s.engine.IsClient(contact.Channel, contact.ExternalID) {
		role = "client"
		registered = connection{credential: auth.Credential(r), channel: contact.Channel, name: contact.ExternalID}
	}
	registered.contact = contact.ID
	conn := newWSConn(c, s.SendQueue)
	conn.following = conv.ID
	if !s.conns.add(conn, registered) {
		conn.close(websocket.CloseGoingAway, "the runtime is shutting down: reconnect")
		return
	}
	hub := s.engine.Hub()
	hub.Subscribe(conn, chat.TopicVisitor(conv.ID))

	// Subscribed first, then the history: nothing falls between the two. A message in
	// both arrives twice; clients keep messages by seq.
	msgs, err := s.engine.Messages(r.Context(), conv.ID, after, 0)
	if err != nil {
		hub.Unsubscribe(conn)
		s.conns.remove(conn)
		conn.close(websocket.CloseInternalServerErr, "could not read the history")
		return
	}
	history := make([]chat.VisitorMessage, len(msgs))
	for i, m := range msgs {
		history[i] = s.engine.ForVisitor(m)
	}
	vc := s.engine.ConversationForVisitor(conv)
	position, _ := s.engine.Position(r.Context(), conv)
	conn.send(chat.VisitorEvent{Type: "history", Conversation: &vc, Messages: history, Position: position})
	// The HTTP handler returns and its goroutine (with the stack serving the request
	// grew) ends; a fresh, small one reads the connection for as long as it lasts.
	s.metrics.connections.WithLabelValues(role).Inc()
	go s.clientLoop(context.WithoutCancel(r.Context()), conn, role, contact)
}

// clientLoop reads a widget's or internal client's messages until the connection ends.
func (s *Server) clientLoop(ctx context.Context, conn *wsConn, role string, contact store.Contact) {
	defer s.metrics.connections.WithLabelValues(role).Dec()
	hub := s.engine.Hub()
	defer s.conns.remove(conn)
	defer hub.Unsubscribe(conn)
	defer conn.close(websocket.CloseNormalClosure, "")
	for {
		_, data, err := conn.c.ReadMessage()
		if err != nil {
			return
		}
		// encoding/json would store U+FFFD in place of bad bytes without a word.
		if !utf8.Valid(data) || hasLoneSurrogate(data) {
			conn.send(map[string]string{"type": "error", "message": "the event is not valid UTF-8: send text as UTF-8"})
			continue
		}
		var ev clientEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			conn.send(map[string]string{"type": "error", "message": "invalid JSON: " + err.Error()})
			continue
		}
		switch ev.Type {
		case "message":
			if !s.allow("contact:" + contact.ID) {
				conn.close(closeRateLimited, "too many messages: slow down and reconnect")
				return
			}
			current := conn.followed()
			_, next, err := s.engine.InboundTo(ctx, contact, current, ev.Text, "")
			if err != nil {
				if chat.KindOf(err) == 0 {
					s.log.Error("storing a message from a WebSocket", "conversation", current, "error", err)
				}
				conn.send(map[string]string{"type": "error", "message": errorMessage(err)})
				continue
			}
			if next.ID != current {
				// The last conversation was closed and this message started the next.
				s.follow(ctx, contact.ID, next)
			}
		case "ping":
			conn.send(map[string]string{"type": "pong"})
		default:
			conn.send(map[string]string{"type": "error", "message": "unknown event type " + ev.Type + `: send {"type":"message","text":"..."}`})
		}
	}
}

// errorMessage is an error as a client may see it.
func errorMessage(err error) string {
	if chat.KindOf(err) != 0 {
		return err.Error()
	}
	return "internal error"
}

// operatorWS is an operator console's live feed: a snapshot of the chats and operators
// it sees, then every change to them.
func (s *Server) operatorWS(w http.ResponseWriter, r *http.Request, me chat.Me) {
	// A page elsewhere that got hold of a token must not open the feed from its site.
	if !consoleOriginAllowed(r, s.publicOrigin()) {
		writeError(w, http.StatusForbidden, "origin_not_allowed",
			"the console feed opens only from the console's origin, the LiveChat's spec.publicURL")
		return
	}
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	conn := newWSConn(c, s.SendQueue)
	hub := s.engine.Hub()
	topics := []string{chat.TopicOperators, chat.TopicOperator(me.Name)}
	for _, q := range me.Queues {
		topics = append(topics, chat.TopicQueue(q))
	}
	if !s.conns.add(conn, connection{credential: auth.Credential(r), operator: &me}) {
		conn.close(websocket.CloseGoingAway, "the runtime is shutting down: reconnect")
		return
	}
	hub.Subscribe(conn, topics...)
	convs, err := s.engine.Visible(r.Context(), me.Name, nil)
	if err == nil {
		var ops []store.Operator
		if ops, err = s.engine.Store().Operators(r.Context()); err == nil {
			if convs == nil {
				convs = []store.Conversation{}
			}
			if ops == nil {
				ops = []store.Operator{}
			}
			conn.send(chat.Event{Type: "snapshot", Snapshot: convs, Operators: ops})
			// A console that was closed when its operator let a chat lapse learns now
			// why no chats come.
			if i := slices.IndexFunc(ops, func(o store.Operator) bool { return o.Name == me.Name }); i >= 0 && !ops[i].Active {
				conn.send(chat.Event{Type: "notice", Notice: chat.InactiveNotice})
			}
		}
	}
	if err != nil {
		hub.Unsubscribe(conn)
		s.conns.remove(conn)
		conn.close(websocket.CloseInternalServerErr, "could not read conversations")
		return
	}
	s.metrics.connections.WithLabelValues("operator").Inc()
	go func() {
		defer s.metrics.connections.WithLabelValues("operator").Dec()
		defer s.conns.remove(conn)
		defer hub.Unsubscribe(conn)
		defer conn.close(websocket.CloseNormalClosure, "")
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
}
