package api_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/auth"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/hub"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

// rig is the API on the samples over real HTTP, with its log and metrics at hand.
type rig struct {
	srv    *httptest.Server
	api    *api.Server
	engine *chat.Engine
	st     *sqlstore.DB
	reg    *prometheus.Registry
	log    *syncBuffer
}

// syncBuffer is a log any goroutine may write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startRig serves the samples, changed by edits; o's Engine, Verifier, Log and
// Metrics are set here.
func startRig(t *testing.T, o api.Options, edits ...func(*config.Config)) *rig {
	t.Helper()
	cfg, err := samples.Config()
	if err != nil {
		t.Fatal(err)
	}
	for _, edit := range edits {
		edit(cfg)
	}
	st, err := sqlstore.OpenSQLite(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rg := &rig{reg: prometheus.NewRegistry(), log: &syncBuffer{}, st: st}
	rg.engine = chat.New(st, hub.New(), cfg, chat.Options{})
	t.Cleanup(rg.engine.Close)
	o.Engine, o.Log, o.Metrics = rg.engine, slog.New(slog.NewTextHandler(rg.log, &slog.HandlerOptions{Level: slog.LevelDebug})), api.NewMetrics(rg.reg)
	o.Verifier = auth.NewTokens(map[string][]byte{"alice": []byte(aliceToken), "frank": []byte("tok-frank-employee"),
		"sam": []byte(samToken)})
	srv := api.New(o)
	rg.api = srv
	rg.srv = httptest.NewServer(srv)
	t.Cleanup(rg.srv.Close)
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return rg
}

const (
	aliceToken = "tok-alice-0123456789"
	samToken   = "tok-sam-supervisor-0123"
)

// counter reads a counter or the count of a histogram's observations.
func (rg *rig) counter(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	families, err := rg.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, method, url, token string, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	return res, b.String()
}
