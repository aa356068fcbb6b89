/**
 * yum (EL7's yum 3, and EL8+'s yum that is dnf) and, with the same commands, dnf: the repo file
 * of the install-kubeadm docs (`exclude=` lifted with `--disableexcludes=kubernetes`), listings
 * that ignore the versionlock plugin, and a retry with only the kubernetes repository enabled when
 * a third-party repository cannot be reached.
 *
 * Listing: `kubeadm.x86_64   1.30.4-150500.1.1   kubernetes` (`@kubernetes` when installed).
 */
import { cmd, sh, type ShellCommand } from '../ssh/command';
import {
  filteredSpecs,
  parseVersionlockList,
  parseYumShowDuplicates,
  unreachableRepos,
} from '../parsers/packages';
import {
  KUBERNETES_REPO_ID,
  RPM_MD_REPOSITORY,
  iniRepo,
  installedRows,
  rpmQueryCommand,
  tempDirPrelude,
  withSlash,
} from './common';
import { K8S_PACKAGES, type PackageManager, type PackageSpec } from './types';

export const YUM_REPO_FILE = '/etc/yum.repos.d/kubernetes.repo';
export const PROBE_YUM_FILE = '/etc/yum.repos.d/kupgrade-probe.repo';

/**
 * Listings show what the repository offers, whatever the versionlock plugin holds back (yum 3
 * applies the locks to `list` too); an install does not lift a lock (package-install.ts).
 */
export const LISTING_WITHOUT_LOCKS = '--disableplugin=versionlock';

/** Options that leave only the kubernetes repository enabled (a third-party one is dead). */
export const KUBERNETES_REPO_ONLY: readonly string[] = [
  '--disablerepo=*',
  `--enablerepo=${KUBERNETES_REPO_ID}`,
];

/** The .repo file for a URL (install-kubeadm layout; excludes lifted with --disableexcludes). */
export function renderYumRepo(url: string, id = KUBERNETES_REPO_ID, gpgkey?: string): string {
  const base = withSlash(url);
  return iniRepo(id, [
    ['name', 'Kubernetes'],
    ['baseurl', base],
    ['enabled', '1'],
    ['gpgcheck', '1'],
    ['gpgkey', gpgkey ?? `${base}repodata/repomd.xml.key`],
    ['exclude', 'kubelet kubeadm kubectl cri-tools kubernetes-cni'],
  ]);
}

/** The lock lists of the versionlock plugins that are enabled (dnf, then yum 3); read-only. */
export function readVersionlocksCommand(): ShellCommand {
  return sh`for d in /etc/dnf/plugins /etc/yum/pluginconf.d; do if grep -qsE '^[[:space:]]*enabled[[:space:]]*=[[:space:]]*(1|[Tt]rue)' "$d/versionlock.conf"; then cat "$d/versionlock.list" 2>/dev/null; fi; done; true`;
}

/** yum and dnf take the same commands; only the tool name (and how to disable a repo) differ. */
export function yumStyle(tool: 'yum' | 'dnf', disableCommand: string): PackageManager {
  const list = (packages: readonly string[], options: readonly string[] = []) =>
    cmd(
      tool,
      ...options,
      'list',
      '--showduplicates',
      ...packages,
      `--disableexcludes=${KUBERNETES_REPO_ID}`,
      LISTING_WITHOUT_LOCKS,
    );
  const install = (pkgs: readonly PackageSpec[], options: readonly string[] = []) =>
    cmd(
      tool,
      ...options,
      'install',
      '-y',
      ...pkgs.map((p) => `${p.name}-${p.full}`),
      `--disableexcludes=${KUBERNETES_REPO_ID}`,
    );
  const parseListing = (text: string) => {
    const { installed, available } = parseYumShowDuplicates(text);
    return [...installed, ...available];
  };
  return {
    name: tool,
    format: 'rpm',
    repoFile: YUM_REPO_FILE,
    findRepoFileCommand: () =>
      sh`grep -l '^\\[kubernetes\\]' /etc/yum.repos.d/*.repo 2>/dev/null | grep -v kupgrade-probe | head -n 1`,
    ...RPM_MD_REPOSITORY,
    repoFileFor: (url, _current, key) => renderYumRepo(url, KUBERNETES_REPO_ID, key.gpgkey),
    listCommand: list,
    probeCommand: (url, packages) =>
      sh`${tempDirPrelude()} && printf '%s' ${renderYumRepo(url)} > "$d/kubernetes.repo" && ${cmd(tool)} --setopt=reposdir="$d" --setopt=cachedir="$d/cache" ${cmd('list', '--showduplicates', ...packages, `--disableexcludes=${KUBERNETES_REPO_ID}`, LISTING_WITHOUT_LOCKS)}`,
    probeFileCommand: (url) =>
      sh`trap 'rm -f ${PROBE_YUM_FILE}' EXIT; printf '%s' ${renderYumRepo(url, 'kupgrade-probe')} > ${PROBE_YUM_FILE} && ${tool} list --showduplicates kubeadm kubelet kubectl --disablerepo='*' --enablerepo=kupgrade-probe --disableexcludes=all`,
    parseListing,
    installCommand: install,
    stepInstallCommand: install,
    refreshCommand: () => cmd(tool, 'clean', 'all'),
    installedQueryCommand: rpmQueryCommand,
    // the installed rows (`@repo`) of the listing: useful where rpm is not the package database
    installedFallback: () => ({ name: 'list', command: list(K8S_PACKAGES) }),
    parseInstalledFallback: (text) => installedRows(parseListing(text)),
    versionMissing:
      /No package .* available|No match for argument|Unable to find a match|No matching Packages to list/i,
    repoOnly: {
      repoId: KUBERNETES_REPO_ID,
      options: KUBERNETES_REPO_ONLY,
      unreachable: unreachableRepos,
      disableCommand,
    },
    locks: {
      readCommand: readVersionlocksCommand,
      parse: parseVersionlockList,
      blocked: (out) => filteredSpecs(out).length > 0,
    },
  };
}

export const yum = yumStyle('yum', 'yum-config-manager --disable');
