/**
 * Kubernetes package repository files. pkgs.k8s.io has one repository per minor, so every hop
 * rewrites the repo file to the hop's minor (shared/reference/nodes.md §2); `repoMinor` reads back
 * which minor a file points at, so the activity can skip a rewrite that is already done.
 */
import { isUrlTemplate } from '../inventory/patterns';
import { lines } from './common';

export type RepoMode = 'pkgs.k8s.io' | 'mirror' | 'unmanaged';

export interface RepoSpec {
  /** `1.30` */
  minor: string;
  mode: RepoMode;
  /** With `{minor}`; required for mirror, defaulted for pkgs.k8s.io. */
  urlTemplate?: string;
}

export const KUBERNETES_PACKAGES = ['kubelet', 'kubeadm', 'kubectl', 'cri-tools', 'kubernetes-cni'] as const;
export const APT_KEYRING = '/etc/apt/keyrings/kubernetes-apt-keyring.gpg';
export const YUM_REPO_FILE = '/etc/yum.repos.d/kubernetes.repo';
export const APT_LIST_FILE = '/etc/apt/sources.list.d/kubernetes.list';

function checkMinor(minor: string): string {
  const m = minor.replace(/^v/, '');
  if (!/^1\.(0|[1-9]\d{0,2})$/.test(m)) throw new Error(`not a Kubernetes minor: ${JSON.stringify(minor)}`);
  return m;
}

/** The repository base URL for a minor and package format. */
export function repoBaseUrl(spec: RepoSpec, format: 'rpm' | 'deb'): string {
  if (spec.mode === 'unmanaged')
    throw new Error('repository mode unmanaged: kupgrade does not write repo files');
  const minor = checkMinor(spec.minor);
  const template = spec.urlTemplate ?? `https://pkgs.k8s.io/core:/stable:/v{minor}/${format}/`;
  // The inventory validated the template already; check again because this text goes into a file as root.
  if (!isUrlTemplate(template)) throw new Error(`bad repository URL template: ${JSON.stringify(template)}`);
  const url = template.split('{minor}').join(minor);
  return url.endsWith('/') ? url : `${url}/`;
}

/**
 * `/etc/yum.repos.d/kubernetes.repo` for a minor. `exclude` keeps a plain `yum update` from
 * upgrading the Kubernetes packages behind kupgrade's back (installs use --disableexcludes).
 */
export function renderYumRepo(spec: RepoSpec & { exclude?: boolean | readonly string[] }): string {
  const base = repoBaseUrl(spec, 'rpm');
  const exclude =
    spec.exclude === false ? [] : Array.isArray(spec.exclude) ? spec.exclude : KUBERNETES_PACKAGES;
  return [
    `# Managed by kupgrade: Kubernetes v${checkMinor(spec.minor)} packages (rewritten at every minor hop).`,
    '[kubernetes]',
    'name=Kubernetes',
    `baseurl=${base}`,
    'enabled=1',
    'gpgcheck=1',
    `gpgkey=${base}repodata/repomd.xml.key`,
    ...(exclude.length > 0 ? [`exclude=${exclude.join(' ')}`] : []),
    '',
  ].join('\n');
}

/** `/etc/apt/sources.list.d/kubernetes.list` for a minor (flat repository: `URL /`). */
export function renderAptList(spec: RepoSpec & { keyring?: string }): string {
  const base = repoBaseUrl(spec, 'deb');
  const keyring = spec.keyring ?? APT_KEYRING;
  if (!/^\/[A-Za-z0-9._/-]+$/.test(keyring)) throw new Error(`bad keyring path: ${JSON.stringify(keyring)}`);
  return [
    `# Managed by kupgrade: Kubernetes v${checkMinor(spec.minor)} packages (rewritten at every minor hop).`,
    `deb [signed-by=${keyring}] ${base} /`,
    '',
  ].join('\n');
}

/** The signing key URL of a repository: `Release.key` for deb, `repodata/repomd.xml.key` for rpm. */
export function repoKeyUrl(spec: RepoSpec, format: 'rpm' | 'deb'): string {
  const base = repoBaseUrl(spec, format);
  return format === 'deb' ? `${base}Release.key` : `${base}repodata/repomd.xml.key`;
}

/**
 * Which minor an existing repo file (yum .repo or apt .list) points at: `1.30`, or null for a file
 * with no per-minor URL (legacy apt.kubernetes.io / yum repos, or no active entry).
 */
export function repoMinor(text: string): string | null {
  for (const raw of lines(text)) {
    const l = raw.trim();
    if (l === '' || l.startsWith('#') || l.startsWith(';')) continue;
    const url = /^baseurl\s*=\s*(\S+)/.exec(l)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(l)?.[1];
    if (!url) continue;
    const m = /[:/]v(\d+\.\d+)(?:[/:]|$)/.exec(url);
    if (m?.[1]) return m[1];
  }
  return null;
}
