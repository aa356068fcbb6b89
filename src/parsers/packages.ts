/**
 * Package listings: `yum|dnf list --showduplicates`, `apt-cache
 * madison`, `apt-mark showhold`, and the mapping between Kubernetes versions (`1.30.4`) and package
 * versions: pkgs.k8s.io rpm `1.30.4-150500.1.1`, deb `1.30.4-1.1`, legacy rpm `1.22.3-0`, legacy
 * deb `1.22.3-00`.
 */
import { compareDotted, lines } from './common';

export interface PackageVersion {
  name: string;
  /** rpm architecture (`x86_64`); undefined for apt. */
  arch?: string;
  /** The full package version as the package manager wants it: `1.30.4-150500.1.1`, `1.30.4-1.1`. */
  version: string;
  /** The Kubernetes version inside it: `1.30.4` (pre-releases keep their suffix, e.g. `1.31.0~rc.1`). */
  upstream: string;
  /** The repository (`kubernetes`, `@kubernetes`, or the madison source URL). */
  repo: string;
  installed: boolean;
}

/** `1:1.30.4-150500.1.1` → `1.30.4`: drop the epoch and the release. */
export function upstreamOf(pkgVersion: string): string {
  const noEpoch = pkgVersion.replace(/^\d+:/, '');
  const dash = noEpoch.lastIndexOf('-');
  return dash > 0 ? noEpoch.slice(0, dash) : noEpoch;
}

function releaseOf(pkgVersion: string): string {
  const noEpoch = pkgVersion.replace(/^\d+:/, '');
  const dash = noEpoch.lastIndexOf('-');
  return dash > 0 ? noEpoch.slice(dash + 1) : '';
}

/**
 * `yum list --showduplicates kubeadm` / dnf: rows `name.arch  version-release  repo` under
 * "Installed Packages" and "Available Packages" (an `@repo` also marks an installed row). yum
 * wraps a row whose name is too long onto two lines; those are joined back.
 */
export function parseYumShowDuplicates(text: string): {
  installed: PackageVersion[];
  available: PackageVersion[];
  noMatch: boolean;
} {
  const installed: PackageVersion[] = [];
  const available: PackageVersion[] = [];
  let section: 'installed' | 'available' | undefined;
  let pending = '';
  for (const raw of lines(text)) {
    const l = raw.trimEnd();
    if (/^Installed Packages/i.test(l)) {
      section = 'installed';
      continue;
    }
    if (/^Available Packages/i.test(l)) {
      section = 'available';
      continue;
    }
    const joined = pending ? `${pending} ${l.trim()}` : l;
    pending = '';
    const m = /^(\S+)\.([A-Za-z0-9_]+)\s+((?:\d+:)?[^\s-]+-\S+)\s+(@?\S+)\s*$/.exec(joined);
    if (!m) {
      // A lone `name.arch` (the name overflowed its column), or `name.arch version` (yum 3: the
      // version overflowed, the repository follows on the next line) is the first half of a row.
      if (
        /^\S+\.(x86_64|aarch64|noarch|ppc64le|s390x|i686|armv7hl)(\s+(?:\d+:)?[^\s-]+-\S+)?$/.test(
          joined.trim(),
        )
      )
        pending = joined.trim();
      continue;
    }
    const repo = m[4] ?? '';
    const isInstalled = section === 'installed' || repo.startsWith('@');
    const pv: PackageVersion = {
      name: m[1] ?? '',
      arch: m[2],
      version: (m[3] ?? '').replace(/^0:/, ''),
      upstream: upstreamOf(m[3] ?? ''),
      repo,
      installed: isInstalled,
    };
    (isInstalled ? installed : available).push(pv);
  }
  return { installed, available, noMatch: /No matching Packages to list/i.test(text) };
}

/** `apt-cache madison kubeadm`: `   kubeadm | 1.30.4-1.1 | https://pkgs.k8s.io/... Packages`, newest first. */
export function parseAptMadison(text: string): PackageVersion[] {
  const out: PackageVersion[] = [];
  for (const l of lines(text)) {
    const m = /^\s*(\S+)\s+\|\s+(\S+)\s+\|\s+(.+?)\s*$/.exec(l);
    if (!m) continue;
    const source = (m[3] ?? '').replace(/\s+(Packages|Sources)$/, '');
    out.push({
      name: m[1] ?? '',
      version: m[2] ?? '',
      upstream: upstreamOf(m[2] ?? ''),
      repo: source,
      installed: false,
    });
  }
  return out;
}

/**
 * `zypper search --details --match-exact kubeadm`: a table `S | Name | Type | Version | Arch |
 * Repository` after `Loading repository data...`. S is `i` (this version installed; `i+` when
 * the user asked for it), `v` (another version installed) or empty, with an `l` when locked. An
 * installed version no repository offers has the repository `(System Packages)`.
 */
export function parseZypperSearch(text: string): PackageVersion[] {
  const out: PackageVersion[] = [];
  for (const l of lines(text)) {
    const cols = l.split('|').map((c) => c.trim());
    if (cols.length !== 6 || cols[2] !== 'package') continue;
    const [status = '', name = '', , version = '', arch, repo = ''] = cols;
    if (!/^(?:\d+:)?[^\s-]+-\S+$/.test(version)) continue;
    out.push({
      name,
      arch,
      version: version.replace(/^0:/, ''),
      upstream: upstreamOf(version),
      repo,
      installed: status.startsWith('i'),
    });
  }
  return out;
}

/** `apt-mark showhold`: one package name per line. */
export function parseAptMarkShowhold(text: string): string[] {
  return lines(text)
    .map((l) => l.trim())
    .filter((l) => /^[a-z0-9][a-z0-9+.-]*$/.test(l));
}

function isStableUpstream(u: string): boolean {
  return /^\d+\.\d+\.\d+$/.test(u);
}

/**
 * The package version string for an exact Kubernetes version, among the versions a repository
 * lists: `1.30.4` → `1.30.4-150500.1.1` (rpm) or `1.30.4-1.1` (deb); legacy `1.22.3-0` / `1.22.3-00`.
 * When several releases carry the same upstream (`150500.1.1`, `150500.2.1`), the highest wins.
 */
export function packageVersionFor(
  exact: string,
  versions: readonly (string | PackageVersion)[],
): string | undefined {
  const want = exact.replace(/^v/, '');
  const matching = versions
    .map((v) => (typeof v === 'string' ? v : v.version))
    .filter((v) => upstreamOf(v) === want);
  if (matching.length === 0) return undefined;
  return matching.sort((a, b) => compareDotted(releaseOf(a), releaseOf(b)))[matching.length - 1];
}

/**
 * The newest stable patch of a minor (`1.30`) among listed package versions, as
 * `{upstream: '1.30.4', version: '1.30.4-150500.1.1'}`; pre-releases are ignored.
 */
export function newestPatch(
  minor: string,
  versions: readonly (string | PackageVersion)[],
): { upstream: string; version: string } | undefined {
  const m = minor.replace(/^v/, '');
  let best: { upstream: string; version: string } | undefined;
  for (const v of versions) {
    const version = typeof v === 'string' ? v : v.version;
    const up = upstreamOf(version);
    if (!isStableUpstream(up) || !up.startsWith(`${m}.`)) continue;
    if (
      !best ||
      compareDotted(up, best.upstream) > 0 ||
      (compareDotted(up, best.upstream) === 0 &&
        compareDotted(releaseOf(version), releaseOf(best.version)) > 0)
    ) {
      best = { upstream: up, version };
    }
  }
  return best;
}

/** `kubeadm-1.30.4-150500.1.1` for yum/dnf install arguments. */
export function yumPackageSpec(name: string, pkgVersion: string): string {
  return `${name}-${pkgVersion}`;
}

/** `kubeadm=1.30.4-1.1` for apt-get install arguments. */
export function aptPackageSpec(name: string, pkgVersion: string): string {
  return `${name}=${pkgVersion}`;
}

/**
 * Repositories whose metadata could not be downloaded, in order: dnf 4 (`Failed to download
 * metadata for repo 'ID'`, `Errors during downloading metadata for repository 'ID'`) and yum 3
 * (`failure: repodata/repomd.xml from ID: [Errno 256] No more mirrors to try.`, `Cannot retrieve
 * repository metadata (repomd.xml) for repository: ID`).
 */
export function unreachableRepos(text: string): string[] {
  const ids: string[] = [];
  const patterns = [
    /Failed to download metadata for repo '([^']+)'/g,
    /Errors during downloading metadata for repository '([^']+)'/g,
    /failure: repodata\/repomd\.xml from ([^:\s]+): \[Errno 256\]/g,
    /Cannot retrieve repository metadata \(repomd\.xml\) for repository: ([^.\s]+)\./g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) if (!ids.includes(m[1]!)) ids.push(m[1]!);
  return ids;
}

/** apt's `E: dpkg was interrupted, you must manually run '[sudo ]dpkg --configure -a' ...`. */
export function dpkgWasInterrupted(text: string): boolean {
  return /dpkg was interrupted, you must manually run '(?:sudo )?dpkg --configure -a'/.test(text);
}

/** `Setting up kubelet (1.30.4-1.1) ...` lines of dpkg/apt: the packages configured, in order. */
export function packagesSetUp(text: string): string[] {
  return [...text.matchAll(/^Setting up ([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9]+)? \(/gm)].map((m) => m[1]!);
}

/**
 * The install arguments yum/dnf could not satisfy because every match is excluded: dnf 4's `All
 * matches were filtered out by exclude filtering for argument: SPEC`, yum 3's `No package SPEC
 * available.` (yum 3 says the same for a version that does not exist).
 */
export function filteredSpecs(text: string): string[] {
  return [
    ...[...text.matchAll(/All matches were filtered out by exclude filtering for argument: (\S+)/g)].map(
      (m) => m[1]!,
    ),
    ...[...text.matchAll(/^No package (\S+) available\.$/gm)].map((m) => m[1]!),
  ];
}

export interface VersionLock {
  /** the entry as the lock list has it: `kubelet-0:1.29.6-150500.1.1.*`, `0:kubelet-1.28.2-0.*` */
  entry: string;
  name: string;
  /** `!entry`: an exclude rather than a lock */
  exclude: boolean;
}

/**
 * The versionlock plugin's list (dnf `/etc/dnf/plugins/versionlock.list`: `name-epoch:version-release.*`;
 * yum 3 `/etc/yum/pluginconf.d/versionlock.list`: `epoch:name-version-release.*`). Comments and
 * lines that name no package are skipped.
 */
export function parseVersionlockList(text: string): VersionLock[] {
  const out: VersionLock[] = [];
  for (const raw of lines(text)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const exclude = line.startsWith('!');
    const e = line.replace(/^!/, '');
    const m = /^\d+:(.+?)-\d[^-]*-[^-]+$/.exec(e) ?? /^(.+?)-(?:\d+:)?\d[^-]*-[^-]+$/.exec(e);
    if (m) out.push({ entry: line, name: m[1]!, exclude });
  }
  return out;
}
