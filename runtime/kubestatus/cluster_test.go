package kubestatus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/controllers"
	sampleplatform "github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/internal/testenv"
	"github.com/switchboard-chat/switchboard/runtime/kubestatus"
	"github.com/switchboard-chat/switchboard/runtime/manifests"
)

// One control plane with the operator serves the package's cluster tests; it starts
// on first use, so the unit tests run without it.
var (
	clusterOnce sync.Once
	env         *testenv.Env
	operator    *testenv.Operator
	clusterErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if operator != nil {
		_ = operator.Stop()
	}
	if env != nil {
		_ = env.Stop()
	}
	os.Exit(code)
}

func cluster(t *testing.T) *testenv.Env {
	t.Helper()
	clusterOnce.Do(func() {
		if env, clusterErr = testenv.Start(); clusterErr != nil {
			return
		}
		operator, clusterErr = env.StartOperator(controllers.RuntimeOptions{Image: "switchboard:test"})
	})
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	return env
}

const settle = 20 * time.Second

// platform creates the sample platform in a fresh namespace, waits until the operator
// has made the Telegram channel Ready and rendered the runtime's Role with its status
// rule, and returns the namespace and a config authenticating as the runtime's
// ServiceAccount: the writer gets what that Role grants and nothing more.
func platform(t *testing.T) (string, *rest.Config) {
	t.Helper()
	e := cluster(t)
	ns := e.Namespace(t)
	set, err := manifests.ReadPaths(sampleplatform.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range set.Objects {
		o.SetNamespace(ns)
		if err := e.Client.Create(context.Background(), o.Object); err != nil {
			t.Fatalf("creating %s: %v", o.Object.GetName(), err)
		}
	}
	eventually(t, settle, func() (bool, string) {
		var role rbacv1.Role
		if err := e.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: controllers.RuntimeName("support")}, &role); err != nil {
			return false, err.Error()
		}
		for _, r := range role.Rules {
			if slices.Contains(r.Resources, "channels/status") {
				return ready(t, ns, "telegram")
			}
		}
		return false, fmt.Sprintf("the runtime's Role has no rule for channels/status: %+v", role.Rules)
	})
	// The API server's authorizer learns of a new Role a moment after it is stored.
	sa := "system:serviceaccount:" + ns + ":" + controllers.RuntimeName("support")
	eventually(t, settle, func() (bool, string) {
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: sa,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "patch", Group: chatv1alpha1.GroupVersion.Group,
				Resource: "channels", Subresource: "status", Name: "telegram"}}}
		if err := e.Client.Create(context.Background(), review); err != nil {
			return false, err.Error()
		}
		return review.Status.Allowed, "the runtime may not yet patch the Channel's status: " + review.Status.Reason
	})
	cfg, err := e.ServiceAccountConfig(context.Background(), ns, controllers.RuntimeName("support"))
	if err != nil {
		t.Fatal(err)
	}
	return ns, cfg
}

// ready reports whether the operator's Ready of a Channel is True for its generation.
func ready(t *testing.T, ns, name string) (bool, string) {
	ch := channel(t, ns, name)
	c := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionReady)
	if c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != ch.Generation || ch.Status.ObservedGeneration != ch.Generation {
		return false, fmt.Sprintf("Channel %s at generation %d: Ready %+v, observedGeneration %d", name, ch.Generation, c, ch.Status.ObservedGeneration)
	}
	return true, ""
}

// runWriter runs a writer as cfg until the test ends.
func runWriter(t *testing.T, cfg *rest.Config, ns string, log *slog.Logger) *kubestatus.ChannelWriter {
	t.Helper()
	w, err := kubestatus.NewChannelWriter(cfg, ns, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

// written waits until w has written every status it was given.
func written(t *testing.T, w *kubestatus.ChannelWriter) {
	t.Helper()
	eventually(t, settle, func() (bool, string) { return w.Pending() == 0, fmt.Sprintf("%d statuses pending", w.Pending()) })
}

func channel(t *testing.T, ns, name string) *chatv1alpha1.Channel {
	t.Helper()
	var ch chatv1alpha1.Channel
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &ch); err != nil {
		t.Fatalf("getting Channel %s: %v", name, err)
	}
	return &ch
}

func connected(ch *chatv1alpha1.Channel) *metav1.Condition {
	return meta.FindStatusCondition(ch.Status.Conditions, kubestatus.ConditionConnected)
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("not within %s: %s", timeout, last)
}

// printerColumn is what `kubectl get channel` shows in a column: the API server
// computes the table from the CRD's printer columns.
func printerColumn(t *testing.T, ns, name, column string) string {
	t.Helper()
	hc, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("%s/apis/%s/namespaces/%s/channels/%s", strings.TrimSuffix(env.Config.Host, "/"), chatv1alpha1.GroupVersion, ns, name)
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var table metav1.Table
	if err := json.NewDecoder(resp.Body).Decode(&table); err != nil || len(table.Rows) != 1 {
		t.Fatalf("the table of Channel %s: %v, %d rows", name, err, len(table.Rows))
	}
	for i, c := range table.ColumnDefinitions {
		if c.Name == column {
			return fmt.Sprint(table.Rows[0].Cells[i])
		}
	}
	t.Fatalf("Channel has no printer column %q", column)
	return ""
}

// logBuffer collects a writer's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
