// Package render implements `switchboard render`: compile manifests offline, the way
// the operator would, for GitOps pre-merge checks.
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"

	"github.com/switchboard-chat/switchboard/controllers"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// Output formats.
const (
	OutputConfig = "config" // the compiled runtime configuration, JSON
	OutputYAML   = "yaml"   // the Kubernetes objects the operator would apply
)

// Options of one render.
type Options struct {
	Paths []string
	// Output is OutputConfig or OutputYAML.
	Output string
	// Namespace of objects that name none.
	Namespace string
	// Image of the runtime in rendered Deployments.
	Image string
}

// Run renders and returns the exit code: 0 when everything compiled, 1 when there
// were problems (the output still holds what compiled), 2 when the input could not
// be read at all.
func Run(opts Options, stdout, stderr io.Writer) int {
	if opts.Output != OutputConfig && opts.Output != OutputYAML {
		fmt.Fprintf(stderr, "unknown output %q: use %q or %q\n", opts.Output, OutputConfig, OutputYAML)
		return 2
	}
	t, err := compileTree(opts.Paths, opts.Namespace)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	for _, s := range t.Skipped {
		fmt.Fprintf(stderr, "note: %s is not a kind switchboard reads; skipped\n", s)
	}
	code := 0
	for _, r := range t.Refused {
		for _, e := range r.Errors {
			fmt.Fprintf(stderr, "%s: %s %s: the API server refuses it: %s\n", r.Source, r.Kind, r.GetName(), e.Error())
		}
		code = 1
	}
	if !t.HasSecrets {
		fmt.Fprintln(stderr, "note: no Secret manifests given, so Secret references are not checked")
	}
	if len(t.Platforms) == 0 {
		fmt.Fprintln(stderr, "no LiveChat found in", opts.Paths)
		return 1
	}
	var out bytes.Buffer
	for _, p := range t.Platforms {
		for _, problem := range p.Problems {
			fmt.Fprintf(stderr, "%s: %s\n", t.sourceOf(problem), problem)
			code = 1
		}
		if err := write(&out, opts, p.Input, p.Config); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	}
	if _, err := stdout.Write(out.Bytes()); err != nil {
		return 2
	}
	if code != 0 {
		fmt.Fprintln(stderr, "problems found: fix them before merging; the output holds only what compiled")
	}
	return code
}

func write(out *bytes.Buffer, opts Options, in config.Input, cfg *config.Config) error {
	if opts.Output == OutputConfig {
		out.Write(cfg.Marshal())
		return nil
	}
	for _, obj := range controllers.RuntimeObjects(in.LiveChat, cfg, controllers.RuntimeOptions{Image: opts.Image}) {
		data, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		y, err := yaml.JSONToYAML(data)
		if err != nil {
			return err
		}
		out.WriteString("---\n")
		out.Write(y)
	}
	return nil
}
