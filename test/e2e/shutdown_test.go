package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// syncBuffer is a bytes.Buffer a process may write while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSIGTERMUnderLoadShutsDownInOrder stops a runtime process with SIGTERM while
// visitors write over WebSockets and HTTP: it exits 0 without a panic, every WebSocket
// sees 1001 (going away), and every message acknowledged before the stop is stored.
func TestSIGTERMUnderLoadShutsDownInOrder(t *testing.T) {
	dir, data, addr := manifestsDir(t), t.TempDir(), freeAddr(t)
	var stderr syncBuffer
	cmd, rt := runtimeProcessLogging(t, dir, data, addr, &stderr)

	const visitors = 8
	type writer struct {
		v     *visitor
		w     *ws
		mu    sync.Mutex
		acked []string // over HTTP (201) or echoed back over the WebSocket
	}
	writers := make([]*writer, visitors)
	for i := range writers {
		v := newVisitor(t, rt, fmt.Sprintf("visitor %d opens", i))
		writers[i] = &writer{v: v, w: v.connect(t, 0), acked: []string{fmt.Sprintf("visitor %d opens", i)}}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, wr := range writers {
		wg.Add(2)
		go func() { // over the WebSocket; acknowledged when echoed
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := wr.w.c.WriteJSON(map[string]string{"type": "message", "text": fmt.Sprintf("ws %d-%d", i, n)}); err != nil {
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
		go func() { // over HTTP; acknowledged by 201
			defer wg.Done()
			u := rt.base + "/api/v1/channels/website/conversations/" + wr.v.conversation + "/messages"
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				text := fmt.Sprintf("http %d-%d", i, n)
				code, err := request("POST", u, wr.v.token, map[string]string{"text": text}, nil)
				if err != nil {
					return // the runtime is gone
				}
				if code == http.StatusCreated {
					wr.mu.Lock()
					wr.acked = append(wr.acked, text)
					wr.mu.Unlock()
				}
			}
		}()
	}

	time.Sleep(400 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the runtime did not exit cleanly on SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the runtime did not exit within 20s of SIGTERM")
	}
	close(stop)
	wg.Wait()
	if log := stderr.String(); strings.Contains(log, "panic") {
		t.Fatalf("the runtime panicked while stopping:\n%s", log)
	}

	for i, wr := range writers {
		select {
		case <-wr.w.closed:
		case <-time.After(5 * time.Second):
			t.Fatalf("visitor %d's WebSocket is still open after the runtime exited", i)
		}
		wr.w.mu.Lock()
		code := wr.w.code
		for _, ev := range wr.w.events {
			if ev["type"] == "message" {
				if text, _ := field(ev, "message", "text").(string); strings.HasPrefix(text, "ws ") {
					wr.acked = append(wr.acked, text)
				}
			}
		}
		wr.w.mu.Unlock()
		if code != websocket.CloseGoingAway {
			t.Errorf("visitor %d's WebSocket closed with %d, want 1001 (going away)", i, code)
		}
	}

	// Everything acknowledged is there after a restart on the same data.
	_, rt = runtimeProcess(t, dir, data, addr)
	total := 0
	for i, wr := range writers {
		var stored struct{ Messages []struct{ Text string } }
		call(t, "GET", rt.base+"/api/v1/channels/website/conversations/"+wr.v.conversation+"/messages", wr.v.token, nil, &stored)
		have := map[string]bool{}
		for _, m := range stored.Messages {
			have[m.Text] = true
		}
		for _, a := range wr.acked {
			if !have[a] {
				t.Errorf("visitor %d: %q was acknowledged before SIGTERM and is not stored", i, a)
			}
		}
		total += len(wr.acked)
	}
	t.Logf("%d messages acknowledged before SIGTERM, all stored", total)
	if total < 10*visitors {
		t.Errorf("only %d messages acknowledged: the test exercised too little", total)
	}
}
