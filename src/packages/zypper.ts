/**
 * zypper (openSUSE, SLES): the pkgs.k8s.io rpm repositories, defined in /etc/zypp/repos.d with the
 * keys zypper itself writes (rpm-md, autorefresh). zypper has no `exclude=`: nothing to lift, and
 * a lock (`zypper addlock`) is the operator's, left alone. Installs name the exact version as a
 * capability (`kubeadm=1.30.4-150500.1.1`) with --oldpackage, so a downgrade is an install too.
 *
 * Listing (`zypper search --details --match-exact`):
 *   `i+ | kubeadm | package | 1.30.4-150500.1.1 | x86_64 | Kubernetes`
 */
import { cmd, sh, type ShellCommand } from '../ssh/command';
import { parseZypperSearch } from '../parsers/packages';
import * as common from './common';
import { K8S_PACKAGES, type PackageManager, type PackageSpec } from './types';

export const ZYPPER_REPO_FILE = '/etc/zypp/repos.d/kubernetes.repo';
export const PROBE_ZYPPER_FILE = '/etc/zypp/repos.d/kupgrade-probe.repo';

/** The .repo file for a URL, as `zypper addrepo` writes one. */
export function renderZypperRepo(url: string, id = common.KUBERNETES_REPO_ID, gpgkey?: string): string {
  const base = common.withSlash(url);
  return common.iniRepo(id, [
    ['name', 'Kubernetes'],
    ['enabled', '1'],
    ['autorefresh', '1'],
    ['baseurl', base],
    ['type', 'rpm-md'],
    ['gpgcheck', '1'],
    ['gpgkey', gpgkey ?? `${base}repodata/repomd.xml.key`],
  ]);
}

const search = (packages: readonly string[]) => cmd('search', '--details', '--match-exact', ...packages);

function install(pkgs: readonly PackageSpec[]): ShellCommand {
  return cmd(
    'zypper',
    '--non-interactive',
    'install',
    '--oldpackage',
    ...pkgs.map((p) => `${p.name}=${p.full}`),
  );
}

export const zypper: PackageManager = {
  name: 'zypper',
  format: 'rpm',
  repoFile: ZYPPER_REPO_FILE,
  findRepoFileCommand: () =>
    sh`grep -l '^\\[kubernetes\\]' /etc/zypp/repos.d/*.repo 2>/dev/null | grep -v kupgrade-probe | head -n 1`,
  ...common.RPM_MD_REPOSITORY,
  repoFileFor: (url, _current, key) => renderZypperRepo(url, common.KUBERNETES_REPO_ID, key.gpgkey),
  listCommand: (packages) => sh`${cmd('zypper', '--non-interactive')} ${search(packages)}`,
  // a listing only reads metadata: the probe's repository is not trusted into the rpm keyring
  probeCommand: (url, packages) =>
    sh`${common.tempDirPrelude()} && printf '%s' ${renderZypperRepo(url)} > "$d/kubernetes.repo" && ${cmd('zypper', '--non-interactive', '--no-gpg-checks')} --reposd-dir "$d" --cache-dir "$d/cache" ${search(packages)}`,
  probeFileCommand: (url) =>
    sh`trap 'rm -f ${PROBE_ZYPPER_FILE}' EXIT; printf '%s' ${renderZypperRepo(url, 'kupgrade-probe')} > ${PROBE_ZYPPER_FILE} && ${cmd('zypper', '--non-interactive', '--no-gpg-checks')} ${cmd('search', '--details', '--match-exact', '--repo', 'kupgrade-probe', ...K8S_PACKAGES)}`,
  parseListing: parseZypperSearch,
  installCommand: install,
  stepInstallCommand: install,
  // gpgkey= of the repository file is imported, as yum does with -y
  refreshCommand: () => cmd('zypper', '--non-interactive', '--gpg-auto-import-keys', 'refresh'),
  installedQueryCommand: common.rpmQueryCommand,
  installedFallback: () => ({ name: 'list', command: zypper.listCommand(K8S_PACKAGES) }),
  parseInstalledFallback: (text) => common.installedRows(parseZypperSearch(text)),
  versionMissing: /No provider of '[^']+' found|Package '[^']+' not found|No matching items found/i,
};
