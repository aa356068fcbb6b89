/**
 * The controller's view of one node's files while a shim waits for its answer: every path the
 * tool names is read (and every file effect written) under a root prefix, either
 * `/proc/<shim pid>/root` (the shim runs in the node's SSH session, in its own mount namespace
 * where /etc is the node's overlay: the kernel resolves the path in that namespace) or
 * KUPGRADE_LAB_ROOT=DIR/nodes/NAME (tests that run a shim without SSH).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Effect } from '../tools/types';

export interface NodeFiles {
  /** the node path as the process would open it -> the path for the controller */
  resolve(p: string): string;
}

/**
 * A root the controller may read and write under: a process's root in ANOTHER mount namespace
 * (never the host's own), or a node folder of this lab. Anything else is refused, so that no
 * request can make the controller touch the host's files.
 */
export function checkRoot(root: string, labDir: string): string | null {
  const proc = /^\/proc\/(\d+)\/root$/.exec(root);
  if (proc) {
    try {
      const theirs = fs.readlinkSync(`/proc/${proc[1]}/ns/mnt`);
      if (theirs === fs.readlinkSync('/proc/self/ns/mnt'))
        return `process ${proc[1]} shares the controller's mount namespace`;
      return null;
    } catch (e) {
      return `process ${proc[1]}: ${(e as Error).message}`;
    }
  }
  const nodes = path.join(path.resolve(labDir), 'nodes') + path.sep;
  if (path.isAbsolute(root) && path.resolve(root).startsWith(nodes)) return null;
  return `${root} is neither /proc/PID/root nor under ${nodes}`;
}

export function nodeFiles(root: string, cwd: string): NodeFiles {
  const inNamespace = root.startsWith('/proc/');
  return {
    resolve(p: string): string {
      if (path.isAbsolute(p)) return path.join(root, p);
      // a relative path is the process's: inside a namespace it is resolved there too
      return inNamespace ? path.join(root, path.resolve(cwd || '/', p)) : path.resolve(cwd || '.', p);
    },
  };
}

function readMaybe(f: NodeFiles, p: string): string | null {
  try {
    const st = fs.statSync(f.resolve(p));
    if (!st.isFile() || st.size > 2 * 1024 * 1024) return st.isFile() ? '' : null;
    return fs.readFileSync(f.resolve(p), 'utf8');
  } catch {
    return null;
  }
}

function listDir(f: NodeFiles, dir: string, re: RegExp): string[] {
  try {
    return fs
      .readdirSync(f.resolve(dir))
      .filter((x) => re.test(x))
      .sort()
      .map((x) => path.posix.join(dir, x));
  } catch {
    return [];
  }
}

/** The files a tool would read for this command line: path as the tool sees it -> content | null. */
export function gatherFiles(
  f: NodeFiles,
  tool: string,
  argv: string[],
  kubeconfig: string | undefined,
): Record<string, string | null> {
  const want = new Set<string>();
  if (tool === 'yum' || tool === 'dnf') {
    // --setopt=reposdir=DIR replaces /etc/yum.repos.d (kupgrade's repo probe)
    const dirs = argv
      .filter((a) => a.startsWith('--setopt=reposdir='))
      .flatMap((a) => a.slice(18).split(/[,\s]+/));
    for (const d of dirs.length ? dirs : ['/etc/yum.repos.d'])
      listDir(f, d, /\.repo$/).forEach((x) => want.add(x));
    // the versionlock plugin (dnf and yum 3): its conf and its default lock list
    for (const d of ['/etc/dnf/plugins', '/etc/yum/pluginconf.d']) {
      want.add(`${d}/versionlock.conf`);
      want.add(`${d}/versionlock.list`);
    }
  }
  if (tool === 'zypper') {
    // --reposd-dir DIR replaces /etc/zypp/repos.d (kupgrade's repo probe)
    const i = argv.findIndex((a) => a === '--reposd-dir' || a === '-D' || a.startsWith('--reposd-dir='));
    const dir = i < 0 ? '/etc/zypp/repos.d' : argv[i]!.includes('=') ? argv[i]!.slice(13) : argv[i + 1];
    if (dir) listDir(f, dir.replace(/\/+$/, ''), /\.repo$/).forEach((x) => want.add(x));
  }
  if (tool === 'apt-get' || tool === 'apt-cache') {
    // -o Dir::Etc::sourcelist=F / Dir::Etc::sourceparts=D|- replace the default sources
    const opt = (key: string): string | undefined => {
      for (let i = 0; i < argv.length; i++) {
        const a = argv[i]!;
        const kv = a === '-o' || a === '--option' ? argv[i + 1] : a.startsWith('-o') ? a.slice(2) : undefined;
        if (kv && kv.toLowerCase().startsWith(`${key.toLowerCase()}=`)) return kv.slice(key.length + 1);
      }
      return undefined;
    };
    want.add(opt('Dir::Etc::sourcelist') ?? '/etc/apt/sources.list');
    const parts = opt('Dir::Etc::sourceparts') ?? '/etc/apt/sources.list.d';
    if (parts !== '-') listDir(f, parts.replace(/\/+$/, ''), /\.list$/).forEach((x) => want.add(x));
    if (tool === 'apt-get') {
      // apt-get update checks each source's signature: the keyring named by signed-by, else the trusted parts
      for (const src of [...want]) {
        for (const m of (readMaybe(f, src) ?? '').matchAll(/signed-by=([^\s\]]+)/g)) want.add(m[1]!);
      }
      want.add('/etc/apt/trusted.gpg');
      listDir(f, '/etc/apt/trusted.gpg.d', /\.(gpg|asc)$/).forEach((x) => want.add(x));
    }
  }
  if (tool === 'gpg') {
    // gpg --dearmor reads stdin or a file; --show-keys a file; -o/--output names what it writes
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if ((a === '-o' || a === '--output') && argv[i + 1]) want.add(argv[i + 1]!);
      else if (!a.startsWith('-') && argv[i - 1] !== '-o' && argv[i - 1] !== '--output') want.add(a);
    }
  }
  if (tool === 'kubeadm' || tool === 'kubectl') {
    want.add('/etc/kubernetes/admin.conf');
    want.add('/etc/kubernetes/kubelet.conf');
  }
  if (tool === 'kubeadm') {
    for (const c of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      want.add(`/etc/kubernetes/manifests/${c}.yaml`);
    }
    want.add('/var/lib/kubelet/config.yaml');
  }
  const files: Record<string, string | null> = {};
  if (tool === 'kubeadm') {
    // --patches DIR: the patch files in it; `DIR/` is present (empty) when the folder exists
    const i = argv.findIndex((a) => a === '--patches' || a.startsWith('--patches='));
    const dir = i < 0 ? undefined : argv[i]!.includes('=') ? argv[i]!.slice(10) : argv[i + 1];
    if (dir) {
      const d = dir.replace(/\/+$/, '');
      try {
        if (fs.statSync(f.resolve(d)).isDirectory()) files[`${d}/`] = '';
      } catch {
        // no such folder: kubeadm says so
      }
      listDir(f, d, /\.(json|ya?ml)$/).forEach((x) => want.add(x));
    }
  }
  if (tool === 'kubectl' && kubeconfig) want.add(kubeconfig);
  const valueFlags = new Set(['--config', '--kubeconfig', '-f', '--filename', '--cacert', '--cert', '--key']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let v: string | undefined;
    if (valueFlags.has(a)) v = argv[i + 1];
    else if (a.startsWith('-') && a.includes('=')) v = a.slice(a.indexOf('=') + 1);
    else if (!a.startsWith('-')) v = a;
    if (
      v &&
      (v.startsWith('/') ||
        v.startsWith('./') ||
        v.startsWith('../') ||
        /\.(ya?ml|conf|crt|key|db|json)$/.test(v))
    ) {
      want.add(v);
    }
  }
  for (const p of want) files[p] = readMaybe(f, p);
  return files;
}

/** Performs the file effects of a command in the node's root; returns what could not be done. */
export function applyEffects(f: NodeFiles, effects: Effect[]): string {
  let errors = '';
  for (const e of effects) {
    try {
      if (e.op === 'mkdir') fs.mkdirSync(f.resolve(e.path), { recursive: true, mode: e.mode });
      else if (e.op === 'write') {
        fs.mkdirSync(path.dirname(f.resolve(e.path)), { recursive: true });
        fs.writeFileSync(f.resolve(e.path), e.content ?? '', e.mode ? { mode: e.mode } : undefined);
      } else if (e.op === 'copy') {
        if (fs.existsSync(f.resolve(e.from))) fs.copyFileSync(f.resolve(e.from), f.resolve(e.to));
      } else if (e.op === 'copydir') {
        fs.mkdirSync(f.resolve(e.to), { recursive: true, mode: 0o700 });
        if (fs.existsSync(f.resolve(e.from)))
          fs.cpSync(f.resolve(e.from), f.resolve(e.to), { recursive: true });
      }
    } catch (err) {
      const where = e.op === 'copy' || e.op === 'copydir' ? e.to : e.path;
      errors += `kupgrade-lab shim: ${e.op} ${where}: ${(err as Error).message}\n`;
    }
  }
  return errors;
}

/** kubeadm's timestamp for backup folders, in local time: 2025-05-29-18-04-05 */
export function kubeadmTimestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
}
