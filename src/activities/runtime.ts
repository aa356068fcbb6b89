/**
 * The plumbing every node activity shares: run one command over SSH with the activity's
 * cancellation signal and heartbeats, turn failures into the error types the workflow
 * understands, keep output tails short, and log without secrets.
 *
 * Nothing here knows about kubeadm; the per-concern files (kubeadm.ts, packages.ts, ...) do.
 */
import { setMaxListeners } from 'node:events';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { findBackupDirs } from '../parsers/kubeadm';
import type { CheckInputRequest, CheckInputResult } from '../shared/activities';
import { ErrorType } from '../shared/errors';
import type { ShellCommand } from '../ssh/command';
import { DETACH_ERROR_EXIT, detachedStep } from '../ssh/detached';
import type { RunResult, SshExecutor, SshTarget } from '../ssh/types';

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
export const OUTPUT_TAIL_BYTES = 4096;

export interface ActivityDeps {
  ssh: SshExecutor;
  /** Clock, injected for tests. */
  now?: () => Date;
  /** Poll interval of the wait activities (Ready, health). Default 5 s. */
  pollIntervalMs?: number;
  /** Sleep, injected for tests; must honour the signal. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Default per-command timeout. Default 10 min. */
  commandTimeoutMs?: number;
  /** Parallel SSH sessions used by preflight across nodes. Default 32. */
  concurrency?: number;
  /** Where kupgrade's own backups go on the first control plane. Default /var/lib/kupgrade/backups. */
  backupRoot?: string;
  /** Heartbeat period while a long command runs, output or not. Default 10 s. */
  heartbeatIntervalMs?: number;
  /** How long wait-ready waits for a restarted kubelet's node to be Ready. Default 10 min. */
  readyTimeoutMs?: number;
  /** The worker's config check (src/worker-trust.ts): the `checkUpgradeInput` activity. */
  trust?: { checkUpgradeInput(req: CheckInputRequest): CheckInputResult };
  /** How long verify waits for kube-system to settle after the last node. Default 5 min. */
  verifyTimeoutMs?: number;
}

export interface Logger {
  info(message: string, attrs?: Record<string, unknown>): void;
  warn(message: string, attrs?: Record<string, unknown>): void;
  debug(message: string, attrs?: Record<string, unknown>): void;
}

const silentLogger: Logger = { info: () => undefined, warn: () => undefined, debug: () => undefined };

/** The current activity context, or undefined when a helper runs outside an activity. */
const widened = new WeakSet<AbortSignal>();

export function currentContext(): Context | undefined {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return undefined;
  }
  // One activity may run many commands at once (preflight over 100 nodes), each listening to the
  // same cancellation signal: more than Node's default of 10 listeners is expected, not a leak.
  const signal = ctx.cancellationSignal;
  if (!widened.has(signal)) {
    setMaxListeners(1000, signal);
    widened.add(signal);
  }
  return ctx;
}

export function logger(): Logger {
  return currentContext()?.log ?? silentLogger;
}

export function heartbeat(details: unknown): void {
  const ctx = currentContext();
  if (ctx) ctx.heartbeat(details);
}

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

/** The recovery text of the runbook's 从故障状态恢复 section, as hints for a blocked node. */
export const RECOVERY_HINTS: readonly string[] = [
  '`kubeadm upgrade` is idempotent: after fixing the cause, retry the node (kupgrade re-runs the command).',
  'To recover from a failed state without changing the running version, `kubeadm upgrade apply <current version> --force` can be run on the node.',
  'kubeadm-backup-manifests-<date>-<time> under /etc/kubernetes/tmp holds the previous static Pod manifests: if the upgrade failed and did not roll back, copy them back to /etc/kubernetes/manifests.',
  'kubeadm-backup-etcd-<date>-<time> under /etc/kubernetes/tmp holds the local etcd member data: if the etcd upgrade failed and the automatic rollback did not fix it, copy it to /var/lib/etcd.',
];

/** kubeadm's backup folders named in an output (manifests, etcd, kubelet config), in order. */
export function backupDirsIn(output: string): string[] {
  return findBackupDirs(output);
}

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
  const backupDirs = backupDirsIn(out);
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

const SUDO_RE = /sudo: (?:a )?password is required|sudo: a terminal is required|sudo: no tty present/i;

export interface ExecOptions {
  /** What this command is for, for logs and heartbeats ("drain", "install kubeadm"). */
  step: string;
  timeoutMs?: number;
  /** Heartbeat while output streams (long commands). */
  progress?: boolean;
  maxOutputBytes?: number;
  /** Kept in every progress heartbeat, so that a retried attempt can read it (heartbeatDetails). */
  heartbeatDetails?: Record<string, unknown>;
}

/** Runs commands for the activities: cancellation, heartbeats and error translation. */
export class Runner {
  readonly now: () => Date;
  readonly pollIntervalMs: number;
  readonly readyTimeoutMs: number;
  readonly verifyTimeoutMs: number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly ssh: SshExecutor;
  private readonly timeoutMs: number;
  private readonly heartbeatIntervalMs: number;

  constructor(deps: ActivityDeps) {
    this.heartbeatIntervalMs = deps.heartbeatIntervalMs ?? 10_000;
    this.ssh = deps.ssh;
    this.now = deps.now ?? (() => new Date());
    this.pollIntervalMs = deps.pollIntervalMs ?? 5000;
    this.readyTimeoutMs = deps.readyTimeoutMs ?? 10 * 60_000;
    this.verifyTimeoutMs = deps.verifyTimeoutMs ?? 5 * 60_000;
    this.sleep = deps.sleep ?? abortableSleep;
    this.timeoutMs = deps.commandTimeoutMs ?? 10 * 60_000;
  }

  /**
   * Runs one command. Transport failures are rethrown as they are (retryable); a changed host
   * key and a sudo that wants a password become non-retryable failures. A non-zero exit is
   * returned, not thrown: the caller decides what it means.
   */
  async exec(target: SshTarget, command: ShellCommand, o: ExecOptions): Promise<RunResult> {
    const ctx = currentContext();
    const started = Date.now();
    logger().debug('ssh exec', { node: target.name, step: o.step });
    let result: RunResult;
    // Long commands heartbeat on output and on a timer (kubectl drain or kubeadm may be silent
    // for minutes), so the activity's heartbeat timeout only fires when the worker is gone.
    const beat =
      o.progress && ctx
        ? () => ctx.heartbeat({ node: target.name, step: o.step, ...o.heartbeatDetails })
        : undefined;
    const timer = beat ? setInterval(beat, this.heartbeatIntervalMs) : undefined;
    try {
      result = await this.ssh.run(target, command, {
        timeoutMs: o.timeoutMs ?? this.timeoutMs,
        signal: ctx?.cancellationSignal,
        maxOutputBytes: o.maxOutputBytes,
        onProgress: beat,
      });
    } catch (err) {
      throw translateSshError(err, target, o.step);
    } finally {
      if (timer) clearInterval(timer);
    }
    if (result.exitCode !== 0 && SUDO_RE.test(result.stderr)) {
      throw failure({
        type: ErrorTypes.SudoPasswordRequired,
        message: `sudo needs a password for ${target.user} (kupgrade runs sudo -n); allow NOPASSWD for the commands or connect as root`,
        node: target.name,
        step: o.step,
        result,
        nonRetryable: true,
      });
    }
    logger().debug('ssh exec done', {
      node: target.name,
      step: o.step,
      exitCode: result.exitCode,
      ms: Date.now() - started,
    });
    return result;
  }

  /**
   * Runs a transaction — a command that must never be killed half way (kubeadm upgrade
   * apply/node, a package install, a kubelet restart) — detached on the node as step `id`
   * (src/ssh/detached.ts): a timeout, an abort, a dropped connection or a dead worker kill only
   * the wait, and the next attempt with the same id attaches to the running step instead of
   * starting it again. Cancellation waits for the step to end (heartbeating), then rethrows.
   * The result is the step's own stdout, stderr and exit code.
   */
  async transaction(
    target: SshTarget,
    id: string,
    command: ShellCommand,
    o: ExecOptions,
  ): Promise<RunResult> {
    const line = detachedStep(id, command);
    const ctx = currentContext();
    try {
      const r = await this.exec(target, line, { ...o, progress: true });
      const own = r.exitCode === DETACH_ERROR_EXIT ? /^kupgrade: (.*)$/m.exec(r.stderr) : null;
      if (own) {
        // the wrapper's own trouble, not the step's: a missing flock needs a person, the rest a retry
        const missing = /is missing on this node/.test(own[1]);
        throw failure({
          type: missing ? ErrorTypes.CommandFailed : ErrorTypes.UnexpectedExit,
          message: `${o.step}: ${own[1]}`,
          node: target.name,
          step: o.step,
          result: r,
          nonRetryable: missing,
          hints: missing ? ['Install util-linux (flock, setsid) on the node.'] : [],
        });
      }
      return r;
    } catch (err) {
      if (!ctx?.cancellationSignal.aborted) throw err;
      // Cancelled: the step goes on without us; wait for its end so that whatever runs next
      // (the abort's uncordon) never overlaps it, then report the cancellation.
      logger().warn('cancelled while a transaction runs on the node: waiting for it to end', {
        node: target.name,
        step: o.step,
        id,
      });
      const beat = setInterval(
        () => ctx.heartbeat({ node: target.name, step: o.step, waiting: id }),
        this.heartbeatIntervalMs,
      );
      try {
        await this.ssh.run(target, line, { timeoutMs: o.timeoutMs ?? this.timeoutMs });
      } catch (e) {
        logger().warn('could not wait for the transaction after cancellation; it keeps running', {
          node: target.name,
          id,
          error: e instanceof Error ? e.message : String(e),
        });
      } finally {
        clearInterval(beat);
      }
      throw err;
    }
  }

  /**
   * Runs a command that must succeed. A failure is classified: transient output (network,
   * repository fetch, locks) → retryable; otherwise a failure of `type`, retryable unless the
   * caller says it is semantic.
   */
  async must(
    target: SshTarget,
    command: ShellCommand,
    o: ExecOptions & { type?: string; nonRetryable?: boolean; message?: string; kubeadmRecovery?: boolean },
  ): Promise<RunResult> {
    const r = await this.exec(target, command, o);
    if (r.exitCode === 0) return r;
    const out = outputOf(r);
    const transient = looksTransient(out);
    throw failure({
      type: transient ? ErrorTypes.Transient : (o.type ?? ErrorTypes.UnexpectedExit),
      message: `${o.message ?? o.step} failed (exit ${r.exitCode}): ${lastLine(out)}`,
      node: target.name,
      step: o.step,
      result: r,
      command,
      nonRetryable: transient ? false : (o.nonRetryable ?? false),
      kubeadmRecovery: o.kubeadmRecovery,
    });
  }
}

export function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^To see the stack trace/.test(l));
  return (lines[lines.length - 1] ?? '').slice(0, 300);
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

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return out;
}
