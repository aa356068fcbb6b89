/**
 * Package repository knowledge the activities need, over the package managers of src/packages:
 * the repository URL of a minor, locating the file that configures the kubernetes repository,
 * atomic file writes, the versions a listing offers and the one a hop takes, legacy repositories
 * and repository keys.
 */
import { cmd, sh, type ShellCommand } from '../ssh/command';
import type { InventorySettings } from '../shared/inventory';
import { PACKAGE_MANAGERS, K8S_PACKAGES, type K8sPackage, type PackageManagerName } from '../packages';

export type Manager = PackageManagerName;

/** The repository URL for a minor (`1.30`), from the inventory's urlTemplate; undefined when unmanaged. */
export function repoUrlFor(settings: Pick<InventorySettings, 'packages'>, minor: string): string | undefined {
  const r = settings.packages.repository;
  if (r.mode === 'unmanaged' || !r.urlTemplate) return undefined;
  return r.urlTemplate.split('{minor}').join(minor);
}

/** The URL configured in a repo file (yum/zypper baseurl, or the first kubernetes deb line). */
export function configuredUrl(manager: Manager, text: string): string | undefined {
  return PACKAGE_MANAGERS[manager].configuredUrl(text);
}

/** The minor a repo URL serves (`1.30`), for the pkgs.k8s.io layout and its mirrors. */
export function minorOfUrl(url: string): string | undefined {
  const m = /\/v(\d+\.\d+)\/(?:rpm|deb)\/?$/.exec(url) ?? /\/v(\d+\.\d+)\//.exec(url);
  return m ? m[1] : undefined;
}

function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

export function urlMatches(configured: string | undefined, wanted: string): boolean {
  return configured !== undefined && sameUrl(configured, wanted);
}

/** Atomically replaces a file's content (write a sibling, then rename). */
export function writeFileCommand(path: string, content: string): ShellCommand {
  const tmp = `${path}.kupgrade-tmp`;
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  return sh`${cmd('mkdir', '-p', dir)} && printf '%s' ${content} > ${tmp} && ${cmd('mv', '-f', tmp, path)}`;
}

/** `cat FILE` that prints nothing and succeeds when the file does not exist. */
export function readFileCommand(path: string): ShellCommand {
  return sh`if [ -f ${path} ]; then cat ${path}; fi`;
}

/**
 * Finds the file that configures the kubernetes repository: the manager's standard path when it
 * exists, else the first file defining it (PackageManager.findRepoFileCommand), else the standard
 * path (to be created). Prints the path, `yes`/`no`, then the content. Read-only.
 */
export function locateRepoCommand(manager: Manager): ShellCommand {
  const m = PACKAGE_MANAGERS[manager];
  const def = m.repoFile;
  return sh`if [ -f ${def} ]; then f=${def}; else f=$(${m.findRepoFileCommand()}); [ -n "$f" ] || f=${def}; fi; printf '%s\\n' "$f"; if [ -f "$f" ]; then echo yes; cat "$f"; else echo no; fi`;
}

export interface LocatedRepo {
  path: string;
  /** null when the file does not exist yet */
  content: string | null;
}

export function parseLocatedRepo(manager: Manager, stdout: string): LocatedRepo {
  const nl = stdout.indexOf('\n');
  const path = (nl < 0 ? stdout : stdout.slice(0, nl)).trim() || PACKAGE_MANAGERS[manager].repoFile;
  const rest = nl < 0 ? '' : stdout.slice(nl + 1);
  if (!rest.startsWith('yes')) return { path, content: null };
  return { path, content: rest.slice(rest.indexOf('\n') + 1 || rest.length) };
}

export interface ListedVersion {
  name: string;
  /** `1.30.4` */
  version: string;
  /** package version as the manager wants it: `1.30.4-150500.1.1`, `1.30.4-1.1` */
  full: string;
  installed: boolean;
}

/** A listing's rows (PackageManager.parseListing), keeping our packages' stable versions. */
export function parseListing(manager: Manager, text: string): ListedVersion[] {
  return PACKAGE_MANAGERS[manager]
    .parseListing(text)
    .filter((r) => (K8S_PACKAGES as readonly string[]).includes(r.name) && /^\d+\.\d+\.\d+$/.test(r.upstream))
    .map((r) => ({ name: r.name, version: r.upstream, full: r.version, installed: r.installed }));
}

/** The newest patch of `minor` offered for every one of kubeadm, kubelet and kubectl (or `patch` exactly). */
export function pickVersion(
  listed: ListedVersion[],
  minor: string,
  patch?: number,
): { version: string; packages: Record<K8sPackage, string> } | undefined {
  const byPkg = new Map<string, ListedVersion[]>();
  for (const l of listed) {
    if (!l.version.startsWith(`${minor}.`)) continue;
    if (patch !== undefined && l.version !== `${minor}.${patch}`) continue;
    byPkg.set(l.name, [...(byPkg.get(l.name) ?? []), l]);
  }
  const common = K8S_PACKAGES.map((p) => new Set((byPkg.get(p) ?? []).map((l) => l.version)));
  const candidates = [...common[0]].filter((v) => common.every((s) => s.has(v)));
  if (candidates.length === 0) return undefined;
  candidates.sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]));
  const version = candidates[0];
  const fullOf = (p: K8sPackage) => {
    const entries = (byPkg.get(p) ?? []).filter((l) => l.version === version);
    // Prefer the newest release of a version (apt lists newest first; rpm ascending).
    const sorted = [...entries].sort((a, b) => b.full.localeCompare(a.full, 'en', { numeric: true }));
    return sorted[0].full;
  };
  return {
    version,
    packages: { kubeadm: fullOf('kubeadm'), kubelet: fullOf('kubelet'), kubectl: fullOf('kubectl') },
  };
}

// ---- legacy repositories and repository keys ------------

/**
 * The legacy repositories frozen on 2023-09-13 (reference/nodes.md §2): apt.kubernetes.io,
 * yum.kubernetes.io, packages.cloud.google.com and their mirrors (`mirrors.aliyun.com/kubernetes/yum/
 * repos/kubernetes-el7-x86_64`, `…/kubernetes/apt`). One URL for every minor, nothing newer than 1.28.2.
 */
export function isLegacyRepoUrl(url: string | undefined): boolean {
  if (!url || minorOfUrl(url) !== undefined) return false;
  return /apt\.kubernetes\.io|yum\.kubernetes\.io|packages\.cloud\.google\.com|\/kubernetes\/(yum|apt)\b|kubernetes-el7|kubernetes-xenial/.test(
    url,
  );
}

export function isInsecureUrl(url: string | undefined): boolean {
  return url !== undefined && /^http:\/\//i.test(url);
}

/** The signing key of a repository URL: `Release.key` (deb) or `repodata/repomd.xml.key` (rpm). */
export function repoKeyUrl(manager: Manager, url: string): string {
  return PACKAGE_MANAGERS[manager].keyUrl(url);
}

/** Prints the armored key: the inventory's own (air-gapped) or `curl -fsSL <key URL>`. */
export function keySourceCommand(
  settings: Pick<InventorySettings, 'packages'>,
  manager: Manager,
  url: string,
): ShellCommand {
  const own = settings.packages.repository.key;
  if (own) return sh`printf '%s' ${own}`;
  return cmd('curl', '-fsSL', repoKeyUrl(manager, url));
}

/** Fingerprints in `gpg --show-keys --with-colons` output (`fpr:::::::::<FPR>:`). */
export function parseFingerprints(text: string): string[] {
  return [...text.matchAll(/^fpr:(?:[^:\n]*:){8}([0-9A-Fa-f]{40}):/gm)].map((m) => m[1].toUpperCase());
}

export const KEY_MISMATCH_EXIT = 87;

/**
 * Fetches the repository key (curl | gpg --dearmor, as the install docs do) into a temporary
 * keyring, prints its fingerprints, refuses (exit 87, nothing written) when a pinned fingerprint is
 * not among them, and, when `keyring` is given, installs it there atomically (0644).
 */
export function repoKeyCommand(
  settings: Pick<InventorySettings, 'packages'>,
  manager: Manager,
  url: string,
  keyring?: string,
): ShellCommand {
  const pin = settings.packages.repository.keyFingerprint;
  const check = pin
    ? sh` && { grep -q -i ${`^fpr:::::::::${pin}:`} "$d/fpr" || { echo ${`kupgrade: the key of ${url} does not have the pinned fingerprint ${pin}`} >&2; exit ${KEY_MISMATCH_EXIT}; }; }`
    : sh``;
  const install = keyring
    ? sh` && ${cmd('mkdir', '-p', keyring.slice(0, keyring.lastIndexOf('/')) || '/')} && cp "$d/k.gpg" ${`${keyring}.kupgrade-tmp`} && ${cmd('chmod', '0644', `${keyring}.kupgrade-tmp`)} && ${cmd('mv', '-f', `${keyring}.kupgrade-tmp`, keyring)}`
    : sh``;
  return sh`d=$(mktemp -d) && trap 'rm -rf "$d"' EXIT && ${keySourceCommand(settings, manager, url)} | gpg --dearmor --batch --yes -o "$d/k.gpg" && gpg --show-keys --with-colons "$d/k.gpg" > "$d/fpr" && cat "$d/fpr"${check}${install}`;
}
