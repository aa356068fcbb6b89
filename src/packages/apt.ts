/**
 * apt: a one-line source list whose `signed-by=` keyring holds the repository's key, holds
 * (apt-mark) lifted only for kupgrade's own install, and dpkg left interrupted by a killed install.
 *
 * Listing (`apt-cache madison`): `   kubeadm | 1.30.4-1.1 | https://pkgs.k8s.io/core:/stable:/v1.30/deb  Packages`
 */
import { cmd, sh, type ShellCommand } from '../ssh/command';
import { dpkgWasInterrupted, packagesSetUp, parseAptMadison } from '../parsers/packages';
import { tempDirPrelude, withSlash } from './common';
import type { InstalledVersions, K8sPackage, PackageManager, PackageSpec } from './types';

export const APT_LIST_FILE = '/etc/apt/sources.list.d/kubernetes.list';
export const APT_KEYRING = '/etc/apt/keyrings/kubernetes-apt-keyring.gpg';
export const PROBE_APT_FILE = '/etc/apt/sources.list.d/kupgrade-probe.list';

/** The apt source line for a URL, keeping the keyring the node already uses when it names one. */
export function renderAptList(url: string, keyring = APT_KEYRING): string {
  return `deb [signed-by=${keyring}] ${withSlash(url)} /\n`;
}

/** The keyring named by `signed-by=` in an apt list, if any. */
export function aptKeyringIn(text: string): string | undefined {
  const m = /signed-by=([^\s\]]+)/.exec(text);
  return m ? m[1] : undefined;
}

/** apt options that keep the sources, lists and cache of a probe in its temporary folder `$d`. */
function probeOptions(): ShellCommand {
  return sh`-o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache"`;
}

/** unhold → install → hold; the hold is restored on failure too, and the group ends with the install's status. */
function installCommand(pkgs: readonly PackageSpec[]): ShellCommand {
  const names = pkgs.map((p) => p.name);
  const install = sh`env DEBIAN_FRONTEND=noninteractive ${cmd('apt-get', 'install', '-y', ...pkgs.map((p) => `${p.name}=${p.full}`))}`;
  return sh`${cmd('apt-mark', 'unhold', ...names)} && { ${install}; rc=$?; ${cmd('apt-mark', 'hold', ...names)}; (exit $rc); }`;
}

const madison = (packages: readonly string[]) => cmd('apt-cache', 'madison', ...packages);

/** `apt-cache policy`: `kubelet:` then `  Installed: 1.30.4-1.1` (`(none)` when not installed). */
function parsePolicy(text: string, unfinished: ReadonlySet<string>): InstalledVersions {
  const out: InstalledVersions = {};
  let pkg: K8sPackage | undefined;
  for (const line of text.split('\n')) {
    const head = /^(kubeadm|kubelet|kubectl):\s*$/.exec(line);
    if (head) pkg = head[1] as K8sPackage;
    const inst = /^\s+Installed:\s*(\d+\.\d+\.\d+-\S+)/.exec(line);
    if (pkg && inst && out[pkg] === undefined && !unfinished.has(pkg)) out[pkg] = inst[1];
  }
  return out;
}

export const apt: PackageManager = {
  name: 'apt',
  format: 'deb',
  repoFile: APT_LIST_FILE,
  findRepoFileCommand: () =>
    sh`grep -l -E 'pkgs\\.k8s\\.io|kubernetes' /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v kupgrade-probe | head -n 1`,
  configuredUrl(text) {
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
  },
  otherRepositories: (text) =>
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^deb(-src)?\s/.test(l) && !/pkgs\.k8s\.io|kubernetes/.test(l)),
  repoFileFor: (url, current) => renderAptList(url, (current && aptKeyringIn(current)) || APT_KEYRING),
  keyUrl: (url) => `${withSlash(url)}Release.key`,
  keyringOf: (current) => (current && aptKeyringIn(current)) || APT_KEYRING,
  listCommand: (packages) => madison(packages),
  probeCommand(url, packages, keySource) {
    const opts = probeOptions();
    if (keySource) {
      return sh`${tempDirPrelude()} && mkdir -p "$d/lists/partial" "$d/cache/archives/partial" && ${keySource} | gpg --dearmor --batch --yes -o "$d/k.gpg" && printf 'deb [signed-by=%s/k.gpg] %s /\\n' "$d" ${withSlash(url)} > "$d/sources.list" && apt-get -q ${opts} update >/dev/null && ${cmd('apt-cache')} ${opts} ${cmd('madison', ...packages)}`;
    }
    return sh`${tempDirPrelude()} && mkdir -p "$d/lists/partial" "$d/cache/archives/partial" && printf '%s' ${renderAptList(url)} > "$d/sources.list" && apt-get -q ${opts} update >/dev/null && ${cmd('apt-cache')} ${opts} ${cmd('madison', ...packages)}`;
  },
  probeFileCommand(url, keySource) {
    const list = madison(['kubeadm', 'kubelet', 'kubectl']);
    if (keySource) {
      // the probe's source trusts the minor's key in a keyring of its own (never the node's keyring)
      return sh`d=$(mktemp -d) && trap 'rm -rf "$d" ${PROBE_APT_FILE}; apt-get update >/dev/null 2>&1' EXIT && ${keySource} | gpg --dearmor --batch --yes -o "$d/k.gpg" && printf 'deb [signed-by=%s/k.gpg] %s /\\n' "$d" ${withSlash(url)} > ${PROBE_APT_FILE} && apt-get update >/dev/null && ${list}`;
    }
    return sh`trap 'rm -f ${PROBE_APT_FILE}; apt-get update >/dev/null 2>&1' EXIT; printf '%s' ${renderAptList(url)} > ${PROBE_APT_FILE} && apt-get update >/dev/null && ${list}`;
  },
  parseListing: parseAptMadison,
  installCommand: (pkgs) => installCommand(pkgs),
  stepInstallCommand: (pkgs) => sh`${cmd('apt-get', 'update')} && ${installCommand(pkgs)}`,
  refreshCommand: () => cmd('apt-get', 'update'),
  installedQueryCommand: () =>
    sh`dpkg-query -W -f='\${Package} \${Version} \${db:Status-Abbrev}\\n' kubeadm kubelet kubectl`,
  installedFallback: () => ({
    name: 'policy',
    command: cmd('apt-cache', 'policy', 'kubeadm', 'kubelet', 'kubectl'),
  }),
  parseInstalledFallback: parsePolicy,
  versionMissing:
    /Version '[^']+' for '[^']+' was not found|Unable to locate package|has no installation candidate/i,
  heldBlocks: {
    pattern: /Held packages were changed/i,
    hint: 'Another held package (apt-mark showhold) is in the way; unhold it or install by hand.',
  },
  interrupted: {
    detect: dpkgWasInterrupted,
    finishCommand: () => cmd('dpkg', '--configure', '-a'),
    setUp: packagesSetUp,
    restoreCommand: (names) => cmd('apt-mark', 'hold', ...names),
  },
};
