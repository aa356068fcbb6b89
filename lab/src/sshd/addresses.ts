// Where the lab's nodes listen. Detected, not assumed: a short-lived child process tries to bind
// each candidate (address, port) and the plan keeps the first ones that are free.
//
//   mode 'loopback-22'   root: node i at 127.0.0.(i+2):22, spilling into 127.0.1.1…, 127.0.2.1…
//   mode 'loopback-high' non-root, or port 22 not bindable: the same addresses on one high port
//   mode 'single'        extra loopback addresses unusable: 127.0.0.1 with one port per node
//
// The probe runs in a child process because binding is asynchronous in Node and planAddresses
// is synchronous (the lab CLI computes the plan before it writes lab.json).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export type AddressMode = 'loopback-22' | 'loopback-high' | 'single';

export interface PlanOptions {
  /** Do not use port 22 (the default when not running as root). */
  nonRoot?: boolean;
  /** Put every node on 127.0.0.1, one port per node. */
  singleAddress?: boolean;
  /** First high port to try (default 22000). */
  basePort?: number;
  /** The lab directory the addresses are for: their reservations hold while it exists. */
  owner?: string;
}

export interface AddressPlan {
  mode: AddressMode;
  addresses: { address: string; port: number }[];
}

export const DEFAULT_BASE_PORT = 22000;

/** The i-th extra loopback address: 127.0.0.2 … 127.0.0.254, 127.0.1.1 … 127.0.1.254, … */
export function loopbackAddress(i: number): string {
  const k = i + 1; // skip 127.0.0.1
  const b2 = Math.floor(k / 254);
  const b3 = (k % 254) + 1;
  if (b2 > 255) throw new Error(`loopback address index ${i} out of range`);
  return `127.0.${b2}.${b3}`;
}

// The probe: argv = JSON {count, base, tryPort22, trySingle, tryMulti}; prints JSON AddressPlan or
// {error}. Written as plain JavaScript so it runs from the TypeScript sources (tests) and dist alike.
const PROBE = String.raw`
const net = require('node:net');
const fs = require('node:fs');
const o = JSON.parse(process.argv[1]);
// a candidate that binds is also reserved (an O_EXCL file), so that two labs planning at the same
// moment do not both pick it. A reservation that names its lab's directory holds while that
// directory exists: a lab's address is free to bind whenever its node is down or its sshd restarts,
// and must not be taken then. One without (planned for no lab yet) holds for reserveMs.
function held(f) {
  let r = null;
  try { r = JSON.parse(fs.readFileSync(f, 'utf8')); } catch {}
  if (r && typeof r.dir === 'string') return r.dir !== o.owner && fs.existsSync(r.dir);
  return Date.now() - fs.statSync(f).mtimeMs < o.reserveMs;
}
function reserve(c) {
  if (!o.resDir) return true;
  const f = o.resDir + '/' + c.address + '_' + c.port;
  const mine = JSON.stringify(o.owner ? { dir: o.owner } : { pid: process.pid });
  try {
    fs.writeFileSync(f, mine, { flag: 'wx' });
    return true;
  } catch (e) {
    if (e.code !== 'EEXIST') return true;
    try {
      if (held(f)) return false;
      fs.writeFileSync(f, mine);
      return true;
    } catch {
      return false;
    }
  }
}
function addr(i) { const k = i + 1; return '127.0.' + Math.floor(k / 254) + '.' + ((k % 254) + 1); }
function bind(host, port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', (e) => resolve(e.code || String(e)));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve('ok')));
  });
}
function release(list) {
  if (o.resDir) for (const c of list) try { fs.rmSync(o.resDir + '/' + c.address + '_' + c.port); } catch {}
}
async function scan(cands, count) {
  const got = [];
  const BATCH = 64;
  let anyOk = false;
  for (let i = 0; i < cands.length && got.length < count; i += BATCH) {
    const batch = cands.slice(i, i + BATCH);
    const res = await Promise.all(batch.map((c) => bind(c.address, c.port)));
    // nothing bindable at all (EACCES, a wildcard listener on the port…): give up early; a run of
    // addresses in use (other labs) is skipped
    if (res.some((r) => r === 'ok')) anyOk = true;
    if (!anyOk && (res[0] !== 'EADDRINUSE' || i + BATCH >= 256)) return { got, first: res[0] };
    for (let j = 0; j < batch.length && got.length < count; j++) if (res[j] === 'ok' && reserve(batch[j])) got.push(batch[j]);
  }
  return { got: got.slice(0, count) };
}
function multi(port, count) {
  const c = [];
  const n = Math.min(count + 4096, 254 * 256 - 1);
  for (let i = 0; i < n; i++) c.push({ address: addr(i), port });
  return c;
}
(async () => {
  const notes = [];
  let multiOk = false;
  if (o.tryMulti) {
    const r = await bind('127.0.0.2', 0);
    multiOk = r === 'ok';
    if (!multiOk) notes.push('127.0.0.2 not usable (' + r + ')');
  }
  if (multiOk && o.tryPort22) {
    const r = await scan(multi(22, o.count), o.count);
    if (r.got.length === o.count) return done('loopback-22', r.got);
    release(r.got);
    notes.push('port 22: ' + (r.first || 'not enough free addresses'));
  }
  if (multiOk) {
    for (let p = o.base; p < o.base + 64 && p < 65536; p++) {
      const r = await scan(multi(p, o.count), o.count);
      if (r.got.length === o.count) return done('loopback-high', r.got);
      release(r.got);
    }
    notes.push('no common high port for ' + o.count + ' addresses from ' + o.base);
  }
  const c = [];
  for (let p = o.base; p < 65536 && c.length < o.count + 4096; p++) c.push({ address: '127.0.0.1', port: p });
  const r = await scan(c, o.count);
  if (r.got.length === o.count) return done('single', r.got);
  release(r.got);
  process.stdout.write(JSON.stringify({ error: 'no free ports on 127.0.0.1 from ' + o.base + '; ' + notes.join('; ') }));
})();
function done(mode, addresses) { process.stdout.write(JSON.stringify({ mode, addresses })); }
`;

/** How long a planned address stays reserved when no lab directory owns it yet. */
export const RESERVE_MS = 60000;

/** Shared by every lab of this user on this machine: os.tmpdir()/kupgrade-lab-reservations-UID. */
export function reservationDir(): string | null {
  const d = path.join(os.tmpdir(), `kupgrade-lab-reservations-${process.getuid?.() ?? 'u'}`);
  try {
    fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    return d;
  } catch {
    return null;
  }
}

function reservationOwner(file: string): string | null {
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as { dir?: unknown } | null;
    return typeof r?.dir === 'string' ? r.dir : null;
  } catch {
    return null;
  }
}

/**
 * Makes `dir` the owner of these addresses' reservations: they then hold for as long as the lab
 * directory exists, through node-down and sshd restarts, until `releaseReservations(…, dir)`.
 */
export function claimReservations(addresses: { address: string; port: number }[], dir: string): void {
  const d = reservationDir();
  if (!d) return;
  for (const a of addresses)
    fs.writeFileSync(path.join(d, `${a.address}_${a.port}`), JSON.stringify({ dir }));
}

/**
 * Frees reservations: with `owner`, only those that lab owns (or nobody owns), so that a lab that
 * failed to bind an address does not free the reservation of the lab that holds it.
 */
export function releaseReservations(addresses: { address: string; port: number }[], owner?: string): void {
  const d = reservationDir();
  if (!d) return;
  for (const a of addresses) {
    const f = path.join(d, `${a.address}_${a.port}`);
    if (owner !== undefined) {
      const o = reservationOwner(f);
      if (o !== null && o !== owner) continue;
    }
    fs.rmSync(f, { force: true });
  }
}

/** Plans `count` free (address, port) pairs for the lab's nodes, trying binds to find out what works. */
export function planAddressesDetailed(count: number, opts: PlanOptions = {}): AddressPlan {
  if (!Number.isInteger(count) || count < 1 || count > 10000) {
    throw new Error(`planAddresses: count must be an integer from 1 to 10000, got ${count}`);
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const resDir = reservationDir();
  const input = {
    resDir,
    reserveMs: RESERVE_MS,
    owner: opts.owner === undefined ? undefined : path.resolve(opts.owner),
    count,
    base: opts.basePort ?? DEFAULT_BASE_PORT,
    tryPort22: isRoot && !opts.nonRoot && !opts.singleAddress,
    tryMulti: !opts.singleAddress,
  };
  const r = spawnSync(process.execPath, ['-e', PROBE, JSON.stringify(input)], {
    encoding: 'utf8',
    timeout: 60000,
  });
  if (r.status !== 0) {
    throw new Error(`planAddresses: bind probe failed: ${r.error?.message ?? r.stderr}`);
  }
  const out = JSON.parse(r.stdout) as AddressPlan | { error: string };
  if ('error' in out) throw new Error(`planAddresses: ${out.error}`);
  return out;
}

export function planAddresses(count: number, opts?: PlanOptions): { address: string; port: number }[] {
  return planAddressesDetailed(count, opts).addresses;
}
