package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commit are set at build time:
// -ldflags "-X main.version=$(git describe) -X main.commit=$(git rev-parse HEAD)".
var (
	version = "dev"
	commit  = ""
)

// printVersion writes the version, the commit (from -ldflags, else from the VCS
// stamp go build records) and the Go version the binary was built with.
func printVersion(w io.Writer) {
	rev := commit
	if rev == "" {
		rev = "unknown"
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" {
					rev = s.Value
				}
			}
		}
	}
	fmt.Fprintf(w, "switchboard %s\ncommit: %s\ngo: %s %s/%s\n", version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
