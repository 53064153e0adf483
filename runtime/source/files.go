package source

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"

	"github.com/fsnotify/fsnotify"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/switchboard-chat/switchboard/internal/schemacheck"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/manifests"
)

// DefaultQuiet is how long the manifest directory must be still before a change is read.
const DefaultQuiet = 300 * time.Millisecond

// Files compiles the five kinds from manifest files, as the operator would, and
// recompiles whenever a file in the directory changes. An object whose edit fails
// (refused by its schema, a reference that does not resolve, a compile problem) keeps
// serving its last good version, remembered for as long as the process runs.
type Files struct {
	Dir string
	// LiveChat picks one LiveChat when the files hold several.
	LiveChat string
	// Namespace of objects that name none.
	Namespace string
	Log       *slog.Logger
	// Quiet is how long the directory must be still before a change is read;
	// DefaultQuiet when zero.
	Quiet time.Duration

	mu      sync.Mutex
	last    config.LastGood
	reloads ReloadReport
}

// reading is one read of the directory, not yet in force.
type reading struct {
	snap     Snapshot
	lastGood config.LastGood
	heldBack []ObjectProblems
	refused  []ObjectProblems // every object with problems, held back or not
	skipped  []string
}

// admitted checks the objects against their CRDs, as the API server would: what it
// would refuse is left out, with a problem each, so the standalone runtime serves what
// a cluster would.
func admitted(set *manifests.Set) ([]runtime.Object, config.Problems, error) {
	checker, err := schemacheck.Default()
	if err != nil {
		return nil, nil, err
	}
	ok, refused, err := checker.Admit(set)
	if err != nil {
		return nil, nil, err
	}
	objs := make([]runtime.Object, 0, len(ok))
	for _, o := range ok {
		objs = append(objs, o.Object)
	}
	var problems config.Problems
	for _, r := range refused {
		for _, e := range r.Errors {
			problems = append(problems, config.Problem{Kind: r.Kind, Name: r.GetName(), Field: e.Field,
				Reason: chatv1alpha1.ReasonRefusedBySchema, Message: "the API server would refuse this object, so it is left out: " + e.ErrorBody()})
		}
	}
	return objs, problems, nil
}

// Load reads and compiles the files once and puts the result in force: it becomes what
// the next load falls back to, and what Reloads reports.
func (f *Files) Load() (Snapshot, error) {
	r, err := f.read()
	f.commit(r, err)
	if err != nil {
		return Snapshot{}, err
	}
	return r.snap, nil
}

func (f *Files) lastGood() config.LastGood {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// read reads every file, then compiles them, changing nothing.
func (f *Files) read() (*reading, error) {
	set, err := manifests.ReadPaths(f.Dir)
	if err != nil {
		return nil, err
	}
	objs, refused, err := admitted(set)
	if err != nil {
		return nil, err
	}
	ns := f.Namespace
	if ns == "" {
		ns = "default"
	}
	last := f.lastGood()
	lcName, err := f.pickLiveChat(objs, refused)
	if err != nil {
		return nil, err
	}
	if lcRefused := problemsOf(refused, "LiveChat", lcName); len(lcRefused) > 0 {
		// Serve the LiveChat's last good version, or say why there is none.
		lc, err := goodLiveChat(last, lcName, ns)
		if err != nil {
			return nil, fmt.Errorf("LiveChat %q in %s is refused and no earlier version of it compiled, so there is nothing to serve: %s",
				lcName, f.sourceOf(set, "LiveChat", lcName), lcRefused.DetailSummary(5))
		}
		objs = append(objs, lc)
	}
	var in *config.Input
	for _, candidate := range config.Gather(objs, ns) {
		if candidate.LiveChat.Name == lcName {
			c := candidate
			in = &c
		}
	}
	if in == nil {
		return nil, fmt.Errorf("no LiveChat %q in %s", lcName, f.Dir)
	}
	// Learn which Secrets the configuration names, gather their values from the
	// manifests and the environment, then compile again checking against them.
	in.Secrets = nil
	first := config.CompileKeepingLastGood(*in, refused, last)
	values := map[string]map[string][]byte{}
	for _, o := range set.Objects {
		if s, ok := o.Object.(*corev1.Secret); ok {
			values[s.Name] = s.Data
		}
	}
	envSecrets(first.Config, values)
	in.Secrets = map[string][]string{}
	for name, kv := range values {
		for k := range kv {
			in.Secrets[name] = append(in.Secrets[name], k)
		}
	}
	c := config.CompileKeepingLastGood(*in, refused, last)
	r := &reading{snap: Snapshot{Config: c.Config, Secrets: map[string]map[string][]byte{}, Problems: c.Problems},
		lastGood: c.LastGood, skipped: set.Skipped}
	for _, s := range c.Config.Secrets {
		if v, ok := values[s.Name]; ok {
			r.snap.Secrets[s.Name] = v
		}
	}
	held := map[string]bool{}
	for _, h := range c.LastGood.HeldBack {
		held[h.Kind+"/"+h.Name] = true
		r.heldBack = append(r.heldBack, f.objectProblems(set, h.Kind, h.Name, true, h.Problems))
	}
	for _, p := range c.Problems {
		if n := len(r.refused); n == 0 || r.refused[n-1].Kind != p.Kind || r.refused[n-1].Name != p.Name {
			r.refused = append(r.refused, f.objectProblems(set, p.Kind, p.Name, held[p.Kind+"/"+p.Name], nil))
		}
		last := &r.refused[len(r.refused)-1]
		last.Problems = append(last.Problems, p.Detail())
	}
	return r, nil
}

// pickLiveChat names the LiveChat to serve: the one asked for, or the only one in the
// files, admitted or refused.
func (f *Files) pickLiveChat(objs []runtime.Object, refused config.Problems) (string, error) {
	var names []string
	for _, o := range objs {
		if lc, ok := o.(*chatv1alpha1.LiveChat); ok {
			names = append(names, lc.Name)
		}
	}
	for _, p := range refused {
		if p.Kind == "LiveChat" {
			names = append(names, p.Name)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	switch {
	case f.LiveChat != "" && slices.Contains(names, f.LiveChat):
		return f.LiveChat, nil
	case f.LiveChat != "":
		return "", fmt.Errorf("no LiveChat %q in %s (found %v)", f.LiveChat, f.Dir, names)
	case len(names) == 0:
		return "", fmt.Errorf("no LiveChat in %s: add one (see config/samples/livechat.yaml)", f.Dir)
	case len(names) > 1:
		return "", fmt.Errorf("%s holds several LiveChats (%v): choose one with --livechat", f.Dir, names)
	}
	return names[0], nil
}

func problemsOf(ps config.Problems, kind, name string) config.Problems {
	var out config.Problems
	for _, p := range ps {
		if p.Kind == kind && p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// goodLiveChat rebuilds a LiveChat from its last good version.
func goodLiveChat(last config.LastGood, name, ns string) (runtime.Object, error) {
	for _, g := range last.Objects {
		if g.Kind == "LiveChat" && g.Name == name {
			return g.Object(ns)
		}
	}
	return nil, fmt.Errorf("no good version of LiveChat %q", name)
}

// sourceOf names the file (relative to the directory) an object came from.
func (f *Files) sourceOf(set *manifests.Set, kind, name string) string {
	for _, o := range set.Objects {
		if manifests.GVK(o.Object).Kind == kind && o.GetName() == name {
			if rel, err := filepath.Rel(f.Dir, o.Source); err == nil {
				return rel
			}
			return o.Source
		}
	}
	return ""
}

func (f *Files) objectProblems(set *manifests.Set, kind, name string, held bool, ps config.Problems) ObjectProblems {
	out := ObjectProblems{Kind: kind, Name: name, File: f.sourceOf(set, kind, name), ServingLastGood: held, Problems: []string{}}
	for _, p := range ps {
		out.Problems = append(out.Problems, p.Detail())
	}
	return out
}

// commit puts a reading in force, or records why none could be made.
func (f *Files) commit(r *reading, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now().UTC()
	if err != nil {
		f.reloads.LastRefused = &RefusedReload{At: now, Error: err.Error()}
		return
	}
	f.last = r.lastGood
	f.reloads.HeldBack = r.heldBack
	if len(r.refused) > 0 {
		f.reloads.LastRefused = &RefusedReload{At: now, Objects: r.refused}
	}
}

// Reloads implements Reporter.
func (f *Files) Reloads() ReloadReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.reloads
	out.HeldBack = slices.Clone(out.HeldBack)
	return out
}

// Run implements Source.
func (f *Files) Run(ctx context.Context, apply func(Snapshot)) error {
	// Watch before the first read, so no change after it goes unseen.
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	// Without a watch, edits would silently stop applying: say so.
	if err := w.Add(f.Dir); err != nil {
		return fmt.Errorf("watching %s for changes: %w", f.Dir, err)
	}
	walkErr := filepath.WalkDir(f.Dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != f.Dir {
			f.watchDir(w, p)
		}
		return nil
	})
	if walkErr != nil {
		f.Log.Warn("listing manifest directories to watch", "error", walkErr)
	}
	r, err := f.read()
	f.commit(r, err)
	if err != nil {
		return err
	}
	f.report(r)
	apply(r.snap)
	last := r.snap.Config.Revision() + secretsFingerprint(r.snap.Secrets)

	quiet := f.Quiet
	if quiet == 0 {
		quiet = DefaultQuiet
	}
	var settled <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-w.Events:
			if ev.Has(fsnotify.Create) {
				if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
					f.watchDir(w, ev.Name)
				}
			}
			// Editors and checkouts write in several steps: wait until the directory
			// has been still for a while, so a half-written change is never read.
			settled = time.After(quiet)
		case err := <-w.Errors:
			f.Log.Warn("watching manifests", "error", err)
		case <-settled:
			settled = nil
			r, err := f.read()
			// A file that changed while the directory was read: read it all again
			// once it is still, rather than apply a mix of old and new.
			if changedMeanwhile(w) {
				settled = time.After(quiet)
				continue
			}
			f.commit(r, err)
			if err != nil {
				f.Log.Error("manifests changed but cannot be used; keeping the configuration in force", "error", err)
				continue
			}
			f.report(r)
			// A Secret edit (a rotated operator token) changes no revision but applies too.
			if state := r.snap.Config.Revision() + secretsFingerprint(r.snap.Secrets); state != last {
				last = state
				apply(r.snap)
			}
		}
	}
}

func (f *Files) watchDir(w *fsnotify.Watcher, dir string) {
	if err := w.Add(dir); err != nil {
		f.Log.Warn("edits in this directory will not apply until a restart", "dir", dir, "error", err)
	}
}

// changedMeanwhile reports whether a change event is waiting, taking it.
func changedMeanwhile(w *fsnotify.Watcher) bool {
	select {
	case <-w.Events:
		return true
	default:
		return false
	}
}

func (f *Files) report(r *reading) {
	for _, s := range r.skipped {
		f.Log.Warn("not a kind switchboard reads; skipped", "document", s)
	}
	for _, p := range r.snap.Problems {
		f.Log.Warn("configuration problem", "problem", p.String())
	}
	for _, h := range r.heldBack {
		f.Log.Warn("serving the last good version of an object whose edit does not compile; fix the edit to apply it",
			"kind", h.Kind, "name", h.Name, "file", h.File, "problems", strings.Join(h.Problems, "; "))
	}
	f.Log.Info("configuration compiled from manifests", "dir", f.Dir, "revision", r.snap.Config.Revision(),
		"problems", len(r.snap.Problems), "heldBack", len(r.heldBack))
}
