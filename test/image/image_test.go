// Package image checks the container image's build where docker is not at hand: the
// Dockerfile builds a static, reproducible binary on a distroless nonroot base, and
// the flags it builds with put the version and commit into the binary.
package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strings"
	"testing"
)

func repoRoot() string {
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// instructions reads the Dockerfile as instructions, continuation lines joined and
// comments dropped.
func instructions(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if body, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(trimmed)
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}

// finalStage is the instructions after the last FROM, that line included.
func finalStage(t *testing.T) []string {
	ins := instructions(t)
	last := 0
	for i, in := range ins {
		if strings.HasPrefix(in, "FROM ") {
			last = i
		}
	}
	return ins[last:]
}

var goBuild = regexp.MustCompile(`\bgo build (.+) -o (\S+) \.$`)

// buildCommand is the Dockerfile's go build: its environment and its flags.
func buildCommand(t *testing.T) (env, flags []string) {
	t.Helper()
	for _, in := range instructions(t) {
		m := goBuild.FindStringSubmatch(in)
		if !strings.HasPrefix(in, "RUN ") || m == nil {
			continue
		}
		for _, w := range shellWords(in[:strings.Index(in, "go build")]) {
			if strings.Contains(w, "=") && !strings.HasPrefix(w, "--") {
				env = append(env, w)
			}
		}
		return env, shellWords(m[1])
	}
	t.Fatal("the Dockerfile has no RUN ... go build ... -o BINARY .")
	return nil, nil
}

// shellWords splits a command line into words, honouring double quotes.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	quoted, inWord := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

func TestDockerfileRunsAsNonRootOnDistroless(t *testing.T) {
	stage := finalStage(t)
	if !regexp.MustCompile(`^FROM gcr\.io/distroless/static(-debian\d+)?:nonroot$`).MatchString(stage[0]) {
		t.Errorf("the final stage is %q, want FROM gcr.io/distroless/static...:nonroot (no shell, no root)", stage[0])
	}
	want := map[string]bool{"USER 65532:65532": false, `ENTRYPOINT ["/switchboard"]`: false}
	for _, in := range stage {
		if _, ok := want[in]; ok {
			want[in] = true
		}
	}
	for in, found := range want {
		if !found {
			t.Errorf("the final stage lacks %s", in)
		}
	}
}

func TestDockerfileBuildsStaticReproducibleBinary(t *testing.T) {
	env, flags := buildCommand(t)
	all := strings.Join(append(env, flags...), " ")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-buildvcs=false", "-buildid=", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}"} {
		if !strings.Contains(all, want) {
			t.Errorf("the Dockerfile's go build lacks %s: %s", want, all)
		}
	}
}

// TestDockerfileBuildFlagsInjectVersion builds the binary with the Dockerfile's own
// flags and checks what it says about itself.
func TestDockerfileBuildFlagsInjectVersion(t *testing.T) {
	env, flags := buildCommand(t)
	args := []string{"build"}
	for _, f := range flags {
		f = strings.NewReplacer("${VERSION}", "v1.2.3-4-gabcdef0", "${COMMIT}", "abcdef0123456789").Replace(f)
		args = append(args, f)
	}
	bin := filepath.Join(t.TempDir(), "switchboard")
	args = append(args, "-o", bin, ".")
	build := exec.Command("go", args...)
	build.Dir = repoRoot()
	for _, e := range env {
		if !strings.Contains(e, "$") { // GOOS=$TARGETOS is the build host's here
			build.Env = append(build.Env, e)
		}
	}
	build.Env = append(os.Environ(), build.Env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	samples := filepath.Join(repoRoot(), "config", "samples")
	tests := []struct {
		args     []string
		want     []string
		wantFail bool
	}{
		{args: []string{"version"}, want: []string{"switchboard v1.2.3-4-gabcdef0\n", "commit: abcdef0123456789\n", "go: " + goruntime.Version()}},
		{args: []string{"--help"}, want: []string{"commands:", "  manager ", "  runtime ", "  render ", "  version "}},
		{args: []string{"-h"}, want: []string{"commands:", "  render "}},
		{args: []string{"help"}, want: []string{"commands:", "  render "}},
		{args: []string{"render", "--diff", samples, "-f", samples, "--format", "markdown"}, want: []string{"<!-- switchboard-diff -->", "No change to the compiled configuration."}},
		{args: []string{"render", "--diff", samples, "-f", samples, "-o", "yaml"}, want: []string{"-o does not apply with --diff"}, wantFail: true},
	}
	for _, tt := range tests {
		out, err := exec.Command(bin, tt.args...).CombinedOutput()
		if (err != nil) != tt.wantFail {
			t.Errorf("switchboard %s: error %v, want failure %v\n%s", strings.Join(tt.args, " "), err, tt.wantFail, out)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("switchboard %s prints %q, want it to contain %q", strings.Join(tt.args, " "), out, w)
			}
		}
	}
}
