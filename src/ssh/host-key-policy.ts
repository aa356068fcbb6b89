/**
 * Strict host-key checking for one pool: a pinned fingerprint (ssh.hostKeyFingerprints, by node
 * name or host) wins; otherwise the OpenSSH known_hosts file decides. A changed or revoked key is
 * always refused; an unknown one is refused under `strict` and recorded under `accept-new`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ServerHostKeyAlgorithm } from 'ssh2';
import type { Endpoint } from './connection';
import { HostKeyMismatchError, type HostKeyProblem } from './errors';
import * as knownHosts from './known-hosts';
import type { SshPoolConfig } from './types';

/** ssh-rsa keys are served with SHA-2 signatures by modern sshd; ask for those first. */
const ALGOS_FOR_KEY_TYPE: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
};

export interface HostKeyCheck {
  /** The decision for one handshake: an error to refuse the key, undefined to accept it. */
  verify(ep: Endpoint, keyBlob: Buffer): HostKeyMismatchError | undefined;
  /**
   * The host-key algorithms to offer: only the key types known_hosts holds for the host, as ssh
   * does, so a host with several keys is not mistaken for a changed one. Undefined: ssh2's default.
   */
  algorithms(ep: Endpoint): ServerHostKeyAlgorithm[] | undefined;
}

export function hostKeyCheck(
  config: Pick<SshPoolConfig, 'knownHostsPath' | 'hostKeyPolicy' | 'hostKeyFingerprints'>,
): HostKeyCheck {
  const policy = config.hostKeyPolicy ?? 'strict';
  const file = config.knownHostsPath;
  const pinned = new Map(
    Object.entries(config.hostKeyFingerprints ?? {}).map(
      ([k, v]) => [k, knownHosts.normalizeFingerprint(v)] as const,
    ),
  );

  function verify(ep: Endpoint, keyBlob: Buffer): HostKeyMismatchError | undefined {
    const fp = knownHosts.fingerprintOf(keyBlob);
    const keyType = knownHosts.keyTypeOf(keyBlob);
    const where = `${ep.name} (${ep.host}:${ep.port})`;
    const refuse = (message: string, problem: HostKeyProblem, expectedFingerprints: string[]) =>
      new HostKeyMismatchError(message, {
        host: ep.host,
        port: ep.port,
        problem,
        presentedFingerprint: fp,
        keyType,
        expectedFingerprints,
      });
    const pin = pinned.get(ep.name) ?? pinned.get(ep.host);
    if (pin !== undefined) {
      if (pin === fp) return undefined;
      return refuse(
        `host key of ${where} does not match the pinned fingerprint: the server presented ${keyType} ${fp}, ` +
          `ssh.hostKeyFingerprints has ${pin}. If the host was legitimately re-keyed, verify ${fp} out of band ` +
          `and update ssh.hostKeyFingerprints; otherwise this may be an attack: do not connect.`,
        'pinned-mismatch',
        [pin],
      );
    }
    const verdict = knownHosts.checkKnownHost(
      knownHosts.parseKnownHosts(readOrEmpty(file)),
      ep.host,
      ep.port,
      keyBlob,
    );
    const token = knownHosts.hostToken(ep.host, ep.port);
    if (verdict.status === 'match') return undefined;
    if (verdict.status === 'revoked') {
      return refuse(
        `host key of ${where} (${keyType} ${fp}) is marked @revoked in ${file} (line ${verdict.lines.join(', ')}); refusing to connect. ` +
          `Fix: re-key the host and record the new key after verifying its fingerprint`,
        'revoked',
        [],
      );
    }
    if (verdict.status === 'changed') {
      return refuse(
        `HOST KEY CHANGED for ${where}: the server presented ${keyType} ${fp}, but ${file} ` +
          `(line ${verdict.lines.join(', ')}) has ${verdict.expected.join(', ')}. This may be an attack; kupgrade never accepts a changed key. ` +
          `If the host was legitimately re-installed, verify ${fp} out of band, then run: ssh-keygen -R '${token}' -f ${file} and add the new key`,
        'changed',
        verdict.expected,
      );
    }
    if (policy === 'accept-new') {
      appendKnownHost(file, knownHosts.knownHostsLine(ep.host, ep.port, keyBlob));
      return undefined;
    }
    return refuse(
      `unknown host key for ${where}: the server presented ${keyType} ${fp}, and ${file} has no entry for ${token}. ` +
        `Fix: verify the fingerprint out of band, then add it (ssh-keyscan -p ${ep.port} ${ep.host} >> ${file}), ` +
        `pin it in ssh.hostKeyFingerprints, or set ssh.hostKeyPolicy: accept-new`,
      'unknown',
      [],
    );
  }

  function algorithms(ep: Endpoint): ServerHostKeyAlgorithm[] | undefined {
    if (pinned.has(ep.name) || pinned.has(ep.host)) return undefined;
    const types = knownHosts.knownKeyTypes(knownHosts.parseKnownHosts(readOrEmpty(file)), ep.host, ep.port);
    if (types.length === 0 || !types.every((t) => ALGOS_FOR_KEY_TYPE[t])) return undefined;
    return types.flatMap((t) => ALGOS_FOR_KEY_TYPE[t] ?? []);
  }

  return { verify, algorithms };
}

function appendKnownHost(file: string, line: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // A parallel handshake may have just recorded the same host: don't write it twice.
  const current = readOrEmpty(file);
  if (current.split('\n').includes(line)) return;
  const prefix = current !== '' && !current.endsWith('\n') ? '\n' : '';
  fs.appendFileSync(file, `${prefix}${line}\n`, { mode: 0o600 });
}

/** A missing or unreadable known_hosts file reads as empty: every host is then unknown. */
function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
