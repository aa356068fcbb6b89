/**
 * What differs between the lab's two yums: dnf 4 (EL8+, where `yum` is dnf) and yum 3 (EL7,
 * `kupgrade-lab up --os el7`), plus the pieces both share that tools/packages.ts calls into:
 * third-party repositories that cannot be reached and the versionlock plugin.
 *
 * Sources: yum 3's output.py (fmtColumns/calcColumns: the `list` columns fill an 80-column line
 * when stdout is not a terminal, a value wider than its column is followed by a newline and the
 * indent of the next column), yum's "One of the configured repositories failed" text and
 * `failure: repodata/repomd.xml from <id>: [Errno 256] No more mirrors to try.`, dnf 4's
 * "Errors during downloading metadata for repository" / "Failed to download metadata for repo",
 * yum-plugin-versionlock's "Excluding N updates due to versionlock" hint, dnf-plugins-core's
 * versionlock texts. The transaction layout of yum 3's install is RECON.
 */
import type { YumRepo } from '../model/packages';
import {
  deleteMatches,
  lockEntries,
  lockEntry,
  parseVersionlockConf,
  versionlockConfPath,
  type YumFlavour,
} from '../model/versionlock';
import { TIME } from '../model/time-model';
import { K8S_PACKAGES, type K8sPackage } from '../model/packages';
import type { ExecResult, ToolCall } from './types';
import { fail, ok } from './types';

export function flavourOf(c: ToolCall): YumFlavour {
  return c.cl.spec.options?.os === 'el7' ? 'yum3' : 'dnf';
}

// ---- versionlock -----------------------------------------------------------------------------

/** The lock entries in force for this command, or null when the plugin is off for it. */
export function activeLocks(c: ToolCall, disabledPlugins: string[], resolving: boolean): string[] | null {
  const f = flavourOf(c);
  if (disabledPlugins.some((p) => p === '*' || p === 'versionlock')) return null;
  // dnf applies the locks only where it resolves a transaction; yum 3 everywhere
  if (f === 'dnf' && !resolving) return null;
  const conf = parseVersionlockConf(c.ctx.files[versionlockConfPath(f)]);
  if (!conf) return null;
  return lockEntries(c.ctx.files[conf.locklist]);
}

/** yum 3's plugin line: `Loaded plugins: fastestmirror, versionlock`. */
export function yum3Plugins(c: ToolCall, disabledPlugins: string[]): string {
  const on =
    !disabledPlugins.some((p) => p === '*' || p === 'versionlock') &&
    parseVersionlockConf(c.ctx.files[versionlockConfPath('yum3')]) !== null;
  return `Loaded plugins: fastestmirror${on ? ', versionlock' : ''}\nLoading mirror speeds from cached hostfile\n`;
}

/** yum-plugin-versionlock's hint when newer versions are held back (show_hint = 1). */
export function yum3LockHint(n: number): string {
  if (n <= 0) return '';
  return n === 1
    ? 'Excluding 1 update due to versionlock (use "yum versionlock status" to show it)\n'
    : `Excluding ${n} updates due to versionlock (use "yum versionlock status" to show them)\n`;
}

/** `yum|dnf versionlock [list|add|delete|clear] [PKG...]` */
export async function versionlockCommand(
  c: ToolCall,
  tool: string,
  args: string[],
  header: string,
): Promise<ExecResult> {
  const f = flavourOf(c);
  const conf = parseVersionlockConf(c.ctx.files[versionlockConfPath(f)]);
  if (!conf) {
    if (f === 'yum3')
      return fail(1, `No such command: versionlock. Please use /usr/bin/yum --help\n`, header); // RECON
    return fail(
      1,
      `No such command: versionlock. Please use /usr/bin/${tool} --help\nIt could be a ${tool.toUpperCase()} plugin command, try: "${tool} install 'dnf-command(versionlock)'"\n`,
    );
  }
  await c.cl.sleep(TIME.trivialMs);
  const listPath = conf.locklist;
  const current = c.ctx.files[listPath] ?? '';
  const entries = lockEntries(current);
  let [sub, ...pkgs] = args;
  if (sub === undefined) sub = 'list';
  if (!['list', 'add', 'delete', 'del', 'clear', 'exclude', 'status'].includes(sub)) {
    pkgs = [sub, ...pkgs];
    sub = 'add';
  }
  if (sub === 'list') {
    const body = entries.map((e) => `${e}\n`).join('');
    return ok(f === 'yum3' ? header + body + 'versionlock list done\n' : header + body);
  }
  if (sub === 'clear') {
    return {
      ...ok(f === 'yum3' ? header + 'versionlock cleared\n' : header),
      effects: [{ op: 'write', path: listPath, content: '' }],
    };
  }
  if (sub === 'delete' || sub === 'del') {
    const gone = entries.filter((e) => deleteMatches(e, pkgs));
    if (!gone.length)
      return f === 'yum3' ? fail(1, 'Error: Error: versionlock delete: no matches\n', header) : ok(header);
    const kept = current
      .split('\n')
      .filter((l) => !gone.includes(l.trim()))
      .join('\n');
    const out = gone.map((e) => `Deleting versionlock for: ${e}\n`).join('');
    return {
      ...ok(header + out + (f === 'yum3' ? `versionlock deleted: ${gone.length}\n` : '')),
      effects: [{ op: 'write', path: listPath, content: kept }],
    };
  }
  if (sub === 'add') {
    let out = header;
    let add = '';
    for (const p of pkgs) {
      const name = K8S_PACKAGES.find((n) => p === n || p.startsWith(`${n}-`) || p.startsWith(`${n}.`));
      if (!name) {
        out += `No package found for: ${p}\n`;
        continue;
      }
      const entry = lockEntry(f, name, c.node.packages[name as K8sPackage].full);
      if (entries.includes(entry)) {
        out += `Package already locked in equivalent form: ${entry}\n`;
        continue;
      }
      out += `Adding versionlock on: ${f === 'yum3' ? entry.replace(/\.\*$/, '') : entry}\n`;
      add += `${entry}\n`;
    }
    if (f === 'yum3') out += `versionlock added: ${add.split('\n').filter(Boolean).length}\n`;
    if (!add) return ok(out);
    const stamp = new Date().toUTCString();
    return {
      ...ok(out),
      effects: [{ op: 'write', path: listPath, content: `${current}\n# Added lock on ${stamp}\n${add}` }],
    };
  }
  return fail(1, `kupgrade-lab: "${tool} versionlock ${sub}" is not simulated by the lab\n`, header);
}

// ---- third-party repositories that cannot be reached ------------------------------------------

/**
 * A repository the node cannot reach: its host is under `.invalid` (RFC 6761: never resolves).
 * A lab user turns this on by writing such a repo file on the node, as a real node has a stale
 * docker-ce / EPEL mirror file.
 */
export function unreachableHost(r: YumRepo): string | null {
  const m = /^[a-z]+:\/\/([^/:]+)/i.exec(r.baseurl);
  return m && /\.invalid$/i.test(m[1]!) ? m[1]! : null;
}

/** What yum/dnf print when a repository's metadata cannot be downloaded (skip_if_unavailable=False). */
export function deadRepoFailure(f: YumFlavour, r: YumRepo, host: string): { stdout: string; stderr: string } {
  const repomd = `${r.baseurl.replace(/\/?$/, '/')}repodata/repomd.xml`;
  if (f === 'dnf') {
    const curl = `Curl error (6): Couldn't resolve host name for ${repomd} [Could not resolve host: ${host}]`;
    return {
      stdout: `${(r.name || r.id).padEnd(48)}  0.0  B/s |   0  B     00:00\n`,
      stderr:
        `Errors during downloading metadata for repository '${r.id}':\n  - ${curl}\n` +
        `Error: Failed to download metadata for repo '${r.id}': Cannot download repomd.xml: ${curl}\n`,
    };
  }
  const errno = `${repomd}: [Errno 14] curl#6 - "Could not resolve host: ${host}; Unknown error"`;
  return {
    stdout: '',
    stderr: `${errno}
Trying other mirror.


 One of the configured repositories failed (${r.name || r.id}),
 and yum doesn't have enough cached data to continue. At this point the only
 safe thing yum can do is fail. There are a few ways to work "fix" this:

     1. Contact the upstream for the repository and get them to fix the problem.

     2. Reconfigure the baseurl/etc. for the repository, to point to a working
        upstream. This is most often useful if you are using a newer
        distribution release than is supported by the repository (and the
        packages for the previous distribution release still work).

     3. Run the command with the repository temporarily disabled
            yum --disablerepo=${r.id} ...

     4. Disable the repository permanently, so yum won't use it by default. Yum
        will then just ignore the repository until you permanently enable it
        again or use --enablerepo for temporary usage:

            yum-config-manager --disable ${r.id}
        or
            subscription-manager repos --disable=${r.id}

     5. Configure the failing repository to be skipped, if it is unavailable.
        Note that yum will try to contact the repo. when it runs most commands,
        so will have to try and fail each time (and thus. yum will be be much
        slower). If it is a very temporary problem though, this is often a nice
        compromise:

            yum-config-manager --save --setopt=${r.id}.skip_if_unavailable=true

failure: repodata/repomd.xml from ${r.id}: [Errno 256] No more mirrors to try.
${errno}
`,
  };
}

/** The warning when a dead repository is skipped (skip_if_unavailable=True). */
export function deadRepoSkipped(f: YumFlavour, r: YumRepo, host: string): string {
  const d = deadRepoFailure(f, r, host);
  if (f === 'dnf') return d.stderr + `Ignoring repositories: ${r.id}\n`;
  return `${d.stderr.split('\n')[0]}\nTrying other mirror.\n` + ` * ${r.id}: skipping, unavailable\n`; // RECON
}

// ---- yum 3 listing and transactions -------------------------------------------------------------

/**
 * yum 3's column widths (output.py calcColumns, remainder column 1, no indent): every column but
 * the last starts at 1, the last at 0; the spare width goes, step by step, to the column where it
 * lets the most values fit (the last column only when it helps at least twice as many); what is
 * left when nothing more fits is shared among the columns that still overflow, then among the
 * first two, the odd space to the version.
 */
export function yum3Columns(values: string[][], width = 80): number[] {
  const cols = values.length;
  const data = values.map((vs) => {
    const counts = new Map<number, number>();
    for (const v of vs) counts.set(v.length, (counts.get(v.length) ?? 0) + 1);
    return [...counts.entries()].sort((a, b) => a[0] - b[0]);
  });
  const columns = [...Array<number>(cols - 1).fill(1), 0];
  let left = width - (cols - 1 + (cols - 1));
  left += 1; // the last column starts at 0: its space is taken when it grows
  const helps = (cur: number, tups: [number, number][], room: number) => {
    let n = 0;
    for (const [len, count] of tups) {
      if (room < len - cur) break;
      n += count;
    }
    return n;
  };
  while (left > 0) {
    let best = 0;
    let val = 0;
    for (let d = 0; d < cols; d++) {
      const h = helps(columns[d]!, data[d]!, left);
      if (!h) continue;
      if (best && d === cols - 1 && h / 2 < best) continue;
      if (h < best) continue;
      best = h;
      val = d;
    }
    if (best) {
      const diff = data[val]!.shift()![0] - columns[val]!;
      if (!columns[val] && val === cols - 1) left -= 1;
      columns[val] = columns[val]! + diff;
      left -= diff;
      continue;
    }
    const overflowed = data.filter((d) => d.length > 0).length;
    if (overflowed) {
      const norm = Math.floor(left / overflowed);
      for (let d = 0; d < cols; d++) {
        if (!data[d]!.length) continue;
        columns[d] = columns[d]! + norm;
        left -= norm;
      }
    }
    const first = cols - 1;
    const norm = Math.floor(left / first);
    for (let d = 0; d < first; d++) columns[d] = columns[d]! + norm;
    columns[1] = columns[1]! + (left - first * norm);
    left = 0;
  }
  return columns;
}

/**
 * yum 3's `list` rows in those columns (output.py fmtColumns): a value wider than its column is
 * followed by a newline and the indent of the next column; the last column is padded to its width.
 */
export function yum3Rows(rows: { na: string; ver: string; rid: string }[], width = 80): string[] {
  if (!rows.length) return [];
  const w = yum3Columns([rows.map((r) => r.na), rows.map((r) => r.ver), rows.map((r) => r.rid)], width);
  const out: string[] = [];
  for (const r of rows) {
    let line = '';
    let used = 0;
    for (const [i, v] of [r.na, r.ver].entries()) {
      const cw = w[i]!;
      line += v.length <= cw ? `${v.padEnd(cw)} ` : `${v}\n${' '.repeat(used + cw + 1)}`;
      used += cw + 1;
    }
    out.push(`${line}${r.rid.padEnd(w[2]!)}`);
  }
  return out;
}

/** yum 3's transaction for upgrades/downgrades, through `Complete!` (RECON layout). */
export function yum3Transaction(
  rows: { section: string; name: string; full: string; from: string; repo: string; size: string }[],
): string {
  const line = '='.repeat(80) + '\n';
  let out = 'Resolving Dependencies\n--> Running transaction check\n';
  for (const r of rows) {
    const up = r.section === 'Upgrading';
    out += `---> Package ${r.name}.x86_64 0:${r.from} will be ${up ? 'updated' : 'a downgrade'}\n`;
    out += `---> Package ${r.name}.x86_64 0:${r.full} will be ${up ? 'an update' : 'erased'}\n`;
  }
  out += '--> Finished Dependency Resolution\n\nDependencies Resolved\n\n' + line;
  out += ` ${'Package'.padEnd(16)}${'Arch'.padEnd(15)}${'Version'.padEnd(27)}${'Repository'.padEnd(16)}Size\n${line}`;
  for (const [section, title] of [
    ['Upgrading', 'Updating:'],
    ['Downgrading', 'Downgrading:'],
  ] as const) {
    const rs = rows.filter((r) => r.section === section);
    if (!rs.length) continue;
    out += `${title}\n`;
    for (const r of rs)
      out += ` ${r.name.padEnd(16)}${'x86_64'.padEnd(15)}${r.full.padEnd(27)}${r.repo.padEnd(16)}${r.size}\n`;
  }
  const up = rows.filter((r) => r.section === 'Upgrading').length;
  const down = rows.length - up;
  out += '\nTransaction Summary\n' + line;
  if (up) out += `Upgrade    ${up} Package${up > 1 ? 's' : ''}\n`;
  if (down) out += `Downgrade  ${down} Package${down > 1 ? 's' : ''}\n`;
  out +=
    '\nDownloading packages:\nRunning transaction check\nRunning transaction test\nTransaction test succeeded\nRunning transaction\n';
  const n = rows.length * 2;
  rows.forEach((r, i) => {
    out += `  ${'Updating'.padEnd(11)}: ${`${r.name}-${r.full}.x86_64`.padEnd(58)}${i + 1}/${n} \n`;
  });
  rows.forEach((r, i) => {
    out += `  ${'Cleanup'.padEnd(11)}: ${`${r.name}-${r.from}.x86_64`.padEnd(58)}${rows.length + i + 1}/${n} \n`;
  });
  if (up) {
    out += '\nUpdated:\n';
    for (const r of rows.filter((x) => x.section === 'Upgrading')) out += `  ${r.name}.x86_64 0:${r.full}\n`;
  }
  if (down) {
    out += '\nDowngraded:\n'; // RECON
    for (const r of rows.filter((x) => x.section === 'Downgrading'))
      out += `  ${r.name}.x86_64 0:${r.full}\n`;
  }
  return out + '\nComplete!\n';
}
