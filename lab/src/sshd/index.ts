// The lab's real-SSH layer: Debian's OpenSSH serving every lab node at its own loopback address
// (or port), key authentication only, with the lab's own host key; every session runs through the
// node shell (node-shell-script.ts), which gives it the node's identity, files and tools.
//
//   const addrs = planAddresses(n);                  // detect: 127.0.0.x:22 / high port / 127.0.0.1
//   const { clientKeyPath, knownHostsPath } = await ensureSshKeys(dir);
//   await startSshd(dir, nodes);                     // one sshd per 16 nodes, started in parallel
//   await setNodeDown(dir, 'w-3', true);             // refuse connections, kill its sessions
//   await stopSshd(dir);                             // idempotent
//
// State of the running daemons is kept in DIR/ssh/sshd.json, so any process (the lab CLI, the
// controller for the node-down fault, a test) can change or stop them.
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { claimReservations, releaseReservations } from './addresses';
import { sshdConfig } from './config';
import { workDirNames, writeFstabTemplate } from './mount-table';
import { nodeShellScript } from './node-shell-script';
import {
  LISTEN_PER_SSHD,
  authorizedKeysPath,
  clientKeyPath,
  downMarkerPath,
  hostKeyPath,
  knownHostsPath,
  missingToolPath,
  nodeRoot,
  removeWorkBase,
  sessionCommandPath,
  sessionsDir,
  sessionsRoot,
  sshDir,
  sshdConfigPath,
  sshdLogPath,
  sshdPidPath,
  sshdStatePath,
  workBase,
  namespacePidPath,
  type SessionRecord,
} from './paths';
import {
  cmdline,
  connectionProcesses,
  isAlive,
  listeners,
  processGroup,
  signal,
  sleep,
  waitForExit,
} from './proc';

export {
  planAddresses,
  planAddressesDetailed,
  loopbackAddress,
  releaseReservations,
  DEFAULT_BASE_PORT,
} from './addresses';
export type { AddressMode, AddressPlan, PlanOptions } from './addresses';
export { clientKeyPath, knownHostsPath, LAB_TOOLS } from './paths';
export { liveSessions, type LiveSession } from './sessions';

const execFileP = promisify(execFile);

export interface LabSshNode {
  name: string;
  address: string;
  port: number;
}

interface SshdGroup {
  id: number;
  nodes: string[];
  pid: number | null;
}

interface SshdState {
  version: 1;
  dir: string;
  user: string;
  nodes: LabSshNode[];
  groups: SshdGroup[];
  down: string[];
}

export class LabSshError extends Error {
  override name = 'LabSshError';
}

// ---------------------------------------------------------------------------------------------
// keys

async function keygen(file: string, comment: string): Promise<void> {
  if (fs.existsSync(file) && fs.existsSync(`${file}.pub`)) return;
  await fsp.rm(file, { force: true });
  await fsp.rm(`${file}.pub`, { force: true });
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  await fsp.chmod(file, 0o600);
}

/** The public key of a key pair: "ssh-ed25519 AAAA…" (no comment). */
async function publicKey(file: string): Promise<string> {
  const text = await fsp.readFile(`${file}.pub`, 'utf8');
  const [type, blob] = text.trim().split(/\s+/);
  if (!type || !blob) throw new LabSshError(`${file}.pub: not an OpenSSH public key`);
  return `${type} ${blob}`;
}

/**
 * Creates once per lab dir the lab's ed25519 host key, the client key pair DIR/ssh/id_ed25519
 * (0600) and DIR/ssh/authorized_keys. known_hosts gets one line per node in startSshd.
 */
export async function ensureSshKeys(dir: string): Promise<{ clientKeyPath: string; knownHostsPath: string }> {
  dir = path.resolve(dir);
  await fsp.mkdir(sshDir(dir), { recursive: true, mode: 0o700 });
  await Promise.all([
    keygen(hostKeyPath(dir), `kupgrade-lab host key ${dir}`),
    keygen(clientKeyPath(dir), `kupgrade-lab client ${dir}`),
  ]);
  const pub = await publicKey(clientKeyPath(dir));
  await fsp.writeFile(authorizedKeysPath(dir), `${pub} kupgrade-lab\n`, { mode: 0o600 });
  if (!fs.existsSync(knownHostsPath(dir))) await fsp.writeFile(knownHostsPath(dir), '', { mode: 0o644 });
  return { clientKeyPath: clientKeyPath(dir), knownHostsPath: knownHostsPath(dir) };
}

/** known_hosts host field: `addr` on port 22, `[addr]:port` otherwise. */
export function knownHostsHost(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

// ---------------------------------------------------------------------------------------------
// paths of the binaries

function sshdBinary(): string {
  const env = process.env.KUPGRADE_LAB_SSHD;
  if (env) return env;
  for (const p of ['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/sbin/sshd']) if (fs.existsSync(p)) return p;
  throw new LabSshError('sshd not found: install openssh-server (apt-get install -y openssh-server)');
}

/** DIR/ssh/node-shell.sh, the ForceCommand script (written by prepareDirs). */
export function nodeShellPath(dir: string): string {
  return path.join(sshDir(dir), 'node-shell.sh');
}

export const BASH = ['/usr/bin/bash', '/bin/bash'].find((p) => fs.existsSync(p)) ?? '/bin/bash';

// ---------------------------------------------------------------------------------------------
// state and locking

function readState(dir: string): SshdState | null {
  try {
    return JSON.parse(fs.readFileSync(sshdStatePath(dir), 'utf8')) as SshdState;
  } catch {
    return null;
  }
}

async function writeState(state: SshdState): Promise<void> {
  const file = sshdStatePath(state.dir);
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(state, null, 2) + '\n');
  await fsp.rename(tmp, file);
}

const inProcess = new Map<string, Promise<unknown>>();

/** Serialises changes to one lab's daemons: in this process by a promise chain, across processes by a lock dir. */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const prev = inProcess.get(dir) ?? Promise.resolve();
  const run = prev
    .catch(() => undefined)
    .then(async () => {
      await fsp.mkdir(sshDir(dir), { recursive: true });
      const lock = path.join(sshDir(dir), 'sshd.lock');
      const deadline = Date.now() + 120000;
      for (;;) {
        try {
          await fsp.mkdir(lock);
          await fsp.writeFile(path.join(lock, 'pid'), String(process.pid));
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          let owner = 0;
          try {
            owner = Number(await fsp.readFile(path.join(lock, 'pid'), 'utf8'));
          } catch {
            // being created or removed
          }
          if (owner > 0 && owner !== process.pid && !isAlive(owner)) {
            await fsp.rm(lock, { recursive: true, force: true });
            continue;
          }
          if (Date.now() > deadline) throw new LabSshError(`${lock}: held by pid ${owner} for 120 s`);
          await sleep(20);
        }
      }
      try {
        return await fn();
      } finally {
        await fsp.rm(lock, { recursive: true, force: true });
      }
    });
  inProcess.set(dir, run);
  return run;
}

// ---------------------------------------------------------------------------------------------
// validation

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function validate(dir: string, nodes: LabSshNode[]): void {
  if (/[\s,:"'\\]/.test(dir)) {
    throw new LabSshError(
      `lab dir ${JSON.stringify(dir)}: must not contain whitespace, quotes, ',', ':' or '\\'`,
    );
  }
  if (nodes.length === 0) throw new LabSshError('startSshd: no nodes');
  const names = new Set<string>();
  const ends = new Set<string>();
  for (const n of nodes) {
    if (!NAME_RE.test(n.name))
      throw new LabSshError(`node name ${JSON.stringify(n.name)}: use [A-Za-z0-9._-]`);
    if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(n.address)) {
      throw new LabSshError(`node ${n.name}: address ${n.address} is not a loopback address (127.0.0.0/8)`);
    }
    if (!Number.isInteger(n.port) || n.port < 1 || n.port > 65535) {
      throw new LabSshError(`node ${n.name}: bad port ${n.port}`);
    }
    if (names.has(n.name)) throw new LabSshError(`node name ${n.name} used twice`);
    const e = `${n.address}:${n.port}`;
    if (ends.has(e)) throw new LabSshError(`address ${e} used twice`);
    names.add(n.name);
    ends.add(e);
  }
}

// ---------------------------------------------------------------------------------------------
// daemons

function endpoint(n: LabSshNode): string {
  return `${n.address}:${n.port}`;
}

function isOurSshd(pid: number, dir: string, group: number): boolean {
  // sshd rewrites its title ("sshd: /usr/sbin/sshd -D -f CFG … [listener]"): match the joined line
  return isAlive(pid) && ` ${cmdline(pid).join(' ')} `.includes(` -f ${sshdConfigPath(dir, group)} `);
}

async function logTail(file: string): Promise<string> {
  try {
    const t = await fsp.readFile(file, 'utf8');
    return t.trim().split('\n').slice(-5).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts the sshd of one group (the nodes of the group that are not down) and resolves when it
 * listens on every address, or rejects with the end of its log.
 */
async function startGroup(state: SshdState, group: SshdGroup): Promise<void> {
  const { dir } = state;
  const byName = new Map(state.nodes.map((n) => [n.name, n]));
  const listen = group.nodes.filter((n) => !state.down.includes(n)).map((n) => byName.get(n)!);
  group.pid = null;
  if (listen.length === 0) return;
  const cfg = sshdConfigPath(dir, group.id);
  const pidFile = sshdPidPath(dir, group.id);
  const log = sshdLogPath(dir, group.id);
  await fsp.writeFile(
    cfg,
    sshdConfig({
      dir,
      group: group.id,
      listen,
      nodeShell: nodeShellPath(dir),
      bash: BASH,
      user: state.user,
    }),
  );
  await fsp.rm(pidFile, { force: true });
  const child = spawn(sshdBinary(), ['-D', '-f', cfg, '-E', log], { detached: true, stdio: 'ignore' });
  let exited: string | null = null;
  child.once('exit', (code, sig) => {
    exited = sig ? `signal ${sig}` : `exit ${code}`;
  });
  child.once('error', (e) => {
    exited = e.message;
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new LabSshError(`sshd for ${listen.map(endpoint).join(' ')}: spawn failed`);
  group.pid = pid;
  const deadline = Date.now() + 60000;
  for (;;) {
    await sleep(5);
    if (exited !== null) {
      group.pid = null;
      throw new LabSshError(`sshd ${cfg} stopped (${exited}) before listening:\n${await logTail(log)}`);
    }
    // sshd writes its PidFile after it has bound every listen address
    if (fs.existsSync(pidFile)) {
      const held = listeners([pid]);
      const missing = listen.filter((n) => held.get(endpoint(n)) !== pid);
      if (missing.length === 0) return;
      signal(pid, 'SIGKILL');
      group.pid = null;
      throw new LabSshError(
        `sshd ${cfg} could not bind ${missing.map(endpoint).join(', ')} (in use? plan the addresses again):\n${await logTail(log)}`,
      );
    }
    if (Date.now() > deadline) {
      signal(pid, 'SIGKILL');
      group.pid = null;
      throw new LabSshError(`sshd ${cfg} did not listen within 60 s:\n${await logTail(log)}`);
    }
  }
}

async function stopGroup(state: SshdState, group: SshdGroup): Promise<void> {
  const pid = group.pid;
  group.pid = null;
  if (pid === null || !isOurSshd(pid, state.dir, group.id)) return;
  signal(pid, 'SIGTERM');
  if ((await waitForExit([pid], 3000)).length > 0) {
    signal(pid, 'SIGKILL');
    await waitForExit([pid], 2000);
  }
}

/** Kills the live sessions and connections of the given nodes (as a machine that goes down would). */
async function killNodeSessions(state: SshdState, names: string[]): Promise<void> {
  const nodes = state.nodes.filter((n) => names.includes(n.name));
  const victims: number[] = [];
  const ownPgid = processGroup(process.pid);
  for (const n of nodes) {
    const sdir = sessionsDir(state.dir, n.name);
    let files: string[];
    try {
      files = await fsp.readdir(sdir);
    } catch {
      continue;
    }
    for (const f of files) {
      if (!f.endsWith('.json')) continue;
      try {
        const rec = JSON.parse(await fsp.readFile(path.join(sdir, f), 'utf8')) as SessionRecord;
        // pids are checked before they are signalled: a stale record must not hit a reused pid
        if (isAlive(rec.pid) && cmdline(rec.pid).some((a) => a.endsWith('node-shell.sh'))) {
          // sshd makes every session its own process group; never signal ours (node shell run by hand)
          if (rec.pgid > 1 && rec.pgid !== ownPgid) signal(-rec.pgid, 'SIGKILL');
          else signal(rec.pid, 'SIGKILL');
          victims.push(rec.pid);
        }
        if (isAlive(rec.sessionPid) && (cmdline(rec.sessionPid)[0] ?? '').startsWith('sshd')) {
          signal(rec.sessionPid, 'SIGKILL');
        }
      } catch {
        // record half-written or removed meanwhile
      }
      await fsp.rm(path.join(sdir, f), { force: true });
      await fsp.rm(sessionCommandPath(path.join(sdir, f)), { force: true });
    }
  }
  const conns = connectionProcesses(new Set(nodes.map(endpoint)));
  for (const pid of conns) signal(pid, 'SIGKILL');
  await waitForExit([...victims, ...conns], 3000);
}

async function prepareDirs(dir: string, nodes: LabSshNode[]): Promise<void> {
  await fsp.mkdir(sessionsRoot(dir), { recursive: true });
  await fsp.rm(path.join(sshDir(dir), 'down'), { recursive: true, force: true });
  await fsp.mkdir(path.join(sshDir(dir), 'down'), { recursive: true });
  await fsp.writeFile(
    missingToolPath(dir),
    '#!/bin/sh\necho "${0##*/}: command not found (not provided by this kupgrade lab)" >&2\nexit 127\n',
    { mode: 0o755 },
  );
  const endpoints = path.join(sshDir(dir), 'endpoints');
  await fsp.rm(endpoints, { recursive: true, force: true });
  await fsp.mkdir(endpoints, { recursive: true });
  await Promise.all(
    nodes.map(async (n) => {
      const root = nodeRoot(dir, n.name);
      // no session runs now (stopAll): the work dirs of the old namespaces go
      removeWorkBase(workBase(dir, n.name));
      await fsp.mkdir(sessionsDir(dir, n.name), { recursive: true });
      await fsp.mkdir(path.join(root, 'etc'), { recursive: true });
      await fsp.mkdir(path.join(root, 'var', 'lib', 'kubelet'), { recursive: true });
      await fsp.mkdir(path.join(root, 'var', 'lib', 'etcd'), { recursive: true });
      await fsp.writeFile(path.join(endpoints, `${n.address}:${n.port}`), `${n.name}\n`);
      writeFstabTemplate(dir, n.name);
    }),
  );
  await fsp.writeFile(nodeShellPath(dir), nodeShellScript(fs.realpathSync(dir), workDirNames(dir)), {
    mode: 0o755,
  });
  if (process.getuid?.() === 0 && !fs.existsSync('/run/sshd')) {
    // sshd's privilege separation directory (normally created by the openssh-server unit)
    await fsp.mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  }
}

/**
 * Starts the sshd processes serving `nodes` (16 per process, all in parallel) and writes
 * known_hosts with one line per node. Resolves when every node's address accepts connections.
 * Restarts the lab's daemons if they already run.
 */
export async function startSshd(dir: string, nodes: LabSshNode[]): Promise<void> {
  dir = path.resolve(dir);
  validate(dir, nodes);
  await withLock(dir, async () => {
    const old = readState(dir);
    if (old) await stopAll(old);
    await ensureSshKeys(dir);
    await prepareDirs(dir, nodes);
    const hostPub = await publicKey(hostKeyPath(dir));
    await fsp.writeFile(
      knownHostsPath(dir),
      nodes.map((n) => `${knownHostsHost(n.address, n.port)} ${hostPub}\n`).join(''),
      { mode: 0o644 },
    );
    const groups: SshdGroup[] = [];
    for (let i = 0; i < nodes.length; i += LISTEN_PER_SSHD) {
      groups.push({
        id: groups.length,
        nodes: nodes.slice(i, i + LISTEN_PER_SSHD).map((n) => n.name),
        pid: null,
      });
    }
    const state: SshdState = { version: 1, dir, user: os.userInfo().username, nodes, groups, down: [] };
    await writeState(state);
    const results = await Promise.allSettled(groups.map((g) => startGroup(state, g)));
    await writeState(state);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) {
      releaseReservations(nodes, dir);
      await stopAll(state);
      await writeState(state);
      throw new LabSshError(
        `${failed.length} of ${groups.length} sshd processes failed to start: ${String((failed[0].reason as Error).message)}`,
      );
    }
    // held for the lab's life, not only until bound: a node down or an sshd restart frees its
    // address for a moment, and another lab planning then must not take it
    claimReservations(nodes, dir);
  });
}

async function stopAll(state: SshdState): Promise<void> {
  await Promise.all(state.groups.map((g) => stopGroup(state, g)));
  await killNodeSessions(
    state,
    state.nodes.map((n) => n.name),
  );
  await killNamespaceHolders(state);
}

/**
 * Ends the processes that hold the nodes' mount namespaces (see the node shell): each is
 * `sleep infinity` with argv0 "kupgrade-lab-ns DIR NODE" and its pid in DIR/ssh/ns/NODE.pid.
 */
async function killNamespaceHolders(state: SshdState): Promise<void> {
  const real = fs.realpathSync(state.dir);
  const pids: number[] = [];
  for (const n of state.nodes) {
    const file = namespacePidPath(state.dir, n.name);
    let pid: number;
    try {
      pid = Number((await fsp.readFile(file, 'utf8')).trim());
    } catch {
      continue;
    }
    // pids are checked before they are signalled: a stale file must not hit a reused pid
    if (pid > 1 && isAlive(pid) && cmdline(pid)[0] === `kupgrade-lab-ns ${real} ${n.name}`) {
      signal(pid, 'SIGKILL');
      pids.push(pid);
    }
    await fsp.rm(file, { force: true });
  }
  await waitForExit(pids, 3000);
}

/** Stops every sshd of the lab and kills the sessions and connections they served. Idempotent. */
export async function stopSshd(dir: string): Promise<void> {
  dir = path.resolve(dir);
  if (!fs.existsSync(sshdStatePath(dir))) return;
  await withLock(dir, async () => {
    const state = readState(dir);
    if (!state) return;
    await stopAll(state);
    await writeState(state);
    releaseReservations(state.nodes, dir);
  });
}

/**
 * Takes a node down (its address refuses connections, its sessions and connections are killed)
 * or brings it back. Only the sshd serving that node restarts; sessions of the other nodes it
 * served survive (they are separate processes), new connections to them are refused for the few
 * milliseconds the restart takes.
 */
export async function setNodeDown(dir: string, node: string, down: boolean): Promise<void> {
  dir = path.resolve(dir);
  await withLock(dir, async () => {
    const state = readState(dir);
    if (!state) throw new LabSshError(`${sshdStatePath(dir)}: the lab's sshd was never started`);
    const group = state.groups.find((g) => g.nodes.includes(node));
    if (!group)
      throw new LabSshError(`no lab node ${node} (nodes: ${state.nodes.map((n) => n.name).join(', ')})`);
    const isDown = state.down.includes(node);
    if (isDown === down) return;
    if (down) {
      // marker first: a node shell that starts from now on refuses to run (see node-shell-script.ts)
      await fsp.writeFile(downMarkerPath(dir, node), new Date().toISOString() + '\n');
      state.down.push(node);
    } else {
      await fsp.rm(downMarkerPath(dir, node), { force: true });
      state.down = state.down.filter((n) => n !== node);
    }
    await stopGroup(state, group);
    if (down) await killNodeSessions(state, [node]);
    try {
      await startGroup(state, group);
    } finally {
      await writeState(state);
    }
  });
}

/** Which nodes are served (pid of their sshd) and which are down. */
export function sshdStatus(
  dir: string,
): { node: string; endpoint: string; down: boolean; pid: number | null }[] {
  dir = path.resolve(dir);
  const state = readState(dir);
  if (!state) return [];
  return state.nodes.map((n) => {
    const g = state.groups.find((x) => x.nodes.includes(n.name));
    const down = state.down.includes(n.name);
    const pid = g?.pid != null && !down && isOurSshd(g.pid, dir, g.id) ? g.pid : null;
    return { node: n.name, endpoint: endpoint(n), down, pid };
  });
}
