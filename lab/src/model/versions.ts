/**
 * Kubernetes versions as the lab models them: plain `1.30.4` strings (no `v`) inside the state,
 * `v1.30.4` wherever a real tool prints a GitVersion. Facts per minor (etcd, CoreDNS, pause, Go,
 * kustomize, last patch released) live here so that every shim and the benchmark agree.
 */

export interface Ver {
  major: number;
  minor: number;
  patch: number;
}

export function parseVer(s: string): Ver | null {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/.exec(s.trim());
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

export function mustVer(s: string): Ver {
  const v = parseVer(s);
  if (!v) throw new Error(`invalid version ${JSON.stringify(s)}`);
  return v;
}

export function cmpVer(a: string | Ver, b: string | Ver): number {
  const x = typeof a === 'string' ? mustVer(a) : a;
  const y = typeof b === 'string' ? mustVer(b) : b;
  return x.major - y.major || x.minor - y.minor || x.patch - y.patch;
}

export function minorOf(s: string): number {
  return mustVer(s).minor;
}

/** `1.30.4` -> `v1.30.4`; keeps an existing `v`. */
export function withV(s: string): string {
  return s.startsWith('v') ? s : `v${s}`;
}

export function noV(s: string): string {
  return s.startsWith('v') ? s.slice(1) : s;
}

/**
 * Last patch of each minor the lab's package repositories hold (pkgs.k8s.io keeps one repo per
 * minor). Numbers are close to the real release history; exactness does not matter to any rule.
 */
export const LAST_PATCH: Record<number, number> = {
  24: 17,
  25: 16,
  26: 15,
  27: 16,
  28: 15,
  29: 15,
  30: 14,
  31: 13,
  32: 10,
  33: 13,
  34: 4,
};

export const MIN_MINOR = 24;
export const MAX_MINOR = 34;

export function latestPatch(minor: number): string | null {
  const p = LAST_PATCH[minor];
  return p === undefined ? null : `1.${minor}.${p}`;
}

export function patchesOf(minor: number): string[] {
  const last = LAST_PATCH[minor];
  if (last === undefined) return [];
  return Array.from({ length: last + 1 }, (_, i) => `1.${minor}.${i}`);
}

interface MinorFacts {
  etcd: string;
  coredns: string;
  pause: string;
  go: string;
  kustomize: string;
}

const FACTS: Record<number, MinorFacts> = {
  24: { etcd: '3.5.3-0', coredns: 'v1.8.6', pause: '3.7', go: 'go1.18.10', kustomize: 'v4.5.4' },
  25: { etcd: '3.5.4-0', coredns: 'v1.9.3', pause: '3.8', go: 'go1.19.13', kustomize: 'v4.5.7' },
  26: { etcd: '3.5.6-0', coredns: 'v1.9.3', pause: '3.9', go: 'go1.20.10', kustomize: 'v4.5.7' },
  27: { etcd: '3.5.7-0', coredns: 'v1.10.1', pause: '3.9', go: 'go1.20.10', kustomize: 'v5.0.1' },
  28: {
    etcd: '3.5.9-0',
    coredns: 'v1.10.1',
    pause: '3.9',
    go: 'go1.21.9',
    kustomize: 'v5.0.4-0.20230601165947-6ce0bf390ce3',
  },
  29: {
    etcd: '3.5.10-0',
    coredns: 'v1.11.1',
    pause: '3.9',
    go: 'go1.22.5',
    kustomize: 'v5.0.4-0.20230601165947-6ce0bf390ce3',
  },
  30: {
    etcd: '3.5.12-0',
    coredns: 'v1.11.1',
    pause: '3.9',
    go: 'go1.22.5',
    kustomize: 'v5.0.4-0.20230601165947-6ce0bf390ce3',
  },
  31: { etcd: '3.5.15-0', coredns: 'v1.11.3', pause: '3.10', go: 'go1.22.5', kustomize: 'v5.4.2' },
  32: { etcd: '3.5.16-0', coredns: 'v1.11.3', pause: '3.10', go: 'go1.23.6', kustomize: 'v5.5.0' },
  33: { etcd: '3.5.21-0', coredns: 'v1.12.0', pause: '3.10', go: 'go1.24.2', kustomize: 'v5.6.0' },
  34: { etcd: '3.6.4-0', coredns: 'v1.12.1', pause: '3.10.1', go: 'go1.24.6', kustomize: 'v5.7.1' },
};

export function facts(version: string): MinorFacts {
  const m = minorOf(version);
  return FACTS[m] ?? FACTS[Math.max(MIN_MINOR, Math.min(MAX_MINOR, m))]!;
}

export const etcdFor = (v: string): string => facts(v).etcd;
export const corednsFor = (v: string): string => facts(v).coredns;

/** A stable fake 40-hex git commit per version, so outputs are deterministic. */
export function gitCommit(version: string): string {
  let h = 2166136261;
  let out = '';
  for (let round = 0; out.length < 40; round++) {
    for (const c of `${version}#${round}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 40);
}

/** Deterministic build date: patch releases roughly monthly after each minor's release. */
export function buildDate(version: string): string {
  const v = mustVer(version);
  const base = Date.UTC(2022, 4, 3) + (v.minor - 24) * 120 * 86400_000 + v.patch * 30 * 86400_000;
  return new Date(base + 16 * 3600_000 + 2 * 60_000 + 27_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
