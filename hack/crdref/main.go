// Command crdref writes docs/crd-reference.md from the generated CRDs:
// `make crd-reference` runs it after `make manifests`.
package main

import (
	"fmt"
	"io/fs"
	"os"

	"github.com/switchboard-chat/switchboard/config/crd"
	"github.com/switchboard-chat/switchboard/internal/crdref"
)

func main() {
	bases, err := fs.Sub(crd.Bases, "bases")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crdref:", err)
		os.Exit(1)
	}
	out, err := crdref.Generate(bases)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crdref:", err)
		os.Exit(1)
	}
	if err := os.WriteFile("docs/crd-reference.md", out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "crdref:", err)
		os.Exit(1)
	}
}
