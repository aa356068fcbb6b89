/**
 * The package managers a lab node can run, by name: what differs between them when a lab is made
 * (the repository files a node starts with, the holds an install leaves, what the operating system
 * looks like) and which lab options make sense with them. The lab's side of src/packages: a name
 * of PackageManager without an entry here does not compile. The tools themselves are in
 * lab/src/tools (yum-flavours.ts, packages.ts, zypper.ts).
 */
import { aptListFile, yumRepoFile, zypperRepoFile, type LabRepoMode } from './manifests';
import {
  armoredKey,
  dearmor,
  K8S_PACKAGES,
  parseAptList,
  repoKeyFingerprint,
  type K8sPackage,
} from './packages';
import type { PackageManager } from './packages';

export interface LabPackageManager {
  format: 'rpm' | 'deb';
  /** The files under the node's root (no leading slash) its repository starts with. */
  repoFiles(mode: LabRepoMode, minor: number): [rel: string, content: string][];
  /** Packages held after the install, as the install docs say (`apt-mark hold`). */
  heldAfterInstall: readonly K8sPackage[];
  /** The apt lists file the node starts with (apt only): what `apt-get update` last read. */
  aptLists?(mode: LabRepoMode, minor: number): string;
  /** The frozen pre-2023 repository exists for this format and the lab serves it. */
  legacyRepo: boolean;
  /** The versionlock plugin (yum 3 and dnf) can lock the packages. */
  versionlock: boolean;
  /** `--os el7` (yum 3) applies. */
  el7: boolean;
  /** What `kubectl get node -o wide` shows. */
  os: { image: string; kernel: string };
}

const EL9 = { image: 'Rocky Linux 9.4 (Blue Onyx)', kernel: '5.14.0-427.13.1.el9_4.x86_64' };

const rpmRepo = (mode: LabRepoMode, minor: number): [string, string][] => [
  ['etc/yum.repos.d/kubernetes.repo', yumRepoFile(mode, minor)],
];

export const LAB_PACKAGE_MANAGERS: Record<PackageManager, LabPackageManager> = {
  yum: {
    format: 'rpm',
    repoFiles: rpmRepo,
    heldAfterInstall: [],
    legacyRepo: true,
    versionlock: true,
    el7: true,
    os: EL9,
  },
  dnf: {
    format: 'rpm',
    repoFiles: rpmRepo,
    heldAfterInstall: [],
    legacyRepo: true,
    versionlock: true,
    el7: false,
    os: EL9,
  },
  apt: {
    format: 'deb',
    repoFiles(mode, minor) {
      const list = aptListFile(mode, minor);
      // the keyring signed-by names holds the key of the repository the node starts on (and only it)
      const source = parseAptList(list)[0]!;
      return [
        ['etc/apt/sources.list.d/kubernetes.list', list],
        [source.signedBy!.slice(1), dearmor(armoredKey(repoKeyFingerprint(source.source)))!],
      ];
    },
    heldAfterInstall: K8S_PACKAGES,
    aptLists: aptListFile,
    legacyRepo: true,
    versionlock: false,
    el7: false,
    os: { image: 'Ubuntu 22.04.4 LTS', kernel: '5.15.0-105-generic' },
  },
  zypper: {
    format: 'rpm',
    repoFiles: (mode, minor) => [['etc/zypp/repos.d/kubernetes.repo', zypperRepoFile(mode, minor)]],
    heldAfterInstall: [],
    legacyRepo: false,
    versionlock: false,
    el7: false,
    os: { image: 'openSUSE Leap 15.6', kernel: '6.4.0-150600.23.25-default' },
  },
};

export const LAB_PACKAGE_MANAGER_NAMES = Object.keys(LAB_PACKAGE_MANAGERS) as PackageManager[];

export function isLabPackageManager(name: string): name is PackageManager {
  return Object.hasOwn(LAB_PACKAGE_MANAGERS, name);
}

/** Why a lab option does not fit the package manager (null: it fits). Shared by `up` and the CLI. */
export function optionMismatch(
  name: PackageManager,
  o: { repo?: LabRepoMode; os?: string; versionlock?: boolean },
): string | null {
  const m = LAB_PACKAGE_MANAGERS[name];
  if (o.repo === 'legacy' && !m.legacyRepo)
    return `--packages ${name} has no legacy repository (leave out --legacy-repo)`;
  if (o.os === 'el7' && !m.el7) return `--os el7 needs --packages yum (EL7 has yum 3, no dnf)`;
  if (o.versionlock && !m.versionlock)
    return `--versionlock is a yum/dnf plugin; --packages ${name} has none (apt holds are the apt counterpart)`;
  return null;
}
