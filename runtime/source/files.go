package source

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"

	"github.com/fsnotify/fsnotify"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/switchboard-chat/switchboard/internal/schemacheck"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/manifests"
)

// Files compiles the five kinds from manifest files, as the operator would, and
// recompiles whenever a file in the directory changes.
type Files struct {
	Dir string
	// LiveChat picks one LiveChat when the files hold several.
	LiveChat string
	// Namespace of objects that name none.
	Namespace string
	Log       *slog.Logger
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

// Load compiles the files once.
func (f *Files) Load() (Snapshot, error) {
	set, err := manifests.ReadPaths(f.Dir)
	if err != nil {
		return Snapshot{}, err
	}
	objs, refused, err := admitted(set)
	if err != nil {
		return Snapshot{}, err
	}
	ns := f.Namespace
	if ns == "" {
		ns = "default"
	}
	var in *config.Input
	var names []string
	for _, candidate := range config.Gather(objs, ns) {
		names = append(names, candidate.LiveChat.Name)
		if f.LiveChat == "" || candidate.LiveChat.Name == f.LiveChat {
			c := candidate
			if in != nil {
				return Snapshot{}, fmt.Errorf("%s holds several LiveChats (%v): choose one with --livechat", f.Dir, names)
			}
			in = &c
		}
	}
	if in == nil {
		return Snapshot{}, fmt.Errorf("no LiveChat %q in %s (found %v)", f.LiveChat, f.Dir, names)
	}
	// Learn which Secrets the configuration names, gather their values from the
	// manifests and the environment, then compile again checking against them.
	in.Secrets = nil
	first, _ := config.Compile(*in)
	values := map[string]map[string][]byte{}
	for _, o := range set.Objects {
		if s, ok := o.Object.(*corev1.Secret); ok {
			values[s.Name] = s.Data
		}
	}
	envSecrets(first, values)
	in.Secrets = map[string][]string{}
	for name, kv := range values {
		for k := range kv {
			in.Secrets[name] = append(in.Secrets[name], k)
		}
	}
	cfg, problems := config.Compile(*in)
	snap := Snapshot{Config: cfg, Secrets: map[string]map[string][]byte{}, Problems: append(refused, problems...)}
	for _, s := range cfg.Secrets {
		if v, ok := values[s.Name]; ok {
			snap.Secrets[s.Name] = v
		}
	}
	return snap, nil
}

// Run implements Source.
func (f *Files) Run(ctx context.Context, apply func(Snapshot)) error {
	snap, err := f.Load()
	if err != nil {
		return err
	}
	f.report(snap)
	apply(snap)
	last := snap.Config.Revision() + secretsFingerprint(snap.Secrets)

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
			if err := w.Add(p); err != nil {
				f.Log.Warn("edits in this directory will not apply until a restart", "dir", p, "error", err)
			}
		}
		return nil
	})
	if walkErr != nil {
		f.Log.Warn("listing manifest directories to watch", "error", walkErr)
	}
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.Events:
			// Editors write in several steps: wait for the files to settle.
			debounce = time.After(200 * time.Millisecond)
		case err := <-w.Errors:
			f.Log.Warn("watching manifests", "error", err)
		case <-debounce:
			snap, err := f.Load()
			if err != nil {
				f.Log.Error("manifests changed but cannot be read; keeping the configuration in force", "error", err)
				continue
			}
			// A Secret edit (a rotated operator token) changes no revision but applies too.
			if state := snap.Config.Revision() + secretsFingerprint(snap.Secrets); state != last {
				last = state
				f.report(snap)
				apply(snap)
			}
		}
	}
}

func (f *Files) report(s Snapshot) {
	for _, p := range s.Problems {
		f.Log.Warn("configuration problem", "problem", p.String())
	}
	f.Log.Info("configuration compiled from manifests", "dir", f.Dir, "revision", s.Config.Revision(), "problems", len(s.Problems))
}
