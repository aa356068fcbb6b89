/**
 * The worker's SSH executor: one ssh2 connection per (user, host, port), reused by every command
 * (exec channels multiplexed, at most `maxChannelsPerConnection` at a time), a global cap on open
 * connections with a FIFO queue, idle close, strict host-key checking, optional jump host, sudo -n,
 * per-command timeout, cancellation, and an output cap that keeps the tail.
 *
 * The private key is read here, from the configured path, once per pool; it is never logged and
 * never put in an error. Workflows never import this file (it does I/O).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, utils, type ClientChannel, type ConnectConfig, type ServerHostKeyAlgorithm } from 'ssh2';
import { cmd, wrapShell, type ShellCommand } from './command';
import {
  HostKeyMismatchError,
  SshAuthenticationError,
  SshKeyFileError,
  SshTimeoutError,
  SshTransportError,
  SudoPasswordRequiredError,
} from './errors';
import {
  checkKnownHost,
  fingerprintOf,
  hostToken,
  keyTypeOf,
  knownHostsLine,
  knownKeyTypes,
  normalizeFingerprint,
  parseKnownHosts,
} from './known-hosts';
import type { RunOptions, RunResult, SshExecutor, SshPoolConfig, SshTarget } from './types';

/**
 * Kills the remote command when our channel's stdin reaches EOF: on timeout or abort we send EOF,
 * and when the connection drops sshd closes the pipe. The watchdog kills its whole process group
 * (`kill 0`): sshd makes each session its own group, so that is exactly this command and its
 * children, the way a hung-up login session dies. OpenSSH refuses channel signals for root logins
 * (no privilege-separated child), so this is the only reliable way to stop a remote command; it also
 * keeps a dropped connection from leaving a copy of a command running while the activity retries.
 * The exit status is the command's.
 */
const KILL_ON_EOF =
  'exec 3<&0 </dev/null; sh -c "$1" & c=$!; (read _ <&3; kill -KILL 0) & w=$!; ' +
  'wait $c; s=$?; kill $w 2>/dev/null; exit $s';

export function killableCommand(command: ShellCommand): ShellCommand {
  return cmd('sh', '-c', KILL_ON_EOF, 'kupgrade', command);
}

/** Process-wide counters, read by the benchmark (handshakes should stay ≈ number of hosts). */
export const sshCounters = {
  handshakes: 0,
  commands: 0,
  connectionsOpen: 0,
  connectionFailures: 0,
  timeouts: 0,
};

export function resetSshCounters(): void {
  sshCounters.handshakes = 0;
  sshCounters.commands = 0;
  sshCounters.connectionFailures = 0;
  sshCounters.timeouts = 0;
}

const DEFAULTS = {
  connectTimeoutMs: 10_000,
  commandTimeoutMs: 10 * 60_000,
  maxConnections: 64,
  maxChannelsPerConnection: 8,
  idleTimeoutMs: 60_000,
  maxOutputBytes: 1024 * 1024,
  keepaliveIntervalMs: 15_000,
};

/** ssh-rsa keys are served with SHA-2 signatures by modern sshd; ask for those first. */
const ALGOS_FOR_KEY_TYPE: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
};

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

interface Endpoint {
  name: string;
  host: string;
  port: number;
  user: string;
}

class Conn {
  client = new Client();
  active = 0;
  closed = false;
  ready!: Promise<void>;
  /** Handshake done: only such a connection may be closed to free a slot for someone else. */
  isReady = false;
  readonly channelWaiters: (() => void)[] = [];
  /** Called when the connection goes away under running commands. */
  readonly onDrop = new Set<(err: Error) => void>();
  idleTimer?: NodeJS.Timeout;
  /** Released on close: the forwarded stream's hold on the jump connection. */
  releaseJump?: () => void;
  constructor(
    readonly key: string,
    readonly ep: Endpoint,
  ) {}
}

function transportError(ep: Endpoint, err: unknown, what: string): SshTransportError {
  const e = err as { code?: string; level?: string; message?: string };
  const code =
    e.code ?? (e.level === 'client-timeout' ? 'ETIMEDOUT' : e.level === 'protocol' ? 'EPROTO' : undefined);
  return new SshTransportError(
    `${what} ${ep.user}@${ep.host}:${ep.port} (${ep.name}): ${e.message ?? String(err)}`,
    {
      host: ep.host,
      code,
      cause: err,
    },
  );
}

/** Creates the pooled executor. Call close() on shutdown. */
export function createSshPool(config: SshPoolConfig): SshExecutor & {
  /** Open connections and queued waiters, for tests and the benchmark. */
  stats(): { connections: number; queued: number; channels: number };
} {
  const cfg = { ...DEFAULTS, ...stripUndefined(config) };
  const policy = config.hostKeyPolicy ?? 'strict';
  const pinned = new Map(
    Object.entries(config.hostKeyFingerprints ?? {}).map(([k, v]) => [k, normalizeFingerprint(v)] as const),
  );
  const conns = new Map<string, Conn>();
  const slotWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  let open = 0;
  let poolClosed = false;
  let keyCache: Buffer | undefined;

  function privateKey(): Buffer {
    if (keyCache) return keyCache;
    const p = config.privateKeyPath;
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw new SshKeyFileError(
        `private key ${p} does not exist or cannot be read. Fix: set ssh.privateKeyPath`,
        p,
      );
    }
    if (!st.isFile()) throw new SshKeyFileError(`private key ${p} is not a regular file`, p);
    if ((st.mode & 0o077) !== 0) {
      throw new SshKeyFileError(
        `private key ${p} is readable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); refusing to use it. Fix: chmod 600 ${p}`,
        p,
      );
    }
    const buf = fs.readFileSync(p);
    const parsed = utils.parseKey(buf, config.passphrase);
    if (parsed instanceof Error) {
      // ssh2's parse errors describe the format, not the content; still, keep only a generic reason.
      throw new SshKeyFileError(
        `private key ${p} cannot be parsed (${config.passphrase ? 'wrong passphrase or ' : 'encrypted without a passphrase, or '}unsupported format)`,
        p,
      );
    }
    keyCache = buf;
    return buf;
  }

  /** Host-key decision for one handshake; returns an error to refuse, undefined to accept. */
  function verifyHostKey(ep: Endpoint, keyBlob: Buffer): HostKeyMismatchError | undefined {
    const fp = fingerprintOf(keyBlob);
    const keyType = keyTypeOf(keyBlob);
    const where = `${ep.name} (${ep.host}:${ep.port})`;
    const pin = pinned.get(ep.name) ?? pinned.get(ep.host);
    if (pin !== undefined) {
      if (pin === fp) return undefined;
      return new HostKeyMismatchError(
        `host key of ${where} does not match the pinned fingerprint: the server presented ${keyType} ${fp}, ` +
          `ssh.hostKeyFingerprints has ${pin}. If the host was legitimately re-keyed, verify ${fp} out of band ` +
          `and update ssh.hostKeyFingerprints; otherwise this may be an attack: do not connect.`,
        {
          host: ep.host,
          port: ep.port,
          problem: 'pinned-mismatch',
          presentedFingerprint: fp,
          keyType,
          expectedFingerprints: [pin],
        },
      );
    }
    const file = config.knownHostsPath;
    const text = readOrEmpty(file);
    const verdict = checkKnownHost(parseKnownHosts(text), ep.host, ep.port, keyBlob);
    const token = hostToken(ep.host, ep.port);
    if (verdict.status === 'match') return undefined;
    if (verdict.status === 'revoked') {
      return new HostKeyMismatchError(
        `host key of ${where} (${keyType} ${fp}) is marked @revoked in ${file} (line ${verdict.lines.join(', ')}); refusing to connect. ` +
          `Fix: re-key the host and record the new key after verifying its fingerprint`,
        {
          host: ep.host,
          port: ep.port,
          problem: 'revoked',
          presentedFingerprint: fp,
          keyType,
          expectedFingerprints: [],
        },
      );
    }
    if (verdict.status === 'changed') {
      return new HostKeyMismatchError(
        `HOST KEY CHANGED for ${where}: the server presented ${keyType} ${fp}, but ${file} ` +
          `(line ${verdict.lines.join(', ')}) has ${verdict.expected.join(', ')}. This may be an attack; kupgrade never accepts a changed key. ` +
          `If the host was legitimately re-installed, verify ${fp} out of band, then run: ssh-keygen -R '${token}' -f ${file} and add the new key`,
        {
          host: ep.host,
          port: ep.port,
          problem: 'changed',
          presentedFingerprint: fp,
          keyType,
          expectedFingerprints: verdict.expected,
        },
      );
    }
    // Unknown host.
    if (policy === 'accept-new') {
      appendKnownHost(file, knownHostsLine(ep.host, ep.port, keyBlob));
      return undefined;
    }
    return new HostKeyMismatchError(
      `unknown host key for ${where}: the server presented ${keyType} ${fp}, and ${file} has no entry for ${token}. ` +
        `Fix: verify the fingerprint out of band, then add it (ssh-keyscan -p ${ep.port} ${ep.host} >> ${file}), ` +
        `pin it in ssh.hostKeyFingerprints, or set ssh.hostKeyPolicy: accept-new`,
      {
        host: ep.host,
        port: ep.port,
        problem: 'unknown',
        presentedFingerprint: fp,
        keyType,
        expectedFingerprints: [],
      },
    );
  }

  function appendKnownHost(file: string, line: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // A parallel handshake may have just recorded the same host: don't write it twice.
    const current = readOrEmpty(file);
    if (current.split('\n').includes(line)) return;
    const prefix = current !== '' && !current.endsWith('\n') ? '\n' : '';
    fs.appendFileSync(file, `${prefix}${line}\n`, { mode: 0o600 });
  }

  function hostKeyAlgorithms(ep: Endpoint): ServerHostKeyAlgorithm[] | undefined {
    if (pinned.has(ep.name) || pinned.has(ep.host)) return undefined;
    const text = readOrEmpty(config.knownHostsPath);
    const types = knownKeyTypes(parseKnownHosts(text), ep.host, ep.port);
    if (types.length === 0 || !types.every((t) => ALGOS_FOR_KEY_TYPE[t])) return undefined;
    return types.flatMap((t) => ALGOS_FOR_KEY_TYPE[t] ?? []);
  }

  /** Waits for a global connection slot; closes an idle connection first if that frees one. */
  async function acquireSlot(signal?: AbortSignal): Promise<void> {
    if (open < cfg.maxConnections) {
      open++;
      return;
    }
    for (const c of conns.values()) {
      if (c.active === 0 && c.isReady && !c.closed) {
        closeConn(c);
        break;
      }
    }
    if (open < cfg.maxConnections) {
      open++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const w = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        const i = slotWaiters.indexOf(w);
        if (i >= 0) slotWaiters.splice(i, 1);
        reject(abortReason(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      slotWaiters.push(w);
    });
  }

  function releaseSlot(): void {
    const next = slotWaiters.shift();
    // Hand the slot over directly so the count never dips below what is really open.
    if (next) next.resolve();
    else open--;
  }

  function closeConn(c: Conn): void {
    if (c.closed) return;
    c.closed = true;
    if (c.idleTimer) clearTimeout(c.idleTimer);
    if (conns.get(c.key) === c) conns.delete(c.key);
    c.client.end();
  }

  async function connection(ep: Endpoint, signal?: AbortSignal, asJump = false): Promise<Conn> {
    if (poolClosed) throw new SshTransportError('the SSH pool is closed', { host: ep.host });
    // The jump host may also be a target (same address): its direct connection is a separate entry.
    const key = `${asJump ? 'jump:' : ''}${ep.user}@${ep.host}:${ep.port}`;
    const existing = conns.get(key);
    if (existing && !existing.closed) {
      await existing.ready;
      if (!existing.closed) return existing;
    }
    const c = new Conn(key, ep);
    conns.set(key, c);
    c.ready = establish(c, signal, asJump);
    c.ready.catch(() => undefined);
    await c.ready;
    return c;
  }

  async function establish(c: Conn, signal: AbortSignal | undefined, direct: boolean): Promise<void> {
    const ep = c.ep;
    let slotHeld = false;
    // Idempotent: both a failed handshake and a later 'close' may try to give the slot back.
    const freeSlot = () => {
      if (!slotHeld) return;
      slotHeld = false;
      releaseSlot();
    };
    let wasReady = false;
    try {
      const keyBuf = privateKey();
      await acquireSlot(signal);
      slotHeld = true;
      let sock: NodeJS.ReadableStream | undefined;
      if (config.jumpHost && !direct) {
        const j = config.jumpHost;
        const jump = await connection(
          { name: j.name ?? j.host, host: j.host, port: j.port, user: j.user },
          signal,
          true,
        );
        sock = await new Promise((resolve, reject) => {
          jump.client.forwardOut('127.0.0.1', 0, ep.host, ep.port, (err, stream) => {
            if (err) reject(transportError(ep, err, 'jump host could not reach'));
            else resolve(stream);
          });
        });
        // The tunnel is a channel on the jump connection: keep that connection from idling out.
        jump.active++;
        if (jump.idleTimer) clearTimeout(jump.idleTimer);
        c.releaseJump = () => {
          jump.active--;
          scheduleIdle(jump);
        };
      }
      let hostKeyError: HostKeyMismatchError | undefined;
      const algos = hostKeyAlgorithms(ep);
      const connectCfg: ConnectConfig = {
        host: ep.host,
        port: ep.port,
        username: ep.user,
        privateKey: keyBuf,
        passphrase: config.passphrase,
        readyTimeout: cfg.connectTimeoutMs,
        keepaliveInterval: cfg.keepaliveIntervalMs,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          hostKeyError = verifyHostKey(ep, key);
          return hostKeyError === undefined;
        },
        ...(algos ? { algorithms: { serverHostKey: algos } } : {}),
        ...(sock ? { sock: sock as ConnectConfig['sock'] } : {}),
      };
      await new Promise<void>((resolve, reject) => {
        let settled = false;
        const settle = (err?: Error) => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          if (err) {
            c.client.end();
            reject(err);
          } else resolve();
        };
        const onAbort = () => settle(abortReason(signal));
        signal?.addEventListener('abort', onAbort, { once: true });
        c.client.once('ready', () => {
          if (settled) return;
          wasReady = true;
          c.isReady = true;
          sshCounters.handshakes++;
          sshCounters.connectionsOpen++;
          settle();
        });
        c.client.on('error', (err: Error & { level?: string }) => {
          if (!settled) {
            if (hostKeyError) settle(hostKeyError);
            else if (err.level === 'client-authentication')
              settle(new SshAuthenticationError(ep.host, ep.user));
            else settle(transportError(ep, err, 'cannot connect to'));
            return;
          }
          for (const drop of [...c.onDrop]) drop(transportError(ep, err, 'connection lost to'));
        });
        c.client.on('close', () => {
          c.closed = true;
          if (conns.get(c.key) === c) conns.delete(c.key);
          if (c.idleTimer) clearTimeout(c.idleTimer);
          c.releaseJump?.();
          c.releaseJump = undefined;
          for (const w of c.channelWaiters.splice(0)) w();
          settle(
            hostKeyError ??
              transportError(ep, new Error('connection closed during the handshake'), 'cannot connect to'),
          );
          for (const drop of [...c.onDrop]) {
            drop(
              new SshTransportError(
                `connection to ${ep.user}@${ep.host}:${ep.port} (${ep.name}) closed while a command was running; its exit code is unknown`,
                { host: ep.host, code: 'ECONNRESET', exitCodeUnknown: true },
              ),
            );
          }
          if (wasReady) sshCounters.connectionsOpen--;
          wasReady = false;
          freeSlot();
        });
        c.client.connect(connectCfg);
        // Every command is a few small packets each way (channel open, exec, exit-status, close):
        // with Nagle on, each exchange waits for the peer's delayed ACK (40 ms on Linux), which
        // made one command over an open connection cost 56 ms instead of 10 ms on loopback.
        // sshd only disables Nagle for sessions with a tty, so the client has to.
        c.client.setNoDelay(true);
      });
    } catch (e) {
      sshCounters.connectionFailures++;
      c.closed = true;
      if (conns.get(c.key) === c) conns.delete(c.key);
      c.releaseJump?.();
      c.releaseJump = undefined;
      freeSlot();
      throw e;
    }
  }

  function scheduleIdle(c: Conn): void {
    if (c.active > 0 || c.closed) return;
    if (c.idleTimer) clearTimeout(c.idleTimer);
    c.idleTimer = setTimeout(() => {
      if (c.active === 0) closeConn(c);
    }, cfg.idleTimeoutMs);
    c.idleTimer.unref();
  }

  async function acquireChannel(c: Conn, signal?: AbortSignal): Promise<void> {
    while (c.active >= cfg.maxChannelsPerConnection && !c.closed) {
      await new Promise<void>((resolve, reject) => {
        const w = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = c.channelWaiters.indexOf(w);
          if (i >= 0) c.channelWaiters.splice(i, 1);
          reject(abortReason(signal));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        c.channelWaiters.push(w);
      });
    }
    if (c.closed) {
      throw new SshTransportError(`connection to ${c.ep.host}:${c.ep.port} closed`, {
        host: c.ep.host,
        code: 'ECONNRESET',
      });
    }
    c.active++;
    if (c.idleTimer) clearTimeout(c.idleTimer);
  }

  function releaseChannel(c: Conn): void {
    c.active--;
    const next = c.channelWaiters.shift();
    if (next) next();
    // Someone waits for a connection slot: give up this idle one now rather than at the idle timeout.
    else if (c.active === 0 && slotWaiters.length > 0) closeConn(c);
    else scheduleIdle(c);
  }

  function exec(c: Conn, target: SshTarget, line: string, opts: RunOptions): Promise<RunResult> {
    const started = Date.now();
    const maxOut = opts.maxOutputBytes ?? cfg.maxOutputBytes;
    const timeoutMs = opts.timeoutMs ?? cfg.commandTimeoutMs;
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
        releaseChannel(c);
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
        sshCounters.timeouts++;
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
          opts.onProgress?.();
        });
        ch.stderr.on('data', (d: Buffer) => {
          stderr.push(d);
          opts.onProgress?.();
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

  async function run(target: SshTarget, command: ShellCommand, opts: RunOptions = {}): Promise<RunResult> {
    sshCounters.commands++;
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    // The wrapper goes inside sudo so that its kill runs with the command's privileges.
    const inner = config.killOnDisconnect === false ? command : killableCommand(command);
    const line = target.sudo ? wrapShell(inner, ['sudo', '-n', '--']) : inner;
    const ep: Endpoint = { name: target.name, host: target.host, port: target.port, user: target.user };
    let c: Conn | undefined;
    // A connection closed between its handshake and our channel (idle eviction, server restart)
    // is replaced once or twice before the failure is reported.
    for (let attempt = 0; ; attempt++) {
      const conn = await connection(ep, opts.signal);
      try {
        await acquireChannel(conn, opts.signal);
        c = conn;
        break;
      } catch (e) {
        if (!(e instanceof SshTransportError) || attempt >= 2) throw e;
      }
    }
    const res = await exec(c, target, line, opts);
    if (
      target.sudo &&
      res.exitCode !== 0 &&
      /^sudo: (a password is required|a terminal is required)/m.test(res.stderr)
    ) {
      throw new SudoPasswordRequiredError(target.host, target.user);
    }
    return res;
  }

  async function close(): Promise<void> {
    poolClosed = true;
    for (const w of slotWaiters.splice(0))
      w.reject(new SshTransportError('the SSH pool is closed', { host: '' }));
    const all = [...conns.values()];
    await Promise.all(
      all.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.closed) return resolve();
            c.client.once('close', () => resolve());
            closeConn(c);
            setTimeout(resolve, 1000).unref();
          }),
      ),
    );
  }

  function stats() {
    let channels = 0;
    for (const c of conns.values()) channels += c.active;
    return { connections: open, queued: slotWaiters.length, channels };
  }

  return { run, close, stats };
}

function abortReason(signal?: AbortSignal): Error {
  const r: unknown = signal?.reason;
  if (r instanceof Error) return r;
  const e = new Error(typeof r === 'string' ? r : 'the command was aborted');
  e.name = 'AbortError';
  return e;
}

/** A missing or unreadable known_hosts file reads as empty: every host is then unknown. */
function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
