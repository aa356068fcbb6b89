/**
 * yum/dnf, apt-get, apt-cache, apt-mark over the lab's package catalog (model/packages.ts).
 * What a node can install depends on its own repo file (sent by the shim), the repo's minor, the
 * excludes, the apt lists cache (only `apt-get update` refreshes it) and the apt holds.
 * yum is modelled as dnf 4 (EL8+), where `yum` is dnf. Many texts are RECON (see comments).
 */
import type { NodeState } from '../model/state';
import {
  availableVersions,
  isExcluded,
  isGlob,
  keyIdOf,
  keyringFingerprints,
  repoKeyFingerprint,
  type AptSource,
  globToRegExp,
  K8S_PACKAGES,
  parseAptList,
  parseYumRepoFile,
  splitFull,
  yumSpecMatches,
  yumSpecName,
  type K8sPackage,
  type YumRepo,
} from '../model/packages';
import { TIME, packageInstallMs } from '../model/time-model';
import { cmpVer, LAST_PATCH } from '../model/versions';
import type { ExecResult, ToolCall } from './types';
import {
  activeLocks,
  deadRepoFailure,
  deadRepoSkipped,
  flavourOf,
  unreachableHost,
  versionlockCommand,
  yum3LockHint,
  yum3Plugins,
  yum3Rows,
  yum3Transaction,
} from './yum-flavours';
import { lockExcludes } from '../model/versionlock';
import { ok, fail, killable, KILLED } from './types';

const SIZES: Record<string, string> = { kubeadm: '10 M', kubelet: '15 M', kubectl: '10 M' };

export function missingFault(c: ToolCall, pkg: string, version: string): boolean {
  return c.cl.state.faults.some(
    (f) =>
      f.kind === 'package-missing' &&
      f.node === c.node.name &&
      f.version === version &&
      (!f.package || f.package === pkg),
  );
}

function isK8s(name: string): name is K8sPackage {
  return (K8S_PACKAGES as readonly string[]).includes(name);
}

// ---- yum / dnf ------------------------------------------------------------------------------

interface YumOpts {
  yes: boolean;
  showDuplicates: boolean;
  disableExcludes: string[];
  /** --setopt=reposdir=DIR (kupgrade's probe lists a temporary repo this way) */
  reposdirs: string[];
  /** --disablerepo / --enablerepo in command-line order */
  repoToggles: { enable: boolean; pattern: string }[];
  /** --disableplugin=NAME[,NAME] (versionlock) */
  disablePlugins: string[];
  /** --setopt=skip_if_unavailable=B (undefined: not given) and --setopt=ID.skip_if_unavailable=B */
  skipUnavailable?: boolean;
  skipUnavailableRepo: Record<string, boolean>;
  positionals: string[];
  error: string | null;
}

const YUM_BOOL = new Set([
  '-y',
  '--assumeyes',
  '--showduplicates',
  '-q',
  '--quiet',
  '--nogpgcheck',
  '-C',
  '--cacheonly',
  '--refresh',
  '--allowerasing',
  '--best',
  '--nobest',
  '-v',
  '--verbose',
]);
const YUM_VALUE = new Set([
  '--disableexcludes',
  '--disablerepo',
  '--enablerepo',
  '--setopt',
  '--repo',
  '-d',
  '--debuglevel',
  '-e',
  '--errorlevel',
  '--exclude',
  '-x',
  '--releasever',
  '--disableplugin',
  '--enableplugin',
]);

export function parseYumArgs(argv: string[]): YumOpts {
  const o: YumOpts = {
    yes: false,
    showDuplicates: false,
    disableExcludes: [],
    reposdirs: [],
    repoToggles: [],
    disablePlugins: [],
    skipUnavailableRepo: {},
    positionals: [],
    error: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) {
      o.positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (YUM_BOOL.has(name)) {
      if (name === '-y' || name === '--assumeyes') o.yes = true;
      if (name === '--showduplicates') o.showDuplicates = true;
      continue;
    }
    if (YUM_VALUE.has(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) return { ...o, error: `argument ${name}: expected one argument` };
      if (name === '--disableexcludes') o.disableExcludes.push(...v.split(','));
      if (name === '--setopt' && /^(kubernetes\.)?disable_?excludes=/.test(v))
        o.disableExcludes.push(v.split('=')[1]!);
      if (name === '--setopt' && v.startsWith('reposdir='))
        o.reposdirs.push(
          ...v
            .slice(9)
            .split(/[,\s]+/)
            .filter(Boolean),
        );
      if (name === '--disableplugin') o.disablePlugins.push(...v.split(','));
      const skip = /^(?:([^=]+)\.)?skip_if_unavailable=(.*)$/.exec(name === '--setopt' ? v : '');
      if (skip) {
        const on = skip[2] === '1' || skip[2]!.toLowerCase() === 'true';
        if (skip[1]) o.skipUnavailableRepo[skip[1]] = on;
        else o.skipUnavailable = on;
      }
      if (name === '--disablerepo' || name === '--enablerepo') {
        for (const pattern of v.split(',')) o.repoToggles.push({ enable: name === '--enablerepo', pattern });
      }
      continue;
    }
    return { ...o, error: `unrecognized arguments: ${a}` };
  }
  return o;
}

function yumRepos(c: ToolCall, o: YumOpts): YumRepo[] {
  const dirs = (o.reposdirs.length ? o.reposdirs : ['/etc/yum.repos.d']).map((d) => d.replace(/\/+$/, ''));
  const repos: YumRepo[] = [];
  for (const [f, text] of Object.entries(c.ctx.files)) {
    if (text && f.endsWith('.repo') && dirs.includes(f.slice(0, f.lastIndexOf('/'))))
      repos.push(...parseYumRepoFile(text));
  }
  for (const t of o.repoToggles) {
    const re = globToRegExp(t.pattern);
    for (const r of repos) if (re.test(r.id)) r.enabled = t.enable;
  }
  return repos.filter((r) => r.enabled && r.source);
}

/** Every enabled repository, ours or not (a third-party one may be unreachable). */
function enabledYumRepos(c: ToolCall, o: YumOpts): YumRepo[] {
  const dirs = (o.reposdirs.length ? o.reposdirs : ['/etc/yum.repos.d']).map((d) => d.replace(/\/+$/, ''));
  const repos: YumRepo[] = [];
  for (const [f, text] of Object.entries(c.ctx.files)) {
    if (text && f.endsWith('.repo') && dirs.includes(f.slice(0, f.lastIndexOf('/'))))
      repos.push(...parseYumRepoFile(text));
  }
  for (const t of o.repoToggles) {
    const re = globToRegExp(t.pattern);
    for (const r of repos) if (re.test(r.id)) r.enabled = t.enable;
  }
  return repos.filter((r) => r.enabled);
}

/**
 * Unreachable third-party repositories: the failure to print (skip_if_unavailable False, the
 * default of dnf 4 and yum 3) or the warnings of the skipped ones.
 */
function deadRepos(c: ToolCall, o: YumOpts): { failure: ExecResult | null; warnings: string } {
  let warnings = '';
  for (const r of enabledYumRepos(c, o)) {
    const host = unreachableHost(r);
    if (!host) continue;
    const skip = o.skipUnavailableRepo[r.id] ?? r.skipIfUnavailable ?? o.skipUnavailable ?? false;
    if (skip) {
      warnings += deadRepoSkipped(flavourOf(c), r, host);
      continue;
    }
    const d = deadRepoFailure(flavourOf(c), r, host);
    return { failure: fail(1, d.stderr, d.stdout), warnings };
  }
  return { failure: null, warnings };
}

/** A repo whose minor does not exist on pkgs.k8s.io fails to download its metadata (404). */
function brokenRepo(r: YumRepo): string | null {
  if (r.source?.kind === 'pkgs' && (r.source.minor === null || LAST_PATCH[r.source.minor] === undefined)) {
    return (
      `Errors during downloading metadata for repository '${r.id}':\n` +
      `  - Status code: 404 for ${r.baseurl.replace(/\/?$/, '/')}repodata/repomd.xml (IP: 127.0.0.1)\n` +
      `Error: Failed to download metadata for repo '${r.id}': Cannot download repomd.xml: Cannot download repodata/repomd.xml: All mirrors were tried\n`
    );
  }
  return null;
}

interface Candidate {
  name: string;
  version: string;
  full: string;
  repo: string;
  excluded: boolean;
  /** excluded by the versionlock plugin (not lifted by --disableexcludes) */
  locked?: boolean;
}

function yumCandidates(c: ToolCall, o: YumOpts, resolving = false): Candidate[] {
  const out: Candidate[] = [];
  const locks = activeLocks(c, o.disablePlugins, resolving);
  for (const r of yumRepos(c, o)) {
    const lifted = o.disableExcludes.includes(r.id) || o.disableExcludes.includes('all');
    for (const name of K8S_PACKAGES) {
      for (const v of availableVersions(r.source!, 'rpm')) {
        if (missingFault(c, name, v.version)) continue;
        out.push({
          name,
          version: v.version,
          full: v.full,
          repo: r.id,
          excluded: !lifted && isExcluded(name, r.exclude),
          locked: locks !== null && lockExcludes(locks, name, v.full),
        });
      }
    }
  }
  return out;
}

function metadataLine(): string {
  const d = new Date(Date.now() - 62_000);
  const day = d.toLocaleDateString('en-US', { weekday: 'short', timeZone: 'UTC' });
  const mon = d.toLocaleDateString('en-US', { month: 'short', timeZone: 'UTC' });
  const h = d.getUTCHours();
  const hh = String(h % 12 === 0 ? 12 : h % 12).padStart(2, '0');
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  const ss = String(d.getUTCSeconds()).padStart(2, '0');
  return `Last metadata expiration check: 0:01:02 ago on ${day} ${String(d.getUTCDate()).padStart(2, '0')} ${mon} ${d.getUTCFullYear()} ${hh}:${mm}:${ss} ${h < 12 ? 'AM' : 'PM'} UTC.\n`;
}

function listRow(nameArch: string, full: string, repo: string): string {
  return `${nameArch.padEnd(41)}${full.padEnd(36)}${repo}\n`;
}

export async function yum(c: ToolCall): Promise<ExecResult> {
  const tool = c.cmdline.split(' ')[0]!;
  const o = parseYumArgs(c.argv);
  if (o.error) {
    return fail(
      2,
      `usage: ${tool} [options] COMMAND\n\nList of Main Commands:\n\n${tool}: error: ${o.error}\n`, // RECON: argparse text
    );
  }
  const [cmd, ...specs] = o.positionals;
  if (!cmd) return fail(1, `usage: ${tool} [options] COMMAND\n`);
  const yum3 = flavourOf(c) === 'yum3';
  const header = yum3 ? yum3Plugins(c, o.disablePlugins) : '';
  if (cmd === 'clean') {
    await c.cl.sleep(TIME.trivialMs);
    if (yum3) {
      const ids = enabledYumRepos(c, o).map((r) => r.id);
      return ok(
        `${header.split('\n')[0]}\nCleaning repos: ${ids.join(' ')}\nCleaning up everything\nMaybe you want: rm -rf /var/cache/yum, to also free up space taken by orphaned data from disabled or removed repos\nCleaning up list of fastest mirrors\n`,
      );
    }
    return ok(`${specs[0] === 'all' ? 24 : 0} files removed\n`);
  }
  if (cmd === 'versionlock' && ['list', 'delete', 'del', 'clear'].includes(specs[0] ?? 'list'))
    return versionlockCommand(c, tool, specs, header);
  const dead = deadRepos(c, o);
  if (dead.failure) {
    await c.cl.sleep(TIME.repoRefreshMs);
    return { ...dead.failure, stdout: header + dead.failure.stdout };
  }
  const warned = (r: ExecResult): ExecResult =>
    dead.warnings ? { ...r, stderr: dead.warnings + r.stderr } : r;
  for (const r of yumRepos(c, o)) {
    const b = brokenRepo(r);
    if (b) {
      await c.cl.sleep(TIME.repoRefreshMs);
      return fail(
        1,
        b,
        cmd === 'makecache' ? `${'Kubernetes'.padEnd(48)}  0.0  B/s |   0  B     00:00\n` : '',
      );
    }
  }
  if (cmd === 'makecache') {
    await c.cl.sleep(TIME.repoRefreshMs);
    // dnf prints each repo's name (the .repo file's name=) with its download speed
    const names = yumRepos(c, o).map((r) => `${(r.name || r.id).padEnd(48)}  45 kB/s |  9.4 kB     00:00\n`);
    return ok(names.join('') + 'Metadata cache created.\n');
  }
  if (cmd === 'list') return warned(await yumList(c, o, specs, header));
  if (cmd === 'install' || cmd === 'upgrade' || cmd === 'update' || cmd === 'downgrade')
    return warned(await yumInstall(c, o, specs, tool, header));
  if (cmd === 'versionlock') return warned(await versionlockCommand(c, tool, specs, header));
  if (cmd === 'info' || cmd === 'remove' || cmd === 'search') {
    return fail(1, `kupgrade-lab: "${tool} ${cmd}" is not simulated by the lab\n`);
  }
  // RECON: dnf 4's unknown command
  return fail(
    1,
    `No such command: ${cmd}. Please use /usr/bin/${tool} --help\nIt could be a ${tool.toUpperCase()} plugin command, try: "${tool} install 'dnf-command(${cmd})'"\n`,
  );
}

async function yumList(c: ToolCall, o: YumOpts, specs: string[], header = ''): Promise<ExecResult> {
  const yum3 = flavourOf(c) === 'yum3';
  await c.cl.sleep(TIME.repoQueryMs);
  const pats = specs.length ? specs : ['*'];
  const match = (name: string, full: string) => pats.some((s) => yumSpecMatches(s, name, full));
  // dnf applies a repo's excludes to installed packages from that repo too (hence the well-known
  // "No matching Packages to list" without --disableexcludes)
  const hidden = (name: string, repo: string) =>
    !yum3 &&
    yumRepos(c, o).some(
      (r) =>
        r.id === repo &&
        isExcluded(name, r.exclude) &&
        !o.disableExcludes.includes(r.id) &&
        !o.disableExcludes.includes('all'),
    );
  const installed = K8S_PACKAGES.map((n) => ({ name: n, ...c.node.packages[n] })).filter(
    (p) => match(p.name, p.full) && !hidden(p.name, p.repo),
  );
  const cands = yumCandidates(c, o);
  let avail = cands.filter((x) => !x.excluded && !x.locked && match(x.name, x.full));
  // yum 3 lists an installed version under Installed Packages only
  if (yum3) avail = avail.filter((x) => c.node.packages[x.name as K8sPackage].full !== x.full);
  if (!o.showDuplicates) {
    // without --showduplicates: only the newest of each name, and only if newer than installed
    const best = new Map<string, Candidate>();
    for (const a of avail)
      if (!best.has(a.name) || cmpVer(a.version, best.get(a.name)!.version) > 0) best.set(a.name, a);
    avail = [...best.values()].filter(
      (a) => cmpVer(a.version, c.node.packages[a.name as K8sPackage].version) > 0,
    );
  }
  avail.sort((a, b) => (a.name === b.name ? cmpVer(a.version, b.version) : a.name < b.name ? -1 : 1));
  if (yum3) {
    const held = cands.filter(
      (x) => x.locked && !x.excluded && cmpVer(x.version, c.node.packages[x.name as K8sPackage].version) > 0,
    ).length;
    const head = header + yum3LockHint(held);
    if (!installed.length && !avail.length) return fail(1, 'Error: No matching Packages to list\n', head);
    const rows = [
      ...installed.map((p) => ({ na: `${p.name}.x86_64`, ver: p.full, rid: `@${p.repo}` })),
      ...avail.map((a) => ({ na: `${a.name}.x86_64`, ver: a.full, rid: a.repo })),
    ];
    const text = yum3Rows(rows).map((l) => `${l}\n`);
    let out3 = head;
    if (installed.length) out3 += 'Installed Packages\n' + text.slice(0, installed.length).join('');
    if (avail.length) out3 += 'Available Packages\n' + text.slice(installed.length).join('');
    return ok(out3);
  }
  if (!installed.length && !avail.length)
    return fail(1, 'Error: No matching Packages to list\n', metadataLine());
  let out = metadataLine();
  if (installed.length) {
    out += 'Installed Packages\n';
    for (const p of installed) out += listRow(`${p.name}.x86_64`, p.full, `@${p.repo}`);
  }
  if (avail.length) {
    out += 'Available Packages\n';
    for (const a of avail) out += listRow(`${a.name}.x86_64`, a.full, a.repo);
  }
  return ok(out);
}

function rpmTable(rows: { section: string; name: string; full: string; repo: string }[]): string {
  const line = '='.repeat(80) + '\n';
  let out = 'Dependencies resolved.\n' + line;
  out +=
    ` ${'Package'.padEnd(17)}${'Architecture'.padEnd(15)}${'Version'.padEnd(27)}${'Repository'.padEnd(15)}Size\n` +
    line;
  for (const section of ['Upgrading', 'Downgrading', 'Installing']) {
    const rs = rows.filter((r) => r.section === section);
    if (!rs.length) continue;
    out += `${section}:\n`;
    for (const r of rs)
      out += ` ${r.name.padEnd(17)}${'x86_64'.padEnd(15)}${r.full.padEnd(27)}${r.repo.padEnd(15)}${SIZES[r.name] ?? '1 M'}\n`;
  }
  out += '\nTransaction Summary\n' + line;
  const up = rows.filter((r) => r.section === 'Upgrading').length;
  const down = rows.filter((r) => r.section === 'Downgrading').length;
  if (up) out += `Upgrade    ${up} Package${up > 1 ? 's' : ''}\n`;
  if (down) out += `Downgrade  ${down} Package${down > 1 ? 's' : ''}\n`;
  return out + '\n';
}

async function yumInstall(
  c: ToolCall,
  o: YumOpts,
  specs: string[],
  tool: string,
  header = '',
): Promise<ExecResult> {
  if (!specs.length) return fail(1, `Error: Need to pass a list of pkgs to install\n`); // RECON
  await c.cl.sleep(TIME.repoQueryMs);
  const cands = yumCandidates(c, o, true);
  if (flavourOf(c) === 'yum3') return yum3Install(c, o, specs, cands, header);
  const chosen: Candidate[] = [];
  let out = metadataLine();
  let err = '';
  const notFound: string[] = [];
  for (const spec of specs) {
    const name = yumSpecName(spec);
    const all = name ? cands.filter((x) => x.name === name && yumSpecMatches(spec, x.name, x.full)) : [];
    const usable = all.filter((x) => !x.excluded && !x.locked);
    if (!usable.length) {
      if (all.length) err += `All matches were filtered out by exclude filtering for argument: ${spec}\n`;
      else out += `No match for argument: ${spec}\n`;
      notFound.push(spec);
      continue;
    }
    chosen.push(usable.reduce((a, b) => (cmpVer(a.version, b.version) >= 0 ? a : b)));
  }
  if (notFound.length) return fail(1, err + `Error: Unable to find a match: ${notFound.join(' ')}\n`, out);
  const rows: { section: string; name: string; full: string; repo: string }[] = [];
  for (const x of chosen) {
    const cur = c.node.packages[x.name as K8sPackage];
    if (cur.version === x.version) {
      out += `Package ${x.name}-${x.full}.x86_64 is already installed.\n`;
      continue;
    }
    rows.push({
      section: cmpVer(x.version, cur.version) > 0 ? 'Upgrading' : 'Downgrading',
      name: x.name,
      full: x.full,
      repo: x.repo,
    });
  }
  if (!rows.length) return ok(out + 'Dependencies resolved.\nNothing to do.\nComplete!\n');
  out += rpmTable(rows);
  if (!o.yes) return fail(1, '', out + 'Is this ok [y/N]: Operation aborted.\n'); // RECON: no tty, EOF
  out += 'Downloading Packages:\n';
  // the download is the first half; a kill in the rpm transaction (second half) leaves it half done
  if (await killable(c, packageInstallMs(rows.length) / 2)) return KILLED;
  if (await killable(c, packageInstallMs(rows.length) / 2)) {
    interrupt(c, 'rpm', rows);
    return KILLED;
  }
  for (const r of rows)
    out += `${`${r.name}-${r.full}.x86_64.rpm`.padEnd(49)}24 MB/s | ${(SIZES[r.name] ?? '1 M').replace(' ', '')}B     00:00\n`;
  out +=
    'Running transaction check\nTransaction check succeeded.\nRunning transaction test\nTransaction test succeeded.\nRunning transaction\n';
  for (const r of rows) {
    const p = c.node.packages[r.name as K8sPackage];
    p.version = splitFull(r.full)[0];
    p.full = r.full;
    p.repo = r.repo;
    if (r.name === 'kubelet') c.node.needsDaemonReload = true;
  }
  c.cl.changed(c.node.name);
  const up = rows.filter((r) => r.section === 'Upgrading');
  const down = rows.filter((r) => r.section === 'Downgrading');
  if (up.length) out += '\nUpgraded:\n' + up.map((r) => `  ${r.name}-${r.full}.x86_64\n`).join('');
  if (down.length) out += '\nDowngraded:\n' + down.map((r) => `  ${r.name}-${r.full}.x86_64\n`).join('');
  void tool;
  return ok(out + '\nComplete!\n');
}

/** yum 3 (EL7): missing names are skipped (skip_missing_names_on_install), `install` never downgrades. */
async function yum3Install(
  c: ToolCall,
  o: YumOpts,
  specs: string[],
  cands: Candidate[],
  header: string,
): Promise<ExecResult> {
  const held = cands.filter(
    (x) => x.locked && !x.excluded && cmpVer(x.version, c.node.packages[x.name as K8sPackage].version) > 0,
  );
  let out = header + yum3LockHint(held.length);
  const chosen: Candidate[] = [];
  for (const spec of specs) {
    const name = yumSpecName(spec);
    const usable = name
      ? cands.filter(
          (x) => x.name === name && yumSpecMatches(spec, x.name, x.full) && !x.excluded && !x.locked,
        )
      : [];
    if (!usable.length) {
      out += `No package ${spec} available.\n`;
      continue;
    }
    chosen.push(usable.reduce((a, b) => (cmpVer(a.version, b.version) >= 0 ? a : b)));
  }
  if (!chosen.length) return fail(1, 'Error: Nothing to do\n', out);
  const rows: { section: string; name: string; full: string; from: string; repo: string; size: string }[] =
    [];
  for (const x of chosen) {
    const cur = c.node.packages[x.name as K8sPackage];
    if (cur.full === x.full) {
      out += `Package ${x.name}-${x.full}.x86_64 already installed and latest version\n`;
      continue;
    }
    if (cmpVer(x.version, cur.version) <= 0) {
      out += `Package matching ${x.name}-${x.full}.x86_64 already installed. Checking for update.\n`;
      continue;
    }
    rows.push({
      section: 'Upgrading',
      name: x.name,
      full: x.full,
      from: cur.full,
      repo: x.repo,
      size: SIZES[x.name] ?? '1 M',
    });
  }
  if (!rows.length) return ok(out + 'Nothing to do\n');
  if (!o.yes) {
    const t = yum3Transaction(rows);
    return fail(
      1,
      '',
      out + t.slice(0, t.indexOf('\nDownloading')) + '\nIs this ok [y/d/N]: Exiting on user command\n',
    ); // RECON
  }
  await c.cl.sleep(packageInstallMs(rows.length));
  for (const r of rows) {
    const p = c.node.packages[r.name as K8sPackage];
    p.version = splitFull(r.full)[0];
    p.full = r.full;
    p.repo = r.repo;
    if (r.name === 'kubelet') c.node.needsDaemonReload = true;
  }
  c.cl.changed(c.node.name);
  return ok(out + yum3Transaction(rows));
}

/**
 * A package transaction killed in its install half: the new versions are unpacked (files and
 * database entries), their configure (apt) or the old packages' erase (rpm) never ran.
 */
export function interrupt(
  c: ToolCall,
  manager: 'apt' | 'rpm',
  changes: { name: string; full: string }[],
): void {
  const previous: Record<string, string> = { ...c.node.interruptedInstall?.previous };
  const packages = new Set<K8sPackage>(c.node.interruptedInstall?.packages ?? []);
  for (const x of changes) {
    const p = c.node.packages[x.name as K8sPackage];
    if (previous[x.name] === undefined) previous[x.name] = p.full;
    p.full = x.full;
    p.version = splitFull(x.full)[0];
    packages.add(x.name as K8sPackage);
    if (x.name === 'kubelet') c.node.needsDaemonReload = true;
  }
  c.node.interruptedInstall = { manager, packages: [...packages], previous };
  // apt: what dpkg unpacked and never configured (the same state a dpkg-interrupt fault leaves)
  if (manager === 'apt') c.node.dpkgUnpacked = [...new Set([...(c.node.dpkgUnpacked ?? []), ...packages])];
  c.cl.changed(c.node.name);
}

// ---- apt ------------------------------------------------------------------------------------

/** apt's `-o Key=Value` options (kupgrade probes a repo with its own sourcelist and lists dir). */
export function aptOptions(argv: string[]): { opts: Map<string, string>; rest: string[] } {
  const opts = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let kv: string | undefined;
    if (a === '-o' || a === '--option') kv = argv[++i];
    else if (a.startsWith('--option=')) kv = a.slice(9);
    else if (a.startsWith('-o') && a.length > 2) kv = a.slice(2);
    else {
      rest.push(a);
      continue;
    }
    const eq = (kv ?? '').indexOf('=');
    if (kv && eq > 0) opts.set(kv.slice(0, eq).toLowerCase(), kv.slice(eq + 1));
  }
  return { opts, rest };
}

const DEFAULT_LISTS = '/var/lib/apt/lists';

function aptSourcesText(c: ToolCall, opts: Map<string, string>): string {
  const list = opts.get('dir::etc::sourcelist') ?? '/etc/apt/sources.list';
  const parts = opts.get('dir::etc::sourceparts') ?? '/etc/apt/sources.list.d';
  return Object.entries(c.ctx.files)
    .filter(
      ([f, t]) =>
        t &&
        (f === list ||
          (parts !== '-' &&
            f.endsWith('.list') &&
            f.slice(0, f.lastIndexOf('/')) === parts.replace(/\/+$/, ''))),
    )
    .map(([, t]) => t)
    .join('\n');
}

/** The lists cache `apt-get update` filled (per Dir::State::Lists). */
function aptListsOf(c: ToolCall, opts: Map<string, string>): string {
  const dir = (opts.get('dir::state::lists') ?? DEFAULT_LISTS).replace(/\/+$/, '');
  if (dir === DEFAULT_LISTS) return c.node.aptLists ?? '';
  return c.node.aptListsAlt?.[dir] ?? '';
}

function setAptLists(c: ToolCall, opts: Map<string, string>, text: string): void {
  const dir = (opts.get('dir::state::lists') ?? DEFAULT_LISTS).replace(/\/+$/, '');
  if (dir === DEFAULT_LISTS) c.node.aptLists = text;
  else c.node.aptListsAlt = { ...(c.node.aptListsAlt ?? {}), [dir]: text };
}

function aptCandidates(
  c: ToolCall,
  opts: Map<string, string>,
): { name: string; version: string; full: string; origin: string }[] {
  const out: { name: string; version: string; full: string; origin: string }[] = [];
  for (const s of parseAptList(aptListsOf(c, opts))) {
    for (const name of K8S_PACKAGES) {
      for (const v of availableVersions(s.source, 'deb')) {
        if (missingFault(c, name, v.version)) continue;
        out.push({ name, version: v.version, full: v.full, origin: s.madisonOrigin });
      }
    }
  }
  return out;
}

/** apt's text when dpkg left work unfinished (the 'sudo ' before the command is apt's own when run by sudo). */
const DPKG_INTERRUPTED =
  "dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem. ";

const APT_HEAD = 'Reading package lists...\nBuilding dependency tree...\nReading state information...\n';

export async function aptGet(c: ToolCall): Promise<ExecResult> {
  let yes = false;
  let allowHeld = false;
  let allowDown = false;
  const pos: string[] = [];
  const { opts, rest } = aptOptions(c.argv);
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (!a.startsWith('-')) {
      pos.push(a);
      continue;
    }
    if (a === '-y' || a === '--yes' || a === '--assume-yes' || a === '-qy' || a === '-yq') yes = true;
    else if (a === '--allow-change-held-packages') allowHeld = true;
    else if (a === '--allow-downgrades') allowDown = true;
    else if (
      [
        '-q',
        '-qq',
        '--quiet',
        '--no-install-recommends',
        '--fix-missing',
        '-f',
        '--allow-unauthenticated',
      ].includes(a)
    )
      continue;
    // RECON: apt's CommandLine error for an unknown option
    else
      return fail(
        100,
        `E: Command line option '${a.replace(/^-+/, '')}' [from ${a}] is not understood in combination with the other options.\n`,
      );
  }
  const [cmd, ...specs] = pos;
  if (!cmd) return fail(100, 'E: Invalid operation \n'); // RECON: apt-get with no verb prints its help
  if (cmd === 'update') return aptUpdate(c, opts);
  if (cmd === 'install') return aptInstall(c, specs, { yes, allowHeld, allowDown }, opts);
  if (['upgrade', 'dist-upgrade', 'remove', 'purge', 'autoremove', 'clean'].includes(cmd)) {
    return fail(100, `kupgrade-lab: "apt-get ${cmd}" is not simulated by the lab\n`);
  }
  return fail(100, `E: Invalid operation ${cmd}\n`);
}

async function aptUpdate(c: ToolCall, opts: Map<string, string>): Promise<ExecResult> {
  await c.cl.sleep(TIME.repoRefreshMs);
  const text = aptSourcesText(c, opts);
  const sources = parseAptList(text);
  let out = 'Hit:1 http://archive.ubuntu.com/ubuntu jammy InRelease\n';
  let n = 2;
  const errs: string[] = [];
  const warns: string[] = [];
  let okText = '';
  for (const s of sources) {
    const broken =
      s.source.kind === 'pkgs' && (s.source.minor === null || LAST_PATCH[s.source.minor] === undefined);
    const unsigned = broken ? null : unknownKey(c, s);
    if (unsigned) {
      // real apt: the index is refused and the source's packages are unavailable
      out += `Get:${n} ${s.updateName} [1186 B]\nErr:${n} ${s.updateName}\n  ${unsigned}\n`;
      warns.push(`W: GPG error: ${s.updateName}: ${unsigned}`);
      errs.push(
        `E: The repository '${s.repoName}' is not signed.\nN: Updating from such a repository can't be done securely, and is therefore disabled by default.\nN: See apt-secure(8) manpage for repository creation and user configuration details.`,
      );
    } else if (broken) {
      out += `Err:${n} ${s.updateName}\n  404  Not Found [IP: 127.0.0.1 443]\n`;
      errs.push(
        `E: Failed to fetch ${s.updateName.replace(/ {2}InRelease$/, '/InRelease').replace(/ /g, '/')}  404  Not Found [IP: 127.0.0.1 443]`,
      );
    } else {
      out += `Get:${n} ${s.updateName} [1186 B]\n`;
      okText += s.line + '\n';
    }
    n++;
  }
  out += `Fetched ${1186 * (n - 2)} B in 1s (1186 B/s)\nReading package lists...\n`;
  setAptLists(c, opts, okText);
  c.cl.persist();
  if (errs.length) {
    return fail(
      100,
      [...warns, ...errs].join('\n') +
        (errs.some((e) => e.startsWith('E: Failed to fetch'))
          ? '\nE: Some index files failed to download. They have been ignored, or old ones used instead.\n'
          : '\n'),
      out,
    );
  }
  return ok(out);
}

/**
 * The NO_PUBKEY text when the source's signing key is not in the keyring its `signed-by` names
 * (or, without signed-by, in /etc/apt/trusted.gpg and trusted.gpg.d); null when it is trusted.
 */
function unknownKey(c: ToolCall, s: AptSource): string | null {
  const want = repoKeyFingerprint(s.source);
  const rings = s.signedBy
    ? [c.ctx.files[s.signedBy]]
    : Object.entries(c.ctx.files)
        .filter(([f]) => f === '/etc/apt/trusted.gpg' || f.startsWith('/etc/apt/trusted.gpg.d/'))
        .map(([, t]) => t);
  if (rings.some((t) => keyringFingerprints(t).includes(want))) return null;
  return `The following signatures couldn't be verified because the public key is not available: NO_PUBKEY ${keyIdOf(want)}`;
}

async function aptInstall(
  c: ToolCall,
  specs: string[],
  o: { yes: boolean; allowHeld: boolean; allowDown: boolean },
  opts: Map<string, string>,
): Promise<ExecResult> {
  await c.cl.sleep(TIME.repoQueryMs);
  // apt takes the dpkg lock before reading anything and refuses while dpkg left packages
  // unconfigured (apt-pkg/deb/debsystem.cc: files in /var/lib/dpkg/updates)
  if (c.node.dpkgUnpacked?.length) return fail(100, `E: ${DPKG_INTERRUPTED}\n`);
  let out = APT_HEAD;
  const cands = aptCandidates(c, opts);
  const chosen: { name: K8sPackage; full: string; version: string }[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = eq < 0 ? spec : spec.slice(0, eq);
    const ver = eq < 0 ? null : spec.slice(eq + 1);
    if (!isK8s(name)) return fail(100, `E: Unable to locate package ${name}\n`, out);
    const all = cands.filter((x) => x.name === name);
    if (!all.length && !ver) return fail(100, `E: Unable to locate package ${name}\n`, out);
    const m = ver ? all.filter((x) => (isGlob(ver) ? globToRegExp(ver).test(x.full) : x.full === ver)) : all;
    if (!m.length) {
      if (ver && c.node.packages[name].full === ver) {
        chosen.push({ name, full: ver, version: c.node.packages[name].version });
        continue;
      }
      return fail(100, `E: Version '${ver}' for '${name}' was not found\n`, out);
    }
    const best = m.reduce((a, b) => (cmpVer(a.version, b.version) >= 0 ? a : b));
    chosen.push({ name, full: best.full, version: best.version });
  }
  const changes = chosen.filter((x) => c.node.packages[x.name].version !== x.version);
  for (const x of chosen.filter((y) => !changes.includes(y)))
    out += `${x.name} is already the newest version (${x.full}).\n`;
  const held = changes.filter((x) => c.node.holds.includes(x.name));
  const downs = changes.filter((x) => cmpVer(x.version, c.node.packages[x.name].version) < 0);
  const ups = changes.filter((x) => !downs.includes(x));
  if (held.length)
    out += `The following held packages will be changed:\n  ${held.map((x) => x.name).join(' ')}\n`;
  if (ups.length) out += `The following packages will be upgraded:\n  ${ups.map((x) => x.name).join(' ')}\n`;
  if (downs.length)
    out += `The following packages will be DOWNGRADED:\n  ${downs.map((x) => x.name).join(' ')}\n`;
  out += `${ups.length} upgraded, 0 newly installed, ${downs.length ? `${downs.length} downgraded, ` : ''}0 to remove and 0 not upgraded.\n`;
  if (!changes.length) return ok(out);
  if (held.length && !o.allowHeld) {
    if (!o.yes) return fail(1, '', out + 'Do you want to continue? [Y/n] Abort.\n');
    return fail(
      100,
      'E: Held packages were changed and -y was used without --allow-change-held-packages.\n',
      out,
    );
  }
  if (downs.length && !o.allowDown && o.yes) {
    return fail(100, 'E: Packages were downgraded and -y was used without --allow-downgrades.\n', out);
  }
  if (!o.yes) return fail(1, '', out + 'Do you want to continue? [Y/n] Abort.\n');
  out += `Need to get ${changes.length * 10.4} MB of archives.\nAfter this operation, 0 B of additional disk space will be used.\n`;
  // download first (a kill there leaves nothing), then dpkg unpacks and configures
  if (await killable(c, packageInstallMs(changes.length) / 2)) return KILLED;
  if (await killable(c, packageInstallMs(changes.length) / 2)) {
    interrupt(c, 'apt', changes);
    return KILLED;
  }
  changes.forEach((x, i) => {
    out += `Get:${i + 1} ${
      aptCandidates(c, opts)
        .find((y) => y.full === x.full)
        ?.origin.replace(/ {2}Packages$/, '') ?? ''
    }  ${x.name} ${x.full} [10.4 MB]\n`;
  });
  for (const x of changes) {
    out += `(Reading database ... 72713 files and directories currently installed.)\nPreparing to unpack .../${x.name}_${x.full}_amd64.deb ...\nUnpacking ${x.name} (${x.full}) over (${c.node.packages[x.name].full}) ...\n`;
  }
  const interruptFault = c.cl.hasFault('dpkg-interrupt', c.node.name);
  if (interruptFault) {
    // killed while dpkg runs: the new versions are unpacked (dpkg's database has them, status
    // unpacked), nothing is configured, the session is gone
    for (const x of changes) {
      const p = c.node.packages[x.name];
      p.version = x.version;
      p.full = x.full;
    }
    c.node.dpkgUnpacked = changes.map((x) => x.name);
    c.cl.clearFaults(interruptFault.id);
    c.cl.changed(c.node.name);
    return { stdout: out, stderr: '', exit: 137, drop: true };
  }
  for (const x of changes) {
    out += `Setting up ${x.name} (${x.full}) ...\n`;
    const p = c.node.packages[x.name];
    p.version = x.version;
    p.full = x.full;
    if (x.name === 'kubelet') c.node.needsDaemonReload = true;
  }
  c.cl.changed(c.node.name);
  return ok(out);
}

export async function aptCache(c: ToolCall): Promise<ExecResult> {
  const { opts, rest } = aptOptions(c.argv);
  const [cmd, ...names] = rest.filter((a) => !a.startsWith('-'));
  const bad = rest.find((a) => a.startsWith('-') && !['-q', '--quiet'].includes(a));
  if (bad)
    return fail(
      100,
      `E: Command line option '${bad.replace(/^-+/, '')}' [from ${bad}] is not understood in combination with the other options.\n`,
    );
  if (cmd !== 'madison' && cmd !== 'policy') return fail(100, `E: Invalid operation ${cmd ?? ''}\n`);
  await c.cl.sleep(TIME.repoQueryMs);
  const cands = aptCandidates(c, opts);
  let out = '';
  let err = '';
  for (const n of names) {
    const rows = cands.filter((x) => x.name === n).sort((a, b) => cmpVer(b.version, a.version));
    if (cmd === 'madison') {
      if (!rows.length) err += `N: Unable to locate package ${n}\n`;
      for (const r of rows) out += `${n.padStart(10)} | ${r.full} | ${r.origin}\n`;
      continue;
    }
    // policy: installed, candidate (newest in the lists), version table with the dpkg status
    const inst = isK8s(n) ? c.node.packages[n] : null;
    if (!inst && !rows.length) {
      err += `N: Unable to locate package ${n}\n`;
      continue;
    }
    out += `${n}:\n  Installed: ${inst?.full ?? '(none)'}\n  Candidate: ${rows[0]?.full ?? inst?.full ?? '(none)'}\n  Version table:\n`;
    const table = rows.map((r) => ({ full: r.full, version: r.version, origin: r.origin }));
    if (inst && !table.some((r) => r.full === inst.full))
      table.push({ full: inst.full, version: inst.version, origin: '' });
    table.sort((a, b) => cmpVer(b.version, a.version));
    for (const r of table) {
      const mine = inst?.full === r.full;
      out += `${mine ? ' *** ' : '     '}${r.full} ${r.origin ? 500 : 100}\n`;
      if (r.origin) out += `        500 ${r.origin}\n`;
      if (mine) out += '        100 /var/lib/dpkg/status\n';
    }
  }
  return ok(out, err);
}

function rpmQueryLine(n: string, full: string, fmt: string | null): string {
  if (fmt === null) return `${n}-${full}.x86_64\n`;
  const [version, release] = splitFull(full);
  const fields: Record<string, string> = {
    NAME: n,
    VERSION: version,
    RELEASE: release,
    ARCH: 'x86_64',
    EPOCH: '(none)',
  };
  return fmt
    .replace(/%\{(\w+)\}/g, (_m, k: string) => fields[k.toUpperCase()] ?? '(none)')
    .replace(/\\n/g, '\n')
    .replace(/\\t/g, '\t');
}

/** rpm -q [--qf FMT] NAME... (kupgrade reads installed versions from the rpm database) */
export async function rpm(c: ToolCall): Promise<ExecResult> {
  let query = false;
  let fmt: string | null = null;
  const names: string[] = [];
  for (let i = 0; i < c.argv.length; i++) {
    const a = c.argv[i]!;
    if (a === '-q' || a === '--query') query = true;
    else if (a === '--qf' || a === '--queryformat') fmt = c.argv[++i] ?? '';
    else if (a.startsWith('--qf=') || a.startsWith('--queryformat=')) fmt = a.slice(a.indexOf('=') + 1);
    else if (a.startsWith('-')) return fail(1, `rpm: ${a}: unknown option\n`);
    else names.push(a);
  }
  if (!query) return fail(1, 'rpm: kupgrade-lab simulates only rpm -q\n');
  if (!names.length) return fail(1, 'rpm: no arguments given for query\n');
  await c.cl.sleep(TIME.trivialMs);
  let out = '';
  let missing = 0;
  for (const n of names) {
    const p = isK8s(n) ? c.node.packages[n] : null;
    if (!p) {
      out += `package ${n} is not installed\n`;
      missing++;
      continue;
    }
    const [version, release] = splitFull(p.full);
    const fields: Record<string, string> = {
      NAME: n,
      VERSION: version,
      RELEASE: release,
      ARCH: 'x86_64',
      EPOCH: '(none)',
    };
    const prev =
      c.node.interruptedInstall?.manager === 'rpm' ? c.node.interruptedInstall.previous[n] : undefined;
    // a killed rpm transaction: the old package's erase never ran, both are in the database
    const fulls = prev !== undefined ? [prev, p.full] : [p.full];
    for (const full of fulls.slice(0, -1)) out += rpmQueryLine(n, full, fmt);
    out +=
      fmt === null
        ? `${n}-${p.full}.x86_64\n`
        : fmt
            .replace(/%\{(\w+)\}/g, (_m, k: string) => fields[k.toUpperCase()] ?? '(none)')
            .replace(/\\n/g, '\n')
            .replace(/\\t/g, '\t');
  }
  return { stdout: out, stderr: '', exit: missing };
}

/** dpkg-query -W [-f=FMT] NAME... */
export async function dpkgQuery(c: ToolCall): Promise<ExecResult> {
  let show = false;
  let fmt = '${Package}\t${Version}\n';
  const names: string[] = [];
  for (let i = 0; i < c.argv.length; i++) {
    const a = c.argv[i]!;
    if (a === '-W' || a === '--show') show = true;
    else if (a === '-f' || a === '--showformat') fmt = c.argv[++i] ?? '';
    else if (a.startsWith('-f=') || a.startsWith('--showformat=')) fmt = a.slice(a.indexOf('=') + 1);
    else if (a.startsWith('-f') && a.length > 2) fmt = a.slice(2);
    else if (a.startsWith('-'))
      return fail(
        2,
        `dpkg-query: error: unknown option ${a}\n\nUse --help for help about querying packages.\n`,
      );
    else names.push(a);
  }
  if (!show) return fail(2, 'dpkg-query: kupgrade-lab simulates only dpkg-query -W\n');
  await c.cl.sleep(TIME.trivialMs);
  let out = '';
  let err = '';
  for (const n of names) {
    const p = isK8s(n) ? c.node.packages[n] : null;
    if (!p) {
      err += `dpkg-query: no packages found matching ${n}\n`;
      continue;
    }
    const unpacked = c.node.dpkgUnpacked?.includes(n as K8sPackage) ?? false;
    const held = c.node.holds.includes(n as K8sPackage);
    const fields: Record<string, string> = {
      Package: n,
      Version: p.full,
      // killed in its configure half (kupgrade's kill model) or left unpacked (fault dpkg-interrupt)
      Status: `${held ? 'hold' : 'install'} ok ${unpacked ? (c.node.interruptedInstall?.manager === 'apt' && c.node.interruptedInstall.packages.includes(n as K8sPackage) ? 'half-configured' : 'unpacked') : 'installed'}`,
      'db:Status-Abbrev': `${held ? 'h' : 'i'}${unpacked ? 'U' : 'i'} `,
      Architecture: 'amd64',
    };
    out += fmt
      .replace(/\$\{([\w:-]+)\}/g, (_m, k: string) => fields[k] ?? '')
      .replace(/\\n/g, '\n')
      .replace(/\\t/g, '\t');
  }
  return { stdout: out, stderr: err, exit: err ? 1 : 0 };
}

export async function aptMark(c: ToolCall): Promise<ExecResult> {
  const [cmd, ...names] = c.argv.filter((a) => !a.startsWith('-'));
  await c.cl.sleep(TIME.trivialMs);
  const n: NodeState = c.node;
  if (cmd === 'showhold') return ok(n.holds.map((h) => `${h}\n`).join(''));
  if (cmd !== 'hold' && cmd !== 'unhold') return fail(100, `E: Invalid operation ${cmd ?? ''}\n`);
  if (!names.length) return fail(100, 'E: No packages found\n');
  let out = '';
  for (const name of names) {
    if (!isK8s(name)) return fail(100, `E: Unable to locate package ${name}\n`, out);
    const has = n.holds.includes(name);
    if (cmd === 'hold') {
      if (has) out += `${name} was already set on hold.\n`;
      else {
        n.holds.push(name);
        out += `${name} set on hold.\n`;
      }
    } else if (!has) out += `${name} was already not on hold.\n`;
    else {
      n.holds = n.holds.filter((h) => h !== name);
      out += `Canceled hold on ${name}.\n`;
    }
  }
  c.cl.persist();
  return ok(out);
}

/** dpkg --configure -a | --configure --pending | --audit (-C); the rest is not simulated. */
export async function dpkg(c: ToolCall): Promise<ExecResult> {
  const a = c.argv;
  await c.cl.sleep(TIME.trivialMs);
  const pending = c.node.dpkgUnpacked ?? [];
  if (a[0] === '--configure' && (a[1] === '-a' || a[1] === '--pending') && a.length === 2) {
    if (!pending.length) return ok('');
    await c.cl.sleep(packageInstallMs(pending.length));
    let out = '';
    for (const n of pending) {
      out += `Setting up ${n} (${c.node.packages[n].full}) ...\n`;
      if (n === 'kubelet') c.node.needsDaemonReload = true;
    }
    c.node.dpkgUnpacked = [];
    if (c.node.interruptedInstall?.manager === 'apt') delete c.node.interruptedInstall;
    c.cl.changed(c.node.name);
    c.cl.persist();
    return ok(out);
  }
  if ((a[0] === '--audit' || a[0] === '-C') && a.length === 1) {
    if (!pending.length) return ok('');
    const what: Record<string, string> = {
      kubeadm: 'Command-line utility for administering a Kubernetes cluster',
      kubelet: 'Node agent for Kubernetes clusters',
      kubectl: 'Command-line utility for interacting with a Kubernetes cluster',
    };
    return {
      stdout:
        'The following packages have been unpacked but not yet configured.\nThey must be configured using dpkg --configure or the configure\nmenu option in dselect for them to work:\n' +
        pending.map((n) => ` ${n.padEnd(20)} ${what[n] ?? ''}\n`).join(''),
      stderr: '',
      exit: 1,
    };
  }
  if (a[0] === '--print-architecture' && a.length === 1) return ok('amd64\n');
  return fail(2, `kupgrade-lab: "dpkg ${a.join(' ')}" is not simulated by the lab\n`);
}
