// Package samples gives tests and benchmarks the sample platform in config/samples:
// its directory, its objects and its compiled configuration.
package samples

import (
	"fmt"
	"path/filepath"
	goruntime "runtime"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/manifests"
)

// Dir is config/samples.
func Dir() string {
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "config", "samples")
}

// Objects reads the sample manifests.
func Objects() ([]runtime.Object, error) {
	set, err := manifests.ReadPaths(Dir())
	if err != nil {
		return nil, err
	}
	objs := make([]runtime.Object, len(set.Objects))
	for i, o := range set.Objects {
		objs[i] = o.Object
	}
	return objs, nil
}

// Input is the compiler's input for the sample LiveChat, in namespace "default".
func Input() (config.Input, error) {
	objs, err := Objects()
	if err != nil {
		return config.Input{}, err
	}
	inputs := config.Gather(objs, "default")
	if len(inputs) != 1 {
		return config.Input{}, fmt.Errorf("the samples hold %d LiveChats, want 1", len(inputs))
	}
	return inputs[0], nil
}

// Config compiles the sample LiveChat; a problem is an error, as the samples must be clean.
func Config() (*config.Config, error) {
	in, err := Input()
	if err != nil {
		return nil, err
	}
	cfg, problems := config.Compile(in)
	if len(problems) > 0 {
		return nil, fmt.Errorf("the samples do not compile cleanly: %s", problems.Summary(5))
	}
	return cfg, nil
}
