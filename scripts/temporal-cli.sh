#!/usr/bin/env bash
# Ensures the Temporal CLI (dev server + Web UI) is built from its Go module with this machine's Go.
# No binary download: `go install` fetches sources from the Go module proxy and compiles them.
# v1.5.1 is the newest tag whose go.mod has no replace directive (later tags replace modules, which `go install` refuses).
# Prints the binary's path on stdout.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if [[ -x "$TEMPORAL_BIN" ]]; then
  echo "$TEMPORAL_BIN"; exit 0
fi
mkdir -p "$(dirname "$TEMPORAL_BIN")"
shared="$KUPGRADE_SHARED_CACHE/temporal-cli/$TEMPORAL_CLI_VERSION/temporal"
if [[ -x "$shared" ]]; then
  step "Temporal CLI $TEMPORAL_CLI_VERSION: taken from the machine cache $shared"
  cp "$shared" "$TEMPORAL_BIN.tmp" && mv "$TEMPORAL_BIN.tmp" "$TEMPORAL_BIN"
  echo "$TEMPORAL_BIN"; exit 0
fi

GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[[ -x "$GO" ]] || die "Go is needed to build the Temporal CLI (looked for 'go' on PATH and /usr/local/go/bin/go)"
step "Building the Temporal CLI $TEMPORAL_CLI_VERSION from its Go module ($($GO version | cut -d' ' -f3)); a cold build takes several minutes"
gobin="$(mktemp -d)"
start=$(date +%s)
# Progress: go prints each module it downloads; show a line every 30 s while it compiles.
( while sleep 30; do note "still building ($(( $(date +%s) - start ))s)"; done ) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true' EXIT
CGO_ENABLED=0 GOBIN="$gobin" GOFLAGS=-mod=mod "$GO" install \
  -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION#v}" \
  "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" 2>&1 | grep -v '^go: downloading' >&2 || true
[[ -x "$gobin/temporal" ]] || die "the Temporal CLI build failed (see the output above)"
mv "$gobin/temporal" "$TEMPORAL_BIN"
rmdir "$gobin" 2>/dev/null || true
note "built in $(( $(date +%s) - start ))s: $TEMPORAL_BIN ($(du -h "$TEMPORAL_BIN" | cut -f1))"
mkdir -p "$(dirname "$shared")" && cp "$TEMPORAL_BIN" "$shared.tmp" && mv "$shared.tmp" "$shared" || true
echo "$TEMPORAL_BIN"
