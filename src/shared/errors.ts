/**
 * ApplicationFailure `type`s shared by activities (which throw them) and workflows (which decide on
 * them). Activities throw `ApplicationFailure.create({ type, message, nonRetryable, details: [FailureDetails] })`.
 */

export const ErrorType = {
  /** A command was refused by policy (e.g. kubelet upgrade on a node that is not cordoned). */
  PolicyRefused: 'PolicyRefused',
  /** The requested version (or its package) does not exist in the repository. */
  VersionNotFound: 'VersionNotFound',
  /** The node's SSH host key changed or is unknown. Never retried. */
  HostKeyMismatch: 'HostKeyMismatch',
  /** Preflight found a blocking problem; nothing was changed. */
  PreflightFailed: 'PreflightFailed',
  /** Drain did not finish within drain.timeoutSeconds (often a PDB). */
  DrainTimeout: 'DrainTimeout',
  /** The node did not become Ready at the expected version in time. */
  NodeNotReady: 'NodeNotReady',
  /** The hop planner refused the upgrade: downgrade, major change, skipped minor. */
  HopRefused: 'HopRefused',
  /** kubeadm upgrade plan/apply/node exited non-zero with a non-transient error. */
  KubeadmFailed: 'KubeadmFailed',
  /** Package install/repository change failed for a non-transient reason. */
  PackageFailed: 'PackageFailed',
  /** A remote command failed (generic, non-transient). */
  CommandFailed: 'CommandFailed',
  /** Transient SSH/transport trouble (connection refused, reset, timeout). Retried. */
  Transient: 'Transient',
  /** The workflow input is invalid (bad inventory view, bad maxUnavailable, unknown gate). */
  InvalidInput: 'InvalidInput',
  /** A node step failed after its retries (thrown by the node child workflow; details: NodeFailure). */
  NodeStepFailed: 'NodeStepFailed',
  /** Update validator refusals. */
  GateNotOpen: 'GateNotOpen',
  NothingBlocked: 'NothingBlocked',
  SkipRefused: 'SkipRefused',
  RunFinished: 'RunFinished',
  /** The worker refused a workflow input (src/worker-trust.ts): not granted by its worker config. */
  InputRefused: 'InputRefused',
  /** An approval refused by the cluster's approval policy (approver, comment, starter, size). */
  ApprovalRefused: 'ApprovalRefused',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** Error types that retrying the same activity cannot fix: never retried by the workflows. */
export const NON_RETRYABLE_ERROR_TYPES: string[] = [
  ErrorType.PolicyRefused,
  ErrorType.VersionNotFound,
  ErrorType.HostKeyMismatch,
  ErrorType.PreflightFailed,
  ErrorType.DrainTimeout,
  ErrorType.NodeNotReady,
  ErrorType.HopRefused,
  ErrorType.KubeadmFailed,
  ErrorType.PackageFailed,
  ErrorType.CommandFailed,
  ErrorType.InvalidInput,
  ErrorType.InputRefused,
];

/** `details[0]` of an activity's ApplicationFailure. No secrets: command lines and output tails only. */
export interface FailureDetails {
  node?: string;
  /** The command line that failed (quoted, as run). */
  command?: string;
  exitCode?: number;
  /** The last lines of stdout+stderr (capped, ~4 KB). */
  outputTail?: string;
  /** Extra hints from the activity (e.g. the PDB that blocked the drain). */
  hints?: string[];
}

/** Recovery hints shown when a step fails, per step (the runbook's 从故障状态恢复 section). */
export function recoveryHints(step: string, role: 'control-plane' | 'worker' | undefined): string[] {
  const common = [
    'Fix the cause, then `kupgrade retry <cluster>`; the step is idempotent and re-checks state first.',
  ];
  switch (step) {
    case 'upgrade-apply':
    case 'upgrade-node':
      return [
        '`kubeadm upgrade` is idempotent: re-running apply/node converges to the declared version; `kubeadm upgrade apply --force` re-runs without changing the version (从故障状态恢复).',
        'kubeadm keeps backups in /etc/kubernetes/tmp/: kubeadm-backup-manifests-<date>-<time> (copy back to /etc/kubernetes/manifests) and kubeadm-backup-etcd-<date>-<time> (copy back to /var/lib/etcd) for a manual rollback.',
        ...(role === 'control-plane'
          ? ['The etcd snapshot and /etc/kubernetes copy taken by kupgrade are listed under "backup".']
          : []),
        ...common,
      ];
    case 'drain':
      return [
        'A PodDisruptionBudget or a pod without a controller often blocks a drain: inspect `kubectl get pdb -A` and the output tail.',
        'kupgrade uncordons a node it cordoned when the drain fails, so the node serves while you decide; `retry` drains it again, `skip` (workers) leaves it at its version.',
        ...common,
      ];
    case 'wait-ready':
    case 'kubelet-restart':
      return [
        'Check `systemctl status kubelet` and `journalctl -u kubelet` on the node; the kubelet config comes from `kubeadm upgrade node`.',
        ...common,
      ];
    case 'repo':
    case 'kubeadm-package':
    case 'kubelet-packages':
      return [
        'Check the package repository (mirror reachable, the version listed) and the package manager lock.',
        ...common,
      ];
    default:
      return common;
  }
}
