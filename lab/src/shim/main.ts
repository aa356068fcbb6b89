/**
 * The node-side shim behind DIR/bin/<tool>: `node main.js <tool> args...`.
 *
 * It runs inside the node's SSH session (its own mount namespace, where /etc is the node's
 * overlay), so it is the only part of the lab that can see and touch the node's files: it gathers
 * the files the tool would read (repo files, kubeconfigs, manifests, files named on the command
 * line), asks the controller (POST /exec) which owns the cluster-wide state and the time model,
 * then performs the file effects the controller returns (manifest rewrites, kubeadm backup
 * folders, kubelet config, etcd snapshot) and prints the tool's output with its exit code.
 *
 * Environment: KUPGRADE_LAB_DIR, KUPGRADE_LAB_NODE (set by the node shell), optional
 * KUPGRADE_LAB_SESSION_PID (the sshd session to SIGKILL for the "drop" fault), and
 * KUPGRADE_LAB_ROOT: a prefix for absolute node paths when there is no mount namespace (tests run
 * the shim directly with KUPGRADE_LAB_ROOT=DIR/nodes/NAME).
 *
 * Kept to node built-ins and no lab imports: it starts once per command.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

interface Effect {
  op: 'write' | 'mkdir' | 'copy' | 'copydir';
  path?: string;
  content?: string;
  mode?: number;
  from?: string;
  to?: string;
}

interface Result {
  stdout: string;
  stderr: string;
  exit: number;
  drop?: boolean;
  effects?: Effect[];
}

const ROOT = process.env.KUPGRADE_LAB_ROOT ?? '';

/** Maps a path as the tool sees it to where it lives for this process. */
function rp(p: string): string {
  if (!path.isAbsolute(p)) return path.resolve(p);
  return ROOT ? path.join(ROOT, p) : p;
}

function readMaybe(p: string): string | null {
  try {
    const st = fs.statSync(rp(p));
    if (!st.isFile() || st.size > 2 * 1024 * 1024) return st.isFile() ? '' : null;
    return fs.readFileSync(rp(p), 'utf8');
  } catch {
    return null;
  }
}

function listDir(dir: string, re: RegExp): string[] {
  try {
    return fs
      .readdirSync(rp(dir))
      .filter((f) => re.test(f))
      .sort()
      .map((f) => path.posix.join(dir, f));
  } catch {
    return [];
  }
}

function gatherFiles(tool: string, argv: string[]): Record<string, string | null> {
  const want = new Set<string>();
  if (tool === 'yum' || tool === 'dnf') {
    // --setopt=reposdir=DIR replaces /etc/yum.repos.d (kupgrade's repo probe)
    const dirs = argv
      .filter((a) => a.startsWith('--setopt=reposdir='))
      .flatMap((a) => a.slice(18).split(/[,\s]+/));
    for (const d of dirs.length ? dirs : ['/etc/yum.repos.d'])
      listDir(d, /\.repo$/).forEach((f) => want.add(f));
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
    if (parts !== '-') listDir(parts.replace(/\/+$/, ''), /\.list$/).forEach((f) => want.add(f));
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
  if (tool === 'kubectl' && process.env.KUBECONFIG) want.add(process.env.KUBECONFIG);
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
  const files: Record<string, string | null> = {};
  for (const f of want) files[f] = readMaybe(f);
  return files;
}

function kubeadmTimestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
}

/** kubeadm apply prompts unless -y/-f/--dry-run; read the answer if stdin is a pipe. */
function needsAnswer(tool: string, argv: string[]): boolean {
  if (tool !== 'kubeadm' || argv[0] !== 'upgrade' || argv[1] !== 'apply') return false;
  return !argv.some(
    (a) => /^(-y|--yes|-f|--force|--dry-run)(=true)?$/.test(a) || /^-[a-z]*[yf][a-z]*$/.test(a),
  );
}

function readAnswer(): Promise<string | null> {
  if (process.stdin.isTTY) return Promise.resolve(null);
  return new Promise((resolve) => {
    let buf = '';
    const done = (v: string | null) => {
      clearTimeout(t);
      process.stdin.removeAllListeners();
      // an open pipe would keep the shim alive after it has answered
      process.stdin.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(buf || null), 500);
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) done(buf.split('\n')[0]!);
    });
    process.stdin.on('end', () => done(buf));
    process.stdin.on('error', () => done(null));
  });
}

function post(host: string, port: number, body: unknown): Promise<Result> {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host,
        port,
        path: '/exec',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': data.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Result);
          } catch (e) {
            reject(e as Error);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

function applyEffects(effects: Effect[]): void {
  for (const e of effects) {
    try {
      if (e.op === 'mkdir') fs.mkdirSync(rp(e.path!), { recursive: true, mode: e.mode });
      else if (e.op === 'write') {
        fs.mkdirSync(path.dirname(rp(e.path!)), { recursive: true });
        fs.writeFileSync(rp(e.path!), e.content ?? '', e.mode ? { mode: e.mode } : undefined);
      } else if (e.op === 'copy') {
        if (fs.existsSync(rp(e.from!))) fs.copyFileSync(rp(e.from!), rp(e.to!));
      } else if (e.op === 'copydir') {
        fs.mkdirSync(rp(e.to!), { recursive: true, mode: 0o700 });
        if (fs.existsSync(rp(e.from!))) fs.cpSync(rp(e.from!), rp(e.to!), { recursive: true });
      }
    } catch (err) {
      process.stderr.write(`kupgrade-lab shim: ${e.op} ${e.path ?? e.to}: ${(err as Error).message}\n`);
    }
  }
}

function write(stream: NodeJS.WriteStream, s: string): Promise<void> {
  return new Promise((r) => (s ? stream.write(s, () => r()) : r()));
}

async function main(): Promise<void> {
  const [tool, ...argv] = process.argv.slice(2);
  const dir = process.env.KUPGRADE_LAB_DIR;
  const node = process.env.KUPGRADE_LAB_NODE;
  if (!tool || !dir || !node) {
    process.stderr.write('kupgrade-lab shim: KUPGRADE_LAB_DIR and KUPGRADE_LAB_NODE must be set\n');
    process.exit(127);
  }
  let ctl: { host: string; port: number } | null;
  try {
    ctl = (
      JSON.parse(fs.readFileSync(path.join(dir, 'lab.json'), 'utf8')) as {
        controller: { host: string; port: number } | null;
      }
    ).controller;
  } catch {
    ctl = null;
  }
  if (!ctl) {
    process.stderr.write(`kupgrade-lab shim: no controller recorded in ${dir}/lab.json\n`);
    process.exit(1);
  }
  const ctx = {
    files: gatherFiles(tool, argv),
    env: { ...(process.env.KUBECONFIG ? { KUBECONFIG: process.env.KUBECONFIG } : {}) },
    localTime: kubeadmTimestamp(new Date()),
    stdin: needsAnswer(tool, argv) ? await readAnswer() : null,
  };
  let res: Result;
  try {
    res = await post(ctl.host, ctl.port, { node, tool, argv, ctx });
  } catch (e) {
    process.stderr.write(
      `kupgrade-lab shim: controller at ${ctl.host}:${ctl.port} unreachable: ${(e as Error).message}\n`,
    );
    process.exit(1);
  }
  applyEffects(res.effects ?? []);
  if (res.drop) {
    const sess = Number(process.env.KUPGRADE_LAB_SESSION_PID);
    if (sess > 1) {
      try {
        process.kill(sess, 'SIGKILL');
      } catch {
        // the session may already be gone
      }
    }
    process.kill(process.pid, 'SIGKILL');
  }
  await write(process.stdout, res.stdout);
  await write(process.stderr, res.stderr);
  process.exitCode = res.exit;
}

void main();
