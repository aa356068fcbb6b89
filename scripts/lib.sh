# Shared helpers for the set-up scripts: progress lines and the cache location.
# shellcheck shell=bash
KUPGRADE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KUPGRADE_CACHE="${KUPGRADE_CACHE:-$KUPGRADE_ROOT/.cache}"
# A cache shared by every clone on this machine, so a fresh clone (CI) does not rebuild the CLI.
KUPGRADE_SHARED_CACHE="${KUPGRADE_SHARED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kupgrade}"
TEMPORAL_CLI_VERSION="${TEMPORAL_CLI_VERSION:-v1.5.1}"
TEMPORAL_BIN="$KUPGRADE_CACHE/temporal-cli/$TEMPORAL_CLI_VERSION/temporal"

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
