#!/usr/bin/env bash
# `npm run demo`: set-up, then the demo driver (dev server, lab, worker, upgrade, watch).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bash "$(dirname "$0")/setup.sh"
cd "$KUPGRADE_ROOT"
[[ -f dist/scripts/demo.js && dist/scripts/demo.js -nt scripts/demo.ts ]] || { step "Building kupgrade"; npm run -s build; }
exec node dist/scripts/demo.js "$@"
