/**
 * Package repository knowledge the activities need: where the kubernetes repo file lives per
 * package manager, what it should contain for a minor, the commands that list the versions of a
 * minor (in place, or through a throw-away repo definition outside /etc), and reading the listings.
 *
 * Listing formats (reference/nodes.md §2):
 *   yum/dnf: `kubeadm.x86_64   1.30.4-150500.1.1   kubernetes` (`@kubernetes` when installed)
 *   apt:     `   kubeadm | 1.30.4-1.1 | https://pkgs.k8s.io/core:/stable:/v1.30/deb  Packages`
 */
import { parseAptMadison, parseYumShowDuplicates } from '../parsers/packages';
import { cmd, sh, type ShellCommand } from '../ssh/command';
import type { InventorySettings } from '../shared/inventory';

export type Manager = 'yum' | 'dnf' | 'apt';
export const K8S_PACKAGES = ['kubeadm', 'kubelet', 'kubectl'] as const;
export type K8sPackage = (typeof K8S_PACKAGES)[number];

export const YUM_REPO_FILE = '/etc/yum.repos.d/kubernetes.repo';
export const APT_LIST_FILE = '/etc/apt/sources.list.d/kubernetes.list';
export const APT_KEYRING = '/etc/apt/keyrings/kubernetes-apt-keyring.gpg';
/** The repo id the runbook and the Kubernetes docs use (`--disableexcludes=kubernetes`). */
export const YUM_REPO_ID = 'kubernetes';

export function repoFileOf(manager: Manager): string {
  return manager === 'apt' ? APT_LIST_FILE : YUM_REPO_FILE;
}

/** The repository URL for a minor (`1.30`), from the inventory's urlTemplate; undefined when unmanaged. */
export function repoUrlFor(settings: Pick<InventorySettings, 'packages'>, minor: string): string | undefined {
  const r = settings.packages.repository;
  if (r.mode === 'unmanaged' || !r.urlTemplate) return undefined;
  return r.urlTemplate.split('{minor}').join(minor);
}

/** The yum/dnf .repo file for a URL (install-kubeadm layout; excludes lifted with --disableexcludes). */
export function renderYumRepo(url: string, id = YUM_REPO_ID, gpgkey?: string): string {
  const base = url.endsWith('/') ? url : `${url}/`;
  return [
    `[${id}]`,
    'name=Kubernetes',
    `baseurl=${base}`,
    'enabled=1',
    'gpgcheck=1',
    `gpgkey=${gpgkey ?? `${base}repodata/repomd.xml.key`}`,
    'exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni',
    '',
  ].join('\n');
}

/** The apt source line for a URL, keeping the keyring the node already uses when it names one. */
export function renderAptList(url: string, keyring = APT_KEYRING): string {
  const base = url.endsWith('/') ? url : `${url}/`;
  return `deb [signed-by=${keyring}] ${base} /\n`;
}

/** The URL configured in a repo file (yum baseurl, or the first kubernetes deb line). */
export function configuredUrl(manager: Manager, text: string): string | undefined {
  if (manager === 'apt') {
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (!line.startsWith('deb ')) continue;
      const words = line
        .slice(4)
        .replace(/\[[^\]]*\]/, '')
        .trim()
        .split(/\s+/);
      if (words[0]) return words[0];
    }
    return undefined;
  }
  const m = /^\s*baseurl\s*=\s*(\S+)/m.exec(text);
  return m ? m[1] : undefined;
}

/** The keyring named by `signed-by=` in an apt list, if any. */
export function aptKeyringIn(text: string): string | undefined {
  const m = /signed-by=([^\s\]]+)/.exec(text);
  return m ? m[1] : undefined;
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

/** The content the repo file must have for `url` (keeping an apt keyring already configured). */
export function desiredRepoFile(
  manager: Manager,
  url: string,
  current: string | null,
  key: { gpgkey?: string } = {},
): string {
  if (manager === 'apt') return renderAptList(url, (current && aptKeyringIn(current)) || APT_KEYRING);
  return renderYumRepo(url, YUM_REPO_ID, key.gpgkey);
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
 * Finds the file that configures the kubernetes repository: the standard path when it exists,
 * else the first file defining the `[kubernetes]` repo id (yum/dnf) or naming pkgs.k8s.io or
 * kubernetes (apt), else the standard path (to be created). Prints the path, `yes`/`no`, then the
 * content. Read-only.
 */
export function locateRepoCommand(manager: Manager): ShellCommand {
  const def = repoFileOf(manager);
  const search =
    manager === 'apt'
      ? sh`grep -l -E 'pkgs\\.k8s\\.io|kubernetes' /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v kupgrade-probe | head -n 1`
      : sh`grep -l '^\\[kubernetes\\]' /etc/yum.repos.d/*.repo 2>/dev/null | grep -v kupgrade-probe | head -n 1`;
  return sh`if [ -f ${def} ]; then f=${def}; else f=$(${search}); [ -n "$f" ] || f=${def}; fi; printf '%s\\n' "$f"; if [ -f "$f" ]; then echo yes; cat "$f"; else echo no; fi`;
}

/** Repositories other than kubernetes defined in a repo file (yum sections, apt deb lines). */
export function otherRepositories(manager: Manager, text: string): string[] {
  if (manager === 'apt') {
    return text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^deb(-src)?\s/.test(l) && !/pkgs\.k8s\.io|kubernetes/.test(l));
  }
  return [...text.matchAll(/^\s*\[([^\]]+)\]/gm)].map((m) => m[1].trim()).filter((id) => id !== YUM_REPO_ID);
}

export interface LocatedRepo {
  path: string;
  /** null when the file does not exist yet */
  content: string | null;
}

export function parseLocatedRepo(manager: Manager, stdout: string): LocatedRepo {
  const nl = stdout.indexOf('\n');
  const path = (nl < 0 ? stdout : stdout.slice(0, nl)).trim() || repoFileOf(manager);
  const rest = nl < 0 ? '' : stdout.slice(nl + 1);
  if (!rest.startsWith('yes')) return { path, content: null };
  return { path, content: rest.slice(rest.indexOf('\n') + 1 || rest.length) };
}

/** Lists the versions of the kubernetes packages from the node's configured repository. */
export function listCommand(manager: Manager, packages: readonly string[] = K8S_PACKAGES): ShellCommand {
  if (manager === 'apt') return cmd('apt-cache', 'madison', ...packages);
  return cmd(
    manager,
    'list',
    '--showduplicates',
    ...packages,
    `--disableexcludes=${YUM_REPO_ID}`,
    LISTING_WITHOUT_LOCKS,
  );
}

/**
 * Lists the versions a repository URL offers WITHOUT touching the node's configuration: the repo
 * definition and every cache live in a temporary folder that is removed afterwards.
 * yum/dnf: `--setopt=reposdir=<tmp> --setopt=cachedir=<tmp>/cache`; apt: `Dir::Etc::sourcelist`,
 * `Dir::Etc::sourceparts=-`, `Dir::State::Lists`, `Dir::Cache` under the temporary folder.
 */
export function probeCommand(
  manager: Manager,
  url: string,
  packages: readonly string[] = K8S_PACKAGES,
  /** apt: prints the repository's armored key; it goes into a keyring of the probe's own (signed-by) */
  keySource?: ShellCommand,
): ShellCommand {
  const prelude = sh`d=$(mktemp -d) && trap 'rm -rf "$d"' EXIT`;
  if (manager === 'apt' && keySource) {
    const opts = raw_apt_opts();
    const base = url.endsWith('/') ? url : `${url}/`;
    return sh`${prelude} && mkdir -p "$d/lists/partial" "$d/cache/archives/partial" && ${keySource} | gpg --dearmor --batch --yes -o "$d/k.gpg" && printf 'deb [signed-by=%s/k.gpg] %s /\\n' "$d" ${base} > "$d/sources.list" && apt-get -q ${opts} update >/dev/null && ${cmd('apt-cache')} ${opts} ${cmd('madison', ...packages)}`;
  }
  if (manager === 'apt') {
    const opts = raw_apt_opts();
    return sh`${prelude} && mkdir -p "$d/lists/partial" "$d/cache/archives/partial" && printf '%s' ${renderAptList(url)} > "$d/sources.list" && apt-get -q ${opts} update >/dev/null && ${cmd('apt-cache')} ${opts} ${cmd('madison', ...packages)}`;
  }
  return sh`${prelude} && printf '%s' ${renderYumRepo(url)} > "$d/kubernetes.repo" && ${cmd(manager)} --setopt=reposdir="$d" --setopt=cachedir="$d/cache" ${cmd('list', '--showduplicates', ...packages, `--disableexcludes=${YUM_REPO_ID}`, LISTING_WITHOUT_LOCKS)}`;
}

function raw_apt_opts(): ShellCommand {
  return sh`-o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache"`;
}

export interface ListedVersion {
  name: string;
  /** `1.30.4` */
  version: string;
  /** package version as the manager wants it: `1.30.4-150500.1.1`, `1.30.4-1.1` */
  full: string;
  installed: boolean;
}

/** Parses `yum|dnf list --showduplicates` and `apt-cache madison` output (src/parsers), keeping our packages' stable versions. */
export function parseListing(manager: Manager, text: string): ListedVersion[] {
  const rows =
    manager === 'apt'
      ? parseAptMadison(text)
      : (({ installed, available }) => [...installed, ...available])(parseYumShowDuplicates(text));
  return rows
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

/**
 * Installs exact package versions. apt: unhold → install → hold; the hold is restored on failure
 * too, and the group ends with the install's status (`(exit $rc)`, not `exit`, so `&& marker` can follow).
 */
export function installCommand(manager: Manager, pkgs: { name: K8sPackage; full: string }[]): ShellCommand {
  const names = pkgs.map((p) => p.name);
  if (manager === 'apt') {
    const install = sh`env DEBIAN_FRONTEND=noninteractive ${cmd('apt-get', 'install', '-y', ...pkgs.map((p) => `${p.name}=${p.full}`))}`;
    return sh`${cmd('apt-mark', 'unhold', ...names)} && { ${install}; rc=$?; ${cmd('apt-mark', 'hold', ...names)}; (exit $rc); }`;
  }
  return cmd(
    manager,
    'install',
    '-y',
    ...pkgs.map((p) => `${p.name}-${p.full}`),
    `--disableexcludes=${YUM_REPO_ID}`,
  );
}

/**
 * Listings show what the repository offers, whatever the versionlock plugin holds back (yum 3
 * applies the locks to `list` too); an install does not lift a lock (see packages.ts).
 */
export const LISTING_WITHOUT_LOCKS = '--disableplugin=versionlock';

/** yum/dnf options that leave only the kubernetes repository enabled (a third-party one is dead). */
export const KUBERNETES_REPO_ONLY: readonly string[] = ['--disablerepo=*', `--enablerepo=${YUM_REPO_ID}`];

/** installCommand for yum/dnf with options before the verb (KUBERNETES_REPO_ONLY); apt as installCommand. */
export function installCommandWith(
  manager: Manager,
  pkgs: { name: K8sPackage; full: string }[],
  options: readonly string[],
): ShellCommand {
  if (manager === 'apt' || options.length === 0) return installCommand(manager, pkgs);
  return cmd(
    manager,
    ...options,
    'install',
    '-y',
    ...pkgs.map((p) => `${p.name}-${p.full}`),
    `--disableexcludes=${YUM_REPO_ID}`,
  );
}

/** listCommand for yum/dnf with options before the verb. */
export function listCommandWith(manager: Manager, options: readonly string[]): ShellCommand {
  if (manager === 'apt' || options.length === 0) return listCommand(manager);
  return cmd(
    manager,
    ...options,
    'list',
    '--showduplicates',
    ...K8S_PACKAGES,
    `--disableexcludes=${YUM_REPO_ID}`,
    LISTING_WITHOUT_LOCKS,
  );
}

/** The lock lists of the versionlock plugins that are enabled (dnf, then yum 3); read-only. */
export function readVersionlocksCommand(): ShellCommand {
  return sh`for d in /etc/dnf/plugins /etc/yum/pluginconf.d; do if grep -qsE '^[[:space:]]*enabled[[:space:]]*=[[:space:]]*(1|[Tt]rue)' "$d/versionlock.conf"; then cat "$d/versionlock.list" 2>/dev/null; fi; done; true`;
}

/** Refreshes metadata after the repo file changed: the runbook's `yum clean all`, or `apt-get update`. */
export function refreshCommand(manager: Manager): ShellCommand {
  if (manager === 'apt') return cmd('apt-get', 'update');
  return cmd(manager, 'clean', 'all');
}

/** Output meaning the version is not in the repository (semantic, not worth a retry). */
export const VERSION_MISSING_RE =
  /No package .* available|No match for argument|Unable to find a match|Version '[^']+' for '[^']+' was not found|Unable to locate package|has no installation candidate|No matching Packages to list/i;

// ---- legacy repositories and repository keys (issue 12 items 1-2, issue 13 item 7) ------------

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
  const base = url.endsWith('/') ? url : `${url}/`;
  return manager === 'apt' ? `${base}Release.key` : `${base}repodata/repomd.xml.key`;
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
