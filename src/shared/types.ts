/**
 * Workflow input, state snapshot, gates, decisions: the types the CLI, the workflows and the tests
 * share. Plain JSON only.
 */
import type { BackupResult, PdbBlocker, PreflightCheck, ResolvedHop } from './activities';
import type { DecisionAction, GateName } from './gates';
import type { Inventory, MaxUnavailable, NodeRole } from './inventory';

// ---------------------------------------------------------------------------------------------
// Phases and steps

export const PHASES = [
  'preflight',
  'backup',
  'control-plane',
  'workers',
  'verify',
  'blocked',
  'paused',
  'done',
  'aborted',
  'failed',
] as const;
export type Phase = (typeof PHASES)[number];
/** The phase of the work itself (what `blocked`/`paused` interrupt). */
export type Stage =
  'preflight' | 'backup' | 'control-plane' | 'workers' | 'verify' | 'done' | 'aborted' | 'failed';

/** Node steps, in execution order. */
export const NODE_STEPS = [
  'repo',
  'kubeadm-package',
  'upgrade-plan',
  'rehearsal',
  'images',
  'upgrade-apply',
  'upgrade-node',
  'cni',
  'drain',
  'kubelet-packages',
  'kubelet-restart',
  'wait-ready',
  'uncordon',
] as const;
export type NodeStep = (typeof NODE_STEPS)[number];

/** Where a node stands in the run. */
export type NodeStatus =
  | 'pending' // not started in the current hop
  | 'running' // a child workflow is working on it
  | 'prepared' // a worker whose steps before the drain are done, schedulable, waiting for its turn in the window
  | 'hop-done' // finished the current hop (more hops to go)
  | 'done' // at the target
  | 'up-to-date' // already at the target when the run started
  | 'blocked' // failed, waiting for retry/skip/abort
  | 'skipped' // skipped by an operator (stays at its version for the rest of the run)
  | 'aborted'; // the run was aborted before or while it ran

// ---------------------------------------------------------------------------------------------
// Input

export interface UpgradeOptions {
  /** Approve every gate at once (CI, the lab). Recorded as approvals by `auto-approve`. */
  autoApprove?: boolean;
  /** Overrides inventory.rollout.maxUnavailable: a count or `"25%"`. */
  maxUnavailable?: MaxUnavailable;
  /** Overrides inventory.rollout.gates. */
  gates?: GateName[];
  /** Preflight and plan only; nothing changes. */
  dryRun?: boolean;
  /** Who started the run (shown in history). */
  startedBy?: string;
  /**
   * Continue-as-new after this many node child workflows in one run (default: only when the server
   * suggests it). For tests and very large clusters.
   */
  continueAsNewAfterNodes?: number;
  /**
   * Node progress reported to the parent: every step (`steps`, default up to 50 nodes) or only the
   * drain (`drain`, default above): fewer workflow tasks and events in the parent for big clusters.
   */
  progress?: 'steps' | 'drain';
  /**
   * Upgrade although the cluster has nodes the inventory does not list (`--allow-unlisted`):
   * preflight then only warns. The worker's preflight takes nothing but `true` for a yes.
   */
  allowUnlisted?: boolean;
}

export interface UpgradeInput {
  inventory: Inventory;
  /** `1.30` or `v1.30.4`. */
  target: string;
  options?: UpgradeOptions;
  /** Internal: state carried across continue-as-new. Never set by a starter. */
  carried?: UpgradeState;
}

export interface PlanInput {
  inventory: Inventory;
  target: string;
  /** The same overrides `start` would use, so the plan shows the real window and gates. */
  options?: Pick<UpgradeOptions, 'maxUnavailable' | 'gates' | 'allowUnlisted'>;
}

// ---------------------------------------------------------------------------------------------
// Decisions (Update / Signal payloads)

export interface ApproveRequest {
  gate: GateName;
  by?: string;
  comment?: string;
}

export interface DecideRequest {
  action: DecisionAction;
  /** Blocked node to act on. retry without node retries every blocked node; skip needs it when several are blocked. */
  node?: string;
  by?: string;
  comment?: string;
}

export interface PauseRequest {
  by?: string;
  comment?: string;
}

/**
 * Who may approve a cluster's gates: from the worker config (clusters.<name>.approvals), never
 * from the input it approves. Enforced by the `approve` Update's validator.
 */
export interface ApprovalPolicy {
  /** Identities allowed to approve (the `by` of the request; the CLI sends its client identity). */
  approvers?: string[];
  /** An approval must carry a comment (a change ticket, a reason). */
  requireComment: boolean;
  /** The starter (options.startedBy) may not approve their own run. */
  distinctFromStarter: boolean;
  /** With approvers set: may a starter still ask for --auto-approve? Default false. */
  allowAutoApprove: boolean;
  /** With approvers set: gates a starter may not turn off (default preflight, control-plane, workers). */
  requiredGates?: GateName[];
}

export interface ApprovalRecord {
  gate: GateName;
  /** Hop the gate belonged to (absent for `preflight`). */
  hop?: number;
  by: string;
  comment?: string;
  at: string;
  via: 'update' | 'signal' | 'auto';
}

export interface DecisionRecord {
  action: DecisionAction | 'pause' | 'resume';
  node?: string;
  by: string;
  comment?: string;
  at: string;
  via: 'update' | 'signal';
}

/** A signal that arrived when it could not apply (gate not open, nothing blocked): kept, ignored. */
export interface IgnoredSignal {
  name: string;
  payload: unknown;
  reason: string;
  at: string;
}

// ---------------------------------------------------------------------------------------------
// State snapshot (query `state`)

export interface FailureInfo {
  /** Absent for cluster-level failures (backup, verify). */
  node?: string;
  role?: NodeRole;
  step: NodeStep | 'preflight' | 'backup' | 'verify' | 'plan';
  hop?: number;
  /** ApplicationFailure type (ErrorType) or 'Unknown'. */
  type: string;
  message: string;
  command?: string;
  outputTail?: string;
  hints: string[];
  at: string;
  /** Attempt of the node at this hop (1 = first try; retries increment it). */
  attempt: number;
  /** Set when an operator decided on it. */
  resolution?: DecisionAction;
  /** The node's drain in this try found it already unschedulable (set once a drain ran). */
  wasCordoned?: boolean;
}

export interface NodeState {
  name: string;
  role: NodeRole;
  status: NodeStatus;
  /** Current or last step. */
  step?: NodeStep;
  /** Last kubelet version known (observed at start, then the hop version after wait-ready). */
  version?: string;
  /** Hop the node is in (or last finished). */
  hop?: number;
  startedAt?: string;
  finishedAt?: string;
  /** Child workflow attempts in this run (all hops). */
  attempts: number;
  error?: FailureInfo;
  /** Was unschedulable before the run: this run never uncordons it. */
  cordonedBefore: boolean;
  /** This run cordoned it and has not uncordoned it yet. */
  cordonedByRun: boolean;
  /**
   * What the first drain of hop `hop` found (`wasCordoned`: already unschedulable, e.g. an operator
   * cordoned it after preflight): such a cordon is never lifted by the run or by abort.
   */
  firstDrain?: { hop: number; wasCordoned: boolean };
  /** Hop whose steps before the drain are done (a worker prepared ahead of its turn). */
  preparedHop?: number;
}

export interface PhaseTiming {
  phase: Stage;
  hop?: number;
  startedAt: string;
  finishedAt?: string;
}

export interface OpenGate {
  name: GateName;
  hop?: number;
  openedAt: string;
}

export interface UpgradeState {
  cluster: string;
  /** The target as asked (`1.30`), then resolved (`v1.30.4`) once known. */
  target: string;
  /** Lowest version in the cluster at the start. */
  from?: string;
  /** kube-apiserver version observed at the start. */
  apiServerVersion?: string;
  dryRun: boolean;
  phase: Phase;
  stage: Stage;
  paused: boolean;
  gates: GateName[];
  autoApprove: boolean;
  gate?: OpenGate;
  hops: ResolvedHop[];
  /** Index of the hop in progress. */
  hopIndex?: number;
  window: number;
  nodes: NodeState[];
  /** Failures waiting for a decision. */
  blocked: FailureInfo[];
  /** Every failure of the run, resolved or not. */
  failures: FailureInfo[];
  approvals: ApprovalRecord[];
  decisions: DecisionRecord[];
  ignoredSignals: IgnoredSignal[];
  preflight?: { ok: boolean; checks: PreflightCheck[]; pdbs: PdbBlocker[] };
  backup?: BackupResult;
  /** `kube-system/name` of pods already Failed at preflight: verify does not count them. */
  failedBefore?: string[];
  /** The first control plane's rehearsal of the last hop (kubeadm upgrade diff + apply --dry-run). */
  rehearsal?: { node: string; hop: number; detail?: string; outputTail?: string };
  timings: { startedAt: string; finishedAt?: string; phases: PhaseTiming[] };
  /** Final message (why it failed / was aborted). */
  message?: string;
  /** Number of continue-as-new so far. */
  generation: number;
  /** The approval policy the worker config gave this cluster (checkUpgradeInput). */
  approvalPolicy?: ApprovalPolicy;
  /** The run's key (its first run id), kept across continue-as-new: completion markers carry it. */
  runKey?: string;
}

export interface UpgradeResult {
  phase: 'done' | 'aborted';
  state: UpgradeState;
}

// ---------------------------------------------------------------------------------------------
// Plan (kupgrade plan / dry run)

export interface PlannedNode {
  name: string;
  role: NodeRole;
  /** 'apply' = first control plane; 'node' = upgrade node. */
  kind: 'first-control-plane' | 'control-plane' | 'worker';
  version: string;
  steps: NodeStep[];
  /** Already at the hop version: nothing to do. */
  upToDate: boolean;
}

export interface PlannedHop {
  hop: ResolvedHop;
  nodes: PlannedNode[];
  /** Worker window (maxUnavailable resolved). */
  window: number;
  gates: GateName[];
}

export interface UpgradePlan {
  cluster: string;
  target: string;
  /** Resolved exact target (last hop's version); absent when refused or nothing to do. */
  resolvedTarget?: string;
  apiServerVersion?: string;
  versions: {
    name: string;
    role: NodeRole;
    kubeletVersion: string;
    ready: boolean;
    unschedulable: boolean;
  }[];
  hops: PlannedHop[];
  /** Set when the upgrade is refused (downgrade, skipped minor, version not found, preflight). */
  refused?: { type: string; message: string };
  preflight?: { ok: boolean; checks: PreflightCheck[]; pdbs: PdbBlocker[] };
}

/** Progress report from a node child workflow to its parent (signal `nodeProgress`). */
export interface NodeProgress {
  node: string;
  hop: number;
  attempt: number;
  step: NodeStep;
  event: 'started' | 'finished';
  at: string;
  /** On `drain` finished: false, the drain found the node cordoned by someone else. */
  cordonedByRun?: boolean;
}
