/**
 * The versionlock plugin as the lab models it (dnf: python3-dnf-plugin-versionlock, yum 3:
 * yum-plugin-versionlock). Facts from dnf-plugins-core's plugins/versionlock.py and yum-utils:
 * - the plugin is on when its conf file exists with `enabled = 1`; `locklist =` names the list;
 * - a lock entry is `name-epoch:version-release.*` (dnf) or `epoch:name-version-release.*` (yum 3);
 *   `!` before an entry makes it an exclude instead of a lock;
 * - every version of a locked name that no entry matches is excluded from the sack — a plugin
 *   exclude, which `--disableexcludes=<repo>` does not lift; `--disableplugin=versionlock` does, as
 *   does deleting the entry (`versionlock delete`);
 * - dnf applies the locks only to commands that resolve a transaction (install, upgrade; not
 *   `list`), yum 3 to every command.
 * Pure functions over the files' text.
 */
import { globToRegExp } from './packages';

export type YumFlavour = 'dnf' | 'yum3';

export function versionlockConfPath(f: YumFlavour): string {
  return f === 'yum3' ? '/etc/yum/pluginconf.d/versionlock.conf' : '/etc/dnf/plugins/versionlock.conf';
}

export function versionlockListPath(f: YumFlavour): string {
  return f === 'yum3' ? '/etc/yum/pluginconf.d/versionlock.list' : '/etc/dnf/plugins/versionlock.list';
}

/** The conf file the plugin package installs. */
export function versionlockConf(f: YumFlavour): string {
  return f === 'yum3'
    ? `[main]\nenabled = 1\nlocklist = ${versionlockListPath(f)}\n# Uncomment this to lock out "upgrade via. obsoletes" etc. (slower)\n# follow_obsoletes = 1\n`
    : `[main]\nenabled = 1\nlocklist = ${versionlockListPath(f)}\n`;
}

/** enabled and the locklist path, or null when the plugin is not installed or disabled. */
export function parseVersionlockConf(text: string | null | undefined): { locklist: string } | null {
  if (!text) return null;
  let enabled = false;
  let locklist = '';
  for (const raw of text.split('\n')) {
    const m = /^\s*([A-Za-z_]+)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!m) continue;
    if (m[1] === 'enabled') enabled = m[2] === '1' || m[2]!.toLowerCase() === 'true';
    if (m[1] === 'locklist') locklist = m[2]!;
  }
  return enabled && locklist ? { locklist } : null;
}

/** The entry `versionlock add` writes for an installed package. */
export function lockEntry(f: YumFlavour, name: string, full: string): string {
  return f === 'yum3' ? `0:${name}-${full}.*` : `${name}-0:${full}.*`;
}

/** The lock list's entries (comments and blank lines dropped). */
export function lockEntries(text: string | null | undefined): string[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** The package name an entry locks (either form), or null. */
export function lockedName(entry: string): string | null {
  const e = entry.replace(/^!/, '');
  const yum3 = /^\d+:(.+?)-\d[^-]*-[^-]+$/.exec(e);
  if (yum3) return yum3[1]!;
  const dnf = /^(.+?)-(?:\d+:)?\d[^-]*-[^-]+$/.exec(e);
  return dnf ? dnf[1]! : null;
}

function entryMatches(entry: string, name: string, full: string): boolean {
  const re = globToRegExp(entry.replace(/^!/, ''));
  return [`${name}-0:${full}.x86_64`, `0:${name}-${full}.x86_64`, `${name}-${full}.x86_64`].some((s) =>
    re.test(s),
  );
}

/** Is this package version excluded by the lock list? */
export function lockExcludes(entries: string[], name: string, full: string): boolean {
  const mine = entries.filter((e) => lockedName(e) === name);
  if (mine.some((e) => e.startsWith('!') && entryMatches(e, name, full))) return true;
  const locks = mine.filter((e) => !e.startsWith('!'));
  return locks.length > 0 && !locks.some((e) => entryMatches(e, name, full));
}

/** dnf's `versionlock delete` match (name, name.arch, name-version, ... fnmatch). */
export function deleteMatches(entry: string, patterns: string[]): boolean {
  const e = entry.replace(/^!/, '');
  if (patterns.includes(e)) return true;
  const name = lockedName(e);
  if (!name) return false;
  const rest = e
    .replace(/^\d+:/, '')
    .slice(name.length + 1)
    .replace(/\.\*$/, '');
  const vr = rest.replace(/^\d+:/, '');
  const version = vr.slice(0, vr.indexOf('-'));
  const forms = [name, `${name}.x86_64`, `${name}-${version}`, `${name}-${vr}`, `${name}-0:${vr}`];
  return patterns.some((p) => forms.some((f) => globToRegExp(p).test(f)));
}
