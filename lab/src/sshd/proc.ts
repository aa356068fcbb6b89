// /proc helpers: which sshd processes hold a TCP socket on a node's (address, port), whether a
// pid is alive, and waiting for processes to exit. Linux only (the lab runs on Linux).
import * as fs from 'node:fs';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // a zombie is not alive for our purposes
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The process group of a process (0 if unknown). */
export function processGroup(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) || 0;
  } catch {
    return 0;
  }
}

export function cmdline(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export async function waitForExit(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = pids.filter(isAlive);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(10);
    left = left.filter(isAlive);
  }
  return left;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** "127.0.0.2:22" from /proc/net/tcp's little-endian hex "0200007F:0016". */
function decodeAddr(hex: string): string {
  const [a, p] = hex.split(':');
  const n = parseInt(a, 16);
  const ip = [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
  return `${ip}:${parseInt(p, 16)}`;
}

export interface TcpSocket {
  local: string;
  state: 'LISTEN' | 'OTHER';
  inode: string;
}

/** IPv4 TCP sockets of this network namespace, by inode. */
export function tcpSockets(): Map<string, TcpSocket> {
  const out = new Map<string, TcpSocket>();
  let text: string;
  try {
    text = fs.readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return out;
  }
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i].trim().split(/\s+/);
    if (f.length < 10) continue;
    const inode = f[9];
    if (inode === '0') continue;
    out.set(inode, { local: decodeAddr(f[1]), state: f[3] === '0A' ? 'LISTEN' : 'OTHER', inode });
  }
  return out;
}

/** Socket inodes held open by a process. */
export function socketInodes(pid: number): string[] {
  const out: string[] = [];
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const l = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (l.startsWith('socket:[')) out.push(l.slice(8, -1));
    } catch {
      // fd closed meanwhile
    }
  }
  return out;
}

/** Every sshd process (listener, per-connection monitor, session) with its TCP sockets. */
export function sshdProcesses(): { pid: number; sockets: TcpSocket[] }[] {
  const tcp = tcpSockets();
  const out: { pid: number; sockets: TcpSocket[] }[] = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    const pid = Number(ent);
    let comm: string;
    try {
      comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (!comm.startsWith('sshd')) continue;
    const sockets = socketInodes(pid)
      .map((i) => tcp.get(i))
      .filter((s): s is TcpSocket => s !== undefined);
    out.push({ pid, sockets });
  }
  return out;
}

/** Pids of sshd processes serving connections to any of `endpoints` ("addr:port"), listeners excluded. */
export function connectionProcesses(endpoints: Set<string>): number[] {
  return sshdProcesses()
    .filter((p) => p.sockets.some((s) => s.state !== 'LISTEN' && endpoints.has(s.local)))
    .map((p) => p.pid);
}

/** For each endpoint "addr:port" currently in LISTEN state, the pid of the process holding it. */
export function listeners(pids: number[]): Map<string, number> {
  const tcp = tcpSockets();
  const out = new Map<string, number>();
  for (const pid of pids) {
    for (const inode of socketInodes(pid)) {
      const s = tcp.get(inode);
      if (s && s.state === 'LISTEN') out.set(s.local, pid);
    }
  }
  return out;
}
