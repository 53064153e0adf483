package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
)

// The soak's clients: well-behaved visitors and operators, and the abusive ones.

func soakDo(c *http.Client, base, method, path, token string, body, out any, headers ...string) (int, error) {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, base+path, rd)
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
	res, err := c.Do(req)
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

// openSoakConversation starts a visitor's conversation with a first message.
func (s *soakLoad) open(c *http.Client, addr, name, text string) (token, conv string, code int) {
	var out struct {
		Token        string
		Conversation struct{ ID string }
	}
	code, err := soakDo(c, s.p.base, "POST", "/api/v1/channels/website/conversations", "",
		map[string]string{"name": name, "email": "visitor@example.com", "text": text}, &out, "Origin", benchOrigin, "X-Forwarded-For", addr)
	if err != nil {
		return "", "", 0
	}
	return out.Token, out.Conversation.ID, code
}

func (s *soakLoad) dialVisitor(addr, token, conv string) (*websocket.Conn, int) {
	q := url.Values{"conversation": {conv}, "after": {"1"}, "access_token": {token}}
	c, res, err := dialer.Dial("ws"+strings.TrimPrefix(s.p.base, "http")+"/api/v1/channels/website/ws?"+q.Encode(),
		http.Header{"Origin": {benchOrigin}, "X-Forwarded-For": {addr}})
	if err != nil {
		if res != nil {
			return nil, res.StatusCode
		}
		return nil, 0
	}
	return c, http.StatusSwitchingProtocols
}

// visitor is a well-behaved visitor: it opens a conversation, writes a message every
// soakVisitorEvery over its WebSocket (following its chat into a new one when an
// operator closed it), and after 40 messages leaves; a new visitor takes its place.
// A message counts as acknowledged when its echo comes back; its latency runs from
// the write to the echo.
func (s *soakLoad) visitor(i int) {
	c, addr := soakClient(), clientAddress(i)
	for round := 0; !s.stopped(); round++ {
		who := fmt.Sprintf("v%d.%d", i, round)
		first := who + " #0"
		token, conv, code := s.open(c, addr, "Visitor "+who, first)
		if code != http.StatusCreated {
			s.errors.Add(1)
			s.sleep(time.Second)
			continue
		}
		s.ack(who, conv, first, 0)
		s.chat(who, addr, token, conv)
	}
}

func (s *soakLoad) chat(who, addr, token, conv string) {
	var mu sync.Mutex
	sent := map[string]time.Time{}
	for n := 1; n <= 40 && !s.stopped(); {
		ws, code := s.dialVisitor(addr, token, conv)
		if ws == nil {
			s.errors.Add(1)
			if code == 0 || !s.sleep(time.Second) {
				return
			}
			continue
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				var ev struct {
					Type         string
					Message      *struct{ Direction, Text string }
					Conversation *struct{ ID string }
				}
				if err := ws.ReadJSON(&ev); err != nil {
					return
				}
				switch {
				case ev.Type == "conversation" && ev.Conversation != nil:
					mu.Lock()
					conv = ev.Conversation.ID
					mu.Unlock()
				case ev.Type == "message" && ev.Message != nil && ev.Message.Direction == "in":
					mu.Lock()
					at, mine := sent[ev.Message.Text]
					delete(sent, ev.Message.Text)
					current := conv
					mu.Unlock()
					if mine {
						s.ack(who, current, ev.Message.Text, time.Since(at))
					}
				case ev.Type == "error":
					s.errors.Add(1)
				}
			}
		}()
		for ; n <= 40 && s.sleep(soakVisitorEvery); n++ {
			text := fmt.Sprintf("%s #%d", who, n)
			mu.Lock()
			sent[text] = time.Now()
			mu.Unlock()
			if err := ws.WriteJSON(map[string]string{"type": "message", "text": text}); err != nil {
				break
			}
			select {
			case <-done:
				s.dropped.Add(1) // the runtime closed it: dial again
			default:
				continue
			}
			break
		}
		time.Sleep(200 * time.Millisecond) // the last echo
		ws.Close()
		<-done
	}
}

// operator works the queue like a person with a console: below their limit, takes the
// chat that waited longest (or one routed to them), answers each chat after holding it
// soakHold and closes it.
func (s *soakLoad) operator(name string) {
	c, token := soakClient(), "sample-token-"+name
	if code, err := soakDo(c, s.p.base, "PUT", "/api/v1/me/presence", token, map[string]string{"presence": "online"}, nil); err != nil || code != http.StatusOK {
		s.errors.Add(1)
	}
	held := map[string]time.Time{}
	for n := 0; s.sleep(100 * time.Millisecond); {
		var list struct {
			Conversations []struct{ ID, State, Operator string }
		}
		if code, err := soakDo(c, s.p.base, "GET", "/api/v1/conversations?state=Queued,Assigned,Active", token, nil, &list); err != nil || code != http.StatusOK {
			s.errors.Add(1)
			continue
		}
		mine := map[string]bool{}
		for _, conv := range list.Conversations {
			if conv.State == "Active" && conv.Operator == name {
				mine[conv.ID] = true
				if _, ok := held[conv.ID]; !ok {
					held[conv.ID] = time.Now()
				}
			}
		}
		for id := range held {
			if !mine[id] {
				delete(held, id) // closed by its visitor's leaving or by a supervisor
			}
		}
		for id, since := range held {
			if time.Since(since) < soakHold {
				continue
			}
			n++
			text := fmt.Sprintf("%s answers #%d", name, n)
			if code, err := soakDo(c, s.p.base, "POST", "/api/v1/conversations/"+id+"/messages", token, map[string]string{"text": text}, nil); err == nil && code == http.StatusCreated {
				s.ack("operator "+name, id, text, 0)
			} else {
				s.errors.Add(1)
			}
			if code, err := soakDo(c, s.p.base, "POST", "/api/v1/conversations/"+id+"/close", token, nil, nil); err == nil && code == http.StatusOK {
				delete(held, id)
				s.count(func(w *soakWindow) { w.closes++ })
			} else if err != nil || code != http.StatusConflict {
				s.errors.Add(1)
			}
		}
		conflicts := 0
		for _, conv := range list.Conversations {
			if len(held) >= soakLimit || conflicts == 3 {
				break
			}
			if conv.State != "Queued" && (conv.State != "Assigned" || conv.Operator != name) {
				continue
			}
			code, err := soakDo(c, s.p.base, "POST", "/api/v1/conversations/"+conv.ID+"/take", token, nil, nil)
			switch {
			case err == nil && code == http.StatusOK:
				held[conv.ID] = time.Now()
				s.count(func(w *soakWindow) { w.takes++ })
			case err == nil && code == http.StatusConflict: // another operator was first
				conflicts++
			default:
				s.errors.Add(1)
			}
		}
	}
}

func (s *soakLoad) refused(counter interface{ Add(int64) int64 }) {
	counter.Add(1)
	s.count(func(w *soakWindow) { w.refused++ })
}

// flooder writes as fast as its WebSocket takes messages; the runtime cuts it off
// and it dials again.
func (s *soakLoad) flooder() {
	c, addr := soakClient(), clientAddress(60000)
	for !s.stopped() {
		token, conv, code := s.open(c, addr, "flooder", "flood")
		if code != http.StatusCreated {
			s.refused(&s.floodRefused)
			s.sleep(100 * time.Millisecond)
			continue
		}
		ws, _ := s.dialVisitor(addr, token, conv)
		if ws == nil {
			s.refused(&s.floodRefused)
			continue
		}
		go func() {
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
		for i := 0; !s.stopped(); i++ {
			if ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"message","text":"flood"}`)) != nil {
				s.refused(&s.floodRefused)
				break
			}
			if i%64 == 0 {
				time.Sleep(5 * time.Millisecond) // keeps the load generator's own CPU in check
			}
		}
		ws.Close()
	}
}

// slowBodies keeps 20 requests open that send their body a byte every 5 s, and
// reports how long the runtime let them.
func (s *soakLoad) slowBodies() {
	host := strings.TrimPrefix(s.p.base, "http://")
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !s.stopped() {
				conn, err := net.Dial("tcp", host)
				if err != nil {
					s.sleep(time.Second)
					continue
				}
				start := time.Now()
				fmt.Fprintf(conn, "POST /api/v1/channels/website/conversations HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nX-Forwarded-For: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
					host, benchOrigin, clientAddress(60001))
				closed := make(chan struct{})
				go func() {
					_, _ = bufio.NewReader(conn).ReadString(0) // until the runtime answers or hangs up
					close(closed)
				}()
			trickle:
				for {
					select {
					case <-closed:
						s.refused(&s.slowCut)
						held := int64(time.Since(start))
						for old := s.slowLongest.Load(); held > old && !s.slowLongest.CompareAndSwap(old, held); old = s.slowLongest.Load() {
						}
						break trickle
					case <-s.stop:
						break trickle
					case <-time.After(5 * time.Second):
						_, _ = conn.Write([]byte(" "))
					}
				}
				conn.Close()
			}
		}()
	}
	wg.Wait()
}

// reconnectStorm opens conversations and WebSockets and drops them at once, over and
// over, from one address.
func (s *soakLoad) reconnectStorm() {
	c, addr := soakClient(), clientAddress(60002)
	token, conv := "", ""
	for s.sleep(5 * time.Millisecond) {
		if t, cv, code := s.open(c, addr, "storm", "storm"); code == http.StatusCreated {
			token, conv = t, cv
		} else {
			s.refused(&s.stormRefused)
		}
		if token == "" {
			continue
		}
		if ws, _ := s.dialVisitor(addr, token, conv); ws != nil {
			ws.Close()
		} else {
			s.refused(&s.stormRefused)
		}
	}
}

// pgWALBytes is the size of PostgreSQL's write-ahead log directory.
func pgWALBytes(uri string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, uri)
	if err != nil {
		return -1
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, "SELECT coalesce(sum(size), 0) FROM pg_ls_waldir()").Scan(&n); err != nil {
		return -1
	}
	return n
}
