#!/usr/bin/env bash
# Copies the histories saved by the last integration run into the committed replay fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
ls test-output/histories/*.json >/dev/null 2>&1 || { echo "no histories in test-output/histories: run 'npx jest test/integration' first" >&2; exit 1; }
mkdir -p test/fixtures/histories
# Every history but the index is copied; the index (file -> workflow ID, which replay needs) is
# merged, so recording some runs keeps the IDs of the fixtures recorded before.
for f in test-output/histories/*.json; do
  [ "$(basename "$f")" = index.json ] || cp "$f" test/fixtures/histories/
done
if [ -f test-output/histories/index.json ]; then
  node -e '
    const fs = require("node:fs");
    const [old, add] = process.argv.slice(1);
    const merged = { ...(fs.existsSync(old) ? JSON.parse(fs.readFileSync(old, "utf8")) : {}), ...JSON.parse(fs.readFileSync(add, "utf8")) };
    fs.writeFileSync(old, JSON.stringify(merged, null, 2) + "\n");
  ' test/fixtures/histories/index.json test-output/histories/index.json
fi
ls -la test/fixtures/histories
