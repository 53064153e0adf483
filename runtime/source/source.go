// Package source delivers the runtime's configuration and the Secrets it names: from
// the compiled ConfigMap through the Kubernetes API in a cluster, or compiled from
// manifest files when standalone.
package source

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

// Snapshot is one configuration with the Secrets it names.
type Snapshot struct {
	Config *config.Config
	// Secrets maps Secret name → key → value, for the Secrets the configuration names.
	Secrets map[string]map[string][]byte
	// Problems found compiling (standalone only: in a cluster the operator reports them).
	Problems config.Problems
}

// Secret returns one value, or nil.
func (s Snapshot) Secret(name, key string) []byte { return s.Secrets[name][key] }

// Source delivers snapshots.
type Source interface {
	// Run calls apply with the first snapshot and then with every change, until ctx
	// ends. apply is never called concurrently.
	Run(ctx context.Context, apply func(Snapshot)) error
}

// envSecrets reads Secret values from the environment: SWITCHBOARD_SECRET_<NAME>_<KEY>,
// with the name and key upper-cased and '-' and '.' written as '_'. They override
// values from manifests, so a standalone runtime needs no Secret manifest on disk.
func envSecrets(cfg *config.Config, into map[string]map[string][]byte) {
	for _, use := range cfg.Secrets {
		keys := use.Keys
		if len(keys) == 0 {
			// A whole Secret is the tokens Secret: one key per person.
			for _, p := range cfg.People {
				keys = append(keys, p.Name)
			}
		}
		for _, key := range keys {
			if v, ok := os.LookupEnv(envName(use.Name, key)); ok {
				if into[use.Name] == nil {
					into[use.Name] = map[string][]byte{}
				}
				into[use.Name][key] = []byte(v)
			}
		}
	}
}

func envName(secret, key string) string {
	r := strings.NewReplacer("-", "_", ".", "_")
	return "SWITCHBOARD_SECRET_" + strings.ToUpper(r.Replace(secret)) + "_" + strings.ToUpper(r.Replace(key))
}

// Reporter is a Source that reports how its reloads went: the manifest files, whose
// edits a runtime refuses itself. In a cluster the operator reports on the objects.
type Reporter interface {
	Reloads() ReloadReport
}

// ReloadReport is what /status shows of the reloads.
type ReloadReport struct {
	// HeldBack are the objects served in their last good version because their
	// current one fails.
	HeldBack []ObjectProblems `json:"heldBack,omitempty"`
	// LastRefused is the last reload that refused anything; nil when none has.
	LastRefused *RefusedReload `json:"lastRefusedReload,omitempty"`
}

// RefusedReload is one reload that refused an object, or all of the files.
type RefusedReload struct {
	At time.Time `json:"at"`
	// Error is why none of the files could be used; the configuration in force stays.
	Error string `json:"error,omitempty"`
	// Objects are those with problems.
	Objects []ObjectProblems `json:"objects,omitempty"`
}

// ObjectProblems are the problems of one object.
type ObjectProblems struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// File is where the object is, relative to the manifest directory.
	File string `json:"file,omitempty"`
	// ServingLastGood is true when its last good version is served instead; false
	// when it is served as far as it compiles (a channel that cannot work: not at all).
	ServingLastGood bool     `json:"servingLastGood"`
	Problems        []string `json:"problems"`
}
