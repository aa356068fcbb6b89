/** Helpers shared by the package managers' command builders. */
import { sh, type ShellCommand } from '../ssh/command';
import type { PackageVersion } from '../parsers/packages';
import { K8S_PACKAGES, type InstalledVersions, type K8sPackage, type PackageManager } from './types';

/** The repo id the runbook and the Kubernetes docs use (`--disableexcludes=kubernetes`). */
export const KUBERNETES_REPO_ID = 'kubernetes';

export function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** A temporary folder `$d`, removed when the command exits. */
export function tempDirPrelude(): ShellCommand {
  return sh`d=$(mktemp -d) && trap 'rm -rf "$d"' EXIT`;
}

/** `rpm -q` of the kubernetes packages: `kubeadm 1.30.4-150500.1.1` lines. */
export function rpmQueryCommand(): ShellCommand {
  return sh`rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}\\n' kubeadm kubelet kubectl`;
}

/** The installed rows of a listing (our packages, stable versions), as installed versions. */
export function installedRows(rows: readonly PackageVersion[]): InstalledVersions {
  const out: InstalledVersions = {};
  for (const r of rows) {
    if (!r.installed || !isK8sPackage(r.name) || !/^\d+\.\d+\.\d+$/.test(r.upstream)) continue;
    if (out[r.name] === undefined) out[r.name] = r.version;
  }
  return out;
}

export function isK8sPackage(name: string): name is K8sPackage {
  return (K8S_PACKAGES as readonly string[]).includes(name);
}

/** The repository ids of an ini repository file (yum, dnf, zypper), `[id]` sections in order. */
export function iniSections(text: string): string[] {
  return [...text.matchAll(/^\s*\[([^\]]+)\]/gm)].map((m) => m[1].trim());
}

/** The first `baseurl=` of an ini repository file. */
export function iniBaseurl(text: string): string | undefined {
  const m = /^\s*baseurl\s*=\s*(\S+)/m.exec(text);
  return m ? m[1] : undefined;
}

/** An ini repository file (yum, dnf, zypper): `[id]` then one `key=value` line per entry. */
export function iniRepo(id: string, entries: readonly (readonly [string, string])[]): string {
  return [`[${id}]`, ...entries.map(([k, v]) => `${k}=${v}`), ''].join('\n');
}

/** What the rpm-md managers (yum, dnf, zypper) read from a .repo file and where the key is. */
export const RPM_MD_REPOSITORY: Pick<PackageManager, 'configuredUrl' | 'otherRepositories' | 'keyUrl'> = {
  configuredUrl: iniBaseurl,
  otherRepositories: (text) => iniSections(text).filter((id) => id !== KUBERNETES_REPO_ID),
  keyUrl: (url) => `${withSlash(url)}repodata/repomd.xml.key`,
};
