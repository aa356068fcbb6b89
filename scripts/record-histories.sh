#!/usr/bin/env bash
# Copies the histories saved by the last integration run into the committed replay fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
ls test-output/histories/*.json >/dev/null 2>&1 || { echo "no histories in test-output/histories: run 'npx jest test/integration' first" >&2; exit 1; }
mkdir -p test/fixtures/histories
cp test-output/histories/*.json test/fixtures/histories/
ls -la test/fixtures/histories
