#!/usr/bin/env bash
# Builds the envtest control plane (kube-apiserver and etcd) from their published Go
# modules, because prebuilt envtest archives cannot be downloaded in every environment.
# Each binary is built in a throwaway module and cached under bin/k8s/<version>/, with the
# version of etcd it holds in etcd.version; a second run finds the cache and builds
# nothing, and another ETCD_VERSION rebuilds etcd alone. Prints the asset directory on
# stdout.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${ENVTEST_ASSETS_DIR:-$root/bin/k8s/$KUBE_VERSION-$(go env GOOS)-$(go env GOARCH)}"
mkdir -p "$dest"

log() { echo "envtest-assets: $*" >&2; }

build_kube_apiserver() {
  local work staging_minor mod
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  staging_minor="v0.${KUBE_VERSION#1.}"
  cd "$work"
  go mod init envtest-kube-apiserver >/dev/null 2>&1
  go mod edit -require="k8s.io/kubernetes@v$KUBE_VERSION"
  mod="$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  # k8s.io/kubernetes points its staging modules at ./staging; map each to its published tag.
  sed -n 's#^\s*\(k8s\.io/[a-z0-9.-]*\) => \./staging/.*#\1#p' "$mod" | while read -r m; do
    go mod edit -replace="$m=$m@$staging_minor"
  done
  printf 'package tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' >tools.go
  go mod tidy >/dev/null 2>&1 || go mod tidy
  local pkg=k8s.io/component-base/version
  CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X $pkg.gitVersion=v$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=${KUBE_VERSION#1.} -X $pkg.gitTreeState=clean" \
    -o "$dest/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv "$dest/kube-apiserver.tmp" "$dest/kube-apiserver"
}

build_etcd() {
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  cd "$work"
  go mod init envtest-etcd >/dev/null 2>&1
  cat >main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go mod edit -require="go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  go mod tidy >/dev/null 2>&1 || go mod tidy
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dest/etcd.tmp" .
  mv "$dest/etcd.tmp" "$dest/etcd"
  echo "$ETCD_VERSION" >"$dest/etcd.version"
}

# A cache from before etcd.version was written holds the default version.
if [ -x "$dest/etcd" ] && [ ! -f "$dest/etcd.version" ] && [ "$ETCD_VERSION" = 3.6.16 ]; then
  echo "$ETCD_VERSION" >"$dest/etcd.version"
fi
if [ ! -x "$dest/etcd" ] || [ "$(cat "$dest/etcd.version" 2>/dev/null)" != "$ETCD_VERSION" ]; then
  log "building etcd v$ETCD_VERSION (first run only)"
  build_etcd
fi
if [ ! -x "$dest/kube-apiserver" ]; then
  log "building kube-apiserver v$KUBE_VERSION (first run only; takes several minutes)"
  build_kube_apiserver
fi
echo "$dest"
