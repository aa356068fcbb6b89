// The mount table of a node's SSH sessions, written once per node when the lab's sshd starts
// (DIR/ssh/fstab/NODE, with @SLOT@ standing for the work dirs of the node's namespace) and used by the
// node shell (node-shell-script.ts) with `mount -a -T` in the node's mount namespace:
// /etc is an overlay whose upper layer is DIR/nodes/NODE/etc, /var/lib/kubelet and /var/lib/etcd
// are DIR/nodes/NODE/var/lib/{kubelet,etcd}, the other writable top-level directories
// (OVERLAID_DIRS) are private overlays under DIR/nodes/NODE/.root, and every lab tool in DIR/bin is
// bind-mounted over the host's copy of that tool, so that not even an absolute path reaches the
// host's apt-get, systemctl or swapon.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HOST_TOOL_DIRS, LAB_TOOLS, OVERLAID_DIRS, missingToolPath, nodeRoot, workBase } from './paths';

/**
 * Where the real DIR is bound before any overlay may hide it: a private tmpfs on the first of
 * these directories that exists (never one of OVERLAID_DIRS).
 */
const STAGE_PARENTS = ['/mnt', '/media'];
/** Directories of the host's /etc that a non-root lab pre-creates in the node's upper layer. */
const NONROOT_ETC_DIRS = [
  'apt',
  'apt/sources.list.d',
  'apt/keyrings',
  'apt/preferences.d',
  'apt/apt.conf.d',
  'yum.repos.d',
  'default',
  'sysconfig',
  'systemd/system',
  'sysctl.d',
  'modules-load.d',
];
/** Placeholder in a node's fstab for its namespace's work dirs (DIR/nodes/NODE/.work/<ns…>/…). */
export const SLOT_PLACEHOLDER = '@SLOT@';

/** The real paths of the host's copies of `tool` (symlinks resolved, duplicates dropped). */
function hostCopies(tool: string): string[] {
  const out = new Set<string>();
  for (const d of HOST_TOOL_DIRS) {
    const p = `${d}/${tool}`;
    try {
      out.add(fs.realpathSync(p));
    } catch {
      // not on this host
    }
  }
  return [...out];
}

function isUnder(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith('/') ? parent : parent + '/');
}

/**
 * The per-session fstab: stage DIR, overlays, the node's kubelet/etcd dirs, the lab tools over
 * the host's tools, and DIR again where an overlay hid it. Entries are mounted in order.
 */
export function mountTable(dir: string, node: string, work: string, root: boolean): string {
  const nroot = nodeRoot(dir, node);
  const stageParent = STAGE_PARENTS.find((p) => fs.existsSync(p));
  if (!stageParent)
    throw new Error(`none of ${STAGE_PARENTS.join(', ')} exists: the node shell needs one to stage ${dir}`);
  const stage = `${stageParent}/.kupgrade-lab/dir`;
  const staged = (p: string): string => stage + p.slice(dir.length);
  const lines: string[] = [];
  const add = (src: string, target: string, type: string, opts: string): void => {
    lines.push(`${src} ${target} ${type} ${opts} 0 0`);
  };
  add('tmpfs', stageParent, 'tmpfs', 'mode=0755,size=64k');
  add(dir, stage, 'none', 'bind,X-mount.mkdir');
  // a node has no systemd of its own (systemctl is the lab's stand-in): on a host booted with
  // systemd, hide /run/systemd so that nothing on the node (kupgrade's detached steps test
  // /run/systemd/system, as sd_booted does) hands a command to the HOST's systemd
  if (fs.existsSync('/run/systemd/system')) add('tmpfs', '/run/systemd', 'tmpfs', 'mode=0755,size=64k');
  const ux = root ? '' : ',userxattr';
  let dirHidden = false;
  const overlaid = new Map<string, string>();
  for (const d of OVERLAID_DIRS) {
    if (!fs.existsSync(d) || isUnder(d, dir)) continue;
    if (isUnder(dir, d)) dirHidden = true;
    const name = d.slice(1).replace(/\//g, '_');
    const upper = d === '/etc' ? path.join(nroot, 'etc') : path.join(nroot, '.root', name);
    if (!fs.existsSync(upper)) {
      fs.mkdirSync(upper, { recursive: true });
      fs.chmodSync(upper, fs.statSync(d).mode & 0o7777);
    }
    const wd = path.join(work, name);
    overlaid.set(d, upper);
    add(
      'overlay',
      d,
      'overlay',
      `lowerdir=${d},upperdir=${staged(upper)},workdir=${staged(wd)},index=off${ux}`,
    );
  }
  const varUpper = overlaid.get('/var');
  if (!varUpper)
    throw new Error('/var could not be overlaid: refusing to create /var/lib/kubelet on the host');
  for (const sub of ['kubelet', 'etcd']) {
    // the mountpoint is made in the /var overlay's upper layer, never on the host
    fs.mkdirSync(path.join(varUpper, 'lib', sub), { recursive: true });
    add(staged(path.join(nroot, 'var', 'lib', sub)), `/var/lib/${sub}`, 'none', 'bind');
  }
  const bin = path.join(dir, 'bin');
  let provided: string[] = [];
  try {
    provided = fs.readdirSync(bin);
  } catch {
    // no shims yet: every lab tool is then the missing-tool stand-in
  }
  const tools = new Set<string>([...LAB_TOOLS, ...provided]);
  for (const tool of tools) {
    const src = provided.includes(tool) ? path.join(bin, tool) : missingToolPath(dir);
    const copies = hostCopies(tool).filter((t) => !isUnder(t, dir));
    for (const target of copies) add(staged(src), target, 'none', 'bind');
    const localBin = overlaid.get('/usr/local/bin');
    if (copies.length === 0 && localBin && provided.includes(tool)) {
      try {
        fs.symlinkSync(path.join(bin, tool), path.join(localBin, tool));
      } catch {
        // already linked
      }
    }
  }
  if (dirHidden) add(stage, dir, 'none', 'bind');
  return lines.join('\n') + '\n';
}

/** The names of the per-session overlay work dirs (one per overlaid directory of this host). */
export function workDirNames(labDir: string): string[] {
  const dir = fs.realpathSync(labDir);
  return OVERLAID_DIRS.filter((d) => fs.existsSync(d) && !isUnder(d, dir)).map((d) =>
    d.slice(1).replace(/\//g, '_'),
  );
}

export function fstabTemplatePath(dir: string, node: string): string {
  return path.join(dir, 'ssh', 'fstab', node);
}

/** Writes DIR/ssh/fstab/NODE (and the node's upper dirs); the lab's sshd is not serving it yet. */
export function writeFstabTemplate(labDir: string, node: string): void {
  // the real path: the mount table compares it with the overlaid directories
  const dir = fs.realpathSync(labDir);
  const root = process.getuid?.() === 0;
  if (!root) {
    for (const d of NONROOT_ETC_DIRS) {
      if (fs.existsSync(`/etc/${d}`))
        fs.mkdirSync(path.join(nodeRoot(dir, node), 'etc', d), { recursive: true });
    }
  }
  fs.mkdirSync(workBase(dir, node), { recursive: true });
  const work = path.join(workBase(dir, node), SLOT_PLACEHOLDER);
  const file = fstabTemplatePath(dir, node);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // sessions may rewrite it at the same time (see main below): never show a half-written table
  const tmp = `${file}.${process.pid}`;
  fs.writeFileSync(tmp, mountTable(dir, node, work, root));
  fs.renameSync(tmp, file);
}

/** dist/lab/src/sshd/mount-table.js, whether this module runs from dist/ or from the TS sources. */
export function mountTableScript(): string {
  const sibling = path.join(__dirname, 'mount-table.js');
  if (__filename.endsWith('.js') && fs.existsSync(sibling)) return sibling;
  return path.resolve(__dirname, '..', '..', '..', 'dist', 'lab', 'src', 'sshd', 'mount-table.js');
}

// `node mount-table.js --dir DIR --node NODE`: the node shell rewrites a node's table when DIR/bin
// changed after the sshd started (a tool added or removed)
if (require.main === module) {
  const arg = (k: string) => process.argv[process.argv.indexOf(k) + 1];
  try {
    writeFstabTemplate(arg('--dir')!, arg('--node')!);
  } catch (e) {
    process.stderr.write(`kupgrade-lab: mount table: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
