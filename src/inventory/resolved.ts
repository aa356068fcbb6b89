/**
 * Re-validating an inventory as workflows carry it (the resolved `Inventory`, not cluster.yaml).
 *
 * The worker cannot trust that a workflow's input went through the CLI: anyone who can start a
 * workflow in the namespace can write it. The check is a round trip through the same schema the
 * CLI uses: the resolved inventory is written back in cluster.yaml form (`toRaw`), validated by
 * `validateInventory`, and the result must be exactly the input. So every field rule (patterns,
 * ranges, node names as DNS-1123 subdomains, one control plane, no unknown fields) applies, and a
 * value the schema would never produce (an unknown field, a `urlTemplate` next to mode
 * pkgs.k8s.io, a relative key path) is refused as a difference.
 *
 * Pure (no Node built-ins): importable anywhere, though only the worker calls it.
 */
import { InventoryError, type InventoryIssue } from './errors';
import { validateInventory, type Inventory } from './schema';

/** The cluster.yaml form of a resolved inventory (what `validateInventory` reads). */
export function toRaw(inv: Inventory): Record<string, unknown> {
  const o = inv as Partial<Inventory> & Record<string, unknown>;
  const ssh = (o.ssh ?? {}) as Partial<Inventory['ssh']>;
  const repo = o.packages?.repository;
  const drain = (o.drain ?? {}) as Partial<Inventory['drain']>;
  return defined({
    ...o,
    ssh: defined({
      ...omit(ssh, ['connectTimeoutSeconds', 'commandTimeoutSeconds']),
      connectTimeout: ssh.connectTimeoutSeconds,
      commandTimeout: ssh.commandTimeoutSeconds,
    }),
    packages:
      o.packages && typeof o.packages === 'object'
        ? {
            ...o.packages,
            repository:
              repo && typeof repo === 'object' && repo.mode !== 'mirror' ? omit(repo, ['urlTemplate']) : repo,
          }
        : o.packages,
    drain: defined({
      ...omit(drain, ['timeoutSeconds', 'gracePeriodSeconds']),
      timeout: drain.timeoutSeconds,
      gracePeriod: drain.gracePeriodSeconds,
    }),
  });
}

function omit<T extends object>(o: T, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}

function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** JSON with `undefined` members dropped, keys sorted: the form two inventories are compared in. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** Paths where two canonical values differ (at most `limit`). */
function differences(a: unknown, b: unknown, at: string, out: string[], limit = 5): void {
  if (out.length >= limit) return;
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const p = Array.isArray(a) ? `${at}[${k}]` : at ? `${at}.${k}` : k;
      differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], p, out, limit);
    }
    return;
  }
  out.push(at || '(inventory)');
}

export interface RevalidateOptions {
  /**
   * The node list is a part of the cluster (a per-node activity sees its node and the API node):
   * fingerprints of the other nodes and "at least one control plane" are not judged.
   */
  partial?: boolean;
}

/**
 * Throws InventoryError unless `inv` is exactly what the schema makes of it. Returns it typed.
 * Key paths must already be absolute (the CLI resolved them); nothing is resolved against a folder.
 */
export function revalidateInventory(inv: unknown, opts: RevalidateOptions = {}): Inventory {
  if (!inv || typeof inv !== 'object' || Array.isArray(inv)) {
    throw new InventoryError([
      {
        field: 'inventory',
        message: 'the workflow input carries no inventory mapping',
        fix: 'start the upgrade with `kupgrade start -f cluster.yaml`',
      },
    ]);
  }
  const given = inv as Inventory;
  let parsed: Inventory;
  try {
    // baseDir `/`: a relative path would be resolved and so show up as a difference below
    parsed = validateInventory(toRaw(given), { baseDir: '/', homeDir: '/nonexistent-home' });
  } catch (err) {
    if (!(err instanceof InventoryError) || !opts.partial) throw err;
    const kept = err.issues.filter(
      (i) => !i.field.startsWith('ssh.hostKeyFingerprints.') && i.field !== 'nodes',
    );
    if (kept.length > 0) throw new InventoryError(kept);
    return given;
  }
  const diff: string[] = [];
  differences(canonical(given), canonical(parsed), '', diff);
  if (diff.length > 0) {
    const issues: InventoryIssue[] = diff.map((field) => ({
      field,
      message:
        'is not what the inventory schema makes of this inventory (an unknown field, or a value the CLI never sends)',
      fix: 'start the upgrade from a cluster.yaml with `kupgrade start -f cluster.yaml` instead of a hand-made workflow input',
    }));
    throw new InventoryError(issues);
  }
  return parsed;
}
