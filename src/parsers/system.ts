/**
 * Node services and etcd: systemctl is-active, swapon --show and
 * etcdctl endpoint health.
 */
import { lines } from './common';

export type UnitState =
  'active' | 'inactive' | 'activating' | 'deactivating' | 'failed' | 'reloading' | 'unknown';

/** `systemctl is-active UNIT`: the first line is the state; exit 0 iff active (3 otherwise). */
export function parseSystemctlIsActive(
  stdout: string,
  exitCode?: number,
): { state: UnitState; active: boolean } {
  const first = (lines(stdout).find((l) => l.trim() !== '') ?? '').trim();
  const known: UnitState[] = ['active', 'inactive', 'activating', 'deactivating', 'failed', 'reloading'];
  const state = (known as string[]).includes(first) ? (first as UnitState) : 'unknown';
  const active = exitCode === undefined ? state === 'active' || state === 'reloading' : exitCode === 0;
  return { state, active };
}

export interface SwapDevice {
  name: string;
  type: string;
  size: string;
  used: string;
  prio: number;
}

/** `swapon --show`: nothing at all when swap is off; else a header and one row per device. */
export function parseSwaponShow(text: string): { enabled: boolean; devices: SwapDevice[] } {
  const devices: SwapDevice[] = [];
  for (const l of lines(text)) {
    const t = l.trim();
    if (t === '' || /^NAME\s+TYPE/.test(t)) continue;
    const f = t.split(/\s+/);
    if (f.length < 5 || !f[0]?.startsWith('/')) continue;
    devices.push({ name: f[0], type: f[1] ?? '', size: f[2] ?? '', used: f[3] ?? '', prio: Number(f[4]) });
  }
  return { enabled: devices.length > 0, devices };
}

export interface EndpointHealth {
  endpoint: string;
  healthy: boolean;
  /** `14.891442ms` as printed, for healthy endpoints. */
  took?: string;
  error?: string;
}

/** `etcdctl endpoint health` (stdout + stderr): zap JSON log lines and `Error: unhealthy cluster` are skipped. */
export function parseEtcdctlEndpointHealth(text: string): EndpointHealth[] {
  const out: EndpointHealth[] = [];
  for (const l of lines(text)) {
    const ok = /^(\S+) is healthy: successfully committed proposal: took = (\S+)\s*$/.exec(l.trim());
    if (ok?.[1]) {
      out.push({ endpoint: ok[1], healthy: true, took: ok[2] });
      continue;
    }
    const bad = /^(\S+) is unhealthy: (.+)$/.exec(l.trim());
    if (bad?.[1]) out.push({ endpoint: bad[1], healthy: false, error: bad[2] });
  }
  return out;
}
