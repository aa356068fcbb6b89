#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: Debian packages, npm packages, the Temporal CLI build.
# Each step checks first and acts only when something is missing, so re-runs take a second.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$KUPGRADE_ROOT"

# Debian packages: sshd for the lab, docker-compose to validate docker-compose.yml (no engine needed),
# chromium for the Web UI browser test, bash-builtins so that the lab's node shell runs mkdir/rm
# without a process start per command, ansible for the bench's Ansible peer (bench/ansible).
need=()
[[ -x /usr/sbin/sshd ]] || need+=(openssh-server)
command -v docker-compose >/dev/null || need+=(docker-compose)
[[ -x /usr/bin/chromium ]] || need+=(chromium)
command -v unshare >/dev/null || need+=(util-linux)
[[ -e /usr/lib/bash/rm ]] || need+=(bash-builtins)
command -v openssl >/dev/null || need+=(openssl)
command -v ansible-playbook >/dev/null || need+=(ansible)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    die "missing Debian packages: ${need[*]}; install them as root: apt-get update && apt-get install -y ${need[*]}"
  fi
  step "Installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The package's own sshd service is not used by the lab (each lab runs its own sshd).
  if command -v systemctl >/dev/null && systemctl is-active --quiet ssh 2>/dev/null; then systemctl stop ssh || true; fi
fi
mkdir -p /run/sshd 2>/dev/null || true

# npm packages: install when node_modules is missing or older than the lock file.
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  step "Installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

bin="$(bash scripts/temporal-cli.sh)"
step "Temporal CLI ready: $("$bin" --version)"

# Real Kubernetes binaries for the real-API lab (kupgrade-lab up --api real), built from Go modules.
step "Real Kubernetes binaries (scripts/build-k8s.sh; cold about 28 min on 2 cores, then cached)"
bash scripts/build-k8s.sh
