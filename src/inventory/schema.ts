/**
 * cluster.yaml schema (zod) and the typed, plain-JSON `Inventory` it produces.
 *
 * Pure: no Node built-ins, so workflow code may import `schema.ts` (types, `resolveMaxUnavailable`,
 * `parseTargetVersion`). File reading and key checks live in load.ts. docs/inventory.md documents
 * every field; keep the two in step.
 */
import { z } from 'zod';
import { InventoryError, type InventoryIssue } from './errors';
import {
  closest,
  isAddress,
  isImageRepository,
  isUrlTemplate,
  matchTargetVersion,
  parseDuration,
  DNS1123_LABEL,
  DNS1123_SUBDOMAIN,
  SHA256_FINGERPRINT,
  SSH_USER,
  type TargetVersion,
} from './patterns';
import { DEFAULT_GATES, GATES, type GateName } from '../shared/gates';
import { windowSize } from '../shared/versions';

export { GATES };
export type Gate = GateName;
export const ROLES = ['control-plane', 'worker'] as const;
export type NodeRole = (typeof ROLES)[number];
export const PACKAGE_MANAGERS = ['yum', 'dnf', 'apt'] as const;
export type PackageManager = (typeof PACKAGE_MANAGERS)[number];
export const REPOSITORY_MODES = ['pkgs.k8s.io', 'mirror', 'unmanaged'] as const;
export type RepositoryMode = (typeof REPOSITORY_MODES)[number];
export const HOST_KEY_POLICIES = ['strict', 'accept-new'] as const;
export type HostKeyPolicy = (typeof HOST_KEY_POLICIES)[number];

/** A count of workers (≥ 1) or a percentage of the workers ("25%"). */
export type MaxUnavailable = number | `${number}%`;

export interface InventoryNode {
  name: string;
  address: string;
  /** SSH port: the node's own `port`, else `ssh.port`. */
  port: number;
  role: NodeRole;
}

export interface Inventory {
  apiVersion: 'kupgrade/v1';
  kind: 'Cluster';
  metadata: { name: string };
  ssh: {
    user: string;
    port: number;
    /** Absolute path (resolved against the inventory's folder, `~` expanded). Never the key itself. */
    privateKeyPath: string;
    knownHostsPath: string;
    hostKeyPolicy: HostKeyPolicy;
    /** Pinned host keys, node name (or jump host address) → `SHA256:<base64>`. */
    hostKeyFingerprints: Record<string, string>;
    sudo: boolean;
    jumpHost?: { address: string; port: number; user: string };
    connectTimeoutSeconds: number;
    commandTimeoutSeconds: number;
  };
  packages: {
    manager: PackageManager;
    repository: {
      mode: RepositoryMode;
      /** With `{minor}` (e.g. `1.30`) to substitute; set for pkgs.k8s.io and mirror, absent for unmanaged. */
      urlTemplate?: string;
      /** Pinned signing key fingerprint (40 upper-case hex digits): a fetched key that differs is refused. */
      keyFingerprint?: string;
      /** The repository's ASCII-armored public key (air-gapped mirrors), used instead of fetching it. */
      key?: string;
    };
    /** Accept http:// repository URLs (no TLS); only present when true. */
    allowInsecureRepo?: boolean;
  };
  kubeadm: {
    imageRepository?: string;
    /** Operator's kubeadm config file on the first control plane, passed as `--config` (plan, diff, apply). */
    configFile?: string;
    /** Patches folder on the control planes, passed as `--patches` when it exists (default /etc/kubernetes/patches). */
    patchesDir?: string;
    certificateRenewal: boolean;
    etcdUpgrade: boolean;
    etcdBackup: boolean;
    prePullImages: boolean;
  };
  drain: {
    timeoutSeconds: number;
    ignoreDaemonSets: boolean;
    deleteEmptyDirData: boolean;
    force: boolean;
    gracePeriodSeconds?: number;
  };
  rollout: {
    maxUnavailable: MaxUnavailable;
    gates: Gate[];
    cni?: { command?: string };
    /**
     * Workers' steps that leave the node schedulable (repository, kubeadm package, `kubeadm upgrade
     * node`) run ahead of the window, for the next window's worth of workers. Default true.
     */
    prepareAhead?: boolean;
  };
  nodes: InventoryNode[];
}

const duration = (min: number) =>
  z.union([z.string(), z.number()]).superRefine((v, ctx) => {
    const s = typeof v === 'number' ? v : parseDuration(v);
    if (s === null || !Number.isFinite(s))
      ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(v)}` });
    else if (s < min) ctx.addIssue({ code: 'custom', message: `must be at least ${min}s` });
  });

const port = z.number().int().min(1).max(65535);
const address = z
  .string()
  .refine(isAddress, { message: 'not a valid IPv4 address, IPv6 address or DNS name' });

const SshSchema = z.strictObject({
  user: z.string().regex(SSH_USER, 'not a valid user name').default('root'),
  port: port.default(22),
  privateKeyPath: z.string().min(1).default('~/.ssh/id_ed25519'),
  knownHostsPath: z.string().min(1).default('~/.ssh/known_hosts'),
  hostKeyPolicy: z.enum(HOST_KEY_POLICIES).default('strict'),
  hostKeyFingerprints: z
    .record(z.string(), z.string().regex(SHA256_FINGERPRINT, 'not a SHA256 fingerprint'))
    .default({}),
  sudo: z.boolean().default(false),
  jumpHost: z
    .strictObject({
      address,
      port: port.default(22),
      user: z.string().regex(SSH_USER, 'not a valid user name').optional(),
    })
    .optional(),
  connectTimeout: duration(1).default('10s'),
  commandTimeout: duration(1).default('10m'),
});

const RepositorySchema = z.strictObject({
  mode: z.enum(REPOSITORY_MODES).default('pkgs.k8s.io'),
  urlTemplate: z
    .string()
    .refine(isUrlTemplate, {
      message: 'not an http(s) URL containing {minor}, or it holds characters outside the URL set',
    })
    .optional(),
  keyFingerprint: z
    .string()
    .refine((s) => /^[0-9A-Fa-f]{40}$/.test(s.replace(/\s+/g, '')), {
      message: 'not an OpenPGP v4 fingerprint (40 hex digits)',
    })
    .optional(),
  key: z
    .string()
    .max(64 * 1024)
    .refine(
      (s) =>
        /^-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]+-----END PGP PUBLIC KEY BLOCK-----\s*$/.test(s.trim()),
      {
        message: 'not an ASCII-armored OpenPGP public key',
      },
    )
    .optional(),
});

const PackagesSchema = z.strictObject({
  manager: z.enum(PACKAGE_MANAGERS),
  repository: RepositorySchema.prefault({}),
  allowInsecureRepo: z.boolean().default(false),
});

/** An absolute path on a node: no `..`, no spaces or shell characters. */
const NODE_PATH = /^(?!.*\/\.\.(\/|$))\/[A-Za-z0-9._+/-]*$/;

const KubeadmSchema = z.strictObject({
  imageRepository: z
    .string()
    .refine(isImageRepository, { message: 'not a valid image repository' })
    .optional(),
  configFile: z.string().regex(NODE_PATH, { message: 'not an absolute path' }).optional(),
  patchesDir: z.string().regex(NODE_PATH, { message: 'not an absolute path' }).optional(),
  certificateRenewal: z.boolean().default(true),
  etcdUpgrade: z.boolean().default(true),
  etcdBackup: z.boolean().default(true),
  prePullImages: z.boolean().default(true),
});

const DrainSchema = z.strictObject({
  timeout: duration(1).default('5m'),
  ignoreDaemonSets: z.boolean().default(true),
  deleteEmptyDirData: z.boolean().default(true),
  force: z.boolean().default(false),
  gracePeriod: duration(0).optional(),
});

const maxUnavailable = z.unknown().superRefine((v, ctx) => {
  const ok =
    (typeof v === 'number' && Number.isInteger(v) && v >= 1) ||
    (typeof v === 'string' && /^(100|[1-9][0-9]?)%$/.test(v)) ||
    (typeof v === 'string' && /^[1-9][0-9]*$/.test(v));
  if (!ok)
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(v)} is not a count ≥ 1 or a percentage from 1% to 100%`,
    });
});

const RolloutSchema = z.strictObject({
  maxUnavailable: maxUnavailable.default(1),
  gates: z.array(z.enum(GATES)).default([...DEFAULT_GATES]),
  prepareAhead: z.boolean().default(true),
  cni: z
    .strictObject({
      command: z
        .string()
        .min(1)
        .refine((s) => !s.includes('\0'), { message: 'contains a NUL byte' })
        .optional(),
    })
    .optional(),
});

const NodeSchema = z.strictObject({
  name: z.string().regex(DNS1123_SUBDOMAIN, 'not a DNS-1123 subdomain'),
  address,
  port: port.optional(),
  role: z.enum(ROLES),
});

export const InventorySchema = z.strictObject({
  apiVersion: z.literal('kupgrade/v1'),
  kind: z.literal('Cluster'),
  metadata: z.strictObject({ name: z.string().regex(DNS1123_LABEL, 'not a DNS-1123 label') }),
  ssh: SshSchema.prefault({}),
  packages: PackagesSchema,
  kubeadm: KubeadmSchema.prefault({}),
  drain: DrainSchema.prefault({}),
  rollout: RolloutSchema.prefault({}),
  nodes: z.array(NodeSchema).min(1),
});

/** Known keys per object path (array indices as `[]`), for "did you mean" hints. */
const KNOWN_KEYS: Record<string, readonly string[]> = {
  '': Object.keys(InventorySchema.shape),
  metadata: ['name'],
  ssh: Object.keys(SshSchema.shape),
  'ssh.jumpHost': ['address', 'port', 'user'],
  packages: Object.keys(PackagesSchema.shape),
  'packages.repository': Object.keys(RepositorySchema.shape),
  kubeadm: Object.keys(KubeadmSchema.shape),
  drain: Object.keys(DrainSchema.shape),
  rollout: Object.keys(RolloutSchema.shape),
  'rollout.cni': ['command'],
  'nodes[]': Object.keys(NodeSchema.shape),
};

const BOOL_FIX = 'use true or false (no quotes)';
const PORT_FIX = 'use a TCP port from 1 to 65535, e.g. 22';
const DURATION_FIX = 'use a Go-style duration such as 30s, 5m or 1h30m';
const ADDRESS_FIX =
  'use an IPv4 address (192.0.2.11), an IPv6 address (2001:db8::11) or a DNS name (cp-1.example.com); no spaces, quotes or shell characters';
const USER_FIX = 'use a login name such as root or ops (lower-case letters, digits, "_" and "-")';

/** The fix for a field, by normalized path. */
const FIXES: Record<string, string> = {
  apiVersion: 'set apiVersion: kupgrade/v1',
  kind: 'set kind: Cluster',
  metadata: 'add metadata: {name: <cluster name>}',
  'metadata.name': 'use a lower-case DNS label (a-z, 0-9, inner "-", at most 63 characters), e.g. prod-bj',
  ssh: 'make ssh a mapping (see docs/inventory.md)',
  'ssh.user': USER_FIX,
  'ssh.port': PORT_FIX,
  'ssh.privateKeyPath':
    'give the path of the SSH private key, e.g. ~/.ssh/id_ed25519 (relative to cluster.yaml)',
  'ssh.knownHostsPath': 'give the path of an OpenSSH known_hosts file, e.g. ~/.ssh/known_hosts',
  'ssh.hostKeyPolicy': 'use strict (the default) or accept-new',
  'ssh.hostKeyFingerprints':
    'map node names to fingerprints as `ssh-keygen -lf <host key>.pub` prints them, e.g. cp-1: SHA256:…',
  'ssh.sudo': BOOL_FIX,
  'ssh.jumpHost': 'give jumpHost: {address, port, user}',
  'ssh.jumpHost.address': ADDRESS_FIX,
  'ssh.jumpHost.port': PORT_FIX,
  'ssh.jumpHost.user': USER_FIX,
  'ssh.connectTimeout': DURATION_FIX,
  'ssh.commandTimeout': DURATION_FIX,
  packages: 'add packages: {manager: yum|dnf|apt}',
  'packages.manager': 'use yum, dnf or apt',
  'packages.repository': 'give repository: {mode: pkgs.k8s.io} (or mirror with urlTemplate, or unmanaged)',
  'packages.repository.mode': 'use pkgs.k8s.io, mirror or unmanaged',
  'packages.repository.urlTemplate':
    'use an http(s) URL with {minor} where the minor goes, e.g. https://mirrors.aliyun.com/kubernetes-new/core/stable/v{minor}/rpm/',
  'packages.repository.keyFingerprint':
    'give the signing key fingerprint as `gpg --show-keys <Release.key>` prints it (40 hex digits, spaces allowed)',
  'packages.repository.key':
    'paste the repository key as `curl -fsSL <repo>/Release.key` prints it (-----BEGIN PGP PUBLIC KEY BLOCK----- … END …)',
  'packages.allowInsecureRepo': BOOL_FIX,
  kubeadm: 'make kubeadm a mapping (see docs/inventory.md)',
  'kubeadm.imageRepository':
    'use a registry path such as registry.cn-hangzhou.aliyuncs.com/google_containers',
  'kubeadm.configFile':
    'give the absolute path of a kubeadm config file on the first control plane, e.g. /root/kubeadm-upgrade.yaml',
  'kubeadm.patchesDir': 'give the absolute path of the kubeadm patches folder, e.g. /etc/kubernetes/patches',
  'kubeadm.certificateRenewal': BOOL_FIX,
  'kubeadm.etcdUpgrade': BOOL_FIX,
  'kubeadm.etcdBackup': BOOL_FIX,
  'kubeadm.prePullImages': BOOL_FIX,
  drain: 'make drain a mapping (see docs/inventory.md)',
  'drain.timeout': DURATION_FIX,
  'drain.ignoreDaemonSets': BOOL_FIX,
  'drain.deleteEmptyDirData': BOOL_FIX,
  'drain.force': BOOL_FIX,
  'drain.gracePeriod': 'use a duration such as 30s (or a number of seconds ≥ 0)',
  rollout: 'make rollout a mapping (see docs/inventory.md)',
  'rollout.maxUnavailable':
    'use a whole number of workers ≥ 1 (e.g. 2) or a percentage from 1% to 100% (e.g. "25%")',
  'rollout.prepareAhead': 'use true (prepare the next workers while the window drains) or false',
  'rollout.gates': `use a list of gate names from: ${GATES.join(', ')}`,
  'rollout.gates[]': `use only these gate names: ${GATES.join(', ')}`,
  'rollout.cni': 'give cni: {command: "<command run on the first control plane>"}',
  'rollout.cni.command': 'give the CNI upgrade command as one string',
  nodes: 'list the nodes: [{name, address, role: control-plane|worker}], at least one control plane',
  'nodes[]': 'each node is {name, address, role, port?}',
  'nodes[].name':
    'use the Kubernetes node name: lower-case letters, digits, "-" and ".", starting and ending alphanumeric',
  'nodes[].address': ADDRESS_FIX,
  'nodes[].port': PORT_FIX,
  'nodes[].role': 'use control-plane or worker',
};

function normalize(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? '[]' : String(p)))
    .join('.')
    .replace(/\.\[\]/g, '[]');
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function fixFor(path: readonly PropertyKey[]): string {
  // Record entries (ssh.hostKeyFingerprints.<node>) share their parent's fix.
  return (
    FIXES[normalize(path)] ?? FIXES[normalize(path.slice(0, -1))] ?? 'see docs/inventory.md for this field'
  );
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${show(v)}`;
}

/** zod issues → operator issues with the field path and a fix. */
function toIssues(zodIssues: readonly z.core.$ZodIssue[], raw: unknown): InventoryIssue[] {
  const out: InventoryIssue[] = [];
  for (const iss of zodIssues) {
    const path = iss.path;
    const got = valueAt(raw, path);
    if (iss.code === 'unrecognized_keys') {
      const known = KNOWN_KEYS[normalize(path)] ?? [];
      for (const key of iss.keys) {
        const hint = closest(key, known);
        out.push({
          field: formatPath([...path, key]),
          message: `unknown field "${key}"${hint ? `; did you mean "${hint}"?` : ''}`,
          fix: hint
            ? `rename "${key}" to "${hint}"`
            : `remove "${key}"; known fields here: ${known.join(', ')}`,
        });
      }
      continue;
    }
    let message: string;
    if (iss.code === 'invalid_type') {
      message =
        got === undefined ? 'required field is missing' : `expected ${iss.expected}, got ${typeName(got)}`;
    } else if (iss.code === 'invalid_value') {
      message = `${show(got)} is not one of: ${iss.values.map((v) => String(v)).join(', ')}`;
    } else if (iss.code === 'too_small' && Array.isArray(got)) {
      message = `needs at least ${String(iss.minimum)} item(s)`;
    } else if (iss.code === 'too_small' || iss.code === 'too_big') {
      message = `${show(got)} is out of range`;
    } else if (iss.code === 'invalid_union') {
      message = `expected a string or a number, got ${typeName(got)}`;
    } else {
      message = `${iss.message}${got !== undefined && !iss.message.includes(show(got)) ? ` (got ${show(got)})` : ''}`;
    }
    out.push({ field: formatPath(path), message, fix: fixFor(path) });
  }
  return out;
}

/**
 * Checks that need the whole document (duplicates, at least one control plane, mirror URL). They read
 * the raw value defensively so they still report when other fields are malformed.
 */
function crossChecks(raw: unknown): InventoryIssue[] {
  const out: InventoryIssue[] = [];
  const obj = (raw ?? {}) as Record<string, unknown>;
  const sshPort = valueAt(obj, ['ssh', 'port']);
  const defPort = typeof sshPort === 'number' ? sshPort : 22;
  const nodes = Array.isArray(obj.nodes) ? (obj.nodes as unknown[]) : [];
  const names = new Map<string, number>();
  const addrs = new Map<string, number>();
  let controlPlanes = 0;
  nodes.forEach((n, i) => {
    if (n === null || typeof n !== 'object') return;
    const node = n as Record<string, unknown>;
    if (typeof node.name === 'string') {
      const first = names.get(node.name);
      if (first !== undefined) {
        out.push({
          field: `nodes[${i}].name`,
          message: `duplicate node name "${node.name}" (also nodes[${first}])`,
          fix: 'give every node a unique name (its Kubernetes node name)',
        });
      } else names.set(node.name, i);
    }
    if (typeof node.address === 'string') {
      const p = typeof node.port === 'number' ? node.port : defPort;
      const key = `${node.address.toLowerCase()}:${p}`;
      const first = addrs.get(key);
      if (first !== undefined) {
        out.push({
          field: `nodes[${i}].address`,
          message: `duplicate address ${node.address} port ${p} (also nodes[${first}])`,
          fix: 'give every node its own address (or its own port when nodes share an address)',
        });
      } else addrs.set(key, i);
    }
    if (node.role === 'control-plane') controlPlanes++;
  });
  if (nodes.length > 0 && controlPlanes === 0) {
    out.push({
      field: 'nodes',
      message: 'no node has role control-plane',
      fix: 'mark the kubeadm control-plane nodes with role: control-plane (the first one runs `kubeadm upgrade apply`)',
    });
  }
  const repo = valueAt(obj, ['packages', 'repository']) as Record<string, unknown> | undefined;
  if (repo && typeof repo === 'object') {
    if (repo.mode === 'mirror' && repo.urlTemplate === undefined) {
      out.push({
        field: 'packages.repository.urlTemplate',
        message: 'mode mirror needs a urlTemplate',
        fix: FIXES['packages.repository.urlTemplate'] ?? '',
      });
    }
    const insecure = valueAt(obj, ['packages', 'allowInsecureRepo']) === true;
    if (typeof repo.urlTemplate === 'string' && /^http:\/\//i.test(repo.urlTemplate) && !insecure) {
      out.push({
        field: 'packages.repository.urlTemplate',
        message: `${show(repo.urlTemplate)} is a plain http:// repository: packages and keys would be fetched without TLS`,
        fix: 'use the https:// URL of the mirror (e.g. https://mirrors.aliyun.com/kubernetes-new/core/stable/v{minor}/rpm/), or set packages.allowInsecureRepo: true to accept http knowingly',
      });
    }
    if (
      (repo.mode === 'unmanaged' || repo.mode === undefined || repo.mode === 'pkgs.k8s.io') &&
      repo.urlTemplate !== undefined
    ) {
      out.push({
        field: 'packages.repository.urlTemplate',
        message: `urlTemplate is only used with mode mirror (mode is ${String(repo.mode ?? 'pkgs.k8s.io')})`,
        fix: 'set mode: mirror, or remove urlTemplate',
      });
    }
  }
  const fps = valueAt(obj, ['ssh', 'hostKeyFingerprints']);
  if (fps && typeof fps === 'object' && !Array.isArray(fps)) {
    const jump = valueAt(obj, ['ssh', 'jumpHost', 'address']);
    for (const key of Object.keys(fps)) {
      if (!names.has(key) && key !== jump) {
        out.push({
          field: `ssh.hostKeyFingerprints.${key}`,
          message: `"${key}" is not a node name or the jump host address`,
          fix: `use node names as keys (${[...names.keys()].slice(0, 5).join(', ')}${names.size > 5 ? ', …' : ''})`,
        });
      }
    }
  }
  return out;
}

export interface ResolveOptions {
  /** Folder of the inventory file: relative key paths are resolved against it. */
  baseDir: string;
  /** Home folder for `~` expansion. */
  homeDir: string;
}

/** POSIX path resolution without node:path, so this file stays importable by workflows. */
export function resolvePath(p: string, opts: ResolveOptions): string {
  let s = p;
  if (s === '~' || s.startsWith('~/')) s = opts.homeDir + s.slice(1);
  else if (!s.startsWith('/')) s = `${opts.baseDir}/${s}`;
  const parts: string[] = [];
  for (const seg of s.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return `/${parts.join('/')}`;
}

function seconds(v: string | number): number {
  return typeof v === 'number' ? v : (parseDuration(v) ?? 0);
}

/** Default URL templates of the community repositories, per package format. */
export function defaultUrlTemplate(manager: PackageManager): string {
  return `https://pkgs.k8s.io/core:/stable:/v{minor}/${manager === 'apt' ? 'deb' : 'rpm'}/`;
}

/**
 * Validates an already-parsed YAML value. Throws InventoryError listing every problem found.
 */
export function validateInventory(raw: unknown, opts: ResolveOptions): Inventory {
  const res = InventorySchema.safeParse(raw);
  const issues = [...(res.success ? [] : toIssues(res.error.issues, raw)), ...crossChecks(raw)];
  if (!res.success || issues.length > 0) {
    // Same field reported by zod and a cross-check: keep the first.
    const seen = new Set<string>();
    throw new InventoryError(
      issues.filter((i) => {
        const k = `${i.field}\0${i.message}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      }),
    );
  }
  const v = res.data;
  const mu = v.rollout.maxUnavailable as number | string;
  const manager = v.packages.manager;
  const mode = v.packages.repository.mode;
  const inv: Inventory = {
    apiVersion: v.apiVersion,
    kind: v.kind,
    metadata: { name: v.metadata.name },
    ssh: {
      user: v.ssh.user,
      port: v.ssh.port,
      privateKeyPath: resolvePath(v.ssh.privateKeyPath, opts),
      knownHostsPath: resolvePath(v.ssh.knownHostsPath, opts),
      hostKeyPolicy: v.ssh.hostKeyPolicy,
      hostKeyFingerprints: Object.fromEntries(
        Object.entries(v.ssh.hostKeyFingerprints).map(([k, fp]) => [
          k,
          (fp.startsWith('SHA256:') ? fp : `SHA256:${fp}`).replace(/=$/, ''),
        ]),
      ),
      sudo: v.ssh.sudo,
      ...(v.ssh.jumpHost
        ? {
            jumpHost: {
              address: v.ssh.jumpHost.address,
              port: v.ssh.jumpHost.port,
              user: v.ssh.jumpHost.user ?? v.ssh.user,
            },
          }
        : {}),
      connectTimeoutSeconds: seconds(v.ssh.connectTimeout),
      commandTimeoutSeconds: seconds(v.ssh.commandTimeout),
    },
    packages: {
      manager,
      repository:
        mode === 'unmanaged'
          ? { mode }
          : {
              mode,
              urlTemplate:
                mode === 'mirror' ? (v.packages.repository.urlTemplate ?? '') : defaultUrlTemplate(manager),
              ...(v.packages.repository.keyFingerprint
                ? {
                    keyFingerprint: v.packages.repository.keyFingerprint.replace(/\s+/g, '').toUpperCase(),
                  }
                : {}),
              ...(v.packages.repository.key ? { key: v.packages.repository.key.trim() + '\n' } : {}),
            },
      ...(v.packages.allowInsecureRepo ? { allowInsecureRepo: true } : {}),
    },
    kubeadm: {
      ...(v.kubeadm.imageRepository ? { imageRepository: v.kubeadm.imageRepository } : {}),
      ...(v.kubeadm.configFile ? { configFile: v.kubeadm.configFile } : {}),
      ...(v.kubeadm.patchesDir ? { patchesDir: v.kubeadm.patchesDir } : {}),
      certificateRenewal: v.kubeadm.certificateRenewal,
      etcdUpgrade: v.kubeadm.etcdUpgrade,
      etcdBackup: v.kubeadm.etcdBackup,
      prePullImages: v.kubeadm.prePullImages,
    },
    drain: {
      // kubectl takes whole seconds; round a fractional duration up rather than shorten it.
      timeoutSeconds: Math.ceil(seconds(v.drain.timeout)),
      ignoreDaemonSets: v.drain.ignoreDaemonSets,
      deleteEmptyDirData: v.drain.deleteEmptyDirData,
      force: v.drain.force,
      ...(v.drain.gracePeriod !== undefined
        ? { gracePeriodSeconds: Math.ceil(seconds(v.drain.gracePeriod)) }
        : {}),
    },
    rollout: {
      maxUnavailable: typeof mu === 'string' && !mu.endsWith('%') ? Number(mu) : (mu as MaxUnavailable),
      gates: [...new Set(v.rollout.gates)],
      ...(v.rollout.prepareAhead ? {} : { prepareAhead: false }),
      ...(v.rollout.cni
        ? { cni: v.rollout.cni.command !== undefined ? { command: v.rollout.cni.command } : {} }
        : {}),
    },
    nodes: v.nodes.map((n) => ({
      name: n.name,
      address: n.address,
      port: n.port ?? v.ssh.port,
      role: n.role,
    })),
  };
  return inv;
}

/**
 * `--to` value → TargetVersion. Accepts `1.30`, `v1.30`, `1.30.4`, `v1.30.4` and nothing else.
 */
export function parseTargetVersion(s: string): TargetVersion {
  const v = matchTargetVersion(s);
  if (!v) {
    throw new InventoryError([
      {
        field: 'version',
        message: `${show(s)} is not a Kubernetes version`,
        fix: 'give a minor (1.30 or v1.30) to take its newest patch, or an exact patch (1.30.4 or v1.30.4)',
      },
    ]);
  }
  return v;
}

/**
 * The worker window: a count is used as is (at most the number of workers), a percentage of the
 * workers is rounded down. Never below 1, or the rollout could not start.
 */
export function resolveMaxUnavailable(spec: MaxUnavailable, workerCount: number): number {
  // the workflow's own rule, so that what the CLI shows is what the run does
  return windowSize(spec, workerCount);
}

export type { TargetVersion };
