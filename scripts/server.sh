#!/usr/bin/env bash
# `npm run server`: the Temporal dev server (SQLite file, so state survives a restart) with the
# Web UI and kupgrade's search attributes. Flags: --port P (7233) --ui-port P (8233) --db FILE.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bash "$(dirname "$0")/setup.sh"
port=7233 ui_port=8233 db="$KUPGRADE_CACHE/temporal.db" ip=127.0.0.1
while (($#)); do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --ui-port) ui_port="$2"; shift 2 ;;
    --db) db="$2"; shift 2 ;;
    --ip) ip="$2"; shift 2 ;;
    *) die "unknown flag $1 (use --port, --ui-port, --db, --ip)" ;;
  esac
done
mkdir -p "$(dirname "$db")"
step "Temporal dev server on $ip:$port, Web UI on http://$ip:$ui_port, database $db"
exec "$TEMPORAL_BIN" server start-dev \
  --ip "$ip" --port "$port" --ui-port "$ui_port" --db-filename "$db" \
  $(node -e 'for (const [k,t] of Object.entries(require(process.argv[1]))) process.stdout.write(`--search-attribute ${k}=${t} `)' "$KUPGRADE_ROOT/scripts/search-attributes.json") \
  --dynamic-config-value frontend.enableUpdateWorkflowExecution=true \
  --dynamic-config-value frontend.enableUpdateWorkflowExecutionAsyncAccepted=true \
  --dynamic-config-value system.enableActivityEagerExecution=true \
  --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
  --log-level warn
