/**
 * Where the real Kubernetes binaries of a real-API lab are: built from Go modules by
 * scripts/build-k8s.sh into ~/.cache/kupgrade/k8s/<release>/ (kube-apiserver,
 * kube-controller-manager, kube-scheduler, kubectl) and ~/.cache/kupgrade/k8s/etcd/etcd.
 * KUPGRADE_K8S_BIN overrides the cache root. A release counts only when all four are there,
 * because the lab restarts the apiserver with the next release's binary during an upgrade.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const K8S_COMPONENTS = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
] as const;
export type K8sComponent = (typeof K8S_COMPONENTS)[number];

export function k8sBinRoot(): string {
  return process.env.KUPGRADE_K8S_BIN || path.join(os.homedir(), '.cache', 'kupgrade', 'k8s');
}

/** Releases with every component built, as plain versions (`1.34.4`), oldest first. */
export function realReleases(root = k8sBinRoot()): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^v\d+\.\d+\.\d+$/.test(n))
    .filter((n) => K8S_COMPONENTS.every((c) => isExecutable(path.join(root, n, c))))
    .map((n) => n.slice(1))
    .sort((a, b) => {
      const x = a.split('.').map(Number);
      const y = b.split('.').map(Number);
      return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
    });
}

export function binary(version: string, c: K8sComponent, root = k8sBinRoot()): string {
  return path.join(root, `v${version.replace(/^v/, '')}`, c);
}

export function etcdBinary(root = k8sBinRoot()): string {
  return path.join(root, 'etcd', 'etcd');
}

function isExecutable(f: string): boolean {
  try {
    fs.accessSync(f, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** What `up --api real` needs and does not have, as one message naming the fix; null when all is there. */
export function missingBinaries(versions: string[], root = k8sBinRoot()): string | null {
  const have = new Set(realReleases(root));
  const missing = versions.filter((v) => !have.has(v));
  const etcd = isExecutable(etcdBinary(root));
  if (!missing.length && etcd) return null;
  const what = [...missing.map((v) => `v${v}`), ...(etcd ? [] : ['etcd'])].join(', ');
  return `no real Kubernetes build of ${what} under ${root} (built releases: ${[...have].map((v) => `v${v}`).join(', ') || 'none'}); run bash scripts/build-k8s.sh (or npm run pretest)`;
}
