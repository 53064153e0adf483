package config_test

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/samples"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

var update = flag.Bool("update", false, "rewrite golden files from the current output")

// sampleObjects reads config/samples.
func sampleObjects(t *testing.T) []runtime.Object {
	t.Helper()
	objs, err := samples.Objects()
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func sampleInput(t *testing.T) config.Input {
	t.Helper()
	in, err := samples.Input()
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the compiled output; if the change is intended, run go test ./runtime/config -update\n%s",
			path, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, a, b)
		}
	}
	return ""
}

func TestCompileSamplesGolden(t *testing.T) {
	cfg, problems := config.Compile(sampleInput(t))
	if len(problems) > 0 {
		t.Fatalf("the samples must compile cleanly, got:\n%s", problems.Summary(50))
	}
	golden(t, "support.golden.json", cfg.Marshal())
	if len(cfg.Queues) != 2 || len(cfg.Channels) != 3 || len(cfg.Policies) != 1 {
		t.Errorf("compiled %d queues, %d channels, %d policies; want 2, 3, 1", len(cfg.Queues), len(cfg.Channels), len(cfg.Policies))
	}
}

func TestCompileIsDeterministic(t *testing.T) {
	objs := sampleObjects(t)
	in := config.Gather(objs, "default")[0]
	want, _ := config.Compile(in)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		rng.Shuffle(len(objs), func(i, j int) { objs[i], objs[j] = objs[j], objs[i] })
		got, _ := config.Compile(config.Gather(objs, "default")[0])
		if !bytes.Equal(got.Marshal(), want.Marshal()) {
			t.Fatal("compiling the same objects in another order gave different bytes")
		}
		if got.Revision() != want.Revision() {
			t.Fatal("revision changed with input order")
		}
	}
}

func TestCompiledConfigHoldsNoSecretValues(t *testing.T) {
	cfg, _ := config.Compile(sampleInput(t))
	out := string(cfg.Marshal())
	for _, o := range sampleObjects(t) {
		s, ok := o.(*corev1.Secret)
		if !ok {
			continue
		}
		for k, v := range s.Data {
			if len(v) >= 8 && strings.Contains(out, string(v)) {
				t.Errorf("the value of Secret %s key %s appears in the compiled config", s.Name, k)
			}
		}
	}
}

// The operator hands Compile the cache's own objects without copying them, so Compile
// must never write to its inputs.
func TestCompileDoesNotModifyItsInputs(t *testing.T) {
	objs := sampleObjects(t)
	before := make([]runtime.Object, len(objs))
	for i, o := range objs {
		before[i] = o.DeepCopyObject()
	}
	for _, in := range config.Gather(objs, "default") {
		config.Compile(in)
	}
	for i := range objs {
		if !equality.Semantic.DeepEqual(before[i], objs[i]) {
			t.Errorf("Compile changed %T", objs[i])
		}
	}
}
