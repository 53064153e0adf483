package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/samples"

	"github.com/gorilla/websocket"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

const benchOrigin = "http://localhost:8080"

// runtimeProcess is `switchboard runtime` in its own process, so its CPU and memory are
// measured apart from the load generator's.
type runtimeProcess struct {
	cmd                    *exec.Cmd
	base, metrics, dataDir string
}

func freeAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func buildBinary(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "switchboard")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = testenv.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building switchboard: %v\n%s", err, out)
	}
	return bin
}

// samplesDir copies config/samples, optionally switched to PostgreSQL.
func samplesDir(b *testing.B, postgresURI string) string {
	dir := b.TempDir()
	src := samples.Dir()
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(src, e.Name()))
		if e.Name() == "livechat.yaml" && postgresURI != "" {
			data = bytes.Replace(data, []byte("  storage:\n    embedded:\n      size: 1Gi"),
				[]byte("  storage:\n    postgres:\n      uriSecretRef:\n        name: chat-db\n        key: uri"), 1)
			secret := fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: chat-db\nstringData:\n  uri: %q\n", postgresURI)
			_ = os.WriteFile(filepath.Join(dir, "db-secret.yaml"), []byte(secret), 0o600)
		}
		_ = os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644)
	}
	return dir
}

// unlimited lifts the runtime's limits on anonymous clients, which a throughput run
// from one address would otherwise hit.
var unlimited = []string{"--message-rate", "1000000", "--message-burst", "1000000", "--websocket-send-queue", "4096",
	"--conversation-rate", "-1", "--websocket-rate", "-1", "--websockets-per-address", "-1"}

func startProcess(b *testing.B, bin, manifests string, flags ...string) *runtimeProcess {
	addr, metrics, dataDir := freeAddr(b), freeAddr(b), b.TempDir()
	cmd := exec.Command(bin, append([]string{"runtime", "--manifests", manifests, "--data-dir", dataDir, "--http-address", addr,
		"--metrics-address", metrics, "--log-level", "warn"}, flags...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &runtimeProcess{cmd: cmd, base: "http://" + addr, metrics: "http://" + metrics, dataDir: dataDir}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); ; {
		if res, err := http.Get(p.base + "/healthz"); err == nil {
			res.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			b.Fatal("runtime did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// procStatus reads a field of /proc/<pid>/status, in kB.
func (p *runtimeProcess) procStatus(field string) int64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// cpuSeconds is the process's user+system CPU time.
func (p *runtimeProcess) cpuSeconds() float64 { return cpuSeconds(p.cmd.Process.Pid) }

// cpuSeconds is a process's user+system CPU time.
func cpuSeconds(pid int) float64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // clock ticks
}

type benchVisitor struct {
	token, conversation string
	conn                *websocket.Conn
}

func openVisitor(b *testing.B, base string, i int) benchVisitor {
	body, _ := json.Marshal(map[string]string{"name": fmt.Sprintf("visitor %d", i), "email": "visitor@example.com"})
	req, _ := http.NewRequest("POST", base+"/api/v1/channels/website/conversations", bytes.NewReader(body))
	req.Header.Set("Origin", benchOrigin)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Token        string
		Conversation struct{ ID string }
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 201 {
		b.Fatalf("opening visitor %d: %d %v", i, res.StatusCode, err)
	}
	return benchVisitor{token: out.Token, conversation: out.Conversation.ID}
}

var dialer = &websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 1024, HandshakeTimeout: 30 * time.Second}

func (v *benchVisitor) dial(b *testing.B, base string) {
	q := url.Values{"conversation": {v.conversation}, "access_token": {v.token}}
	c, _, err := dialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/api/v1/channels/website/ws?"+q.Encode(), http.Header{"Origin": {benchOrigin}})
	if err != nil {
		b.Fatal(err)
	}
	v.conn = c
}

func percentileDur(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[int(float64(len(d)-1)*p)]
}

// benchReceivers get every message: the four consoles (three operators and a supervisor
// subscribed to the queue) and the visitor who sent it.
var benchReceivers = []string{"sample-token-alice", "sample-token-bob", "sample-token-carol", "sample-token-sam", "visitor"}

// benchMessage is one message of a throughput run.
type benchMessage struct {
	due, sent time.Time     // when it was to be sent (paced), when it was
	arrived   atomic.Uint32 // a bit per receiver in benchReceivers
	delivered time.Time     // when the last of them got it
}

// throughput sends visitors × perVisitor messages over the widget WebSockets at a total
// of rate messages a second (0: as fast as they go). A message is delivered once it has
// reached all four operator consoles and come back to the visitor who sent it; the run
// ends when every message is. Latency runs to the last of those five arrivals: paced,
// from the moment the schedule had the message sent, so that a sender held up by a
// saturated runtime shows as latency instead of hiding it (no coordinated omission); as
// fast as possible, from the moment it was sent.
func throughput(b *testing.B, p *runtimeProcess, visitors, perVisitor int, rate float64) {
	vs := make([]benchVisitor, visitors)
	for i := range vs {
		vs[i] = openVisitor(b, p.base, i)
		vs[i].dial(b, p.base)
	}
	total := visitors * perVisitor
	msgs := make([]benchMessage, total)
	all := uint32(1)<<len(benchReceivers) - 1
	var delivered atomic.Int64
	done := make(chan struct{})
	// arrive records one receiver's copy of a message event ({"text":"m<index>"}).
	arrive := func(receiver int, data []byte) {
		if !bytes.Contains(data, []byte(`"type":"message"`)) {
			return
		}
		var ev struct{ Message struct{ Text string } }
		_ = json.Unmarshal(data, &ev)
		i, err := strconv.Atoi(strings.TrimPrefix(ev.Message.Text, "m"))
		if err != nil || i < 0 || i >= total {
			return
		}
		bit := uint32(1) << receiver
		if old := msgs[i].arrived.Or(bit); old&bit == 0 && old|bit == all {
			msgs[i].delivered = time.Now()
			if delivered.Add(1) == int64(total) {
				close(done)
			}
		}
	}
	var closeErr atomic.Value
	read := func(receiver int, c *websocket.Conn) {
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				if ce, ok := err.(*websocket.CloseError); ok {
					closeErr.CompareAndSwap(nil, fmt.Sprintf("%s's WebSocket closed: %v", benchReceivers[receiver], ce))
				}
				return
			}
			arrive(receiver, data)
		}
	}
	for i, tok := range benchReceivers[:4] {
		c, _, err := dialer.Dial("ws"+strings.TrimPrefix(p.base, "http")+"/api/v1/operator/ws?access_token="+tok, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		go read(i, c)
	}
	for i := range vs {
		go read(4, vs[i].conn)
	}
	time.Sleep(200 * time.Millisecond)

	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(visitors) / rate * float64(time.Second))
	}
	cpu0, self0, start := p.cpuSeconds(), cpuSeconds(os.Getpid()), time.Now()
	var wg sync.WaitGroup
	for v := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range perVisitor {
				m := &msgs[v*perVisitor+k]
				if interval > 0 {
					m.due = start.Add(time.Duration(v)*interval/time.Duration(visitors) + time.Duration(k)*interval)
					time.Sleep(time.Until(m.due))
				}
				m.sent = time.Now()
				if interval == 0 {
					m.due = m.sent
				}
				msg := fmt.Sprintf(`{"type":"message","text":"m%d"}`, v*perVisitor+k)
				if err := vs[v].conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(120 * time.Second):
		reason, _ := closeErr.Load().(string)
		b.Fatalf("only %d of %d messages reached all four consoles and their sender %s", delivered.Load(), total, reason)
	}
	elapsed := time.Since(start)
	cpu, self := p.cpuSeconds()-cpu0, cpuSeconds(os.Getpid())-self0
	for _, v := range vs {
		v.conn.Close()
	}
	latencies := make([]time.Duration, total)
	behind := time.Duration(0) // how late the senders were, at worst
	for i := range msgs {
		latencies[i] = msgs[i].delivered.Sub(msgs[i].due)
		behind = max(behind, msgs[i].sent.Sub(msgs[i].due))
	}
	mode := fmt.Sprintf("paced at %.0f/s (latency from the scheduled send; senders at most %v behind schedule)", rate, behind.Round(100*time.Microsecond))
	if rate == 0 {
		mode = "as fast as possible (latency from the send)"
	}
	fmt.Printf("  %d visitors × %d messages, %s: %.0f messages/s persisted and delivered to 4 consoles and back to the sender; latency to the last of the 5 arrivals p50 %v p99 %v max %v; CPU of one core: runtime %.0f%%, load generator %.0f%%\n",
		visitors, perVisitor, mode, float64(total)/elapsed.Seconds(),
		percentileDur(latencies, .5).Round(100*time.Microsecond), percentileDur(latencies, .99).Round(100*time.Microsecond),
		percentileDur(latencies, 1).Round(100*time.Microsecond), 100*cpu/elapsed.Seconds(), 100*self/elapsed.Seconds())
}

// idleConnections opens n visitor WebSockets that then sit idle, and reports the
// runtime's resident memory per connection.
func idleConnections(b *testing.B, p *runtimeProcess, n int) {
	vs := make([]benchVisitor, n)
	for i := range vs {
		vs[i] = openVisitor(b, p.base, i)
	}
	time.Sleep(time.Second)
	before := p.procStatus("VmRSS")
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				vs[i].dial(b, p.base)
			}
		}()
	}
	for i := range vs {
		work <- i
	}
	close(work)
	wg.Wait()
	time.Sleep(2 * time.Second)
	after := p.procStatus("VmRSS")
	fmt.Printf("  %d idle widget WebSockets: runtime RSS %d MiB -> %d MiB, %.1f KiB per connection\n",
		n, before/1024, after/1024, float64(after-before)/float64(n))
	for _, v := range vs {
		v.conn.Close()
	}
}

func runtimeBench(b *testing.B, store string, postgresURI string) {
	bin := buildBinary(b)
	fmt.Printf("\nruntime benchmark on %s\n", store)
	p := startProcess(b, bin, samplesDir(b, postgresURI), unlimited...)
	throughput(b, p, 100, 200, 5000)
	throughput(b, p, 100, 200, 0)
	idleConnections(b, p, 10000)
	fmt.Printf("  runtime peak RSS %d MiB\n", p.procStatus("VmHWM")/1024)
}

// BenchmarkRuntimeSQLite measures the runtime on embedded SQLite.
func BenchmarkRuntimeSQLite(b *testing.B) { runtimeBench(b, "SQLite", "") }

// BenchmarkRuntimePostgres measures the runtime on PostgreSQL.
func BenchmarkRuntimePostgres(b *testing.B) {
	pg, uri, err := pgtest.StartWithDatabase()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pg.Stop) // after the runtime process, whose cleanup comes later and runs first
	runtimeBench(b, "PostgreSQL", uri)
}
