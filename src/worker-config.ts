/**
 * The worker's own configuration (`kupgrade worker --config worker.yaml`, or KUPGRADE_WORKER_CONFIG):
 * which clusters this worker upgrades, with which SSH credentials, what their inventories may ask
 * for, and who may approve their gates. A workflow's input can only *request* what this file
 * grants (src/worker-trust.ts): the key, known_hosts, host-key policy, pins and approvers never
 * come from the input. docs/operations.md ("The worker config") documents every field.
 *
 *   apiVersion: kupgrade/v1
 *   kind: WorkerConfig
 *   clusters:
 *     prod-bj:
 *       ssh: {user: ops, privateKeyPath: keys/prod-bj, knownHostsPath: keys/known_hosts, hostKeyPolicy: strict}
 *       allow:
 *         cniCommands: ["kubectl apply -f /etc/kupgrade/calico-3.28.yaml"]
 *         inventoryFile: clusters/prod-bj.yaml   # optional: the input must be exactly this inventory
 *       approvals: {approvers: [alice, bob], requireComment: true, distinctFromStarter: true}
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { loadInventory } from './inventory/load';
import { HOST_KEY_POLICIES, resolvePath, type Inventory } from './inventory/schema';
import { GATES } from './shared/gates';
import { DNS1123_LABEL, SHA256_FINGERPRINT, SSH_USER } from './inventory/patterns';
import type { ApprovalPolicy } from './shared/types';
import { normalizeFingerprint } from './ssh/known-hosts';

/** Longest approver name / comment accepted; the workflow caps payloads with the same numbers. */
export const IDENTITY_MAX = 128;

const ClusterSchema = z.strictObject({
  ssh: z.strictObject({
    user: z.string().regex(SSH_USER, 'not a valid user name').default('root'),
    privateKeyPath: z.string().min(1),
    knownHostsPath: z.string().min(1),
    hostKeyPolicy: z.enum(HOST_KEY_POLICIES).default('strict'),
    hostKeyFingerprints: z
      .record(z.string(), z.string().regex(SHA256_FINGERPRINT, 'not a SHA256 fingerprint'))
      .default({}),
  }),
  allow: z
    .strictObject({
      cniCommands: z.array(z.string().min(1)).default([]),
      inventoryFile: z.string().min(1).optional(),
    })
    .prefault({}),
  approvals: z
    .strictObject({
      approvers: z.array(z.string().min(1).max(IDENTITY_MAX)).min(1).optional(),
      requireComment: z.boolean().default(false),
      distinctFromStarter: z.boolean().default(false),
      allowAutoApprove: z.boolean().default(false),
      requiredGates: z.array(z.enum(GATES)).optional(),
    })
    .optional(),
});

const WorkerConfigSchema = z.strictObject({
  apiVersion: z.literal('kupgrade/v1'),
  kind: z.literal('WorkerConfig'),
  clusters: z.record(z.string().regex(DNS1123_LABEL, 'not a cluster name (a DNS-1123 label)'), ClusterSchema),
});

export interface ClusterGrant {
  name: string;
  ssh: {
    user: string;
    /** Absolute. */
    privateKeyPath: string;
    knownHostsPath: string;
    hostKeyPolicy: Inventory['ssh']['hostKeyPolicy'];
    hostKeyFingerprints: Record<string, string>;
  };
  cniCommands: string[];
  /** The approved inventory, loaded from allow.inventoryFile, when set. */
  inventory?: Inventory;
  inventoryFile?: string;
  approvals?: ApprovalPolicy;
}

export interface TrustConfig {
  /** The file it was read from (named in errors). */
  source: string;
  clusters: Map<string, ClusterGrant>;
}

export class WorkerConfigError extends Error {}

/** Validates a parsed worker config; relative paths are resolved against `baseDir`. */
export function parseWorkerConfig(raw: unknown, source: string, baseDir: string): TrustConfig {
  const res = WorkerConfigSchema.safeParse(raw);
  if (!res.success) {
    const lines = res.error.issues.map(
      (i) => `  - ${i.path.map(String).join('.') || '(document)'}: ${i.message}`,
    );
    throw new WorkerConfigError(
      `invalid worker config ${source}:\n${lines.join('\n')}\n  fix: see docs/operations.md, "The worker config"`,
    );
  }
  const resolve = (p: string) => resolvePath(p, { baseDir, homeDir: os.homedir() });
  const clusters = new Map<string, ClusterGrant>();
  for (const [name, c] of Object.entries(res.data.clusters)) {
    const grant: ClusterGrant = {
      name,
      ssh: {
        user: c.ssh.user,
        privateKeyPath: resolve(c.ssh.privateKeyPath),
        knownHostsPath: resolve(c.ssh.knownHostsPath),
        hostKeyPolicy: c.ssh.hostKeyPolicy,
        hostKeyFingerprints: Object.fromEntries(
          Object.entries(c.ssh.hostKeyFingerprints).map(([k, v]) => [k, normalizeFingerprint(v)]),
        ),
      },
      cniCommands: c.allow.cniCommands,
    };
    if (c.allow.inventoryFile) {
      grant.inventoryFile = resolve(c.allow.inventoryFile);
      try {
        grant.inventory = loadInventory(grant.inventoryFile);
      } catch (err) {
        throw new WorkerConfigError(
          `worker config ${source}: clusters.${name}.allow.inventoryFile: ${(err as Error).message}`,
        );
      }
      if (grant.inventory.metadata.name !== name) {
        throw new WorkerConfigError(
          `worker config ${source}: clusters.${name}.allow.inventoryFile ${grant.inventoryFile} is the inventory of cluster "${grant.inventory.metadata.name}", not "${name}"`,
        );
      }
    }
    if (c.approvals) {
      grant.approvals = {
        ...(c.approvals.approvers ? { approvers: c.approvals.approvers } : {}),
        requireComment: c.approvals.requireComment,
        distinctFromStarter: c.approvals.distinctFromStarter,
        allowAutoApprove: c.approvals.allowAutoApprove,
        ...(c.approvals.requiredGates ? { requiredGates: c.approvals.requiredGates } : {}),
      };
    }
    clusters.set(name, grant);
  }
  return { source, clusters };
}

/** Reads a worker config file (YAML). Throws WorkerConfigError naming the file and the fix. */
export function loadWorkerConfig(file: string): TrustConfig {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    throw new WorkerConfigError(
      `cannot read the worker config ${abs} (${(e as NodeJS.ErrnoException).code ?? 'error'}); fix: pass the file with --config or KUPGRADE_WORKER_CONFIG`,
    );
  }
  const doc = parseDocument(text, { uniqueKeys: true, strict: true });
  if (doc.errors.length > 0) {
    throw new WorkerConfigError(
      `worker config ${abs} is not valid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? ''}`,
    );
  }
  return parseWorkerConfig(doc.toJS({ maxAliasCount: 100 }), abs, path.dirname(abs));
}

/** The config file a worker reads: the explicit one, else KUPGRADE_WORKER_CONFIG, else none. */
export function workerConfigPath(explicit?: string): string | undefined {
  return explicit ?? (process.env.KUPGRADE_WORKER_CONFIG || undefined);
}
