/**
 * Strict patterns for every inventory value that ends up on a command line or in a file on a node.
 * Commands are quoted anyway (src/ssh/command.ts); these patterns are the second wall, and they give
 * the operator an early, precise error instead of a strange failure half-way through an upgrade.
 * Pure functions only (no Node built-ins), so workflow code may import this file.
 */

/** Kubernetes node names: RFC 1123 subdomain, lower case, at most 253 characters. */
export const DNS1123_SUBDOMAIN =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
/** Cluster names become part of the workflow ID `kupgrade-<name>`: one DNS label. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
export const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);
/** Host names: letters, digits and inner hyphens per label; never a leading '-' (ssh would read an option). */
export const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** POSIX-portable login names (the useradd default pattern without the trailing '$'). */
export const SSH_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
/** URL characters that are safe inside a repo file and a shell word; `{minor}` is substituted separately. */
const URL_TEMPLATE =
  /^https?:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(\/[A-Za-z0-9._~:@%+=,-]*)*$/;
/** Image repository as kubeadm's imageRepository: registry host[:port] and lower-case path components. */
const IMAGE_REPOSITORY =
  /^(?=.{1,255}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]{1,5})?(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
/** `SHA256:` + unpadded base64 of 32 bytes, as `ssh-keygen -lf` prints it (the prefix is optional in the inventory). */
export const SHA256_FINGERPRINT = /^(SHA256:)?[A-Za-z0-9+/]{43}=?$/;
/** Go-style duration as kubectl prints and accepts them: 30s, 5m, 1h30m, 1.5h, 500ms. */
const GO_DURATION = /^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$/;
/** `1.30`, `v1.30`, `1.30.4`, `v1.30.4`; no leading zeros, no pre-release suffix. */
const TARGET_VERSION = /^v?(1)\.(0|[1-9][0-9]{0,2})(?:\.(0|[1-9][0-9]{0,3}))?$/;

export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

/** RFC 4291 text forms, including `::` compression and an embedded IPv4 tail; no zone IDs. */
export function isIPv6(s: string): boolean {
  if (s.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(s) || !s.includes(':')) return false;
  let body = s;
  if (s.includes('.')) {
    const last = s.lastIndexOf(':');
    if (!isIPv4(s.slice(last + 1))) return false;
    body = `${s.slice(0, last + 1)}0:0`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (![...head, ...tail].every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  const n = head.length + tail.length;
  return halves.length === 2 ? n <= 7 : n === 8;
}

/** A DNS name whose last label is numeric is a malformed IPv4 address (e.g. 10.0.0.300), not a name. */
export function isHostname(s: string): boolean {
  if (!HOSTNAME.test(s)) return false;
  const labels = s.split('.');
  return !/^[0-9]+$/.test(labels[labels.length - 1] ?? '');
}

export function isAddress(s: string): boolean {
  return isIPv4(s) || isIPv6(s) || isHostname(s);
}

export function isUrlTemplate(s: string): boolean {
  if (s.length > 512 || !s.includes('{minor}')) return false;
  return URL_TEMPLATE.test(s.split('{minor}').join('1.30'));
}

export function isImageRepository(s: string): boolean {
  return IMAGE_REPOSITORY.test(s);
}

/** Seconds in a Go-style duration, or null when the text is not one. */
export function parseDuration(s: string): number | null {
  if (!GO_DURATION.test(s)) return null;
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  let total = 0;
  for (const m of s.matchAll(/([0-9]+(?:\.[0-9]+)?)(h|ms|m|s)/g)) {
    total += Number(m[1]) * (unit[m[2] ?? 's'] ?? 1);
  }
  return total;
}

export interface TargetVersion {
  major: number;
  minor: number;
  /** null when only a minor was given (`1.30`): the newest patch in the repository is meant. */
  patch: number | null;
  /** `1.30` or `1.30.4`: normalized, without the `v`. */
  text: string;
}

export function matchTargetVersion(s: string): TargetVersion | null {
  const m = TARGET_VERSION.exec(s);
  if (!m) return null;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = m[3] === undefined ? null : Number(m[3]);
  return { major, minor, patch, text: patch === null ? `${major}.${minor}` : `${major}.${minor}.${patch}` };
}

/** Edit distance, for "did you mean" hints on misspelt field names. */
export function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const lc = c.toLowerCase();
    const d = lc === w ? 0 : lc.startsWith(w) || w.startsWith(lc) ? 1 : levenshtein(w, lc);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 4)) ? best : undefined;
}
