package api

import (
	"encoding/json"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// wsQueueBytes bounds the bytes of the events waiting for one WebSocket, beside their
// count (--websocket-send-queue): one event larger than this (a long history) still
// goes out, alone.
const wsQueueBytes = 4 << 20

// wsConn is one WebSocket with a bounded queue of events to send. A writer goroutine
// exists only while there is something to write, so an idle connection costs one
// goroutine (its reader) and a small read buffer.
type wsConn struct {
	c *websocket.Conn
	// gathering, when set, lets the writer send the frames of one turn together.
	gathering *gatheringConn
	max       int
	mu        sync.Mutex
	queue     [][]byte
	queued    int // bytes in queue
	writing   bool
	closed    bool
	// held keeps the writer from starting until the first event (a console's
	// snapshot) is queued ahead of the events that arrived while it was read.
	held bool
	ping *time.Timer
	// following is the conversation a visitor's or internal client's connection
	// carries; it moves to the next one when the contact starts it (follow.go).
	following string
	// pings and invalid are the client's allowances of pings and of events the
	// runtime cannot use; limited counts the connections they close.
	pings, invalid *rate.Limiter
	limited        *prometheus.CounterVec
	// offers withholds new chats from an operator at their limit; nil for others.
	offers *offerFilter
}

func newWSConn(c *websocket.Conn, max int, limited *prometheus.CounterVec) *wsConn {
	w := &wsConn{c: c, max: max, limited: limited,
		pings: rate.NewLimiter(wsPingsPerSecond, wsPingBurst), invalid: rate.NewLimiter(wsInvalidPerSecond, wsInvalidBurst)}
	c.SetReadLimit(wsReadLimit)
	_ = c.SetReadDeadline(time.Now().Add(wsIdleTimeout))
	c.SetPongHandler(func(string) error { return c.SetReadDeadline(time.Now().Add(wsIdleTimeout)) })
	c.SetPingHandler(func(data string) error {
		if !w.pinged() {
			return nil
		}
		// As gorilla's own handler: a pong that cannot go out is no reason to stop
		// reading; the writer's failure closes the connection.
		err := c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(wsWriteTimeout))
		var ne net.Error
		if err == websocket.ErrCloseSent || errors.As(err, &ne) {
			return nil
		}
		return err
	})
	w.ping = time.AfterFunc(wsPingEvery, w.sendPing)
	return w
}

// pinged spends one of the client's pings (a ping event or a ping frame) and reports
// whether it may be answered; a client out of pings is disconnected with 4029.
func (w *wsConn) pinged() bool {
	if w.pings.Allow() {
		return true
	}
	w.limit(limitedWSPing, closeRateLimited, "too many pings: at most one a second; reconnect")
	return false
}

// refused spends one of the client's allowance of events the runtime cannot use and
// reports whether it may be answered with an error event; a client out of it is
// disconnected with 1008 (policy violation), as reconnecting will not help.
func (w *wsConn) refused() bool {
	if w.invalid.Allow() {
		return true
	}
	w.limit(limitedWSInvalid, websocket.ClosePolicyViolation,
		`too many invalid events: send JSON events such as {"type":"message","text":"..."}`)
	return false
}

// limit closes the connection for passing a limit, counting it.
func (w *wsConn) limit(what string, code int, reason string) {
	if w.shut() {
		w.limited.WithLabelValues(what).Inc()
		w.finish(code, reason, time.Second)
	}
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

// Deliver implements hub.Subscriber. It refuses an event that would take the queue
// past its count or bytes.
func (w *wsConn) Deliver(event []byte) bool {
	if !w.offers.pass(event) {
		return true // an offer for an operator at their limit: withheld, not lost
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return true
	}
	if len(w.queue) >= w.max || (len(w.queue) > 0 && w.queued+len(event) > wsQueueBytes) {
		return false
	}
	w.queue = append(w.queue, event)
	w.queued += len(event)
	w.startWriter()
	return true
}

// startWriter starts the writer goroutine unless one runs or the queue is held; w.mu
// is held.
func (w *wsConn) startWriter() {
	if !w.writing && !w.held {
		w.writing = true
		go w.flush()
	}
}

// hold queues events without sending them until sendFirst.
func (w *wsConn) hold() {
	w.mu.Lock()
	w.held = true
	w.mu.Unlock()
}

// sendFirst queues an event ahead of every event queued since hold, and lets the
// writer send them: a console's snapshot comes before the changes that happened while
// it was read (which a console applies by version, so none of them is lost).
func (w *wsConn) sendFirst(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.held = false
	if w.closed {
		return
	}
	w.queue = append([][]byte{b}, w.queue...)
	w.queued += len(b)
	w.startWriter()
}

// Overflow implements hub.Subscriber.
func (w *wsConn) Overflow() { w.tooSlow() }

// tooSlow disconnects a client that does not read its events with 4008. Its queue is
// dropped at once; the close frame waits for the frame being written, so a client
// that reads again in time learns why.
func (w *wsConn) tooSlow() {
	if w.shut() {
		w.limited.WithLabelValues(limitedWSSlowReader).Inc()
		w.finish(closeTooSlow, "too slow: events were not read in time; reconnect and resume with ?after=", wsWriteTimeout)
	}
}

// send queues an event of the runtime's own (an answer, a history); a client whose
// queue is full is disconnected as when the hub's events overflow it.
func (w *wsConn) send(v any) {
	b, err := json.Marshal(v)
	if err == nil && !w.Deliver(b) {
		go w.tooSlow()
	}
}

func (w *wsConn) flush() {
	for {
		w.mu.Lock()
		batch := w.queue
		w.queue, w.queued = nil, 0
		if len(batch) == 0 || w.closed {
			w.writing = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		gathered := len(batch) > 1 && w.gathering != nil
		if gathered {
			w.gathering.gather()
		}
		for _, b := range batch {
			if w.isClosed() {
				break // what is left is dropped; the loop's top ends the writer
			}
			_ = w.c.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
			if err := w.c.WriteMessage(websocket.TextMessage, b); err != nil {
				w.close(websocket.CloseGoingAway, "")
				return
			}
		}
		if gathered {
			_ = w.gathering.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
			if err := w.gathering.send(); err != nil {
				w.close(websocket.CloseGoingAway, "")
				return
			}
		}
	}
}

func (w *wsConn) isClosed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed
}

// close sends a close frame with a reason and closes the connection; the reader then
// returns and unsubscribes.
func (w *wsConn) close(code int, reason string) {
	if w.shut() {
		w.finish(code, reason, time.Second)
	}
}

// shut marks the connection closed and drops its queue; it reports whether it was
// open, so only one caller goes on to finish it.
func (w *wsConn) shut() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.closed = true
	w.queue, w.queued = nil, 0
	return true
}

// finish sends the close frame, waiting up to wait for the frame being written, and
// closes the connection.
func (w *wsConn) finish(code int, reason string, wait time.Duration) {
	w.ping.Stop()
	_ = w.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(wait))
	_ = w.c.Close()
}
