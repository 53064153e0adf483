// Package render implements `switchboard render`: compile manifests offline, the way
// the operator would, for GitOps pre-merge checks.
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/switchboard-chat/switchboard/controllers"
	"github.com/switchboard-chat/switchboard/internal/schemacheck"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/manifests"
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
	set, err := manifests.ReadPaths(opts.Paths...)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	for _, s := range set.Skipped {
		fmt.Fprintf(stderr, "note: %s is not a kind switchboard reads; skipped\n", s)
	}
	checker, err := schemacheck.Default()
	if err != nil {
		fmt.Fprintln(stderr, "loading the CRDs:", err)
		return 2
	}
	// What the API server would refuse the cluster would not have: compile without it,
	// as the operator would.
	admitted, refused, err := checker.Admit(set)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	code := 0
	for _, r := range refused {
		for _, e := range r.Errors {
			fmt.Fprintf(stderr, "%s: %s %s: the API server refuses it: %s\n", r.Source, r.Kind, r.GetName(), e.Error())
		}
		code = 1
	}
	sources := map[string]string{}
	objs := make([]runtime.Object, 0, len(admitted))
	hasSecrets := false
	for _, o := range admitted {
		objs = append(objs, o.Object)
		kind := manifests.GVK(o.Object).Kind
		sources[kind+"/"+o.GetName()] = o.Source
		hasSecrets = hasSecrets || kind == "Secret"
	}
	if !hasSecrets {
		fmt.Fprintln(stderr, "note: no Secret manifests given, so Secret references are not checked")
	}
	inputs := config.Gather(objs, opts.Namespace)
	if len(inputs) == 0 {
		fmt.Fprintln(stderr, "no LiveChat found in", opts.Paths)
		return 1
	}
	var out bytes.Buffer
	for _, in := range inputs {
		cfg, problems := config.Compile(in)
		for _, p := range problems {
			fmt.Fprintf(stderr, "%s: %s\n", sourceOf(sources, p), p)
			code = 1
		}
		if err := write(&out, opts, in, cfg); err != nil {
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

func sourceOf(sources map[string]string, p config.Problem) string {
	if s, ok := sources[p.Kind+"/"+p.Name]; ok {
		return s
	}
	return "(not in the input)"
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
