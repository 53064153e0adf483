package render

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/switchboard-chat/switchboard/internal/schemacheck"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/manifests"
)

// tree is a set of manifests compiled the way the operator would compile them.
type tree struct {
	// Skipped are documents of kinds switchboard does not read.
	Skipped []string
	// Refused are the objects the API server would refuse, left out of the compile.
	Refused []schemacheck.Refusal
	// HasSecrets is false when no Secret manifest was given, so Secret references
	// were not checked.
	HasSecrets bool
	// Platforms holds one compiled LiveChat per Input, sorted by namespace and name.
	Platforms []platform
	// sources maps Kind/name to the file and document it came from.
	sources map[string]string
}

// platform is one compiled LiveChat.
type platform struct {
	Input    config.Input
	Config   *config.Config
	Problems config.Problems
}

// compileTree reads the paths and compiles every LiveChat in them. An error means
// the input could not be read at all.
func compileTree(paths []string, namespace string) (*tree, error) {
	set, err := manifests.ReadPaths(paths...)
	if err != nil {
		return nil, err
	}
	checker, err := schemacheck.Default()
	if err != nil {
		return nil, fmt.Errorf("loading the CRDs: %w", err)
	}
	// What the API server would refuse the cluster would not have: compile without it,
	// as the operator would.
	admitted, refused, err := checker.Admit(set)
	if err != nil {
		return nil, err
	}
	t := &tree{Skipped: set.Skipped, Refused: refused, sources: map[string]string{}}
	objs := make([]runtime.Object, 0, len(admitted))
	for _, o := range admitted {
		objs = append(objs, o.Object)
		kind := manifests.GVK(o.Object).Kind
		t.sources[kind+"/"+o.GetName()] = o.Source
		t.HasSecrets = t.HasSecrets || kind == "Secret"
	}
	for _, in := range config.Gather(objs, namespace) {
		cfg, problems := config.Compile(in)
		t.Platforms = append(t.Platforms, platform{Input: in, Config: cfg, Problems: problems})
	}
	return t, nil
}

// sourceOf names the file and document a problem's object came from.
func (t *tree) sourceOf(p config.Problem) string {
	if s, ok := t.sources[p.Kind+"/"+p.Name]; ok {
		return s
	}
	return "(not in the input)"
}

// refusalLines are the API server's refusals, one line per error, without the file.
func (t *tree) refusalLines() []string {
	var out []string
	for _, r := range t.Refused {
		for _, e := range r.Errors {
			out = append(out, fmt.Sprintf("%s %s: the API server refuses it: %s", r.Kind, r.GetName(), e.Error()))
		}
	}
	return out
}
