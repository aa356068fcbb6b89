/**
 * The zod schema of cluster.yaml, one section per top-level key, and the known keys of every
 * mapping (for "did you mean" hints). docs/inventory.md documents every field; keep them in step.
 */
import { z } from 'zod';
import {
  isAddress,
  isImageRepository,
  isUrlTemplate,
  parseDuration,
  DNS1123_LABEL,
  DNS1123_SUBDOMAIN,
  SHA256_FINGERPRINT,
  SSH_USER,
} from './patterns';
import { DEFAULT_GATES, GATES } from '../shared/gates';
import { PACKAGE_MANAGER_NAMES } from '../packages/names';
import { HOST_KEY_POLICIES, REPOSITORY_MODES, ROLES } from './types';

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

export const SshSchema = z.strictObject({
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

export const RepositorySchema = z.strictObject({
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

export const PackagesSchema = z.strictObject({
  manager: z.enum(PACKAGE_MANAGER_NAMES),
  repository: RepositorySchema.prefault({}),
  allowInsecureRepo: z.boolean().default(false),
});

/** An absolute path on a node: no `..`, no spaces or shell characters. */
const NODE_PATH = /^(?!.*\/\.\.(\/|$))\/[A-Za-z0-9._+/-]*$/;

export const KubeadmSchema = z.strictObject({
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

export const DrainSchema = z.strictObject({
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

export const RolloutSchema = z.strictObject({
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

export const NodeSchema = z.strictObject({
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
export const KNOWN_KEYS: Record<string, readonly string[]> = {
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
