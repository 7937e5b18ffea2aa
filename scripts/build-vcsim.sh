#!/bin/sh
# Builds govmomi's vSphere simulator for the vSphere tests (test/vsphere-sim/*.go) from Debian's
# packages (golang-go, golang-github-vmware-govmomi-dev), offline, in GOPATH mode. The binary is
# cached under $VCSIM_CACHE (default node_modules/.cache/poolparty-vcsim) and rebuilt only when
# its sources change, so tests that call this do not pay the ~20 s build each time.
# Prints the binary's path; exits non-zero (with the reason) when Go or govmomi is missing.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC="$ROOT/test/vsphere-sim"
CACHE=${VCSIM_CACHE:-$ROOT/node_modules/.cache/poolparty-vcsim}
GOCODE=${GOCODE:-/usr/share/gocode}
command -v go > /dev/null || { echo "build-vcsim: go not found (apt-get install golang-go)" >&2; exit 1; }
[ -d "$GOCODE/src/github.com/vmware/govmomi/simulator" ] ||
  { echo "build-vcsim: govmomi not found in $GOCODE (apt-get install golang-github-vmware-govmomi-dev)" >&2; exit 1; }
SUM=$(cat "$SRC"/*.go | sha256sum | cut -c1-16)
OUT="$CACHE/vcsim-$SUM"
if [ ! -x "$OUT" ]; then
  mkdir -p "$CACHE"
  WORK=$(mktemp -d "$CACHE/build.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  mkdir -p "$WORK/src/vcsim"
  cp "$SRC"/*.go "$WORK/src/vcsim/"
  # Built beside its final name and renamed: concurrent builds never run a half-written binary.
  (cd "$WORK/src/vcsim" && GO111MODULE=off GOPATH="$WORK:$GOCODE" GOCACHE="$CACHE/go-build" \
    go build -o "$WORK/vcsim" .) >&2
  mv -f "$WORK/vcsim" "$OUT"
fi
echo "$OUT"
