package bench

import (
	"bufio"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
)

// soakDuration is how long BenchmarkSoak* keep their load up:
// go test -run '^$' -bench BenchmarkSoakSQLite -benchtime 1x -soak 30m ./test/bench/
var soakDuration = flag.Duration("soak", 5*time.Minute, "how long BenchmarkSoakSQLite and BenchmarkSoakPostgres keep their load up")

// The soak's load: well-behaved visitors chatting, operators accepting, answering and
// closing, and about 5% of the clients abusive.
const (
	soakVisitors     = 60
	soakVisitorEvery = 500 * time.Millisecond // each visitor's pace: 120 messages/s in all
	soakHold         = time.Second            // how long an operator keeps a chat before closing it
	soakLimit        = 2                      // chats an operator holds at once (the samples' simultaneousChats)
)

// soakOperators are the sample operators who work the queue; sam, the supervisor,
// reads everything back at the end.
var soakOperators = []string{"alice", "bob", "carol"}

// BenchmarkSoakSQLite keeps a mixed load on the runtime over embedded SQLite and
// prints latency, memory and WAL size over time.
func BenchmarkSoakSQLite(b *testing.B) { soak(b, "SQLite", "", nil) }

// BenchmarkSoakPostgres is the same soak over PostgreSQL.
func BenchmarkSoakPostgres(b *testing.B) {
	pg, uri, err := pgtest.StartWithDatabase()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pg.Stop)
	soak(b, "PostgreSQL", uri, func() int64 { return pgWALBytes(uri) })
}

// soak runs the load for -soak with the runtime's default limits on anonymous
// clients; every client appears from its own address (X-Forwarded-For from a trusted
// proxy), as behind an ingress. walBytes reports the write-ahead log's size (nil: the
// SQLite WAL file in the data directory).
func soak(b *testing.B, store, postgresURI string, walBytes func() int64) {
	bin := buildBinary(b)
	p := startProcess(b, bin, samplesDir(b, postgresURI), "--trusted-proxies", "127.0.0.0/8", "--pprof")
	if walBytes == nil {
		walBytes = func() int64 { return sqliteWALBytes(p.dataDir) }
	}
	fmt.Printf("\nsoak on %s for %v: %d visitors at %v each, %d operators holding chats %v, 3 abusive clients (flood, slow bodies, reconnect storm)\n",
		store, *soakDuration, soakVisitors, soakVisitorEvery, len(soakOperators), soakHold)
	s := &soakLoad{p: p, stop: make(chan struct{})}
	var wg sync.WaitGroup
	run := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	for i := range soakVisitors {
		run(func() { s.visitor(i) })
	}
	for _, name := range soakOperators {
		run(func() { s.operator(name) })
	}
	run(s.flooder)
	run(s.slowBodies)
	run(s.reconnectStorm)

	interval := max(10*time.Second, *soakDuration/20)
	fmt.Printf("  %8s %9s %9s %9s %8s %9s %8s %7s %7s %9s\n", "time", "acked", "p50", "p99", "RSS MiB", "heap MiB", "WAL MiB", "takes", "closes", "refused")
	var rss, heap, wal []int64
	for start, tick := time.Now(), time.NewTicker(interval); time.Since(start) < *soakDuration; {
		<-tick.C
		w := s.window()
		rss, heap, wal = append(rss, p.procStatus("VmRSS")/1024), append(heap, p.liveHeap()>>20), append(wal, walBytes()>>20)
		fmt.Printf("  %8v %9d %9v %9v %8d %9d %8d %7d %7d %9d\n", time.Since(start).Round(time.Second), w.acked,
			percentileDur(w.latencies, .5).Round(100*time.Microsecond), percentileDur(w.latencies, .99).Round(100*time.Microsecond),
			rss[len(rss)-1], heap[len(heap)-1], wal[len(wal)-1], w.takes, w.closes, w.refused)
	}
	close(s.stop)
	wg.Wait()
	time.Sleep(time.Second) // the last answers' writes are committed before they are answered; this is for the readers
	fmt.Printf("  errors the well-behaved clients saw: %d; WebSockets the runtime dropped under them: %d\n", s.errors.Load(), s.dropped.Load())
	fmt.Printf("  abusive: %d flood messages refused or cut off, %d slow bodies cut off (longest held %v), %d storm requests refused\n",
		s.floodRefused.Load(), s.slowCut.Load(), time.Duration(s.slowLongest.Load()).Round(time.Second), s.stormRefused.Load())
	quarters := func(v []int64) (int64, int64) { return medianOf(v[:max(1, len(v)/4)]), medianOf(v[len(v)*3/4:]) }
	rssFirst, rssLast := quarters(rss)
	heapFirst, heapLast := quarters(heap)
	fmt.Printf("  median of the first and last quarter: RSS %d / %d MiB, live Go heap %d / %d MiB; WAL max %d MiB\n",
		rssFirst, rssLast, heapFirst, heapLast, slices.Max(wal))
	lost, total := s.verify(b)
	fmt.Printf("  %d of %d acknowledged messages lost; runtime peak RSS %d MiB\n", lost, total, p.procStatus("VmHWM")/1024)
	if lost > 0 {
		b.Fatalf("%d acknowledged messages are missing", lost)
	}
}

// liveHeap is the runtime's live Go heap after a collection, read from its pprof
// endpoint (the collection it forces is one per sample).
func (p *runtimeProcess) liveHeap() int64 {
	res, err := http.Get(p.metrics + "/debug/pprof/heap?debug=1&gc=1")
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# HeapAlloc = "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// sqliteWALBytes is the size of the write-ahead logs in a runtime's data directory.
func sqliteWALBytes(dir string) int64 {
	var n int64
	files, _ := filepath.Glob(filepath.Join(dir, "*-wal"))
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

func medianOf(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	return slices.Sorted(slices.Values(v))[len(v)/2]
}

// soakWindow is what happened since the last sample.
type soakWindow struct {
	acked, takes, closes, refused int
	latencies                     []time.Duration
}

// soakLoad is the running load and its ledger.
type soakLoad struct {
	p    *runtimeProcess
	stop chan struct{}

	mu  sync.Mutex
	win soakWindow
	// acked is what the runtime acknowledged, by writer: a visitor's echo names no
	// conversation, so their texts are looked for in all of theirs.
	acked map[string]*soakWriter

	errors, dropped                     atomic.Int64
	floodRefused, slowCut, stormRefused atomic.Int64
	slowLongest                         atomic.Int64
}

func (s *soakLoad) window() soakWindow {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.win
	s.win = soakWindow{}
	return w
}

func (s *soakLoad) stopped() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// soakWriter is one visitor's or operator's acknowledged messages.
type soakWriter struct {
	convs map[string]bool
	texts []string
}

// ack records a message the runtime acknowledged to writer in conversation conv, with
// its latency when known.
func (s *soakLoad) ack(writer, conv, text string, latency time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.acked == nil {
		s.acked = map[string]*soakWriter{}
	}
	w := s.acked[writer]
	if w == nil {
		w = &soakWriter{convs: map[string]bool{}}
		s.acked[writer] = w
	}
	w.convs[conv] = true
	w.texts = append(w.texts, text)
	s.win.acked++
	if latency > 0 {
		s.win.latencies = append(s.win.latencies, latency)
	}
}

func (s *soakLoad) count(f func(w *soakWindow)) {
	s.mu.Lock()
	f(&s.win)
	s.mu.Unlock()
}

// clientAddress is the address client i appears from.
func clientAddress(i int) string { return fmt.Sprintf("10.%d.%d.%d", 1+i/65536, i/256%256, i%256) }

// sleep waits d or until the load stops, and says whether it is still running.
func (s *soakLoad) sleep(d time.Duration) bool {
	select {
	case <-s.stop:
		return false
	case <-time.After(d):
		return true
	}
}

// soakClient is a client with its own connections: a new one per client keeps one
// stuck client from holding up the others.
func soakClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
}

// verify reads every conversation with acknowledged messages back as the supervisor
// and counts the acknowledged texts that are not there.
func (s *soakLoad) verify(b *testing.B) (lost, total int) {
	c := soakClient()
	read := map[string]map[string]bool{}
	for _, w := range s.acked {
		stored := map[string]bool{}
		for conv := range w.convs {
			if read[conv] == nil {
				read[conv] = s.readBack(b, c, conv)
			}
			for t := range read[conv] {
				stored[t] = true
			}
		}
		for _, t := range w.texts {
			total++
			if !stored[t] {
				lost++
			}
		}
	}
	return lost, total
}

// readBack is every text stored in a conversation.
func (s *soakLoad) readBack(b *testing.B, c *http.Client, conv string) map[string]bool {
	stored := map[string]bool{}
	for after := int64(0); ; {
		var page struct {
			Messages []struct {
				Seq  int64
				Text string
			}
		}
		code, err := soakDo(c, s.p.base, "GET", fmt.Sprintf("/api/v1/conversations/%s/messages?after=%d", conv, after), "sample-token-sam", nil, &page)
		if err != nil || code != http.StatusOK {
			b.Fatalf("reading the messages of %s: %d %v", conv, code, err)
		}
		if len(page.Messages) == 0 {
			return stored
		}
		for _, m := range page.Messages {
			stored[m.Text] = true
			after = max(after, m.Seq)
		}
	}
}
