package api

import (
	"bufio"
	"net"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
)

// Under load a console's queue holds several events when its writer comes round (a
// busy queue sends a message, a position and a conversation change together); written
// frame by frame they cost a system call each. The connection the upgrader hands the
// WebSocket can gather the frames of one turn of the writer and send them with one.

// gatherBuffers hold the frames of one turn: a connection holds one only while its
// writer runs, so idle connections cost nothing.
var gatherBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxPooledGather keeps an exceptional turn (a long history) from pinning its buffer
// in the pool.
const maxPooledGather = 256 << 10

// gatheringConn is a connection whose writes can be gathered and sent together.
type gatheringConn struct {
	net.Conn
	mu  sync.Mutex
	buf *[]byte // non-nil while gathering
}

func (c *gatheringConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf != nil {
		*c.buf = append(*c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// gather holds back writes until send.
func (c *gatheringConn) gather() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf == nil {
		c.buf = gatherBuffers.Get().(*[]byte)
	}
}

// send writes what was gathered with one system call and stops gathering.
func (c *gatheringConn) send() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sendLocked()
}

func (c *gatheringConn) sendLocked() error {
	b := c.buf
	if b == nil {
		return nil
	}
	c.buf = nil
	var err error
	if len(*b) > 0 {
		_, err = c.Conn.Write(*b)
	}
	if cap(*b) <= maxPooledGather {
		*b = (*b)[:0]
		gatherBuffers.Put(b)
	}
	return err
}

// Close sends what was gathered first: a close frame written while the writer
// gathers (a client cut off for reading too slowly) still reaches the client.
func (c *gatheringConn) Close() error {
	c.mu.Lock()
	_ = c.sendLocked()
	c.mu.Unlock()
	return c.Conn.Close()
}

// gatheringWriter hands the upgrader a gatheringConn when it hijacks the request.
type gatheringWriter struct {
	http.ResponseWriter
	conn *gatheringConn
}

func (w *gatheringWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &gatheringConn{Conn: c}
	return w.conn, rw, nil
}

func (w *gatheringWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// upgradeGathering upgrades a request to a WebSocket whose frames can be gathered.
func upgradeGathering(w http.ResponseWriter, r *http.Request) (*websocket.Conn, *gatheringConn, error) {
	gw := &gatheringWriter{ResponseWriter: w}
	c, err := upgrader.Upgrade(gw, r, nil)
	if err != nil {
		return nil, nil, err
	}
	return c, gw.conn, nil
}
