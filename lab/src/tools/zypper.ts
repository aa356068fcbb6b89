/**
 * zypper (openSUSE, SLES) over the lab's package catalog: repositories from /etc/zypp/repos.d (or
 * --reposd-dir), `refresh`, `search` with its table (`S | Name | Type | Version | Arch |
 * Repository`; S = i+ installed, v another version installed), and `install` of exact versions
 * (`name=version-release` or `name-version-release`; a lower version needs --oldpackage). A
 * version no repository offers is `No provider of 'SPEC' found.` (exit 104). Locks (addlock) are
 * not modelled. Texts follow zypper's sources; the progress lines are RECON.
 */
import {
  availableVersions,
  parseYumRepoFile,
  splitFull,
  K8S_PACKAGES,
  type K8sPackage,
} from '../model/packages';
import { TIME, packageInstallMs } from '../model/time-model';
import { cmpVer } from '../model/versions';
import { missingFault, interrupt } from './packages';
import { fail, killable, KILLED, ok, type ExecResult, type ToolCall } from './types';

/** ZYPPER_EXIT_INF_CAP_NOT_FOUND: a capability (package) asked for was not found. */
const EXIT_CAP_NOT_FOUND = 104;
const LOADING = 'Loading repository data...\nReading installed packages...\n';

interface Opts {
  reposd: string;
  repos: string[];
  details: boolean;
  oldpackage: boolean;
  nonInteractive: boolean;
  positionals: string[];
  error?: string;
}

const VALUE_OPTS = new Set(['--reposd-dir', '-D', '--cache-dir', '-C', '--repo', '-r', '--root', '-R']);
const FLAGS = new Set([
  '--non-interactive',
  '-n',
  '--gpg-auto-import-keys',
  '--no-gpg-checks',
  '--quiet',
  '-q',
  '--details',
  '-s',
  '--match-exact',
  '-x',
  '--oldpackage',
  '--no-refresh',
  '--force',
  '-f',
  '-y',
  '--no-confirm',
]);

export function parseZypperArgs(argv: string[]): Opts {
  const o: Opts = {
    reposd: '/etc/zypp/repos.d',
    repos: [],
    details: false,
    oldpackage: false,
    nonInteractive: false,
    positionals: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const key = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (VALUE_OPTS.has(key)) {
      const v = key === a ? argv[++i] : a.slice(eq + 1);
      if (v === undefined) return { ...o, error: `Missing argument for ${a}` };
      if (key === '--reposd-dir' || key === '-D') o.reposd = v.replace(/\/+$/, '');
      if (key === '--repo' || key === '-r') o.repos.push(v);
      continue;
    }
    if (FLAGS.has(a)) {
      if (a === '--details' || a === '-s') o.details = true;
      if (a === '--oldpackage') o.oldpackage = true;
      if (a === '--non-interactive' || a === '-n' || a === '-y' || a === '--no-confirm')
        o.nonInteractive = true;
      continue;
    }
    if (a.startsWith('-')) return { ...o, error: `Unknown option '${a}'` };
    o.positionals.push(a);
  }
  return o;
}

interface Repo {
  id: string;
  name: string;
  versions: { name: K8sPackage; version: string; full: string }[];
}

function reposOf(c: ToolCall, o: Opts): Repo[] {
  const out: Repo[] = [];
  for (const [f, text] of Object.entries(c.ctx.files)) {
    if (!text || !f.endsWith('.repo') || f.slice(0, f.lastIndexOf('/')) !== o.reposd) continue;
    for (const r of parseYumRepoFile(text)) {
      if (!r.enabled || !r.source || (o.repos.length && !o.repos.includes(r.id))) continue;
      const versions = K8S_PACKAGES.flatMap((name) =>
        availableVersions(r.source!, 'rpm')
          .filter((v) => !missingFault(c, name, v.version))
          .map((v) => ({ name, ...v })),
      );
      out.push({ id: r.id, name: r.name || r.id, versions });
    }
  }
  return out;
}

/** zypper's table: columns padded to their widest cell, ` | ` between them, `-+-` under the header. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join(' | ')
      .trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('-+-');
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join('\n') + '\n';
}

async function search(c: ToolCall, o: Opts, names: string[]): Promise<ExecResult> {
  await c.cl.sleep(TIME.repoQueryMs);
  const rows: string[][] = [];
  for (const name of [...names].sort()) {
    if (!(K8S_PACKAGES as readonly string[]).includes(name)) continue;
    const inst = c.node.packages[name as K8sPackage];
    const avail = reposOf(c, o).flatMap((r) =>
      r.versions.filter((v) => v.name === name).map((v) => ({ ...v, repo: r.name })),
    );
    avail.sort((a, b) => cmpVer(b.version, a.version));
    if (!avail.some((a) => a.full === inst.full) && !o.repos.length)
      rows.push(['i+', name, 'package', inst.full, 'x86_64', '(System Packages)']);
    for (const a of avail)
      rows.push([a.full === inst.full ? 'i+' : 'v', name, 'package', a.full, 'x86_64', a.repo]);
  }
  if (!rows.length) return fail(EXIT_CAP_NOT_FOUND, '', `${LOADING}No matching items found.\n`);
  const head = o.details
    ? ['S', 'Name', 'Type', 'Version', 'Arch', 'Repository']
    : ['S', 'Name', 'Summary', 'Type'];
  const body = o.details ? rows : rows.map((r) => [r[0]!, r[1]!, `${r[1]} for Kubernetes`, 'package']);
  return ok(`${LOADING}\n${table([head, ...body])}`);
}

/** `kubeadm=1.30.4-150500.1.1`, `kubeadm-1.30.4-150500.1.1` or `kubeadm` → name and wanted full version. */
function specOf(spec: string): { name: string; full?: string } {
  const eq = /^([a-z0-9-]+?)=(\S+)$/.exec(spec);
  if (eq) return { name: eq[1]!, full: eq[2]! };
  const dash = /^(kubeadm|kubelet|kubectl)-(\d\S*)$/.exec(spec);
  if (dash) return { name: dash[1]!, full: dash[2]! };
  return { name: spec };
}

async function install(c: ToolCall, o: Opts, specs: string[]): Promise<ExecResult> {
  if (!specs.length) return fail(1, 'Too few arguments. At least one package name is required.\n'); // RECON
  await c.cl.sleep(TIME.repoQueryMs);
  const avail = reposOf(c, o).flatMap((r) => r.versions.map((v) => ({ ...v, repo: r.name })));
  let out = LOADING;
  const chosen: { name: K8sPackage; full: string; version: string; repo: string }[] = [];
  for (const s of specs) {
    const { name, full } = specOf(s);
    const match = avail
      .filter((a) => a.name === name && (full === undefined || a.full === full))
      .sort((a, b) => cmpVer(b.version, a.version))[0];
    if (!match) return fail(EXIT_CAP_NOT_FOUND, `No provider of '${s}' found.\n`, out);
    const cur = c.node.packages[match.name];
    if (cur.full === match.full) {
      out += `'${match.name}-${match.full}.x86_64' is already installed.\n`;
      continue;
    }
    if (cmpVer(match.version, cur.version) < 0 && !o.oldpackage) {
      out += `The selected package '${match.name}-${match.full}.x86_64' from repository '${match.repo}' has lower version than the installed one. Use 'zypper install --oldpackage ${match.name}-${match.full}.x86_64' to force installation of the package.\n`;
      continue;
    }
    chosen.push(match);
  }
  out += 'Resolving package dependencies...\n\n';
  if (!chosen.length) return ok(out + 'Nothing to do.\n');
  const names = chosen.map((x) => x.name).join(' ');
  out += `The following ${chosen.length} package${chosen.length > 1 ? 's are' : ' is'} going to be upgraded:\n  ${names}\n\n`;
  if (!o.nonInteractive)
    return fail(1, '', out + 'Continue? [y/n/v/...? shows all options] (y): \nAborting.\n'); // RECON: no tty
  out += 'Continue? [y/n/v/...? shows all options] (y): y\n';
  // the download is the first half; a kill in the rpm transaction (second half) leaves it half done
  if (await killable(c, packageInstallMs(chosen.length) / 2)) return KILLED;
  if (await killable(c, packageInstallMs(chosen.length) / 2)) {
    interrupt(c, 'rpm', chosen);
    return KILLED;
  }
  chosen.forEach((x, i) => {
    out += `(${i + 1}/${chosen.length}) Installing: ${x.name}-${x.full}.x86_64 ...........[done]\n`;
    const p = c.node.packages[x.name];
    p.version = splitFull(x.full)[0];
    p.full = x.full;
    p.repo = 'kubernetes';
    if (x.name === 'kubelet') c.node.needsDaemonReload = true;
  });
  c.cl.changed(c.node.name);
  return ok(out);
}

export async function zypper(c: ToolCall): Promise<ExecResult> {
  const o = parseZypperArgs(c.argv);
  if (o.error) return fail(1, `${o.error}\n`); // RECON
  const [cmd, ...rest] = o.positionals;
  if (cmd === 'refresh' || cmd === 'ref') {
    await c.cl.sleep(TIME.repoRefreshMs);
    const names = [...new Set(reposOf(c, o).map((r) => r.name))];
    return ok(
      names
        .map(
          (n) =>
            `Retrieving repository '${n}' metadata ....[done]\nBuilding repository '${n}' cache ....[done]\n`,
        )
        .join('') + 'All repositories have been refreshed.\n',
    );
  }
  if (cmd === 'search' || cmd === 'se') return search(c, o, rest);
  if (cmd === 'install' || cmd === 'in') return install(c, o, rest);
  return fail(1, `kupgrade-lab: "zypper ${cmd ?? ''}" is not simulated by the lab\n`);
}
