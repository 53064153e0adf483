package source

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

// Kube watches the compiled ConfigMap and the Secrets its configuration names through
// the API: each with an informer limited to that one name (the runtime's Role grants
// nothing else), so a change reaches the engine in about a second, without waiting for
// a kubelet to sync a mounted volume.
type Kube struct {
	Config    *rest.Config
	Namespace string
	ConfigMap string
	Key       string // the ConfigMap key holding the configuration; config.json
	Log       *slog.Logger
}

type kubeState struct {
	mu      sync.Mutex
	cfg     *config.Config
	secrets map[string]map[string][]byte
	stops   map[string]context.CancelFunc
	synced  map[string]bool // Secrets whose informer has listed once
	changed chan struct{}
}

// secretsSynced reports whether every Secret informer has listed once, so a
// snapshot does not go out with a Secret missing only because its list is slow.
// Called with s.mu held.
func (s *kubeState) secretsSynced() bool {
	for name := range s.stops {
		if !s.synced[name] {
			return false
		}
	}
	return true
}

func (s *kubeState) poke() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// informOne runs an informer on one named object until ctx ends; synced is called
// once its first list is in.
func informOne[T runtime.Object](ctx context.Context, cs kubernetes.Interface, resource, ns, name string, obj T, on func(T, bool), synced func()) {
	lw := cache.NewListWatchFromClient(cs.CoreV1().RESTClient(), resource, ns, fields.OneTermEqualSelector("metadata.name", name))
	_, informer := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: lw,
		ObjectType:    obj,
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { on(o.(T), true) },
			UpdateFunc: func(_, o any) { on(o.(T), true) },
			DeleteFunc: func(o any) {
				if t, ok := o.(T); ok {
					on(t, false)
				}
			},
		},
	})
	if synced != nil {
		go func() {
			if cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
				synced()
			}
		}()
	}
	informer.RunWithContext(ctx)
}

// secretSyncWait bounds how long a new configuration waits for its Secrets' first list.
const secretSyncWait = 10 * time.Second

// Run implements Source.
func (k *Kube) Run(ctx context.Context, apply func(Snapshot)) error {
	cs, err := kubernetes.NewForConfig(k.Config)
	if err != nil {
		return err
	}
	key := k.Key
	if key == "" {
		key = "config.json"
	}
	st := &kubeState{secrets: map[string]map[string][]byte{}, stops: map[string]context.CancelFunc{}, synced: map[string]bool{}, changed: make(chan struct{}, 1)}
	go informOne(ctx, cs, "configmaps", k.Namespace, k.ConfigMap, &corev1.ConfigMap{}, func(cm *corev1.ConfigMap, present bool) {
		if !present {
			k.Log.Warn("the configuration ConfigMap was deleted; keeping the configuration in force", "configMap", k.ConfigMap)
			return
		}
		cfg, err := config.Parse([]byte(cm.Data[key]))
		if err != nil {
			k.Log.Error("the configuration ConfigMap cannot be used; keeping the configuration in force", "error", err)
			return
		}
		st.mu.Lock()
		st.cfg = cfg
		k.watchSecrets(ctx, cs, st)
		st.mu.Unlock()
		st.poke()
	}, nil)

	wait := time.NewTimer(0)
	defer wait.Stop()
	var lastRev string
	var lastSecrets string
	var unsyncedSince time.Time
	for {
		select {
		case <-ctx.Done():
			st.mu.Lock()
			for _, stop := range st.stops {
				stop()
			}
			st.mu.Unlock()
			return nil
		case <-st.changed:
			// Let a burst of Secret events that arrive with a new revision settle.
			wait.Reset(50 * time.Millisecond)
		case <-wait.C:
			st.mu.Lock()
			if st.cfg == nil {
				st.mu.Unlock()
				continue
			}
			// Hold the snapshot until the Secrets it names are listed, so operators are
			// not turned away for a moment at start; but not forever, since a Secret the
			// Role cannot read never lists.
			if !st.secretsSynced() {
				if unsyncedSince.IsZero() {
					unsyncedSince = time.Now()
				}
				if time.Since(unsyncedSince) < secretSyncWait {
					st.mu.Unlock()
					wait.Reset(50 * time.Millisecond)
					continue
				}
				k.Log.Warn("applying the configuration before every Secret it names could be read", "waited", secretSyncWait)
			}
			unsyncedSince = time.Time{}
			snap := Snapshot{Config: st.cfg, Secrets: map[string]map[string][]byte{}}
			for name, kv := range st.secrets {
				snap.Secrets[name] = kv
			}
			st.mu.Unlock()
			rev, sec := snap.Config.Revision(), secretsFingerprint(snap.Secrets)
			if rev == lastRev && sec == lastSecrets {
				continue
			}
			lastRev, lastSecrets = rev, sec
			apply(snap)
		}
	}
}

// watchSecrets starts an informer for every Secret the configuration names and stops
// those it no longer names. Called with st.mu held.
func (k *Kube) watchSecrets(ctx context.Context, cs kubernetes.Interface, st *kubeState) {
	want := map[string]bool{}
	for _, s := range st.cfg.Secrets {
		want[s.Name] = true
	}
	for name, stop := range st.stops {
		if !want[name] {
			stop()
			delete(st.stops, name)
			delete(st.secrets, name)
			delete(st.synced, name)
		}
	}
	for name := range want {
		if _, ok := st.stops[name]; ok {
			continue
		}
		sctx, cancel := context.WithCancel(ctx)
		st.stops[name] = cancel
		go informOne(sctx, cs, "secrets", k.Namespace, name, &corev1.Secret{}, func(s *corev1.Secret, present bool) {
			st.mu.Lock()
			if present {
				st.secrets[s.Name] = s.Data
			} else {
				delete(st.secrets, s.Name)
			}
			st.mu.Unlock()
			st.poke()
		}, func() {
			st.mu.Lock()
			if st.stops[name] != nil {
				st.synced[name] = true
			}
			st.mu.Unlock()
			st.poke()
		})
	}
}

// secretsFingerprint changes when any Secret value changes, without keeping values.
func secretsFingerprint(secrets map[string]map[string][]byte) string {
	names := make([]string, 0, len(secrets))
	for n := range secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		keys := make([]string, 0, len(secrets[n]))
		for k := range secrets[n] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(h, "%s\x00%s\x00%d\x00", n, k, len(secrets[n][k]))
			h.Write(secrets[n][k])
		}
	}
	return string(h.Sum(nil))
}
