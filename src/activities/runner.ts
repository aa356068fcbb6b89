/**
 * The Runner: runs one command over SSH for an activity, with the activity's cancellation signal
 * and heartbeats, translating what went wrong into the failures of failure.ts. Nothing here knows
 * about kubeadm; the per-concern files (kubeadm.ts, packages.ts, ...) do.
 */
import { StringDecoder } from 'node:string_decoder';
import type { CheckInputRequest, CheckInputResult } from '../shared/activities';
import type { ShellCommand } from '../ssh/command';
import { DETACH_ERROR_EXIT, detachedStep } from '../ssh/detached';
import type { RunResult, SshExecutor, SshTarget } from '../ssh/types';
import { ErrorTypes, failure, lastLine, looksTransient, outputOf, translateSshError } from './failure';
import { abortableSleep, currentContext, logger } from './runtime';

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

const SUDO_RE = /sudo: (?:a )?password is required|sudo: a terminal is required|sudo: no tty present/i;

export interface ExecOptions {
  /** What this command is for, for logs and heartbeats ("drain", "install kubeadm"). */
  step: string;
  timeoutMs?: number;
  /**
   * Heartbeat while output streams (long commands); a predicate: only once it holds (the details
   * a retry needs are known), output and timer alike.
   */
  progress?: boolean | (() => boolean);
  maxOutputBytes?: number;
  /** Kept in every progress heartbeat, so that a retried attempt can read it (heartbeatDetails). */
  heartbeatDetails?: Record<string, unknown>;
  /** Called with the command's stdout as it arrives (decoded, in order). */
  onStdout?: (text: string) => void;
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
    const when = typeof o.progress === 'function' ? o.progress : undefined;
    const beat =
      o.progress && ctx
        ? () => {
            if (!when || when()) ctx.heartbeat({ node: target.name, step: o.step, ...o.heartbeatDetails });
          }
        : undefined;
    const timer = beat ? setInterval(beat, this.heartbeatIntervalMs) : undefined;
    const decoder = o.onStdout ? new StringDecoder('utf8') : undefined;
    const onProgress =
      beat || o.onStdout
        ? (chunk: Buffer, stream: 'stdout' | 'stderr') => {
            // what the command said first, then the heartbeat (whose details it may complete)
            if (decoder && stream === 'stdout') o.onStdout?.(decoder.write(chunk));
            beat?.();
          }
        : undefined;
    try {
      result = await this.ssh.run(target, command, {
        timeoutMs: o.timeoutMs ?? this.timeoutMs,
        signal: ctx?.cancellationSignal,
        maxOutputBytes: o.maxOutputBytes,
        onProgress,
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
