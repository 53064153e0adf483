// Package docs checks that the documentation names only what the code has: every
// metric, every flag of the switchboard command and every HTTP endpoint mentioned in
// README.md and docs/ exists in the source.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// externalFlags are flags of other tools (kubectl, helm, go) the docs show in commands.
var externalFlags = []string{"for", "validate", "serviceaccount", "server-side", "create-namespace", "clusterrole",
	"set", "namespace", "timeout", "dry-run", "kustomize", "values", "wait", "recursive", "format", "rm", "name", "data-binary", "patch-file",
	"body-file", "edit-last", "create-if-none", "data-urlencode", "install", "field-selector",
	"help"} // the flag package's own: every switchboard command takes it

var (
	docMetric   = regexp.MustCompile(`switchboard_[a-z_]+[a-z]`)
	docFlag     = regexp.MustCompile("(?:^|[ `(])--([a-z][a-z0-9-]+)")
	docEndpoint = regexp.MustCompile("\\b(GET|POST|PUT|PATCH|DELETE|OPTIONS) (/[^ `|?)]*)")
	codeFlag    = regexp.MustCompile(`\.(?:String|Bool|Int|Int64|Float64|Duration|Var|StringVar|BoolVar|IntVar|Float64Var|DurationVar|Func)\((?:&?[A-Za-z_.]+, )?"([a-z][a-z0-9-]+)"`)
	codeRoute   = regexp.MustCompile(`"(GET|POST|PUT|PATCH|DELETE|OPTIONS) (/[^"]*)"`)
)

// readAll concatenates the files matching the patterns, relative to the repository.
func readAll(t *testing.T, patterns ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range patterns {
		matches, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), p))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			data, err := os.ReadFile(m)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(testenv.RepoRoot(), m)
			out[rel] = string(data)
		}
	}
	return out
}

// source is every non-test Go file of the module.
func source(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(testenv.RepoRoot(), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "bin" || d.Name() == ".git" || d.Name() == "data") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func docs(t *testing.T) map[string]string { return readAll(t, "README.md", "docs/*.md") }

func TestDocumentedMetricsExist(t *testing.T) {
	src := source(t)
	for file, text := range docs(t) {
		for _, name := range slices.Compact(docMetric.FindAllString(text, -1)) {
			base := name
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				base = strings.TrimSuffix(base, suffix)
			}
			if !strings.Contains(src, `"`+base+`"`) && !strings.Contains(src, `"`+name+`"`) {
				t.Errorf("%s names the metric %s, which no code defines", file, name)
			}
		}
	}
}

func TestDocumentedFlagsExist(t *testing.T) {
	main := readAll(t, "main.go")["main.go"]
	defined := map[string]bool{}
	for _, m := range codeFlag.FindAllStringSubmatch(main, -1) {
		defined[m[1]] = true
	}
	if len(defined) < 10 {
		t.Fatalf("found only %d flags in main.go: the pattern no longer matches how flags are defined", len(defined))
	}
	for file, text := range docs(t) {
		for _, m := range docFlag.FindAllStringSubmatch(text, -1) {
			flag := m[1]
			if defined[flag] || slices.Contains(externalFlags, flag) || strings.HasPrefix(flag, "zap-") {
				continue
			}
			t.Errorf("%s names the flag --%s, which switchboard does not define", file, flag)
		}
	}
}

func TestDocumentedEndpointsExist(t *testing.T) {
	code := readAll(t, "runtime/api/*.go", "runtime/server/*.go")
	var routes [][2]string
	for _, text := range code {
		for _, m := range codeRoute.FindAllStringSubmatch(text, -1) {
			routes = append(routes, [2]string{m[1], m[2]})
		}
	}
	if len(routes) < 10 {
		t.Fatalf("found only %d routes in runtime/api and runtime/server: the pattern no longer matches", len(routes))
	}
	for file, text := range docs(t) {
		for _, m := range docEndpoint.FindAllStringSubmatch(text, -1) {
			method, path := m[1], m[2]
			if !slices.ContainsFunc(routes, func(r [2]string) bool { return r[0] == method && routeMatches(r[1], path) }) {
				t.Errorf("%s names %s %s, which the runtime does not serve", file, method, path)
			}
		}
	}
}

// routeMatches reports whether a documented path fits a ServeMux pattern: {name}
// matches one segment, {name...} the rest.
func routeMatches(pattern, path string) bool {
	ps, ds := strings.Split(pattern, "/"), strings.Split(path, "/")
	for i, p := range ps {
		if strings.HasSuffix(p, "...}") {
			return len(ds) > i
		}
		if i >= len(ds) {
			return false
		}
		if p != ds[i] && !(strings.HasPrefix(p, "{") && ds[i] != "") {
			return false
		}
	}
	return len(ps) == len(ds)
}

// codeMetric finds a metric's definition in Go source: a Name of the options, or a
// collector's Desc.
var codeMetric = regexp.MustCompile(`(?:Name:\s*|NewDesc\()"(switchboard_[a-z_]+)"`)

// TestEveryMetricIsDocumented: operations.md lists every metric the operator and the
// runtime export, with its labels.
func TestEveryMetricIsDocumented(t *testing.T) {
	ops := readAll(t, "docs/operations.md")["docs/operations.md"]
	var defined []string
	for file, src := range readAll(t, "runtime/*/*.go", "runtime/*/*/*.go", "controllers/*.go") {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		for _, m := range codeMetric.FindAllStringSubmatch(src, -1) {
			defined = append(defined, m[1])
		}
	}
	if len(defined) < 30 {
		t.Fatalf("found only %d metric definitions: the pattern no longer matches how metrics are defined", len(defined))
	}
	for _, name := range defined {
		if !strings.Contains(ops, "`"+name+"`") {
			t.Errorf("docs/operations.md does not document the metric %s", name)
		}
	}
}
