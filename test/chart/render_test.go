package chart

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/switchboard-chat/switchboard/internal/testenv"
)

const releaseName = "sb"

// rendered is what `helm template` would print: the objects and NOTES.txt.
type rendered struct {
	objects []*unstructured.Unstructured
	notes   string
}

// find returns the rendered object of that kind and name, or nil.
func (r rendered) find(kind, name string) *unstructured.Unstructured {
	for _, o := range r.objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// ofKind returns every rendered object of a kind.
func (r rendered) ofKind(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range r.objects {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(filepath.Join(testenv.RepoRoot(), "charts", "switchboard"))
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	return c
}

// values parses YAML values as `helm install -f` would read them.
func values(t *testing.T, text string) map[string]any {
	t.Helper()
	v := map[string]any{}
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("values %q: %v", text, err)
	}
	return v
}

// renderValues merges vals into the chart's defaults and checks them against
// values.schema.json, as helm install does.
func renderValues(c *chart.Chart, vals map[string]any, namespace string) (chartutil.Values, error) {
	return chartutil.ToRenderValues(c, vals, chartutil.ReleaseOptions{
		Name: releaseName, Namespace: namespace, Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities)
}

// render renders the chart in client-only mode, like helm template.
func render(t *testing.T, vals map[string]any, namespace string) rendered {
	t.Helper()
	c := loadChart(t)
	top, err := renderValues(c, vals, namespace)
	if err != nil {
		t.Fatalf("values refused: %v", err)
	}
	files, err := engine.Engine{Strict: true, LintMode: false}.Render(c, top)
	if err != nil {
		t.Fatalf("rendering: %v", err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var out rendered
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") {
			out.notes = files[name]
			continue
		}
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		out.objects = append(out.objects, decode(t, name, files[name])...)
	}
	return out
}

func decode(t *testing.T, file, text string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewBufferString(text), 4096)
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s does not render valid YAML: %v\n%s", file, err, text)
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}
