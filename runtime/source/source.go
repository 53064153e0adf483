// Package source delivers the runtime's configuration and the Secrets it names: from
// the compiled ConfigMap through the Kubernetes API in a cluster, or compiled from
// manifest files when standalone.
package source

import (
	"context"
	"os"
	"strings"

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
