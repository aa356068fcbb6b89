#!/usr/bin/env bash
# The seed's runbook (shared/seeds/000_99097fe9d7178788.txt, "平滑升级 kubeadm 集群") as a plain
# shell script over ssh: no kupgrade code, only what an operator types, node by node.
#
#   lab/runbook/upgrade.sh --dir DIR --to 1.30 [--version 1.30.4] [--break-order]
#
# Reads the nodes and the SSH key from DIR/lab.json (written by `kupgrade-lab up`). Upgrades by
# one minor: on every node the repo is switched to the target minor, then the first control plane
# runs `kubeadm upgrade plan` + `apply`, the other control planes `kubeadm upgrade node`, then
# the workers one at a time; each node is drained (kubectl on the first control plane, where
# admin.conf is), gets kubelet+kubectl, daemon-reload, restart kubelet, waits Ready, uncordon.
# Supports yum/dnf and apt (apt-mark unhold/hold around installs, as the kubeadm docs do).
#
# --break-order: on workers, install kubelet and restart it BEFORE draining (the mistake the
# lab's `check` must catch).
set -euo pipefail

DIR=
TO=
VERSION=
BREAK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR=$2; shift 2 ;;
    --to) TO=$2; shift 2 ;;
    --version) VERSION=$2; shift 2 ;;
    --break-order) BREAK=1; shift ;;
    *) echo "usage: $0 --dir DIR --to 1.30 [--version 1.30.4] [--break-order]" >&2; exit 2 ;;
  esac
done
[ -n "$DIR" ] && [ -n "$TO" ] || { echo "usage: $0 --dir DIR --to 1.30 [--version 1.30.4] [--break-order]" >&2; exit 2; }
TO=${TO#v}
[ -f "$DIR/lab.json" ] || { echo "$DIR/lab.json not found" >&2; exit 2; }

# lab.json -> shell variables (no jq on purpose: node is there anyway)
eval "$(node -e '
  const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const q = (v) => "\x27" + String(v).replace(/\x27/g, "\x27\\\x27\x27") + "\x27";
  if (!s.ssh) { console.error("the lab was started without ssh"); process.exit(1); }
  console.log("KEY=" + q(s.ssh.clientKeyPath));
  console.log("KNOWN=" + q(s.ssh.knownHostsPath));
  console.log("SSHUSER=" + q(s.ssh.user));
  console.log("PKG=" + q(s.packages));
  console.log("NODES=(" + s.nodes.map((n) => q([n.name, n.role, n.address, n.port].join(" "))).join(" ") + ")");
' "$DIR/lab.json")"

log() { printf '\n=== %s\n' "$*"; }

# on NODE 'command line' : runs a command on a node over ssh, strict host key checking
on() {
  local name=$1; shift
  local entry n role a p addr= port=
  for entry in "${NODES[@]}"; do
    read -r n role a p <<<"$entry"
    if [ "$n" = "$name" ]; then addr=$a; port=$p; fi
  done
  [ -n "$addr" ] || { echo "no node $name" >&2; return 1; }
  ssh -n -i "$KEY" -o UserKnownHostsFile="$KNOWN" -o StrictHostKeyChecking=yes -o BatchMode=yes \
    -o LogLevel=ERROR -p "$port" "$SSHUSER@$addr" "$@"
}

CPS=()
WORKERS=()
for entry in "${NODES[@]}"; do
  read -r n role _ _ <<<"$entry"
  if [ "$role" = control-plane ]; then CPS+=("$n"); else WORKERS+=("$n"); fi
done
FIRST=${CPS[0]}

# 更新yum源 / apt source: point the node's repo at the target minor and refresh the metadata
switch_repo() {
  local node=$1
  if [ "$PKG" = apt ]; then
    # each pkgs.k8s.io minor repository has its own Release.key (install-kubeadm: curl | gpg --dearmor)
    on "$node" "sed -i 's#/v[0-9]*\.[0-9]*/deb/#/v$TO/deb/#' /etc/apt/sources.list.d/kubernetes.list && curl -fsSL https://pkgs.k8s.io/core:/stable:/v$TO/deb/Release.key | gpg --dearmor --batch --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg && apt-get update"
  else
    on "$node" "sed -i 's#/v[0-9]*\.[0-9]*/rpm/#/v$TO/rpm/#g' /etc/yum.repos.d/kubernetes.repo && $PKG clean all && $PKG makecache"
  fi
}

install_pkgs() { # install_pkgs NODE pkg...
  local node=$1; shift
  local p specs=
  if [ "$PKG" = apt ]; then
    for p in "$@"; do specs="$specs $p='$VERSION-*'"; done
    on "$node" "apt-mark unhold $* && apt-get install -y$specs && apt-mark hold $*"
  else
    for p in "$@"; do specs="$specs $p-'$VERSION-*'"; done
    on "$node" "$PKG install -y$specs --disableexcludes=kubernetes"
  fi
}

drain() { on "$FIRST" "kubectl drain $1 --ignore-daemonsets"; }
uncordon() { on "$FIRST" "kubectl uncordon $1"; }

restart_kubelet() { on "$1" "systemctl daemon-reload && systemctl restart kubelet"; }

wait_ready() { # the node reports Ready at the new version
  local node=$1 i
  for i in $(seq 1 600); do
    if on "$FIRST" "kubectl get nodes $node --no-headers" | awk -v v="v$VERSION" '$2 ~ /^Ready/ && $5 == v {ok=1} END {exit !ok}'; then
      return 0
    fi
    sleep 0.2
  done
  echo "$node did not become Ready at v$VERSION" >&2
  return 1
}

# 确定版本: the newest patch of the target minor the repo offers
log "repository -> v$TO on $FIRST; find the version"
switch_repo "$FIRST"
if [ -z "$VERSION" ]; then
  if [ "$PKG" = apt ]; then
    VERSION=$(on "$FIRST" "apt-cache madison kubeadm" | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep "^$TO\." | sort -V | tail -1)
  else
    VERSION=$(on "$FIRST" "$PKG list --showduplicates kubeadm --disableexcludes=kubernetes" | awk '/^kubeadm/ {print $2}' | grep "^$TO\." | sort -V | tail -1)
  fi
  VERSION=${VERSION%%-*}
fi
[ -n "$VERSION" ] || { echo "no kubeadm $TO.x in the repository" >&2; exit 1; }
echo "target v$VERSION"

# 升级第一个控制面节点
log "first control plane $FIRST"
install_pkgs "$FIRST" kubeadm
on "$FIRST" "kubeadm version"
on "$FIRST" "kubeadm upgrade plan v$VERSION"
on "$FIRST" "kubeadm upgrade apply v$VERSION -y"
drain "$FIRST"
install_pkgs "$FIRST" kubelet kubectl
restart_kubelet "$FIRST"
wait_ready "$FIRST"
uncordon "$FIRST"

# 对于其它控制面节点
for cp in "${CPS[@]:1}"; do
  log "control plane $cp"
  switch_repo "$cp"
  install_pkgs "$cp" kubeadm
  on "$cp" "kubeadm upgrade node"
  drain "$cp"
  install_pkgs "$cp" kubelet kubectl
  restart_kubelet "$cp"
  wait_ready "$cp"
  uncordon "$cp"
done

# 升级工作节点, one at a time
for w in "${WORKERS[@]}"; do
  log "worker $w"
  switch_repo "$w"
  install_pkgs "$w" kubeadm
  on "$w" "kubeadm upgrade node"
  if [ "$BREAK" = 1 ]; then
    install_pkgs "$w" kubelet kubectl
    restart_kubelet "$w"
    drain "$w"
  else
    drain "$w"
    install_pkgs "$w" kubelet kubectl
    restart_kubelet "$w"
  fi
  wait_ready "$w"
  uncordon "$w"
done

# 验证集群的状态
log "verify"
on "$FIRST" "kubectl get nodes"
