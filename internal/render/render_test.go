package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/samples"
)

var update = flag.Bool("update", false, "rewrite golden files")

var samplesDir = samples.Dir()

func run(t *testing.T, opts Options) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Output == "" {
		opts.Output = OutputConfig
	}
	code = Run(opts, &out, &errOut)
	return code, out.String(), errOut.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != got {
		t.Errorf("rendered output differs from %s; if intended, run go test ./internal/render -update", path)
	}
}

func TestRenderSamplesGolden(t *testing.T) {
	code, out, errOut := run(t, Options{Paths: []string{samplesDir}, Output: OutputYAML, Image: "ghcr.io/switchboard-chat/switchboard:v0.1.0"})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden(t, "support-objects.golden.yaml", out)
	for _, kind := range []string{"ConfigMap", "ServiceAccount", "Role", "RoleBinding", "PersistentVolumeClaim", "Deployment", "Service"} {
		if !strings.Contains(out, "\nkind: "+kind+"\n") {
			t.Errorf("no %s rendered", kind)
		}
	}
	for _, secret := range []string{"sample-token-alice", "REPLACE-with-the-smtp-password"} {
		if strings.Contains(out, secret) {
			t.Errorf("a Secret value (%s) reached the rendered objects", secret)
		}
	}
}

func TestRenderConfigMatchesCompilerGolden(t *testing.T) {
	code, out, errOut := run(t, Options{Paths: []string{samplesDir}})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "runtime", "config", "testdata", "support.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Error("render's config differs from the compiler's golden file")
	}
}

// samplesWith copies the sample platform (without its notification policy) to a new
// directory, with old replaced by new once in file.
func samplesWith(t *testing.T, file, old, new string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"livechat.yaml", "chatqueues.yaml", "channels.yaml", "operatorgroups.yaml", "secrets.yaml"} {
		data, err := os.ReadFile(filepath.Join(samplesDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == file {
			data = bytes.Replace(data, []byte(old), []byte(new), 1)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRenderReportsProblemsWithTheirFiles(t *testing.T) {
	dir := samplesWith(t, "channels.yaml", "name: first-line\n  displayName: Website", "name: second-line\n  displayName: Website")
	code, out, errOut := run(t, Options{Paths: []string{dir}})
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", code, errOut)
	}
	wantLine := filepath.Join(dir, "channels.yaml") + `#2: Channel website: spec.queueRef.name: ChatQueue "second-line" does not exist`
	if !strings.Contains(errOut, wantLine) {
		t.Errorf("stderr lacks %q:\n%s", wantLine, errOut)
	}
	if !strings.Contains(out, `"name": "telegram"`) || strings.Contains(out, `"name": "website"`) {
		t.Error("the output must hold what compiled (telegram) and leave out the broken channel (website)")
	}
}

func TestRenderRefusesWhatTheAPIServerWould(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		wantLine string
	}{
		{"an enum the CRD does not allow", "rule: AllAgents", "rule: RoundRobin",
			`ChatQueue accounting: the API server refuses it: spec.routing.rule: Unsupported value: "RoundRobin"`},
		{"a name that is no DNS-1123 subdomain", "name: accounting\n", "name: Accounting_Team\n",
			`ChatQueue Accounting_Team: the API server refuses it: metadata.name: Invalid value: "Accounting_Team": a lowercase RFC 1123 subdomain`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The YAML decodes; the API server refuses the queue.
			dir := samplesWith(t, "chatqueues.yaml", tt.old, tt.new)
			code, out, errOut := run(t, Options{Paths: []string{dir}})
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr: %s", code, errOut)
			}
			wantLine := filepath.Join(dir, "chatqueues.yaml") + "#2: " + tt.wantLine
			if !strings.Contains(errOut, wantLine) {
				t.Errorf("stderr lacks %q:\n%s", wantLine, errOut)
			}
			// The refused queue is left out, as it would be missing from the cluster.
			if strings.Contains(out, `"name": "accounting"`) || !strings.Contains(out, `"name": "first-line"`) {
				t.Error("the output must leave out the refused queue and keep the rest")
			}
		})
	}
}

func TestRenderInputErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: chat.switchboard.dev/v1alpha1\nkind: ChatQueue\nmetadata: {name: q}\nspec:\n  liveChatRef: {name: support}\n  routng: {rule: AllAgents}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		opts     Options
		wantCode int
		wantErr  string
	}{
		{"missing path", Options{Paths: []string{filepath.Join(dir, "nope")}}, 2, "no such file"},
		{"unknown field", Options{Paths: []string{bad}}, 2, `unknown field "spec.routng"`},
		{"unknown output", Options{Paths: []string{samplesDir}, Output: "xml"}, 2, `unknown output "xml"`},
		{"no LiveChat", Options{Paths: []string{filepath.Join(samplesDir, "chatqueues.yaml")}}, 1, "no LiveChat found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := run(t, tt.opts)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.wantCode, tt.wantErr)
			}
		})
	}
}
