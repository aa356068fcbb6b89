/**
 * Package repositories as the lab models them. pkgs.k8s.io has one repository per minor
 * (`/core:/stable:/v1.30/rpm/`), so a node sees only the patches of the minor its repo file
 * names; the legacy repositories (packages.cloud.google.com, mirrors.aliyun.com/kubernetes/yum)
 * were frozen in September 2023 and carry the old `1.22.3-0` (rpm) / `1.22.3-00` (deb) forms.
 * Pure functions: the shim sends the repo file's text, the controller decides from it.
 */
import { LAST_PATCH, patchesOf } from './versions';

export type PackageManager = 'yum' | 'dnf' | 'apt' | 'zypper';
export const K8S_PACKAGES = ['kubeadm', 'kubelet', 'kubectl'] as const;
export type K8sPackage = (typeof K8S_PACKAGES)[number];

export interface RepoSource {
  /** pkgs = pkgs.k8s.io layout (incl. mirrors of it); legacy = frozen pre-2023 repos */
  kind: 'pkgs' | 'legacy';
  minor: number | null;
  /** base URL as the package manager prints it */
  url: string;
}

export interface YumRepo {
  id: string;
  name: string;
  baseurl: string;
  enabled: boolean;
  exclude: string[];
  source: RepoSource | null;
  /** skip_if_unavailable= in the repo section (undefined: the default, False on dnf 4 and yum 3) */
  skipIfUnavailable?: boolean;
}

export function classifyUrl(url: string, kind: 'rpm' | 'deb'): RepoSource | null {
  const m =
    /core:\/stable:\/v1\.(\d+)\/(rpm|deb)/.exec(url) ??
    /kubernetes-new\/core\/stable\/v1\.(\d+)\/(rpm|deb)/.exec(url);
  if (m) return { kind: 'pkgs', minor: Number(m[1]), url };
  if (
    /packages\.cloud\.google\.com|apt\.kubernetes\.io|yum\.kubernetes\.io|mirrors\.[a-z0-9.-]+\/kubernetes\/(yum|apt)/.test(
      url,
    )
  ) {
    return { kind: 'legacy', minor: null, url };
  }
  void kind;
  return null;
}

/** Parses a yum/dnf .repo file (INI). Unknown keys are ignored, as yum does for most. */
export function parseYumRepoFile(text: string): YumRepo[] {
  const repos: YumRepo[] = [];
  let cur: YumRepo | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) {
      cur = { id: sec[1]!.trim(), name: '', baseurl: '', enabled: true, exclude: [], source: null };
      repos.push(cur);
      continue;
    }
    const kv = /^([A-Za-z_]+)\s*=\s*(.*)$/.exec(line);
    if (!kv || !cur) continue;
    const key = kv[1]!.toLowerCase();
    const val = kv[2]!.trim();
    if (key === 'baseurl') {
      cur.baseurl = val.split(/\s+/)[0] ?? '';
      cur.source = classifyUrl(cur.baseurl, 'rpm');
    } else if (key === 'name') cur.name = val;
    else if (key === 'enabled') cur.enabled = val === '1' || val.toLowerCase() === 'true';
    else if (key === 'skip_if_unavailable')
      cur.skipIfUnavailable = val === '1' || val.toLowerCase() === 'true';
    else if (key === 'exclude' || key === 'excludepkgs')
      cur.exclude.push(...val.split(/[\s,]+/).filter(Boolean));
  }
  return repos;
}

export interface AptSource {
  line: string;
  source: RepoSource;
  /** how apt prints the origin in madison: `https://pkgs.k8s.io/core:/stable:/v1.30/deb  Packages` */
  madisonOrigin: string;
  /** apt-get update's Hit/Get name */
  updateName: string;
  /** the keyring named by `[signed-by=...]` (apt then trusts only its keys for this source) */
  signedBy?: string;
  /** how apt names the source in "The repository '...' is not signed." */
  repoName: string;
}

export function parseAptList(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('deb ')) continue;
    const rest = line
      .slice(4)
      .replace(/\[[^\]]*\]/, '')
      .trim()
      .split(/\s+/);
    const url = rest[0] ?? '';
    const suite = rest[1] ?? '';
    const comps = rest.slice(2);
    const source = classifyUrl(url, 'deb');
    if (!source) continue;
    const signedBy = /signed-by=([^\s\]]+)/.exec(line)?.[1];
    const base = url.replace(/\/$/, '');
    if (suite === '/' || suite === '') {
      const cdn = base.replace(
        /^https:\/\/pkgs\.k8s\.io\/core:\/stable:/,
        'https://prod-cdn.packages.k8s.io/repositories/isv:/kubernetes:/core:/stable:',
      );
      out.push({
        line,
        source,
        madisonOrigin: `${base}  Packages`,
        updateName: `${cdn}  InRelease`,
        signedBy,
        repoName: `${base.replace(/\/?$/, '/')}  InRelease`,
      });
    } else {
      out.push({
        line,
        source,
        madisonOrigin: `${base} ${suite}/${comps[0] ?? 'main'} amd64 Packages`,
        updateName: `${base} ${suite} InRelease`,
        signedBy,
        repoName: `${base} ${suite} InRelease`,
      });
    }
  }
  return out;
}

/** Every `version-release` a repository source offers for one package, ascending. */
export function availableVersions(
  source: RepoSource,
  format: 'rpm' | 'deb',
): { version: string; full: string }[] {
  if (source.kind === 'pkgs') {
    if (source.minor === null || LAST_PATCH[source.minor] === undefined) return [];
    // pkgs.k8s.io only carries v1.24 and later
    if (source.minor < 24) return [];
    return patchesOf(source.minor).map((v) => ({
      version: v,
      full: format === 'rpm' ? `${v}-150500.1.1` : `${v}-1.1`,
    }));
  }
  // legacy repos: frozen on 2023-09-13, last published 1.28.2
  const out: { version: string; full: string }[] = [];
  for (let minor = 24; minor <= 28; minor++) {
    for (const v of patchesOf(minor)) {
      if (minor === 28 && Number(v.split('.')[2]) > 2) continue;
      out.push({ version: v, full: format === 'rpm' ? `${v}-0` : `${v}-00` });
    }
  }
  return out;
}

export function fullVersionFor(version: string, source: RepoSource | null, format: 'rpm' | 'deb'): string {
  if (source?.kind === 'legacy') return format === 'rpm' ? `${version}-0` : `${version}-00`;
  return format === 'rpm' ? `${version}-150500.1.1` : `${version}-1.1`;
}

/** Shell-style glob (`*`, `?`, `[...]`) to an anchored RegExp, as yum/apt match package specs. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${glob.slice(i + 1, end).replace(/^!/, '^')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function isGlob(s: string): boolean {
  return /[*?[]/.test(s);
}

/**
 * Does a yum/dnf spec (`kubeadm`, `kubeadm-1.30.4`, `kubeadm-1.30.4-*`, `kubeadm-1.30.4-150500.1.1`,
 * `kubeadm.x86_64`) name this package version? dnf tries name, name-version, name-version-release
 * and the .arch forms.
 */
export function yumSpecMatches(spec: string, name: string, full: string): boolean {
  const [version, release] = splitFull(full);
  const forms = [
    name,
    `${name}.x86_64`,
    `${name}-${version}`,
    `${name}-${version}-${release}`,
    `${name}-${version}-${release}.x86_64`,
    `${name}-0:${version}-${release}`,
  ];
  const re = globToRegExp(spec);
  return forms.some((f) => re.test(f));
}

export function splitFull(full: string): [string, string] {
  const i = full.indexOf('-');
  return i < 0 ? [full, ''] : [full.slice(0, i), full.slice(i + 1)];
}

/** Does a yum exclude pattern list exclude this package name? */
export function isExcluded(name: string, patterns: string[]): boolean {
  return patterns.some((p) => globToRegExp(p).test(name));
}

/** The package name a yum spec refers to (one of ours), or null. */
export function yumSpecName(spec: string): string | null {
  for (const n of [...K8S_PACKAGES, 'cri-tools', 'kubernetes-cni']) {
    if (spec === n || spec.startsWith(`${n}-`) || spec.startsWith(`${n}.`)) return n;
  }
  return null;
}

// ---- repository signing keys (apt signed-by, curl Release.key | gpg --dearmor) ----------------

/**
 * The fingerprint of the key that signs a repository. pkgs.k8s.io publishes a `Release.key` per
 * minor repository; the lab gives every minor its own key (so a keyring that holds only the v1.29
 * key makes apt refuse the v1.30 repository, NO_PUBKEY). The legacy repositories were signed by
 * Google's key, whose id `B53DC80D13EDEF05` is the one of the well-known NO_PUBKEY reports.
 */
export function repoKeyFingerprint(source: RepoSource): string {
  if (source.kind === 'legacy') return 'A362B822F6DEDC652817EA46B53DC80D13EDEF05';
  const tail = (0x9a296400 + (source.minor ?? 0)).toString(16).toUpperCase();
  return `DE15B14486CD377B9E876E1A234654DA${tail}`.slice(0, 40);
}

/** The long key id apt prints (`NO_PUBKEY <id>`): the last 16 hex digits of the fingerprint. */
export function keyIdOf(fingerprint: string): string {
  return fingerprint.slice(-16);
}

const LAB_KEY_TAG = 'kupgrade-lab openpgp key ';

/** The ASCII-armored public key a repository serves (`Release.key`, `repodata/repomd.xml.key`). */
export function armoredKey(fingerprint: string): string {
  const body = Buffer.from(`${LAB_KEY_TAG}${fingerprint}\n`).toString('base64');
  return `-----BEGIN PGP PUBLIC KEY BLOCK-----\nVersion: kupgrade-lab\n\n${body}\n-----END PGP PUBLIC KEY BLOCK-----\n`;
}

/** `gpg --dearmor`: the keyring (binary in reality; a tagged line per key in the lab), or null when no OpenPGP data. */
export function dearmor(text: string): string | null {
  const out: string[] = [];
  const re =
    /-----BEGIN PGP PUBLIC KEY BLOCK-----\n(?:[A-Za-z]+: [^\n]*\n)*\n([A-Za-z0-9+/=\n]+?)\n?-----END PGP PUBLIC KEY BLOCK-----/g;
  for (const m of text.matchAll(re)) {
    const decoded = Buffer.from(m[1]!.replace(/\n/g, ''), 'base64').toString('utf8');
    if (decoded.startsWith(LAB_KEY_TAG)) out.push(decoded.trimEnd());
  }
  return out.length ? out.join('\n') + '\n' : null;
}

/** The fingerprints a keyring file holds (dearmored or armored text). */
export function keyringFingerprints(text: string | null | undefined): string[] {
  if (!text) return [];
  const plain = text.includes('BEGIN PGP PUBLIC KEY BLOCK') ? (dearmor(text) ?? '') : text;
  return [...plain.matchAll(/kupgrade-lab openpgp key ([0-9A-F]{40})/g)].map((m) => m[1]!);
}

/**
 * The key a URL serves, as curl would fetch it: `<repo>/Release.key` (deb), `<repo>/repodata/repomd.xml.key`
 * (rpm), the legacy `apt-key.gpg` / `yum-key.gpg` / `rpm-package-key.gpg`; null for anything else (404).
 */
export function keyAtUrl(url: string): string | null {
  const deb = /^(.*\/)Release\.key$/.exec(url);
  const rpm = /^(.*\/)repodata\/repomd\.xml\.key$/.exec(url);
  const base = deb?.[1] ?? rpm?.[1];
  if (base) {
    const s = classifyUrl(base, deb ? 'deb' : 'rpm');
    if (s?.kind === 'pkgs' && s.minor !== null && LAST_PATCH[s.minor] !== undefined && s.minor >= 24)
      return armoredKey(repoKeyFingerprint(s));
    return null;
  }
  if (
    /\/(apt-key|yum-key|rpm-package-key)\.gpg$/.test(url) &&
    /kubernetes|cloud\.google|dl\.k8s\.io/.test(url)
  )
    return armoredKey(repoKeyFingerprint({ kind: 'legacy', minor: null, url }));
  return null;
}
