#!/usr/bin/env bash
# Builds the real Kubernetes binaries of the real-API lab (kupgrade-lab up --api real) from Go
# modules, no binary downloads: for each lab/k8s/v<minor>/ module, kube-apiserver,
# kube-controller-manager, kube-scheduler and kubectl of the k8s.io/kubernetes release it requires,
# with the version stamped as the release's own build would; and etcd from lab/k8s/etcd.
# Output: ${KUPGRADE_K8S_BIN:-~/.cache/kupgrade/k8s}/v1.X.Y/<name>, .../etcd/etcd. A release is
# rebuilt only when its go.mod/go.sum change (a stamp file records their hash).
# Cold on 2 cores (measured 2026-12-04): v1.34.4 11.4 min, v1.33.13 14.3 min, etcd 1.9 min; with a
# warm Go build cache each release is a 1-minute relink.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${KUPGRADE_K8S_BIN:-$HOME/.cache/kupgrade/k8s}"
mkdir -p "$out"
export GOFLAGS="${GOFLAGS:--mod=readonly}"
command -v go >/dev/null || { echo "build-k8s: no go on PATH (Go 1.24 or newer builds these modules)" >&2; exit 1; }

stamp_of() { cat "$1/go.mod" "$1/go.sum" ${3:+"$1/$3"} | sha256sum | cut -c1-16; }
t0=$(date +%s)
say() { printf 'build-k8s: [%4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }

for mod in "$here"/lab/k8s/v1.*; do
  [ -f "$mod/go.mod" ] || continue
  release=$(awk '$1=="require" && $2=="k8s.io/kubernetes" {print $3}' "$mod/go.mod")
  [ -n "$release" ] || { echo "build-k8s: $mod/go.mod requires no k8s.io/kubernetes" >&2; exit 1; }
  dest="$out/$release"
  stamp=$(stamp_of "$mod")
  if [ -f "$dest/.stamp" ] && [ "$(cat "$dest/.stamp")" = "$stamp" ]; then
    say "$release: cached in $dest"
    continue
  fi
  minor=$(echo "$release" | cut -d. -f2)
  ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=$release -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  mkdir -p "$dest.tmp"
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    say "$release: building $c (go build k8s.io/kubernetes/cmd/$c) ..."
    (cd "$mod" && go build -trimpath -ldflags "$ld" -o "$dest.tmp/$c" "k8s.io/kubernetes/cmd/$c")
  done
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
  echo "$stamp" > "$dest/.stamp"
  say "$release: done ($("$dest/kubectl" version --client -o json | tr -d '\n ' | sed 's/.*"gitVersion":"\([^"]*\)".*/kubectl \1/'))"
done

mod="$here/lab/k8s/etcd"
stamp=$(stamp_of "$mod" x main.go)
if [ -f "$out/etcd/.stamp" ] && [ "$(cat "$out/etcd/.stamp")" = "$stamp" ]; then
  say "etcd: cached in $out/etcd"
else
  say "etcd: building (go.etcd.io/etcd/server/v3 etcdmain) ..."
  mkdir -p "$out/etcd"
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$out/etcd/etcd" .)
  echo "$stamp" > "$out/etcd/.stamp"
  say "etcd: done ($("$out/etcd/etcd" --version | head -1))"
fi
