/**
 * cluster.yaml → the typed, plain-JSON `Inventory` (types.ts): validation against the schema
 * (sections.ts), every problem reported with its field and fix (issues.ts, fixes.ts,
 * cross-checks.ts), then the defaults and paths resolved.
 *
 * Pure: no Node built-ins, so workflow code may import `schema.ts` (types, `resolveMaxUnavailable`,
 * `parseTargetVersion`). File reading and key checks live in load.ts. docs/inventory.md documents
 * every field; keep the two in step.
 */
import { InventoryError } from './errors';
import { matchTargetVersion, parseDuration, type TargetVersion } from './patterns';
import { windowSize } from '../shared/versions';
import { PACKAGE_FORMATS, type PackageManagerName } from '../packages/names';
import { InventorySchema } from './sections';
import { toIssues, show } from './issues';
import { crossChecks } from './cross-checks';
import type { Inventory, MaxUnavailable } from './types';

export * from './types';

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
export function defaultUrlTemplate(manager: PackageManagerName): string {
  return `https://pkgs.k8s.io/core:/stable:/v{minor}/${PACKAGE_FORMATS[manager]}/`;
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
