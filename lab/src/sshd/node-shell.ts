// The node shell: ForceCommand of the lab's sshd, run for every SSH session of every node:
//   <node> dist/lab/src/sshd/node-shell.js --dir DIR
//
// 1. finds its node from SSH_CONNECTION (server address and port) in DIR/lab.json;
// 2. records the session in DIR/ssh/sessions/NODE/<pid>.json (so setNodeDown can kill it) and
//    refuses to run if the node is down;
// 3. runs the command in a private mount namespace (unshare -m; `unshare -r -m` without root) in
//    which /etc is an overlay whose upper layer is DIR/nodes/NODE/etc, /var/lib/kubelet and
//    /var/lib/etcd are DIR/nodes/NODE/var/lib/{kubelet,etcd}, the other writable top-level
//    directories (OVERLAID_DIRS) are private overlays under DIR/nodes/NODE/.root, and every lab tool
//    in DIR/bin is bind-mounted over the host's copy of that tool, so that not even an absolute
//    path reaches the host's apt-get, systemctl or swapon; the environment has
//    PATH=DIR/bin:/usr/local/bin:/usr/bin:/bin and KUPGRADE_LAB_{DIR,NODE,SESSION_PID};
// 4. reports {type:'ssh', node, cmd, exit} to the lab controller (POST /event), or appends it to
//    DIR/events.ssh-fallback.jsonl when the controller cannot be reached.
//
// It runs once per SSH command, so it stays small: built-in modules only, all mounts done by one
// `mount -a` over a per-session fstab.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { constants } from 'node:os';
import * as path from 'node:path';
import { isatty } from 'node:tty';
import {
  HOST_TOOL_DIRS,
  LAB_TOOLS,
  OVERLAID_DIRS,
  downMarkerPath,
  missingToolPath,
  nodeRoot,
  acquireSlot,
  releaseSlot,
  sessionsDir,
  sshdStatePath,
  workBase,
  type SessionRecord,
} from './paths';

const UNSHARE = firstExisting(['/usr/bin/unshare', '/bin/unshare']);
const MOUNT = firstExisting(['/usr/bin/mount', '/bin/mount']);
const BASH = firstExisting(['/usr/bin/bash', '/bin/bash']);
/** runs the mounts, then execs bash (a POSIX sh: dash starts faster than bash) */
const SH = firstExisting(['/bin/sh', '/usr/bin/sh']);
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
const EVENT_TIMEOUT_MS = 3000;

interface LabNode {
  name: string;
  address: string;
  port: number;
}
interface LabJson {
  nodes?: LabNode[];
  controller?: { host?: string; port?: number };
}

function firstExisting(paths: string[]): string {
  return paths.find((p) => fs.existsSync(p)) ?? paths[0];
}

function fail(message: string, code = 255): never {
  process.stderr.write(`kupgrade-lab: ${message}\n`);
  process.exit(code);
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** [state, ppid, pgrp] of a process, from /proc/PID/stat. */
function stat(pid: number | 'self'): [string, number, number] {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return [f[0], Number(f[1]), Number(f[2])];
}

/** The sshd process serving this session: the nearest ancestor named sshd*. */
function sessionPid(): number {
  let pid = process.ppid;
  for (let i = 0; i < 5 && pid > 1; i++) {
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('sshd')) return pid;
      pid = stat(pid)[1];
    } catch {
      break;
    }
  }
  return process.ppid;
}

function findNode(dir: string, address: string, port: number): { node: LabNode; lab: LabJson } {
  const lab = readJson<LabJson>(path.join(dir, 'lab.json')) ?? {};
  let node = lab.nodes?.find((n) => n.address === address && Number(n.port) === port);
  if (!node) {
    // started by the sshd module alone (no lab.json yet): its own record of the nodes
    const st = readJson<{ nodes?: LabNode[] }>(sshdStatePath(dir));
    node = st?.nodes?.find((n) => n.address === address && Number(n.port) === port);
  }
  if (!node) fail(`no lab node listens on ${address}:${port} (see ${path.join(dir, 'lab.json')})`);
  return { node, lab };
}

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
function mountTable(dir: string, node: string, work: string, root: boolean): string {
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
    if (!fs.existsSync(wd)) fs.mkdirSync(wd);
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

/** POST /event to the lab controller; resolves false when it cannot be reached or refuses. */
function postEvent(host: string, port: number, body: string): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    let buf = '';
    const sock = net.connect({ host, port });
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(EVENT_TIMEOUT_MS, () => finish(false));
    sock.on('connect', () => {
      sock.write(
        `POST /event HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      if (m) finish(m[1].startsWith('2'));
    });
    sock.on('error', () => finish(false));
    sock.on('end', () => finish(false));
  });
}

async function report(dir: string, lab: LabJson, node: string, cmd: string, exit: number): Promise<void> {
  const event = { type: 'ssh', node, cmd, exit };
  const c = lab.controller;
  if (c?.host && c.port && (await postEvent(c.host, Number(c.port), JSON.stringify(event)))) return;
  const line = JSON.stringify({ ts: new Date().toISOString(), ...event }) + '\n';
  try {
    fs.appendFileSync(path.join(dir, 'events.ssh-fallback.jsonl'), line);
  } catch {
    // never fail the command because its event could not be recorded
  }
}

function cleanEnv(dir: string, node: string, sessPid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    // what a login profile may have exported to change how the command's shell behaves
    if (
      k.startsWith('BASH_FUNC_') ||
      /^(BASH_ENV|ENV|SHELLOPTS|BASHOPTS|CDPATH|GLOBIGNORE|PROMPT_COMMAND)$/.test(k)
    ) {
      continue;
    }
    if (/^(LD_PRELOAD|LD_LIBRARY_PATH|NODE_OPTIONS|NODE_PATH)$/.test(k)) continue;
    env[k] = v;
  }
  env.PATH = `${dir}/bin:/usr/local/bin:/usr/bin:/bin`;
  env.KUPGRADE_LAB_DIR = dir;
  env.KUPGRADE_LAB_NODE = node;
  env.KUPGRADE_LAB_SESSION_PID = String(sessPid);
  return env;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const di = argv.indexOf('--dir');
  if (di < 0 || !argv[di + 1]) fail('usage: node-shell.js --dir DIR');
  // the real path: the mount table compares it with the overlaid directories
  const dir = fs.realpathSync(path.resolve(argv[di + 1]));
  const conn = (process.env.SSH_CONNECTION ?? '').split(' ');
  if (conn.length < 4) fail('SSH_CONNECTION is not set: this is the ForceCommand of the lab sshd');
  const { node, lab } = findNode(dir, conn[2], Number(conn[3]));
  const name = node.name;

  const sessPid = sessionPid();
  const [, , pgid] = stat('self');
  const sdir = sessionsDir(dir, name);
  const record = path.join(sdir, `${process.pid}.json`);
  const cmd = process.env.SSH_ORIGINAL_COMMAND;
  const rec: SessionRecord = { pid: process.pid, pgid, sessionPid: sessPid, cmd: cmd ?? '', started: '' };
  rec.started = new Date().toISOString();
  fs.mkdirSync(sdir, { recursive: true });
  fs.writeFileSync(record, JSON.stringify(rec));
  // after the record is written: setNodeDown writes the marker, then kills the recorded sessions
  if (fs.existsSync(downMarkerPath(dir, name))) {
    fs.rmSync(record, { force: true });
    fail(`node ${name} is down`);
  }

  const interactive = cmd === undefined;
  // isatty, not process.stdin: a stdin stream would set O_NONBLOCK on the fd the command inherits
  if (interactive && !isatty(0)) {
    fs.rmSync(record, { force: true });
    fail(`node ${name}: no command given (run: ssh NODE 'COMMAND', or ssh -t NODE for a shell)`, 1);
  }

  const root = process.getuid?.() === 0;
  const nroot = nodeRoot(dir, name);
  if (!root) {
    for (const d of NONROOT_ETC_DIRS) {
      if (fs.existsSync(`/etc/${d}`)) fs.mkdirSync(path.join(nroot, 'etc', d), { recursive: true });
    }
  }
  const base = workBase(dir, name);
  const slot = acquireSlot(base);
  rec.slot = slot;
  fs.writeFileSync(record, JSON.stringify(rec));
  const work = path.join(base, String(slot));
  const fstab = path.join(work, 'fstab');
  try {
    fs.mkdirSync(work, { recursive: true });
    fs.writeFileSync(fstab, mountTable(dir, name, work, root));
  } catch (e) {
    releaseSlot(base, slot);
    fs.rmSync(record, { force: true });
    fail(`node ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }

  // set PS1 just before the interactive shell (a non-interactive bash on the way drops it)
  const script = interactive
    ? `export PS1='[${name}] \\w\\$ '; exec ${BASH} --noprofile --norc -i`
    : `exec ${BASH} --noprofile --norc -c "$SSH_ORIGINAL_COMMAND"`;
  const inner =
    `${MOUNT} -a -T "$1" || { echo "kupgrade-lab: cannot set up the mount namespace of node ${name}" >&2; exit 255; }\n` +
    script;
  const env = cleanEnv(dir, name, sessPid);
  const child = spawn(
    UNSHARE,
    [
      ...(root ? [] : ['-r']),
      '-m',
      '--propagation',
      'private',
      '--',
      SH,
      '-c',
      inner,
      'kupgrade-lab-node',
      fstab,
    ],
    { stdio: 'inherit', env },
  );
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const) {
    process.on(sig, () => {
      try {
        child.kill(sig);
      } catch {
        // gone
      }
    });
  }
  const exit = await new Promise<number>((resolve) => {
    child.once('error', (e) => {
      process.stderr.write(`kupgrade-lab: ${UNSHARE}: ${e.message}\n`);
      resolve(255);
    });
    child.once('exit', (code, sig) => {
      resolve(code ?? 128 + (sig ? (constants.signals[sig] ?? 0) : 0));
    });
  });
  releaseSlot(base, slot);
  fs.rmSync(record, { force: true });
  await report(dir, lab, name, cmd ?? '', exit);
  process.exit(exit);
}

main().catch((e: unknown) => fail(`node shell: ${e instanceof Error ? e.message : String(e)}`));
