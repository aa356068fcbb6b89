/**
 * How a failed command becomes the ApplicationFailure the workflow understands: the error types,
 * short output tails (the tail is where the error is), transient output worth a retry, the
 * runbook's recovery hints for kubeadm steps, and the SSH errors no retry can fix.
 */
import { ApplicationFailure } from '@temporalio/common';
import { findBackupDirs } from '../parsers/kubeadm';
import { ErrorType } from '../shared/errors';
import type { RunResult, SshTarget } from '../ssh/types';

/** The shared error types plus the SSH-level ones this layer adds (all non-retryable but Transient). */
export const ErrorTypes = {
  ...ErrorType,
  SudoPasswordRequired: 'SudoPasswordRequired',
  SshAuthenticationFailed: 'SshAuthenticationFailed',
  SshKeyFile: 'SshKeyFile',
  /**
   * A command failed for a reason we cannot classify. Retried (bounded by the workflow's retry
   * policy; every step re-checks its state first), unlike CommandFailed which workflows never retry.
   */
  UnexpectedExit: 'UnexpectedExit',
} as const;

/** Last ~4 KB of a command's output is kept in failures and results. */
const OUTPUT_TAIL_BYTES = 4096;

/** Keeps the last `max` characters (the tail is where the error is). */
export function tail(text: string, max = OUTPUT_TAIL_BYTES): string {
  if (text.length <= max) return text;
  return '…' + text.slice(text.length - max + 1);
}

export function outputOf(r: Pick<RunResult, 'stdout' | 'stderr'>): string {
  if (!r.stderr) return r.stdout;
  if (!r.stdout) return r.stderr;
  return r.stdout.endsWith('\n') ? r.stdout + r.stderr : `${r.stdout}\n${r.stderr}`;
}

export function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^To see the stack trace/.test(l));
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}

/** The recovery text of the runbook's 从故障状态恢复 section, as hints for a blocked node. */
export const RECOVERY_HINTS: readonly string[] = [
  '`kubeadm upgrade` is idempotent: after fixing the cause, retry the node (kupgrade re-runs the command).',
  'To recover from a failed state without changing the running version, `kubeadm upgrade apply <current version> --force` can be run on the node.',
  'kubeadm-backup-manifests-<date>-<time> under /etc/kubernetes/tmp holds the previous static Pod manifests: if the upgrade failed and did not roll back, copy them back to /etc/kubernetes/manifests.',
  'kubeadm-backup-etcd-<date>-<time> under /etc/kubernetes/tmp holds the local etcd member data: if the etcd upgrade failed and the automatic rollback did not fix it, copy it to /var/lib/etcd.',
];

export interface FailureDetail {
  node: string;
  step: string;
  command?: string;
  exitCode?: number;
  outputTail: string;
  hints: string[];
  backupDirs: string[];
}

export interface FailOptions {
  type: string;
  message: string;
  node: string;
  step: string;
  result?: RunResult;
  command?: string;
  nonRetryable: boolean;
  hints?: string[];
  /** Include kubeadm's backup folders and the runbook's recovery section in the hints. */
  kubeadmRecovery?: boolean;
  /** Extra fields for details[0] (plain JSON). */
  extra?: Record<string, unknown>;
}

export function failure(o: FailOptions): ApplicationFailure {
  const out = o.result ? outputOf(o.result) : '';
  const backupDirs = findBackupDirs(out);
  const hints = [...(o.hints ?? [])];
  if (o.kubeadmRecovery) {
    for (const d of backupDirs) hints.push(`kubeadm backup folder on ${o.node}: ${d}`);
    hints.push(...RECOVERY_HINTS);
  }
  const detail: FailureDetail & Record<string, unknown> = {
    ...o.extra,
    node: o.node,
    step: o.step,
    command: o.command,
    exitCode: o.result?.exitCode,
    outputTail: tail(out),
    hints,
    backupDirs,
  };
  return ApplicationFailure.create({
    type: o.type,
    message: `${o.node}: ${o.message}`,
    nonRetryable: o.nonRetryable,
    details: [detail],
  });
}

/** Output that says the failure is the network or a repository mirror, worth a retry with backoff. */
const TRANSIENT_RE = new RegExp(
  [
    'connection refused',
    'connection reset',
    'connection timed out',
    'timed out',
    'i/o timeout',
    'temporary failure in name resolution',
    'could not resolve host',
    'no route to host',
    'network is unreachable',
    'tls handshake timeout',
    'service unavailable',
    'too many requests',
    'cannot download repomd\\.xml',
    'failed to download metadata',
    'cannot retrieve repository metadata',
    'curl error',
    'failed to fetch',
    'some index files failed to download',
    'could not get lock',
    'unable to lock',
    'is another process using it',
    'the connection to the server .* was refused',
    'unable to connect to the server',
    'etcdserver: request timed out',
    'context deadline exceeded',
  ].join('|'),
  'i',
);

export function looksTransient(output: string): boolean {
  return TRANSIENT_RE.test(output);
}

const NON_RETRYABLE_SSH: Record<string, { type: string; hint: string }> = {
  HostKeyMismatchError: {
    type: ErrorTypes.HostKeyMismatch,
    hint: 'The node presented a host key that is not the trusted one (known_hosts or the pinned fingerprint): make sure the node was not replaced or intercepted, then update known_hosts or ssh.hostKeyFingerprints.',
  },
  SudoPasswordRequiredError: {
    type: ErrorTypes.SudoPasswordRequired,
    hint: 'kupgrade runs sudo -n and never types a password: allow the SSH user NOPASSWD in sudoers, or connect as root.',
  },
  SshAuthenticationError: {
    type: ErrorTypes.SshAuthenticationFailed,
    hint: "Add the public key of ssh.privateKeyPath to the user's authorized_keys on the node.",
  },
  SshKeyFileError: {
    type: ErrorTypes.SshKeyFile,
    hint: 'Check ssh.privateKeyPath exists on the worker host and is readable by its owner only (chmod 600).',
  },
};

/**
 * Transport errors (connection refused/reset/lost, command timeout) are rethrown as they are: the
 * SDK turns them into a retryable failure of type SshTransportError/SshTimeoutError. The SSH errors
 * no retry can fix become non-retryable failures.
 */
export function translateSshError(err: unknown, target: SshTarget, step: string): unknown {
  const name = err instanceof Error ? err.name : '';
  const known = NON_RETRYABLE_SSH[name];
  if (known || (err instanceof Error && (err as { retryable?: unknown }).retryable === false)) {
    return ApplicationFailure.create({
      type: known?.type ?? ErrorTypes.CommandFailed,
      message: `${target.name}: ${(err as Error).message}`,
      nonRetryable: true,
      details: [
        {
          node: target.name,
          step,
          outputTail: '',
          hints: known ? [known.hint] : [],
          backupDirs: [],
        } satisfies FailureDetail,
      ],
    });
  }
  return err;
}
