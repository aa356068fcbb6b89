/**
 * What the worker accepts from a workflow input. Anyone who can start a workflow in
 * the namespace writes its input, so the worker re-checks it against its own config
 * (src/worker-config.ts) in two places:
 *
 * - the `checkUpgradeInput` activity, the first thing an upgrade or plan workflow does: the whole
 *   inventory through the CLI's schema, the cluster granted to this worker, the options (no
 *   auto-approve or dropped gates where approvals are required); it returns the cluster's approval
 *   policy, which the workflow enforces in its Update validators;
 * - every activity call (`admit`, from the wrapper in src/ssh/router.ts), so a hand-started child
 *   workflow or an old run is held to the same rules: the inventory (or the per-node part of it)
 *   through the schema, the ssh request matching the grant, the CNI command allowed.
 *
 * The SSH key, known_hosts, host-key policy, pinned fingerprints and user always come from the
 * grant; the inventory's values are a request that must match it.
 */
import { ApplicationFailure } from '@temporalio/common';
import { InventoryError } from './inventory/errors';
import { revalidateInventory } from './inventory/resolved';
import type { Inventory, InventoryNode } from './inventory/schema';
import type { CheckInputRequest, CheckInputResult } from './shared/activities';
import { ErrorType } from './shared/errors';
import { DEFAULT_GATES, isGateName, type GateName } from './shared/gates';
import type { SshSettings } from './ssh/router';
import { IDENTITY_MAX, type ClusterGrant, type TrustConfig } from './worker-config';

const DOCS = 'docs/operations.md, "The worker config"';

export function refused(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorType.InputRefused, message, nonRetryable: true });
}

function inventoryRefusal(err: unknown, cluster: string | undefined): ApplicationFailure {
  if (err instanceof InventoryError) {
    const lines = err.issues.map((i) => `${i.field}: ${i.message} (fix: ${i.fix})`);
    return refused(
      `the worker refuses the inventory${cluster ? ` of cluster "${cluster}"` : ''}: ${lines.join('; ')}`,
    );
  }
  return err instanceof ApplicationFailure ? err : refused(String(err));
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  return v;
}

/** The inventory an activity input carries: the whole one, or a per-node view of it. */
function inventoryOf(input: unknown): { inv: unknown; partial: boolean } | undefined {
  if (!input || typeof input !== 'object') return undefined;
  const o = input as {
    inventory?: unknown;
    cluster?: { inventory?: Record<string, unknown>; apiNode?: InventoryNode };
    node?: InventoryNode;
  };
  if (o.inventory !== undefined) return { inv: o.inventory, partial: false };
  if (o.cluster && typeof o.cluster === 'object') {
    const settings = o.cluster.inventory;
    const nodes: InventoryNode[] = [];
    for (const n of [o.cluster.apiNode, o.node]) if (n && !nodes.some((m) => same(m, n))) nodes.push(n);
    return {
      inv: settings && typeof settings === 'object' ? { ...settings, nodes } : settings,
      partial: true,
    };
  }
  return undefined;
}

export class WorkerTrust {
  constructor(private readonly config: TrustConfig | undefined) {}

  /** The grant of `cluster`, or a refusal that names the fix. */
  grantFor(cluster: string): ClusterGrant {
    if (!this.config) {
      throw refused(
        `this worker has no worker config, so it upgrades no cluster (not "${cluster}"): start it with ` +
          `\`kupgrade worker --config worker.yaml\` (or KUPGRADE_WORKER_CONFIG=worker.yaml) listing clusters.${cluster} ` +
          `with ssh.privateKeyPath and ssh.knownHostsPath (${DOCS})`,
      );
    }
    const grant = this.config.clusters.get(cluster);
    if (!grant) {
      const known = [...this.config.clusters.keys()];
      throw refused(
        `cluster "${cluster}" is not in this worker's config ${this.config.source} ` +
          `(it serves ${known.length ? known.join(', ') : 'no cluster'}): add clusters.${cluster} with its ` +
          `ssh.privateKeyPath and ssh.knownHostsPath, or start the upgrade on the task queue of the worker that serves it (${DOCS})`,
      );
    }
    return grant;
  }

  /**
   * The activity boundary: validates the inventory an activity input carries and returns the SSH
   * settings to use (the grant's credentials). Undefined when the input carries no inventory.
   */
  admit(input: unknown): SshSettings | undefined {
    const found = inventoryOf(input);
    if (!found) return undefined;
    const name = (found.inv as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
    const cluster = typeof name === 'string' ? name : undefined;
    let inv: Inventory;
    try {
      inv = revalidateInventory(found.inv, { partial: found.partial });
    } catch (err) {
      throw inventoryRefusal(err, cluster);
    }
    const grant = this.grantFor(inv.metadata.name);
    const problems = this.mismatches(inv, grant, found.partial);
    if (problems.length > 0)
      throw refused(
        `the worker refuses the inventory of cluster "${inv.metadata.name}": ${problems.join('; ')}`,
      );
    return {
      ...inv.ssh,
      user: grant.ssh.user,
      privateKeyPath: grant.ssh.privateKeyPath,
      knownHostsPath: grant.ssh.knownHostsPath,
      hostKeyPolicy: grant.ssh.hostKeyPolicy,
      hostKeyFingerprints: grant.ssh.hostKeyFingerprints,
    };
  }

  /** What the inventory asks for that the grant does not give. */
  private mismatches(inv: Inventory, grant: ClusterGrant, partial: boolean): string[] {
    const out: string[] = [];
    const where = `clusters.${grant.name}.ssh`;
    for (const f of ['user', 'privateKeyPath', 'knownHostsPath', 'hostKeyPolicy'] as const) {
      if (inv.ssh[f] !== grant.ssh[f]) {
        out.push(
          `ssh.${f} ${JSON.stringify(inv.ssh[f])} is not what this worker's config grants (${where}.${f} ${JSON.stringify(grant.ssh[f])}); ` +
            `fix: set ssh.${f}: ${grant.ssh[f]} in cluster.yaml, or change the worker config`,
        );
      }
    }
    for (const [k, fp] of Object.entries(inv.ssh.hostKeyFingerprints)) {
      if (grant.ssh.hostKeyFingerprints[k] !== fp) {
        out.push(
          `ssh.hostKeyFingerprints.${k} is not pinned to the same key in this worker's config (${where}.hostKeyFingerprints); ` +
            `fix: pin host keys in the worker config, the inventory may only repeat them`,
        );
      }
    }
    const cni = inv.rollout.cni?.command;
    if (cni !== undefined && !grant.cniCommands.includes(cni)) {
      out.push(
        `rollout.cni.command ${JSON.stringify(cni.length > 80 ? `${cni.slice(0, 77)}...` : cni)} is not an allowed CNI command; ` +
          `fix: add it to clusters.${grant.name}.allow.cniCommands in the worker config, or remove it from cluster.yaml`,
      );
    }
    if (grant.inventory) {
      const approved = grant.inventory;
      const { nodes: wantNodes, ...wantSettings } = approved;
      const { nodes, ...settings } = inv;
      const differs = !same(settings, wantSettings)
        ? true
        : partial
          ? nodes.some((n) => !wantNodes.some((w) => same(w, n)))
          : !same(nodes, wantNodes);
      if (differs) {
        out.push(
          `the inventory is not the approved one (${grant.inventoryFile}); fix: start the upgrade with -f ${grant.inventoryFile}, ` +
            `or update clusters.${grant.name}.allow.inventoryFile`,
        );
      }
    }
    return out;
  }

  /** The `checkUpgradeInput` activity: the first step of every upgrade and plan workflow. */
  checkUpgradeInput(req: CheckInputRequest): CheckInputResult {
    if (!req || typeof req !== 'object') throw refused('the workflow input is not a mapping');
    this.admit({ inventory: req.inventory });
    const inv = req.inventory;
    const grant = this.grantFor(inv.metadata.name);
    const opts = req.options ?? {};
    if (opts === null || typeof opts !== 'object' || Array.isArray(opts))
      throw refused('options: not a mapping; fix: start the upgrade with `kupgrade start`');
    if (
      opts.startedBy !== undefined &&
      (typeof opts.startedBy !== 'string' || opts.startedBy.length > IDENTITY_MAX)
    )
      throw refused(`options.startedBy: not a name of at most ${IDENTITY_MAX} characters`);
    const gates: unknown = opts.gates ?? inv.rollout.gates;
    if (!Array.isArray(gates) || gates.some((g) => typeof g !== 'string' || !isGateName(g)))
      throw refused(`options.gates: ${JSON.stringify(gates)} is not a list of gate names`);
    const policy = grant.approvals;
    if (policy?.distinctFromStarter && !opts.startedBy) {
      throw refused(
        `cluster "${grant.name}" needs the starter's identity (approvals.distinctFromStarter): fix: start with \`kupgrade start --by NAME\` (options.startedBy)`,
      );
    }
    if (policy?.approvers) {
      if (opts.autoApprove === true && !policy.allowAutoApprove && opts.dryRun !== true) {
        throw refused(
          `cluster "${grant.name}" requires approvals by ${policy.approvers.join(', ')}: auto-approve is not allowed; ` +
            `fix: start without --auto-approve, or set clusters.${grant.name}.approvals.allowAutoApprove: true in the worker config`,
        );
      }
      const required: GateName[] = policy.requiredGates ?? DEFAULT_GATES;
      const missing = required.filter((g) => !(gates as string[]).includes(g));
      if (missing.length && opts.dryRun !== true) {
        throw refused(
          `cluster "${grant.name}" requires the gate(s) ${missing.join(', ')} (approvals.requiredGates in the worker config); ` +
            `fix: keep them in --gates / rollout.gates`,
        );
      }
    }
    return policy ? { approvals: policy } : {};
  }
}
