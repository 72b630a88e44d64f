#!/usr/bin/env bash
# Builds the test API server into $1 (default build/testenv/testenv). Cheap when nothing changed:
# the Go build cache keeps every compiled package and `go build` leaves an up-to-date binary alone.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(realpath -m "${1:-$here/../../build/testenv/testenv}")"
command -v go >/dev/null || { echo "testenv: Go is not installed (go.dev/dl, or the distribution's golang package)" >&2; exit 2; }
# The Kubernetes version the module pins, reported by the server (/version, kubectl version):
# a module build would otherwise say v0.0.0-master.
kube_version="$(awk '$1 == "k8s.io/kubernetes" { print $2 }' "$here/go.mod")"
[[ $kube_version =~ ^v([0-9]+)\.([0-9]+)\. ]] || { echo "testenv: no k8s.io/kubernetes version in go.mod" >&2; exit 2; }
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=${BASH_REMATCH[1]}"
ldflags+=" -X $pkg.gitMinor=${BASH_REMATCH[2]} -X $pkg.gitTreeState=clean"
mkdir -p "$(dirname "$out")"
cd "$here"
# -mod=readonly: go.mod and go.sum are committed and complete; a build must not rewrite them.
CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -trimpath -ldflags "$ldflags" -o "$out" .
