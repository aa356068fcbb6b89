/**
 * The worker's SSH executor: one ssh2 connection per (user, host, port), reused by every command
 * (exec channels multiplexed, at most `maxChannelsPerConnection` at a time), a global cap on open
 * connections with a FIFO queue, idle close (slots.ts), strict host-key checking
 * (host-key-policy.ts), optional jump host, sudo -n, per-command timeout, cancellation, and an
 * output cap that keeps the tail (exec.ts).
 *
 * The private key is read once per pool (key-file.ts). Workflows never import this file (it does I/O).
 */
import type { ConnectConfig } from 'ssh2';
import { wrapShell, type ShellCommand } from './command';
import { Conn, handshake, transportError, type Endpoint } from './connection';
import { abortReason, HostKeyMismatchError, SshTransportError, SudoPasswordRequiredError } from './errors';
import { exec, killableCommand } from './exec';
import { hostKeyCheck } from './host-key-policy';
import { readPrivateKey } from './key-file';
import { ConnectionSlots } from './slots';
import type { RunOptions, RunResult, SshExecutor, SshPoolConfig, SshTarget } from './types';

const DEFAULTS = {
  connectTimeoutMs: 10_000,
  commandTimeoutMs: 10 * 60_000,
  maxConnections: 64,
  maxChannelsPerConnection: 8,
  idleTimeoutMs: 60_000,
  maxOutputBytes: 1024 * 1024,
  keepaliveIntervalMs: 15_000,
};

/** Creates the pooled executor. Call close() on shutdown. */
export function createSshPool(config: SshPoolConfig): SshExecutor & {
  /** Open connections, queued waiters and busy channels, for tests. */
  stats(): { connections: number; queued: number; channels: number };
} {
  const cfg = { ...DEFAULTS, ...stripUndefined(config) };
  const observe = config.observe ?? (() => undefined);
  const hostKeys = hostKeyCheck(config);
  const slots = new ConnectionSlots(cfg);
  let poolClosed = false;
  let keyCache: Buffer | undefined;

  async function connection(ep: Endpoint, signal?: AbortSignal, asJump = false): Promise<Conn> {
    if (poolClosed) throw new SshTransportError('the SSH pool is closed', { host: ep.host });
    // The jump host may also be a target (same address): its direct connection is a separate entry.
    const key = `${asJump ? 'jump:' : ''}${ep.user}@${ep.host}:${ep.port}`;
    const existing = slots.get(key);
    if (existing) {
      await existing.ready;
      if (!existing.closed) return existing;
    }
    const c = new Conn(key, ep);
    slots.add(c);
    c.ready = establish(c, signal, asJump);
    c.ready.catch(() => undefined);
    await c.ready;
    return c;
  }

  /** Opens `c`: the key, a global slot, the tunnel through the jump host (unless `direct`), the handshake. */
  async function establish(c: Conn, signal: AbortSignal | undefined, direct: boolean): Promise<void> {
    const ep = c.ep;
    let slotHeld = false;
    // Idempotent: both a failed handshake and a later 'close' may try to give the slot back.
    const freeSlot = () => {
      if (!slotHeld) return;
      slotHeld = false;
      slots.releaseSlot();
    };
    try {
      keyCache ??= readPrivateKey(config.privateKeyPath, config.passphrase);
      await slots.acquireSlot(signal);
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
        slots.hold(jump);
        c.releaseJump = () => slots.unhold(jump);
      }
      let hostKeyError: HostKeyMismatchError | undefined;
      const algos = hostKeys.algorithms(ep);
      const connectCfg: ConnectConfig = {
        host: ep.host,
        port: ep.port,
        username: ep.user,
        privateKey: keyCache,
        passphrase: config.passphrase,
        readyTimeout: cfg.connectTimeoutMs,
        keepaliveInterval: cfg.keepaliveIntervalMs,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          hostKeyError = hostKeys.verify(ep, key);
          return hostKeyError === undefined;
        },
        ...(algos ? { algorithms: { serverHostKey: algos } } : {}),
        ...(sock ? { sock: sock as ConnectConfig['sock'] } : {}),
      };
      await handshake(c, connectCfg, signal, {
        ready: () => observe('handshake'),
        closed: (wasReady) => {
          slots.forget(c);
          if (wasReady) observe('connection-closed');
          freeSlot();
        },
        hostKeyError: () => hostKeyError,
      });
    } catch (e) {
      observe('connection-failed');
      c.closed = true;
      slots.forget(c);
      c.releaseJump?.();
      c.releaseJump = undefined;
      freeSlot();
      throw e;
    }
  }

  async function run(target: SshTarget, command: ShellCommand, opts: RunOptions = {}): Promise<RunResult> {
    observe('command');
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
        await slots.acquireChannel(conn, opts.signal);
        c = conn;
        break;
      } catch (e) {
        if (!(e instanceof SshTransportError) || attempt >= 2) throw e;
      }
    }
    const held = c;
    const res = await exec(held, target, line, opts, {
      maxOutputBytes: cfg.maxOutputBytes,
      commandTimeoutMs: cfg.commandTimeoutMs,
      releaseChannel: () => slots.releaseChannel(held),
      onTimeout: () => observe('timeout'),
    });
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
    await slots.closeAll();
  }

  return { run, close, stats: () => slots.stats() };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
