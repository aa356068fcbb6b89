/**
 * The lab's time model, in ONE place: every modelled operation's duration in milliseconds at
 * speed 1 (real-world proportions), scaled by `--speed`. The controller holds each command's
 * response for these durations; the benchmark imports the same numbers to compute the
 * critical-path bound of an upgrade plan (see `nodeUpgradeMs`), so the two can never drift apart.
 */

import { pdbDesiredHealthy, type ClusterState } from './state';

export const TIME = {
  /** any read-only kubectl call (get nodes/pods/pdb/cm, version) */
  kubectlReadMs: 300,
  /** cordon / uncordon: one PATCH of spec.unschedulable */
  cordonMs: 300,
  /** graceful termination of one evicted pod (terminationGracePeriod the workloads actually use) */
  podEvictMs: 8_000,
  /** kubectl drain's fixed back-off after a 429 from a PodDisruptionBudget ("will retry after 5s") */
  pdbRetryMs: 5_000,
  /** a replacement pod scheduled elsewhere becomes Ready (image present, readiness probe passes) */
  podStartMs: 12_000,
  /** kubeadm upgrade plan: config download, health checks, version lookup */
  kubeadmPlanMs: 6_000,
  /** kubeadm version / config print etc. */
  kubeadmLocalMs: 100,
  /** kubeadm config images pull, per image */
  imagePullPerImageMs: 6_000,
  /** kubeadm upgrade apply: preflight + health checks (the CreateJob waits for a pod) */
  applyPreflightMs: 15_000,
  /** pulling the control-plane images during apply/upgrade node on a CP (7 images) */
  applyImagePullMs: 40_000,
  /** one static pod replaced and its new pod seen healthy (etcd, apiserver, cm, scheduler) */
  staticPodUpgradeMs: 30_000,
  /** upload-config, kubelet-config, bootstrap-token, addons */
  applyPostMs: 8_000,
  /** kubeadm upgrade node on a worker: fetch the kubelet config and write it */
  upgradeNodeWorkerMs: 4_000,
  /** package manager: metadata refresh (yum makecache, apt-get update) */
  repoRefreshMs: 4_000,
  /** package manager: list / madison from the local cache */
  repoQueryMs: 1_200,
  /** one package transaction (download + install of 1..3 packages) */
  packageInstallMs: 15_000,
  /** extra per package in the same transaction */
  packageInstallPerPkgMs: 4_000,
  /** systemctl daemon-reload */
  daemonReloadMs: 400,
  /** systemctl restart kubelet (the command itself) */
  kubeletRestartMs: 1_500,
  /** after a kubelet restart, the node reports Ready again */
  kubeletReadyMs: 15_000,
  /** a powered-off node turns NotReady after the node-monitor grace period */
  nodeNotReadyGraceMs: 40_000,
  /** etcdctl snapshot save */
  etcdSnapshotMs: 6_000,
  /** etcdctl endpoint health */
  etcdHealthMs: 200,
  /** trivial node-local commands (swapon, systemctl is-active, apt-mark) */
  trivialMs: 50,
} as const;

export type TimeKey = keyof typeof TIME;

/** The wall-clock milliseconds of a modelled duration at the lab's speed. */
export function scaled(ms: number, speed: number): number {
  return speed > 0 ? ms / speed : ms;
}

export function applyMs(etcdUpgrade = true): number {
  return (
    TIME.applyPreflightMs +
    TIME.applyImagePullMs +
    TIME.staticPodUpgradeMs * (etcdUpgrade ? 4 : 3) +
    TIME.applyPostMs
  );
}

export function upgradeNodeCpMs(): number {
  return TIME.applyImagePullMs + TIME.staticPodUpgradeMs * 4 + TIME.applyPostMs;
}

export function packageInstallMs(packages: number): number {
  return TIME.packageInstallMs + TIME.packageInstallPerPkgMs * Math.max(0, packages - 1);
}

/**
 * A lower bound of one node's upgrade by one minor as the runbook orders it, at speed 1:
 * kubeadm package, apply (first CP) or upgrade node, drain (evictions run in parallel, so one
 * pod's grace period), kubelet+kubectl packages, daemon-reload, restart, Ready, uncordon.
 * Repo switching and `plan` are excluded (file edits and read-only checks that may overlap).
 */
/**
 * The first control plane's rehearsal (the runbook's config-file path: `kubeadm upgrade diff`,
 * then `kubeadm upgrade apply --dry-run`, which pulls nothing and restarts nothing).
 */
export function rehearsalMs(): number {
  return TIME.kubeadmLocalMs + TIME.applyPreflightMs;
}

export function nodeUpgradeMs(opts: {
  role: 'control-plane' | 'worker';
  first: boolean;
  pods: number;
}): number {
  const kubeadmStep =
    opts.role === 'worker'
      ? TIME.upgradeNodeWorkerMs
      : opts.first
        ? rehearsalMs() + applyMs()
        : upgradeNodeCpMs();
  return (
    packageInstallMs(1) +
    kubeadmStep +
    TIME.cordonMs +
    (opts.pods > 0 ? TIME.podEvictMs : 0) +
    packageInstallMs(2) +
    TIME.daemonReloadMs +
    TIME.kubeletRestartMs +
    TIME.kubeletReadyMs +
    TIME.cordonMs
  );
}

/**
 * The part of a worker's upgrade that leaves it schedulable (kubeadm package, `kubeadm upgrade
 * node`), at speed 1: what kupgrade's `rollout.prepareAhead` runs ahead of the window.
 */
export function workerPrepareMs(): number {
  return packageInstallMs(1) + TIME.upgradeNodeWorkerMs;
}

/**
 * Critical-path bound of a one-minor hop: control planes one after another, then the workers in
 * waves of `maxUnavailable` (each wave as long as its slowest node). With `prepareAhead`, only the
 * first wave's preparation is on the path: each later wave prepares while the one before drains,
 * upgrades its kubelets and uncordons (which takes longer than the preparation).
 */
export function hopBoundMs(opts: {
  controlPlanes: number;
  workers: number;
  maxUnavailable: number;
  podsPerWorker: number;
  prepareAhead?: boolean;
  pdbs?: PdbLoad[];
}): number {
  let total = 0;
  for (let i = 0; i < opts.controlPlanes; i++)
    total += nodeUpgradeMs({ role: 'control-plane', first: i === 0, pods: 1 });
  const waves = Math.ceil(opts.workers / Math.max(1, opts.maxUnavailable));
  const node = nodeUpgradeMs({ role: 'worker', first: false, pods: opts.podsPerWorker });
  const prep = opts.prepareAhead ? workerPrepareMs() : 0;
  let workers = opts.prepareAhead && waves > 0 ? prep + waves * Math.max(node - prep, prep) : waves * node;
  // A PDB that allows d disruptions at a time admits the next eviction of its app only when a
  // replacement is Ready: E evictions take at least ceil(E/d) - 1 pod starts after the first one,
  // whatever the window (the first worker's whole upgrade is on the path too).
  if (waves > 0) {
    for (const b of opts.pdbs ?? []) {
      if (b.evictions <= 0) continue;
      const rounds = Math.ceil(b.evictions / Math.max(1, b.disruptionsAllowed));
      workers = Math.max(workers, node + (rounds - 1) * TIME.podStartMs);
    }
  }
  return total + workers;
}

/** The workers' pods one PodDisruptionBudget covers, and how many of them it lets go at once. */
export interface PdbLoad {
  evictions: number;
  disruptionsAllowed: number;
}

/** The PDB loads of a lab's cluster: every pod a PDB covers on a worker is evicted at least once. */
export function pdbLoadsOf(state: Pick<ClusterState, 'nodes' | 'pods' | 'pdbs'>): PdbLoad[] {
  return state.pdbs.map((b) => ({
    evictions: state.pods.filter(
      (p) => p.ns === b.ns && p.app === b.app && p.node !== null && state.nodes[p.node]?.role === 'worker',
    ).length,
    disruptionsAllowed: Math.max(1, b.replicas - pdbDesiredHealthy(b)),
  }));
}
