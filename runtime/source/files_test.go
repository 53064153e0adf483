package source

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// copySamples copies config/samples into a fresh directory.
func copySamples(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(samples.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(samples.Dir(), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// edit replaces the first old with new in a file, as `sed -i` would (a new file
// renamed into place).
func edit(t *testing.T, dir, file, old, new string) {
	t.Helper()
	path := filepath.Join(dir, file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s holds no %q", file, old)
	}
	write(t, dir, file, string(bytes.Replace(data, []byte(old), []byte(new), 1)))
}

func write(t *testing.T, dir, file, content string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+file+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, file)); err != nil {
		t.Fatal(err)
	}
}

func queue(cfg *config.Config, name string) *config.Queue {
	for i := range cfg.Queues {
		if cfg.Queues[i].Name == name {
			return &cfg.Queues[i]
		}
	}
	return nil
}

func channel(cfg *config.Config, name string) *config.Channel {
	for i := range cfg.Channels {
		if cfg.Channels[i].Name == name {
			return &cfg.Channels[i]
		}
	}
	return nil
}

func TestFilesLeaveOutWhatTheAPIServerWouldRefuse(t *testing.T) {
	dir := copySamples(t)
	edit(t, dir, "chatqueues.yaml", "rule: AllAgents", "rule: RoundRobin")
	snap, err := (&Files{Dir: dir, Log: discard}).Load()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range snap.Problems {
		if p.Kind == "ChatQueue" && p.Name == "accounting" && p.Field == "spec.routing.rule" && p.Reason == "RefusedBySchema" {
			found = true
		}
	}
	if !found {
		t.Errorf("no problem for the refused queue: %v", snap.Problems)
	}
	if queue(snap.Config, "accounting") != nil {
		t.Error("the refused queue is served: it never compiled")
	}
	if len(snap.Config.Queues) != 1 {
		t.Errorf("queues served: %d, want the one valid queue", len(snap.Config.Queues))
	}
}

// An edit that fails leaves the object in its last good version; the reload says so.
func TestFilesKeepTheLastGoodVersionOfARefusedEdit(t *testing.T) {
	tests := []struct {
		name       string
		change     func(t *testing.T, dir string)
		heldBack   string // Kind/name served in its last good version; "" for none
		file       string // where the held back object is
		problem    string // a refused reload names this
		check      func(t *testing.T, cfg *config.Config)
		wantReload bool // a refused reload is reported
	}{
		{
			name:     "a queue with an unknown routing rule keeps routing, and its channels keep serving",
			change:   func(t *testing.T, dir string) { edit(t, dir, "chatqueues.yaml", "rule: AvailableAgent", "rule: Bogus") },
			heldBack: "ChatQueue/first-line", file: "chatqueues.yaml", problem: `Unsupported value: "Bogus"`,
			check: func(t *testing.T, cfg *config.Config) {
				if q := queue(cfg, "first-line"); q == nil || q.Rule != config.RoutingAvailableAgent || len(q.Operators) != 3 {
					t.Errorf("first-line served as %+v, want its last good version with its three operators", q)
				}
				if channel(cfg, "website") == nil {
					t.Error("the website channel went dark")
				}
			},
		},
		{
			name: "a queue with an accept timeout under the minimum keeps serving",
			change: func(t *testing.T, dir string) {
				edit(t, dir, "chatqueues.yaml", "acceptTimeout: 2m", "acceptTimeout: 6s")
			},
			heldBack: "ChatQueue/first-line", file: "chatqueues.yaml", problem: "must be between 10s and 24h",
			check: func(t *testing.T, cfg *config.Config) {
				if q := queue(cfg, "first-line"); q == nil || q.AcceptTimeout.Duration != 2*time.Minute {
					t.Errorf("first-line served as %+v, want its last good accept timeout of 2m", q)
				}
			},
		},
		{
			name: "a group with one invalid email keeps every member",
			change: func(t *testing.T, dir string) {
				edit(t, dir, "operatorgroups.yaml", "alice@example.com", "alice at example")
			},
			heldBack: "OperatorGroup/first-line", file: "operatorgroups.yaml", problem: "spec.members[0].email",
			check: func(t *testing.T, cfg *config.Config) {
				if q := queue(cfg, "first-line"); q == nil || len(q.Operators) != 3 {
					t.Errorf("first-line served as %+v, want the group's three operators", q)
				}
			},
		},
		{
			name: "a channel edited to a queue that does not exist keeps its queue",
			change: func(t *testing.T, dir string) {
				edit(t, dir, "channels.yaml", "    name: first-line\n  displayName: Website chat", "    name: second-line\n  displayName: Website chat")
			},
			heldBack: "Channel/website", file: "channels.yaml#2", problem: `ChatQueue "second-line" does not exist`,
			check: func(t *testing.T, cfg *config.Config) {
				if ch := channel(cfg, "website"); ch == nil || ch.Queue != "first-line" {
					t.Errorf("website served as %+v, want its last good version", ch)
				}
			},
		},
		{
			name: "a LiveChat refused by its schema serves its last good version",
			change: func(t *testing.T, dir string) {
				edit(t, dir, "livechat.yaml", "acceptTimeout: 5m", "acceptTimeout: 5s")
			},
			heldBack: "LiveChat/support", file: "livechat.yaml", problem: "spec.defaults.acceptTimeout",
			check: func(t *testing.T, cfg *config.Config) {
				if cfg.LiveChat.AcceptTimeout.Duration != 5*time.Minute {
					t.Errorf("accept timeout %s, want the last good 5m", cfg.LiveChat.AcceptTimeout)
				}
			},
		},
		{
			name:   "an emptied file deletes its objects",
			change: func(t *testing.T, dir string) { write(t, dir, "channels.yaml", "") },
			check: func(t *testing.T, cfg *config.Config) {
				if len(cfg.Channels) != 0 {
					t.Errorf("channels served: %d, want none", len(cfg.Channels))
				}
			},
		},
		{
			name: "an object that never compiled stays out",
			change: func(t *testing.T, dir string) {
				write(t, dir, "lobby.yaml", "apiVersion: chat.switchboard.dev/v1alpha1\nkind: Channel\nmetadata:\n  name: lobby\n"+
					"spec:\n  liveChatRef:\n    name: support\n  queueRef:\n    name: second-line\n  type: WebWidget\n  webWidget:\n    allowedOrigins: [https://www.example.com]\n")
			},
			problem: `ChatQueue "second-line" does not exist`,
			check: func(t *testing.T, cfg *config.Config) {
				if channel(cfg, "lobby") != nil {
					t.Error("a channel that never compiled is served")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copySamples(t)
			f := &Files{Dir: dir, Log: discard}
			if snap, err := f.Load(); err != nil || len(snap.Problems) > 0 {
				t.Fatalf("the samples must load cleanly: %v %v", err, snap.Problems)
			}
			tt.change(t, dir)
			snap, err := f.Load()
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, snap.Config)
			}
			report := f.Reloads()
			var held []string
			for _, h := range report.HeldBack {
				held = append(held, h.Kind+"/"+h.Name)
				if h.File != tt.file || !h.ServingLastGood {
					t.Errorf("held back %s/%s in %q (serving last good %v), want in %q", h.Kind, h.Name, h.File, h.ServingLastGood, tt.file)
				}
			}
			if got := strings.Join(held, ","); got != tt.heldBack {
				t.Errorf("held back %q, want %q", got, tt.heldBack)
			}
			if tt.problem == "" {
				return
			}
			r := report.LastRefused
			if r == nil || r.At.IsZero() || len(r.Objects) == 0 {
				t.Fatalf("no refused reload reported: %+v", r)
			}
			found := false
			for _, o := range r.Objects {
				found = found || strings.Contains(strings.Join(o.Problems, "; "), tt.problem)
			}
			if !found {
				t.Errorf("the refused reload %+v does not say %q", r.Objects, tt.problem)
			}
		})
	}
}

// Fixing the edit applies it, and nothing is held back any more.
func TestFilesApplyTheFixedEdit(t *testing.T) {
	dir := copySamples(t)
	f := &Files{Dir: dir, Log: discard}
	if _, err := f.Load(); err != nil {
		t.Fatal(err)
	}
	edit(t, dir, "chatqueues.yaml", "rule: AvailableAgent", "rule: Bogus")
	if _, err := f.Load(); err != nil {
		t.Fatal(err)
	}
	edit(t, dir, "chatqueues.yaml", "rule: Bogus", "rule: AllAgents")
	snap, err := f.Load()
	if err != nil {
		t.Fatal(err)
	}
	if q := queue(snap.Config, "first-line"); q == nil || q.Rule != config.RoutingAllAgents {
		t.Errorf("first-line served as %+v, want the fixed edit", q)
	}
	if held := f.Reloads().HeldBack; len(held) != 0 {
		t.Errorf("still held back: %+v", held)
	}
}

// A LiveChat refused when nothing good came before is reported with its cause.
func TestFilesReportARefusedLiveChatWithItsCause(t *testing.T) {
	dir := copySamples(t)
	edit(t, dir, "livechat.yaml", "acceptTimeout: 5m", "acceptTimeout: 5s")
	_, err := (&Files{Dir: dir, Log: discard}).Load()
	if err == nil || !strings.Contains(err.Error(), `LiveChat "support" in livechat.yaml is refused`) || !strings.Contains(err.Error(), "spec.defaults.acceptTimeout") {
		t.Errorf("error %v, want the refused LiveChat named with its cause", err)
	}
}

// Files that cannot be read at all leave the configuration in force, and the reload
// is reported refused with why.
func TestFilesKeepTheConfigurationWhenTheFilesCannotBeRead(t *testing.T) {
	dir := copySamples(t)
	f := &Files{Dir: dir, Log: discard}
	if _, err := f.Load(); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "chatqueues.yaml", "apiVersion: chat.switchboard.dev/v1alpha1\nkind: ChatQueue\nmetadata: [half\n")
	if _, err := f.Load(); err == nil {
		t.Fatal("a half-written file loaded")
	}
	if r := f.Reloads().LastRefused; r == nil || !strings.Contains(r.Error, "chatqueues.yaml") {
		t.Errorf("refused reload %+v, want the file named", r)
	}
}

// A change is read once the directory is still: a file emptied and written again in
// one burst (a checkout, an editor's save) is never applied half-written.
func TestFilesApplyOnlyAStillDirectory(t *testing.T) {
	dir := copySamples(t)
	f := &Files{Dir: dir, Log: discard, Quiet: 2 * time.Second}
	applied := make(chan Snapshot, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, func(s Snapshot) { applied <- s }) }()
	t.Cleanup(func() { cancel(); <-done })
	<-applied

	original, err := os.ReadFile(filepath.Join(dir, "chatqueues.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Truncated in place, then written by a slow writer: the moment in between holds
	// no queues.
	path := filepath.Join(dir, "chatqueues.yaml")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(f.Quiet / 4)
	if err := os.WriteFile(path, bytes.Replace(original, []byte("displayName: Accounting"), []byte("displayName: Invoices"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case s := <-applied:
			if len(s.Config.Queues) != 2 {
				t.Fatalf("a half-written directory was applied: %d queues", len(s.Config.Queues))
			}
			if q := queue(s.Config, "accounting"); q != nil && q.DisplayName == "Invoices" {
				return
			}
		case err := <-done:
			t.Fatalf("the source stopped: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("the change was never applied")
		}
	}
}

// A document of a kind switchboard does not read is named in the log, not dropped
// silently: a typo in a kind would otherwise look like a deletion.
func TestFilesLogKindsTheyDoNotRead(t *testing.T) {
	dir := copySamples(t)
	write(t, dir, "extra.yaml", "apiVersion: chat.switchboard.dev/v1alpha1\nkind: ChatQeue\nmetadata:\n  name: typo\n")
	var logged bytes.Buffer
	f := &Files{Dir: dir, Log: slog.New(slog.NewTextHandler(&logged, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the first load is all this needs
	if err := f.Run(ctx, func(Snapshot) {}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "not a kind switchboard reads") || !strings.Contains(logged.String(), "ChatQeue") {
		t.Errorf("the log does not name the unread kind:\n%s", logged.String())
	}
}
