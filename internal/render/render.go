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
	checker, err := schemacheck.New()
	if err != nil {
		fmt.Fprintln(stderr, "loading the CRDs:", err)
		return 2
	}
	code := 0
	sources := map[string]string{}
	objs := make([]runtime.Object, 0, len(set.Objects))
	hasSecrets := false
	for _, o := range set.Objects {
		gvk := manifests.GVK(o.Object)
		refused, err := checker.Check(gvk, o.Object)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %s %s: %v\n", o.Source, gvk.Kind, o.GetName(), err)
			return 2
		}
		if len(refused) > 0 {
			// The API server would refuse it, so the cluster would not have it: compile
			// without it, as the operator would.
			for _, e := range refused {
				fmt.Fprintf(stderr, "%s: %s %s: the API server refuses it: %s\n", o.Source, gvk.Kind, o.GetName(), e.Error())
			}
			code = 1
			continue
		}
		objs = append(objs, o.Object)
		kind := gvk.Kind
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
