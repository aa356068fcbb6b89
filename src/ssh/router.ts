/**
 * SSH identities in the worker. One worker can serve several clusters, each inventory naming its
 * own key and known_hosts. Activities take one `SshExecutor`; this module gives them a router
 * that picks the pool of the inventory the *current activity* was called with. The identity
 * travels in an AsyncLocalStorage set by a wrapper around every activity, so no activity code
 * has to pass it along and nothing secret enters an activity's input (only file paths do).
 *
 * With an `admit` function (the worker passes WorkerTrust.admit, src/worker-trust.ts) the wrapper
 * is also the activity boundary: every input's inventory is re-validated against the worker's
 * config before the activity runs, and the SSH settings in scope are the ones `admit` returns
 * (the worker config's key, known_hosts and host-key policy), not the input's.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Inventory } from '../inventory/schema';
import type { ShellCommand } from './command';
import { createSshPool } from './pool';
import type { RunOptions, RunResult, SshExecutor, SshPoolConfig, SshTarget } from './types';

export type SshSettings = Inventory['ssh'];

const current = new AsyncLocalStorage<SshSettings>();

/** Finds the inventory's ssh settings in an activity input (`inventory`, or `cluster.inventory`). */
function sshSettingsOf(input: unknown): SshSettings | undefined {
  if (!input || typeof input !== 'object') return undefined;
  const o = input as { inventory?: { ssh?: SshSettings }; cluster?: { inventory?: { ssh?: SshSettings } } };
  return o.inventory?.ssh ?? o.cluster?.inventory?.ssh;
}

export function poolConfigOf(s: SshSettings, defaults: Partial<SshPoolConfig>): SshPoolConfig {
  return {
    ...defaults,
    privateKeyPath: s.privateKeyPath,
    knownHostsPath: s.knownHostsPath,
    hostKeyPolicy: s.hostKeyPolicy,
    hostKeyFingerprints: s.hostKeyFingerprints,
    jumpHost: s.jumpHost
      ? { host: s.jumpHost.address, port: s.jumpHost.port, user: s.jumpHost.user }
      : undefined,
    connectTimeoutMs: s.connectTimeoutSeconds * 1000,
    commandTimeoutMs: s.commandTimeoutSeconds * 1000,
  };
}

export class SshRouter implements SshExecutor {
  private readonly pools = new Map<string, SshExecutor>();

  constructor(
    private readonly defaults: Partial<SshPoolConfig> = {},
    /** Checks an activity input and returns the SSH settings to use (throws to refuse it). */
    private readonly admit: (input: unknown) => SshSettings | undefined = sshSettingsOf,
  ) {}

  /** Wraps activity functions so each runs with its input's SSH identity in scope. */
  wrap<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
    const out: Record<string, unknown> = {};
    for (const [name, fn] of Object.entries(activities)) {
      out[name] = (...args: never[]) => {
        let s: SshSettings | undefined;
        try {
          s = this.admit(args[0]);
        } catch (err) {
          return Promise.reject(err);
        }
        return s ? current.run(s, () => fn(...args)) : fn(...args);
      };
    }
    return out as T;
  }

  run(target: SshTarget, command: ShellCommand, opts?: RunOptions): Promise<RunResult> {
    const s = current.getStore();
    if (!s) {
      return Promise.reject(
        new Error(`no SSH identity in scope for ${target.name}: the activity input carries no inventory`),
      );
    }
    const key = JSON.stringify([
      s.privateKeyPath,
      s.knownHostsPath,
      s.hostKeyPolicy,
      s.hostKeyFingerprints,
      s.jumpHost,
    ]);
    let pool = this.pools.get(key);
    if (!pool) {
      pool = createSshPool(poolConfigOf(s, this.defaults));
      this.pools.set(key, pool);
    }
    return pool.run(target, command, opts);
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    this.pools.clear();
  }
}
