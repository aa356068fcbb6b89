/**
 * The activity interface: the contract between the workflows (src/workflows) and the real SSH
 * activities (src/activities, `createNodeActivities(deps): UpgradeActivities`), and the fakes of
 * the workflow tests.
 *
 * Rules for every implementation:
 * - "ensure state X": check the node first and act only when needed, so a retry, a replay after a
 *   crash, or a `kupgrade retry` never does a step twice (return `changed: false` when nothing was done).
 * - Inputs and outputs are plain JSON, small (one node + cluster settings, not the whole node list,
 *   except for the few cluster-wide calls), and never contain secrets (key paths only).
 * - Long activities (drain, waitNodeReady, kubeadm apply/node, package installs, image pulls,
 *   backup) heartbeat at least every 10 s and honour cancellation.
 * - Transient trouble (connection refused/reset, timeouts, repository fetch errors) throws a
 *   retryable error (plain Error or ApplicationFailure type `Transient`); semantic failures throw
 *   `ApplicationFailure.create({ type: ErrorType.X, nonRetryable: true, message, details: [FailureDetails] })`
 *   with the command and the tail of its output.
 */
import type { ClusterContext, Inventory, InventoryNode } from './inventory';
import type { ApprovalPolicy, UpgradeOptions } from './types';

// ---------------------------------------------------------------------------------------------
// Inputs

/** Input of every per-node activity. */
export interface NodeInput {
  cluster: ClusterContext;
  node: InventoryNode;
}

/** A hop with its exact versions, resolved from the package repository. */
export interface ResolvedHop {
  /** 0-based position in the run. */
  index: number;
  /** Lowest version in the cluster when the hop starts (`v1.29.6`; `v1.29` for later hops). */
  from: string;
  /** The minor, `1.30` (used for the pkgs.k8s.io / mirror repository path). */
  minor: string;
  /** Exact target of the hop, `v1.30.4`. */
  version: string;
  /** The package versions for the node's package manager (`1.30.4-150500.1.1` or `1.30.4-0`). */
  packages: { kubeadm: string; kubelet: string; kubectl: string };
}

export interface NodeHopInput extends NodeInput {
  hop: ResolvedHop;
  /** The run (its first run id): completion markers are keyed by run and hop. */
  run?: string;
}

// ---------------------------------------------------------------------------------------------
// Outputs

/** Result of an "ensure" step. */
export interface StepResult {
  /** False when the node was already in the wanted state and nothing was run. */
  changed: boolean;
  /** Short human text ("kubeadm 1.30.4-150500.1.1 installed", "already at v1.30.4"). */
  detail?: string;
  /** Version observed after the step, when meaningful. */
  version?: string;
  /** Tail of the mutating command's output (capped). */
  outputTail?: string;
}

/** The steps after the drain that run as one activity (ensureKubeletUpgraded), in this order. */
export const KUBELET_GROUP_STEPS = ['kubelet-packages', 'kubelet-restart', 'wait-ready', 'uncordon'] as const;
/** A worker's steps before the drain that run as one activity (ensureNodePrepared), in this order. */
export const PREPARE_GROUP_STEPS = ['repo', 'kubeadm-package', 'upgrade-node'] as const;
export type GroupedStep = (typeof KUBELET_GROUP_STEPS)[number] | (typeof PREPARE_GROUP_STEPS)[number];

/** Input of a step group: the node's hop and which of the group's steps to run, in order. */
export interface StepGroupInput extends NodeHopInput {
  steps: GroupedStep[];
}

/** One step of a group as it ran (the workflow's step record; times are the activity's clock). */
export interface GroupedStepRecord {
  step: GroupedStep;
  changed: boolean;
  detail?: string;
  /** wait-ready: the kubelet version the node reports Ready at. */
  version?: string;
  startedAt: string;
  finishedAt: string;
}

export interface StepGroupResult {
  steps: GroupedStepRecord[];
}

/**
 * details[0] of a step group's failure: the failed sub-step's own details with `step` naming it,
 * and the records of the sub-steps that finished before it.
 */
export interface StepGroupFailureDetails {
  step: GroupedStep;
  completed: GroupedStepRecord[];
  [key: string]: unknown;
}

export interface DrainResult extends StepResult {
  /** The node was already unschedulable before this call (someone or an earlier attempt cordoned it). */
  wasCordoned: boolean;
}

export interface ObservedNode {
  name: string;
  /** kubelet version reported by the Node object, `v1.29.6`. */
  kubeletVersion: string;
  ready: boolean;
  /** spec.unschedulable (cordoned). */
  unschedulable: boolean;
}

export interface ClusterState {
  /** Version of kube-apiserver (lowest one if they differ), `v1.29.6`. */
  apiServerVersion: string;
  /** kubernetesVersion in the kubeadm-config ConfigMap, when readable. */
  kubeadmConfigVersion?: string;
  nodes: ObservedNode[];
  /** `kube-system/name` of the kube-system pods in phase Failed (evicted, crashed) when read. */
  failedPods?: string[];
  /** ISO time of the observation. */
  observedAt: string;
}

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface PreflightCheck {
  /** Stable id: ssh, host-key, admin-conf, node-ready, unlisted-nodes, node-identity, control-plane-health, etcd-health, swap, kubeadm-config, versions, packages, pdb, skew. */
  name: string;
  node?: string;
  status: CheckStatus;
  message: string;
}

export interface PdbBlocker {
  namespace: string;
  name: string;
  /** Nodes whose drain this PDB may block (pods it selects run there). */
  nodes: string[];
  /** e.g. "allowed disruptions 0 (minAvailable 2, 2 healthy)". */
  reason: string;
}

export interface PreflightReport {
  /** False when any check failed: the run stops before changing anything. */
  ok: boolean;
  checks: PreflightCheck[];
  pdbs: PdbBlocker[];
}

export interface UpgradePlanResult {
  /** `kubeadm upgrade plan <version>` accepted the target. */
  ok: boolean;
  /** Components kubeadm says need a manual config upgrade (then apply would fail). */
  manualUpgradeRequired: string[];
  outputTail?: string;
}

export interface BackupResult {
  node: string;
  /** etcd snapshot file on the node (absent when etcdBackup is off or etcd is external). */
  etcdSnapshot?: string;
  /** Copy of /etc/kubernetes on the node. */
  kubernetesCopy: string;
  at: string;
}

export interface NodeReadyResult {
  ready: boolean;
  kubeletVersion: string;
}

export interface VerifyReport {
  ok: boolean;
  nodes: ObservedNode[];
  /** Human-readable problems (node not Ready, wrong version, control-plane image, kube-system pod not running). */
  problems: string[];
  /** How long verify waited for kube-system to settle. */
  waitedMs?: number;
}

export interface VerifyInput {
  inventory: Inventory;
  version: string;
  /** Nodes left out (skipped workers). */
  exclude: string[];
  /** `kube-system/name` of pods already Failed before the run (recorded at preflight): not problems. */
  failedBefore?: string[];
  /** ISO start of the run: a pod that failed before it is not a problem either. */
  since?: string;
  /** How long to wait for kube-system to settle (default: the worker's verify timeout, 5 min). */
  settleTimeoutMs?: number;
}

/** Input of `checkUpgradeInput`: what a starter handed the workflow. */
export interface CheckInputRequest {
  inventory: Inventory;
  target?: string;
  options?: UpgradeOptions;
}

export interface CheckInputResult {
  /** The cluster's approval policy from the worker config; absent when it sets none. */
  approvals?: ApprovalPolicy;
}

// ---------------------------------------------------------------------------------------------
// The interface

export interface UpgradeActivities {
  /** Read-only: API server version and every node's kubelet version, readiness and cordon state. */
  getClusterState(input: { inventory: Inventory }): Promise<ClusterState>;

  /**
   * Read-only: the exact version and package versions of each hop's minor, from the repository
   * listing (`yum list --showduplicates`, `apt-cache madison`) on the first control plane. For
   * pkgs.k8s.io/mirror layouts the listing of another minor must be read without changing the
   * node's configured repository (e.g. a temporary repo definition). Throws VersionNotFound.
   */
  resolveTarget(input: {
    cluster: ClusterContext;
    hops: { index: number; from: string; minor: string; patch?: number }[];
  }): Promise<ResolvedHop[]>;

  /**
   * Read-only preflight over all nodes: SSH + pinned host key, admin.conf on the first control
   * plane, nodes Ready, control plane and etcd healthy, swap off, kubeadm-config present, versions,
   * the hop packages available on every node, PDBs that would block a drain. Never throws for a
   * failed check (reports it); throws only for transport trouble or HostKeyMismatch.
   */
  preflight(input: {
    inventory: Inventory;
    hops: ResolvedHop[];
    /** Cluster nodes absent from the inventory only warn (`--allow-unlisted`); exactly `true`. */
    allowUnlisted?: boolean;
  }): Promise<PreflightReport>;

  /** etcd snapshot (when kubeadm.etcdBackup) and a copy of /etc/kubernetes on `node`; `label` names the folder. */
  backupControlPlane(input: NodeInput & { label: string }): Promise<BackupResult>;

  /** Point the node's package repository at the hop's minor (pkgs.k8s.io / mirror); no-op when unmanaged or already set. */
  ensureRepoMinor(input: NodeHopInput): Promise<StepResult>;

  /** kubeadm package at hop.packages.kubeadm (unhold/hold on apt). */
  ensureKubeadmPackage(input: NodeHopInput): Promise<StepResult>;

  /** Read-only `kubeadm upgrade plan <version>` on the first control plane. */
  kubeadmUpgradePlan(input: NodeHopInput): Promise<UpgradePlanResult>;
  /** Read-only: `kubeadm upgrade diff` + `kubeadm upgrade apply --dry-run` on the first control plane. */
  kubeadmRehearsal(input: NodeHopInput): Promise<StepResult>;

  /** `kubeadm config images pull --kubernetes-version <v>` (with imageRepository) on a control plane. */
  ensureImagesPulled(input: NodeHopInput): Promise<StepResult>;

  /** `kubeadm upgrade apply <v> -y` on the first control plane, unless the control plane already runs it. */
  ensureKubeadmApply(input: NodeHopInput): Promise<StepResult>;

  /** `kubeadm upgrade node` on another control plane or a worker, unless already done for the version. */
  ensureKubeadmUpgradeNode(input: NodeHopInput): Promise<StepResult>;

  /**
   * The CNI step on the first control plane, after apply: runs inventory.rollout.cni.command when
   * set (e.g. a kubectl apply of the new Calico manifest); `changed: false` when no command is set.
   * The `cni` gate, when enabled, opens before it (the seed warns pod networking may drop).
   */
  runCniStep(input: NodeHopInput): Promise<StepResult>;

  /** Cordon and drain with the inventory's drain options; throws DrainTimeout (non-retryable) with the blocking pods/PDBs. */
  ensureDrained(input: NodeInput): Promise<DrainResult>;

  /**
   * kubelet + kubectl packages at the hop's versions. Must refuse (PolicyRefused) when the node is
   * not cordoned (invariant 3: a kubelet changes only while its node is cordoned and drained).
   */
  ensureKubeletPackages(input: NodeHopInput): Promise<StepResult>;

  /** daemon-reload + restart kubelet, unless the running kubelet already is the hop's version. Same cordon guard. */
  ensureKubeletRestarted(input: NodeHopInput): Promise<StepResult>;

  /** Waits (heartbeating) until the node is Ready with kubeletVersion == hop.version; throws NodeNotReady on its own deadline. */
  waitNodeReady(input: NodeHopInput): Promise<NodeReadyResult>;

  /**
   * The steps after the drain (any of KUBELET_GROUP_STEPS, in order) as one heartbeating activity:
   * the ensure-activities above one after the other, so a retry re-checks each first. A failure is
   * an ApplicationFailure whose details[0] (StepGroupFailureDetails) names the sub-step; a node not
   * Ready is NodeNotReady. The workflow leaves `uncordon` out when the node keeps an operator's cordon.
   */
  ensureKubeletUpgraded(input: StepGroupInput): Promise<StepGroupResult>;

  /** A worker's steps before the drain (any of PREPARE_GROUP_STEPS, in order) as one activity, same rules. */
  ensureNodePrepared(input: StepGroupInput): Promise<StepGroupResult>;

  /** Uncordon (no-op when schedulable). The workflow calls it only for nodes this run cordoned. */
  ensureUncordoned(input: NodeInput): Promise<StepResult>;

  /** Read-only: every node (except `exclude`) Ready at `version`; kube-system pods healthy. */
  verifyCluster(input: { inventory: Inventory; version: string; exclude: string[] }): Promise<VerifyReport>;

  /**
   * The worker's check of a workflow input (src/worker-trust.ts), before anything reaches a node:
   * the inventory through the CLI's schema, the cluster granted by the worker config, the options.
   * Throws InputRefused (non-retryable) naming the fix; returns the cluster's approval policy.
   */
  checkUpgradeInput(input: CheckInputRequest): Promise<CheckInputResult>;
  /**
   * Read-only: every node (except `exclude`) Ready at `version`, the control-plane pods' images at
   * `version`, kube-system pods healthy (waiting, heartbeating, up to a bound for them to settle;
   * pods Failed before the run ignored).
   */
  verifyCluster(input: VerifyInput): Promise<VerifyReport>;
}
