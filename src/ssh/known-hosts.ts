/**
 * OpenSSH known_hosts reading and host-key decisions (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT").
 *
 * Handled: plain names, `[host]:port` for non-22 ports, comma lists, `*`/`?` wildcards, `!`
 * negations, hashed `|1|salt|hash` entries (HMAC-SHA1 of the host token keyed by the salt),
 * `@revoked` (a listed key is refused for the matching hosts), `@cert-authority` (ignored: we do not
 * accept host certificates, so such a line can neither admit nor refuse a key). Malformed lines are
 * skipped, as ssh does.
 */
import { createHash, createHmac } from 'node:crypto';

export interface KnownHostEntry {
  marker?: 'revoked' | 'cert-authority';
  patterns: string[];
  keyType: string;
  /** The key blob, base64 as in the file. */
  key: string;
  /** 1-based line number, for messages. */
  line: number;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split('\n').forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return;
    }
    const [hosts, keyType, key] = fields;
    if (!hosts || !keyType || !key || !/^[A-Za-z0-9+/]+=*$/.test(key)) return;
    out.push({ marker, patterns: hosts.split(','), keyType, key, line: i + 1 });
  });
  return out;
}

/** The name ssh looks up: `host` on port 22, `[host]:port` otherwise. */
export function hostToken(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function hashedMatches(pattern: string, token: string): boolean {
  const parts = pattern.split('|');
  // ['', '1', salt, hash]
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const want = parts[3] ?? '';
  const got = createHmac('sha1', salt).update(token).digest('base64');
  return got === want;
}

/** True when the entry's host patterns select `host:port` (a negation anywhere wins). */
export function entryMatches(entry: KnownHostEntry, host: string, port: number): boolean {
  const token = hostToken(host, port);
  let matched = false;
  for (const p of entry.patterns) {
    if (p.startsWith('|')) {
      if (hashedMatches(p, token)) matched = true;
      continue;
    }
    const negate = p.startsWith('!');
    const pat = negate ? p.slice(1) : p;
    if (globToRegExp(pat).test(token)) {
      if (negate) return false;
      matched = true;
    }
  }
  return matched;
}

/** `SHA256:<unpadded base64>`, as `ssh-keygen -lf` and ssh print it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Normalizes a pinned fingerprint: optional `SHA256:` prefix, optional padding. */
export function normalizeFingerprint(fp: string): string {
  const body = fp.startsWith('SHA256:') ? fp.slice(7) : fp;
  return `SHA256:${body.replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (string length + name). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  if (len > 64 || 4 + len > keyBlob.length) return 'unknown';
  return keyBlob.subarray(4, 4 + len).toString('ascii');
}

export type HostKeyVerdict =
  | { status: 'match' }
  | { status: 'unknown' }
  | { status: 'changed'; expected: string[]; lines: number[] }
  | { status: 'revoked'; lines: number[] };

/** Decides about one presented key against the parsed file. */
export function checkKnownHost(
  entries: KnownHostEntry[],
  host: string,
  port: number,
  keyBlob: Buffer,
): HostKeyVerdict {
  const b64 = keyBlob.toString('base64');
  const forHost = entries.filter((e) => e.marker !== 'cert-authority' && entryMatches(e, host, port));
  const revoked = entries.filter((e) => e.marker === 'revoked' && e.key === b64);
  if (revoked.length > 0) return { status: 'revoked', lines: revoked.map((e) => e.line) };
  const plain = forHost.filter((e) => e.marker === undefined);
  if (plain.some((e) => e.key === b64)) return { status: 'match' };
  if (plain.length === 0) return { status: 'unknown' };
  return {
    status: 'changed',
    expected: plain.map((e) => fingerprintOf(Buffer.from(e.key, 'base64'))),
    lines: plain.map((e) => e.line),
  };
}

/** Key types of the known entries for a host, so the handshake asks for a key we can check. */
export function knownKeyTypes(entries: KnownHostEntry[], host: string, port: number): string[] {
  return [
    ...new Set(
      entries.filter((e) => e.marker === undefined && entryMatches(e, host, port)).map((e) => e.keyType),
    ),
  ];
}

/** The line ssh itself would append for a newly accepted host. */
export function knownHostsLine(host: string, port: number, keyBlob: Buffer): string {
  return `${hostToken(host, port)} ${keyTypeOf(keyBlob)} ${keyBlob.toString('base64')}`;
}
