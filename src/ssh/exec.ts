/**
 * One command on one pooled connection: an exec channel with a timeout, cancellation, an output cap
 * that keeps the tail, and the kill-on-EOF wrapper that really stops the remote command.
 */
import type { ClientChannel } from 'ssh2';
import { cmd, type ShellCommand } from './command';
import { transportError, type Conn } from './connection';
import { abortReason, SshTimeoutError, SshTransportError } from './errors';
import type { RunOptions, RunResult, SshTarget } from './types';

/**
 * Kills the remote command when our channel's stdin reaches EOF: on timeout or abort we send EOF,
 * and when the connection drops sshd closes the pipe. The watchdog kills its whole process group
 * (`kill 0`): sshd makes each session its own group, so that is exactly this command and its
 * children, the way a hung-up login session dies. OpenSSH refuses channel signals for root logins
 * (no privilege-separated child), so this is the only reliable way to stop a remote command; it also
 * keeps a dropped connection from leaving a copy of a command running while the activity retries.
 * The exit status is the command's. The command runs in the foreground (only the watchdog is
 * a background job): one `wait` less per command, ~2 ms of the ~8 ms the wrapper costs (bench/ssh-session.ts).
 */
const KILL_ON_EOF =
  'exec 3<&0 </dev/null; (read _ <&3; kill -KILL 0) & w=$!; sh -c "$1"; s=$?; kill $w 2>/dev/null; exit $s';

export function killableCommand(command: ShellCommand): ShellCommand {
  return cmd('sh', '-c', KILL_ON_EOF, 'kupgrade', command);
}

const SIGNALS: Record<string, number> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ABRT: 6,
  KILL: 9,
  SEGV: 11,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
};

/** Keeps the last `max` bytes of a stream. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size > this.max && this.chunks.length > 0) {
      const first = this.chunks[0] as Buffer;
      const excess = this.size - this.max;
      this.truncated = true;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }
  text(): string {
    const s = Buffer.concat(this.chunks).toString('utf8');
    // A cut inside a multi-byte character decodes as U+FFFD at the start: drop it.
    return this.truncated ? s.replace(/^\uFFFD+/, '') : s;
  }
}

export interface ExecSettings {
  /** Output cap per stream when the command does not set one. */
  maxOutputBytes: number;
  /** Timeout when the command does not set one. */
  commandTimeoutMs: number;
  /** Gives the channel back to the connection; called exactly once, when the channel is done. */
  releaseChannel: () => void;
  /** Called when the command times out (before it is killed). */
  onTimeout: () => void;
}

/** Runs `line` on a channel of `c`, which the caller has already reserved. */
export function exec(
  c: Conn,
  target: SshTarget,
  line: string,
  opts: RunOptions,
  settings: ExecSettings,
): Promise<RunResult> {
  const started = Date.now();
  const maxOut = opts.maxOutputBytes ?? settings.maxOutputBytes;
  const timeoutMs = opts.timeoutMs ?? settings.commandTimeoutMs;
  const stdout = new TailBuffer(maxOut);
  const stderr = new TailBuffer(maxOut);
  const signal = opts.signal;
  return new Promise<RunResult>((resolve, reject) => {
    let settled = false;
    let released = false;
    let stream: ClientChannel | undefined;
    let exitCode: number | undefined;
    let timer: NodeJS.Timeout | undefined = undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const release = () => {
      if (released) return;
      released = true;
      if (graceTimer) clearTimeout(graceTimer);
      settings.releaseChannel();
    };
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      c.onDrop.delete(onDrop);
    };
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(err);
    };
    /** Stop the remote command: signal it (killpg on OpenSSH), then close the channel. */
    const kill = () => {
      const ch = stream;
      if (!ch) return;
      // sshd killpg()s the session, but a signal that arrives before the session child has
      // called setsid() is lost; repeat it a few times, then close the channel regardless.
      // (Servers with ForceCommand refuse signals: there only the close remains.)
      // EOF on stdin makes the KILL_ON_EOF wrapper kill the command's process group.
      try {
        ch.end();
      } catch {
        // Already closed.
      }
      let tries = 0;
      const send = () => {
        if (released) return;
        try {
          ch.signal('KILL');
        } catch {
          // The channel is already closing.
        }
        if (++tries < 5) {
          const t = setTimeout(send, 200);
          t.unref();
        } else {
          ch.close();
        }
      };
      send();
      // If the server never confirms the close, free the slot anyway after a grace period.
      graceTimer = setTimeout(() => {
        ch.close();
        release();
      }, 3000);
      graceTimer.unref();
    };
    const onAbort = () => {
      kill();
      fail(abortReason(signal));
    };
    const onDrop = (err: Error) => {
      release();
      fail(err);
    };
    c.onDrop.add(onDrop);
    if (signal) {
      if (signal.aborted) {
        release();
        fail(abortReason(signal));
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
    }
    timer = setTimeout(() => {
      settings.onTimeout();
      kill();
      fail(
        new SshTimeoutError(
          `command on ${target.name} (${target.host}) did not finish within ${timeoutMs} ms; it was killed`,
          {
            host: target.host,
            timeoutMs,
            stdoutTail: stdout.text().slice(-4096),
            stderrTail: stderr.text().slice(-4096),
          },
        ),
      );
    }, timeoutMs);
    const onChannel = (err: Error | undefined, ch: ClientChannel) => {
      if (err) {
        release();
        fail(transportError(c.ep, err, 'cannot open a session channel on'));
        return;
      }
      stream = ch;
      if (settled) {
        // Aborted or timed out while the channel was opening: stop it, free the slot once closed.
        ch.on('close', release);
        ch.resume();
        ch.stderr.resume();
        kill();
        return;
      }
      ch.on('data', (d: Buffer) => {
        stdout.push(d);
        opts.onProgress?.(d, 'stdout');
      });
      ch.stderr.on('data', (d: Buffer) => {
        stderr.push(d);
        opts.onProgress?.(d, 'stderr');
      });
      ch.on('exit', (code: number | null, signalName?: string) => {
        if (typeof code === 'number') exitCode = code;
        else if (signalName) exitCode = 128 + (SIGNALS[signalName.replace(/^SIG/, '')] ?? 0);
      });
      ch.on('close', () => {
        release();
        if (settled) return;
        if (exitCode === undefined) {
          fail(
            new SshTransportError(
              `channel to ${target.name} (${target.host}) closed without an exit status; the exit code is unknown`,
              {
                host: target.host,
                code: 'ECONNRESET',
                exitCodeUnknown: true,
              },
            ),
          );
          return;
        }
        settled = true;
        cleanup();
        resolve({
          exitCode,
          stdout: stdout.text(),
          stderr: stderr.text(),
          truncated: stdout.truncated || stderr.truncated,
          durationMs: Date.now() - started,
        });
      });
    };
    try {
      c.client.exec(line, onChannel);
    } catch (e) {
      // ssh2 throws synchronously when the connection is already gone.
      release();
      fail(transportError(c.ep, e, 'cannot run a command on'));
    }
  });
}
