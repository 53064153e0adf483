package api

import (
	"context"
	"encoding/json"
	"fmt"
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
	ch, ok := s.channelFor(w, r)
	if !ok {
		return
	}
	// Widget visitors need no account, so what they may open is counted by address,
	// before their token costs a lookup.
	var addr string
	if ch.WebWidget != nil {
		addr = addrKey(s.clientAddr(r))
		if wait := s.upgrades.wait(addr); wait > 0 {
			s.tooMany(w, limitedWebSocket, wait, "too many WebSockets opened from your address: try again in %d s")
			return
		}
	}
	contact, conv, ok := s.clientConversationOn(w, r, ch, id)
	if !ok {
		return
	}
	after, ok := afterParam(w, r)
	if !ok {
		return
	}
	role := "visitor"
	registered := connection{contact: contact.ID, addr: addr, holder: "contact:" + contact.ID}
	if contact.Channel != "" && s.engine.IsClient(contact.Channel, contact.ExternalID) {
		role = "client"
		registered.credential, registered.channel, registered.name = auth.Credential(r), contact.Channel, contact.ExternalID
	}
	conn, ok := s.upgrade(w, r, registered, conv.ID)
	if !ok {
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

// upgrade counts a WebSocket against the caps of its address and token, answering
// 429 beyond them, upgrades the request and registers the connection, following a
// visitor's conversation, if any; its reader must call remove when it ends.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, c connection, following string) (*wsConn, bool) {
	switch s.conns.admit(c, s.wsPerAddress, s.wsPerToken) {
	case capAddress:
		s.tooMany(w, limitedWSAddress, time.Minute,
			fmt.Sprintf("your address holds %d WebSockets already, the most allowed: close one, or try again in %%d s", s.wsPerAddress))
		return nil, false
	case capToken:
		s.tooMany(w, limitedWSToken, time.Minute,
			fmt.Sprintf("%d WebSockets are open with your token already, the most allowed: close one, or try again in %%d s", s.wsPerToken))
		return nil, false
	}
	c2, gathering, err := upgradeGathering(w, r)
	if err != nil {
		s.conns.release(c)
		return nil, false // the upgrader answered already
	}
	conn := newWSConn(c2, s.SendQueue, s.metrics.rateLimited)
	conn.gathering = gathering
	conn.following = following // before it is registered, where follow may move it on
	if c.operator != nil {
		conn.offers = s.offerFilter(r.Context(), *c.operator)
	}
	if !s.conns.add(conn, c) {
		s.conns.release(c)
		conn.close(websocket.CloseGoingAway, "the runtime is shutting down: reconnect")
		return nil, false
	}
	return conn, true
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
			if !conn.refused() {
				return
			}
			conn.send(map[string]string{"type": "error", "message": "the event is not valid UTF-8: send text as UTF-8"})
			continue
		}
		var ev clientEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			if !conn.refused() {
				return
			}
			conn.send(map[string]string{"type": "error", "message": "invalid JSON: " + err.Error()})
			continue
		}
		switch ev.Type {
		case "message":
			if s.messages.wait("contact:"+contact.ID) > 0 {
				conn.limit(limitedMessage, closeRateLimited, "too many messages: slow down and reconnect")
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
			if !conn.pinged() {
				return
			}
			conn.send(map[string]string{"type": "pong"})
		case "typing":
			if !conn.pinged() {
				return
			}
			s.visitorTyping(ctx, conn.followed())
		default:
			if !conn.refused() {
				return
			}
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
	sessionGoesOn := s.consoleSessionGoesOn(me.Name) // asked before this console counts
	conn, ok := s.upgrade(w, r, connection{credential: auth.Credential(r), session: sessionIDHash(r), operator: &me, holder: "operator:" + me.Name}, "")
	if !ok {
		return
	}
	s.watchSession(conn, sessionIDHash(r))
	hub := s.engine.Hub()
	topics := []string{chat.TopicOperators, chat.TopicOperator(me.Name)}
	for _, q := range me.Queues {
		topics = append(topics, chat.TopicQueue(q))
	}
	conn.hold() // until the snapshot, which comes first
	hub.Subscribe(conn, topics...)
	if err := s.sendSnapshot(r.Context(), conn, me); err != nil {
		hub.Unsubscribe(conn)
		s.conns.remove(conn)
		conn.close(websocket.CloseInternalServerErr, "could not read conversations")
		return
	}
	// After the snapshot, so that it comes first: the presence change follows it.
	s.consoleOpened(r.Context(), me, sessionGoesOn)
	s.metrics.connections.WithLabelValues("operator").Inc()
	go s.operatorLoop(context.WithoutCancel(r.Context()), conn, me)
}

// operatorLoop reads a console's events until the connection ends: typing indicators
// only; a client that keeps sending anything else is broken.
func (s *Server) operatorLoop(ctx context.Context, conn *wsConn, me chat.Me) {
	defer s.metrics.connections.WithLabelValues("operator").Dec()
	defer s.conns.remove(conn)
	defer s.engine.Hub().Unsubscribe(conn)
	defer conn.close(websocket.CloseNormalClosure, "")
	for {
		_, data, err := conn.c.ReadMessage()
		if err != nil {
			return
		}
		var ev operatorEvent
		if json.Unmarshal(data, &ev) == nil && ev.Type == "typing" {
			if !conn.pinged() {
				return
			}
			if s.operatorTyping(ctx, me, ev.Conversation) {
				continue
			}
		}
		if !conn.refused() {
			return
		}
		conn.send(map[string]string{"type": "error", "message": `the console feed takes only {"type":"typing","conversation":"<id>"} for a chat you hold`})
	}
}

// snapshotConversations bounds the conversations of a console's snapshot; a console
// reads any more with GET /api/v1/conversations from the snapshot's cursor.
const snapshotConversations = 200

// sendSnapshot sends a console the oldest open conversations it sees, with the cursor
// of the rest when there are more, and every operator's presence.
func (s *Server) sendSnapshot(ctx context.Context, conn *wsConn, me chat.Me) error {
	convs, next, err := s.conversationPage(ctx, me, "", nil, nil, snapshotConversations)
	if err != nil {
		return err
	}
	ops, err := s.engine.Store().Operators(ctx)
	if err != nil {
		return err
	}
	if ops == nil {
		ops = []store.Operator{}
	}
	conn.sendFirst(chat.Event{Type: "snapshot", Snapshot: convs, Next: next, Operators: ops})
	// A console that was closed when its operator let a chat lapse learns now why no
	// chats come.
	if i := slices.IndexFunc(ops, func(o store.Operator) bool { return o.Name == me.Name }); i >= 0 && !ops[i].Active {
		conn.send(chat.Event{Type: "notice", Notice: chat.InactiveNotice})
	}
	return nil
}
