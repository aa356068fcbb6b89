/**
 * The SSH pool against a real OpenSSH server (test/helpers/sshd.ts) on 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { cmd, sh } from '../../src/ssh/command';
import {
  HostKeyMismatchError,
  SshAuthenticationError,
  SshKeyFileError,
  SshTimeoutError,
  SshTransportError,
  SudoPasswordRequiredError,
} from '../../src/ssh/errors';
import { createSshPool } from '../../src/ssh/pool';
import type { SshExecutor, SshPoolConfig, SshPoolEvent, SshTarget } from '../../src/ssh/types';
import { freePort, otherPublicKey, startSshd, type TestSshd } from '../helpers/sshd';

let sshd: TestSshd;
const pools: SshExecutor[] = [];

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd.stop();
});
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

function target(over: Partial<SshTarget> = {}): SshTarget {
  return { name: 'node-a', host: sshd.host, port: sshd.port, user: 'root', sudo: false, ...over };
}

function pool(over: Partial<SshPoolConfig> = {}) {
  const p = createSshPool({
    privateKeyPath: sshd.clientKeyPath,
    idleTimeoutMs: 5_000,
    ...over,
    knownHostsPath: over.knownHostsPath ?? sshd.writeKnownHosts([sshd.knownHostsLine]),
  });
  pools.push(p);
  return p;
}

/** Counts the handshakes of the pool it observes. */
function handshakeCounter() {
  const counter = {
    handshakes: 0,
    observe: (e: SshPoolEvent) => {
      if (e === 'handshake') counter.handshakes++;
    },
  };
  return counter;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('exec', () => {
  test('stdout, stderr and exit codes', async () => {
    const p = pool();
    const r = await p.run(target(), sh`echo out; echo err >&2; exit ${3}`);
    expect(r).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', truncated: false });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
    expect((await p.run(target(), cmd('true'))).exitCode).toBe(0);
    expect((await p.run(target(), cmd('false'))).exitCode).toBe(1);
  });

  test('a command killed by a signal reports 128 + signal', async () => {
    const r = await pool().run(target(), sh`kill -TERM $$`);
    expect(r.exitCode).toBe(143);
  });

  test('one handshake for many commands, sequential and parallel (channels multiplexed)', async () => {
    const counter = handshakeCounter();
    const p = pool({ maxChannelsPerConnection: 4, observe: counter.observe });
    for (let i = 0; i < 10; i++)
      expect((await p.run(target(), cmd('echo', String(i)))).stdout).toBe(`${i}\n`);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => p.run(target(), sh`sleep 0.05; echo ${i}`)),
    );
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `${i}\n`));
    expect(counter.handshakes).toBe(1);
    expect(p.stats().connections).toBe(1);
  });

  test('100 concurrent commands on one host queue for channels, one handshake', async () => {
    const counter = handshakeCounter();
    const p = pool({ maxChannelsPerConnection: 8, observe: counter.observe });
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => p.run(target(), cmd('echo', `n${i}`))),
    );
    expect(results.every((r, i) => r.exitCode === 0 && r.stdout === `n${i}\n`)).toBe(true);
    expect(counter.handshakes).toBe(1);
  });

  test('onProgress is called as output arrives', async () => {
    let calls = 0;
    await pool().run(target(), sh`for i in 1 2 3; do echo $i; sleep 0.05; done`, {
      onProgress: () => calls++,
    });
    expect(calls).toBeGreaterThanOrEqual(3);
  });

  test('output over the cap keeps the tail', async () => {
    const r = await pool().run(target(), cmd('seq', '1', '100000'), { maxOutputBytes: 1000 });
    expect(r.truncated).toBe(true);
    expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(1000);
    expect(r.stdout.endsWith('99999\n100000\n')).toBe(true);
  });

  test('hostile values arrive as single literal argv elements', async () => {
    const hostile = [
      '; rm -rf /',
      '$(id)',
      '`id`',
      'a\nb',
      "it's",
      '"q"',
      '-rf',
      '',
      ' ',
      '*',
      '$HOME',
      '\\',
      "'\\''",
      '&& x',
    ];
    const p = pool();
    const r = await p.run(target(), cmd('printf', '%s\\0', ...hostile));
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(hostile);
    const viaSh = await p.run(
      target(),
      sh`printf '%s\\0' ${hostile[0] ?? ''} ${hostile[1] ?? ''} ${hostile[3] ?? ''}`,
    );
    expect(viaSh.stdout.split('\0').slice(0, -1)).toEqual([hostile[0], hostile[1], hostile[3]]);
    // Nothing ran: no file named by an injection attempt appeared.
    const marker = path.join(sshd.dir, 'pwned');
    await p.run(target(), cmd('echo', `x; touch ${marker}`, `$(touch ${marker})`, `\`touch ${marker}\``));
    expect(fs.existsSync(marker)).toBe(false);
  });

  test('seeded random argv round-trips over SSH', async () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const alphabet = ` \t\n'"\`$;&|<>()[]{}*?!#~\\-=%^abc01`;
    const p = pool();
    for (let i = 0; i < 25; i++) {
      const args = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () =>
        Array.from(
          { length: Math.floor(rnd() * 10) },
          () => alphabet[Math.floor(rnd() * alphabet.length)],
        ).join(''),
      );
      const r = await p.run(target(), cmd('printf', '%s\\0', ...args));
      expect(r.stdout.split('\0').slice(0, -1)).toEqual(args);
    }
  });
});

describe('timeouts and cancellation', () => {
  test('timeout kills the command and the connection stays usable', async () => {
    const p = pool();
    const marker = path.join(sshd.dir, 'after-timeout');
    const started = Date.now();
    const err = await rejection(p.run(target(), sh`sleep 2; touch ${marker}`, { timeoutMs: 300 }));
    expect(err).toBeInstanceOf(SshTimeoutError);
    expect((err as SshTimeoutError).retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(1500);
    expect((await p.run(target(), cmd('echo', 'still here'))).stdout).toBe('still here\n');
    await new Promise((r) => setTimeout(r, 2500));
    // killpg reached the sleeping child: the command never got to its second half.
    expect(fs.existsSync(marker)).toBe(false);
  });

  test('abort rejects with the signal reason', async () => {
    const p = pool();
    const ac = new AbortController();
    const reason = new Error('activity cancelled');
    setTimeout(() => ac.abort(reason), 200);
    const started = Date.now();
    const err = await rejection(p.run(target(), cmd('sleep', '5'), { signal: ac.signal }));
    expect(err).toBe(reason);
    expect(Date.now() - started).toBeLessThan(2000);
    const pre = new AbortController();
    pre.abort();
    expect((await rejection(p.run(target(), cmd('true'), { signal: pre.signal }))).name).toBe('AbortError');
  });

  test('aborted commands give their channel back (no slot leak)', async () => {
    const p = pool({ maxChannelsPerConnection: 2 });
    await p.run(target(), cmd('true'));
    for (let i = 0; i < 6; i++) {
      const ac = new AbortController();
      const run = p.run(target(), cmd('sleep', '5'), { signal: ac.signal });
      // Half are aborted before the channel is open, half while the command runs.
      setTimeout(() => ac.abort(), i % 2 === 0 ? 0 : 150);
      await rejection(run);
    }
    const started = Date.now();
    expect((await p.run(target(), cmd('echo', 'free'))).stdout).toBe('free\n');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('idle connections are closed and re-opened on demand', async () => {
    const counter = handshakeCounter();
    const p = createSshPool({
      privateKeyPath: sshd.clientKeyPath,
      knownHostsPath: sshd.writeKnownHosts([sshd.knownHostsLine]),
      idleTimeoutMs: 200,
      observe: counter.observe,
    });
    pools.push(p);
    await p.run(target(), cmd('true'));
    expect(p.stats().connections).toBe(1);
    await new Promise((r) => setTimeout(r, 600));
    expect(p.stats().connections).toBe(0);
    await p.run(target(), cmd('true'));
    expect(counter.handshakes).toBe(2);
  });

  test('a connection dropped mid-command is a retryable transport error with unknown exit code', async () => {
    const p = pool();
    // The parent of our wrapper shell ($PPID) is the sshd session process: killing it drops the
    // connection under the command.
    const marker = path.join(sshd.dir, 'after-drop');
    const err = await rejection(
      p.run(target(), sh`sleep 0.2; kill -9 $(cut -d' ' -f4 /proc/$PPID/stat); sleep 1; touch ${marker}`),
    );
    expect(err).toBeInstanceOf(SshTransportError);
    expect(err).toMatchObject({ retryable: true, exitCodeUnknown: true });
    // The pool reconnects for the next command.
    expect((await p.run(target(), cmd('echo', 'back'))).stdout).toBe('back\n');
    // The dropped connection took the command with it (no orphan finishing behind our back).
    await new Promise((r) => setTimeout(r, 1500));
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe('host keys', () => {
  test('unknown host key is refused under strict, before any command runs', async () => {
    const marker = path.join(sshd.dir, 'ran-unknown');
    const p = pool({ knownHostsPath: sshd.writeKnownHosts([]) });
    const err = await rejection(p.run(target(), cmd('touch', marker)));
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect(err).toMatchObject({
      problem: 'unknown',
      retryable: false,
      presentedFingerprint: sshd.hostFingerprint,
    });
    expect(err.message).toContain(sshd.hostFingerprint);
    expect(err.message).toContain('accept-new');
    expect(fs.existsSync(marker)).toBe(false);
  });

  test('accept-new records an unknown host, then strict accepts it', async () => {
    const kh = path.join(sshd.dir, 'sub', 'known_hosts_new');
    const p = pool({ knownHostsPath: kh, hostKeyPolicy: 'accept-new' });
    expect((await p.run(target(), cmd('true'))).exitCode).toBe(0);
    const text = fs.readFileSync(kh, 'utf8');
    expect(text).toBe(`${sshd.knownHostsLine}\n`);
    expect(fs.statSync(kh).mode & 0o777).toBe(0o600);
    const strict = pool({ knownHostsPath: kh });
    expect((await strict.run(target(), cmd('true'))).exitCode).toBe(0);
    // ssh-keygen agrees the recorded line matches this host.
    expect(
      execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${sshd.port}`, '-f', kh], { encoding: 'utf8' }),
    ).toContain('ssh-ed25519');
  });

  test('a changed key is refused with the presented fingerprint, even under accept-new', async () => {
    const other = otherPublicKey(sshd.dir).split(/\s+/);
    const kh = sshd.writeKnownHosts([`[127.0.0.1]:${sshd.port} ${other[0]} ${other[1]}`]);
    for (const hostKeyPolicy of ['strict', 'accept-new'] as const) {
      const err = await rejection(pool({ knownHostsPath: kh, hostKeyPolicy }).run(target(), cmd('true')));
      expect(err).toBeInstanceOf(HostKeyMismatchError);
      expect(err).toMatchObject({ problem: 'changed', presentedFingerprint: sshd.hostFingerprint });
      expect(err.message).toContain(sshd.hostFingerprint);
      expect(err.message).toContain('ssh-keygen -R');
    }
    expect(fs.readFileSync(kh, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
  });

  test('hashed known_hosts entries (ssh-keygen -H) are accepted', async () => {
    const kh = sshd.writeKnownHosts([
      '# comment',
      '@cert-authority *.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==',
      sshd.knownHostsLine,
    ]);
    execFileSync('ssh-keygen', ['-H', '-f', kh], { stdio: 'ignore' });
    const text = fs.readFileSync(kh, 'utf8');
    expect(text).toContain('|1|');
    expect(text).not.toContain(`[127.0.0.1]:${sshd.port}`);
    expect((await pool({ knownHostsPath: kh }).run(target(), cmd('true'))).exitCode).toBe(0);
  });

  test('comma lists and wildcards match; @revoked refuses', async () => {
    const [type, b64] = sshd.hostPublicKey.split(/\s+/);
    const listed = sshd.writeKnownHosts([`other.example,[127.0.0.*]:${sshd.port} ${type} ${b64}`]);
    expect((await pool({ knownHostsPath: listed }).run(target(), cmd('true'))).exitCode).toBe(0);
    const revoked = sshd.writeKnownHosts([`@revoked * ${type} ${b64}`, sshd.knownHostsLine]);
    const err = await rejection(pool({ knownHostsPath: revoked }).run(target(), cmd('true')));
    expect(err).toMatchObject({ problem: 'revoked' });
  });

  test('pinned fingerprints: match connects, mismatch refuses', async () => {
    const empty = sshd.writeKnownHosts([]);
    const ok = pool({ knownHostsPath: empty, hostKeyFingerprints: { 'node-a': sshd.hostFingerprint } });
    expect((await ok.run(target(), cmd('true'))).exitCode).toBe(0);
    const wrong = pool({
      knownHostsPath: empty,
      hostKeyFingerprints: { 'node-a': 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU' },
    });
    const err = await rejection(wrong.run(target(), cmd('true')));
    expect(err).toMatchObject({ problem: 'pinned-mismatch', presentedFingerprint: sshd.hostFingerprint });
  });
});

describe('keys, sudo, transport', () => {
  test('a private key readable by others is refused, and its content never appears in the error', async () => {
    const copy = path.join(sshd.dir, 'id_loose');
    fs.copyFileSync(sshd.clientKeyPath, copy);
    fs.chmodSync(copy, 0o644);
    const err = await rejection(pool({ privateKeyPath: copy }).run(target(), cmd('true')));
    expect(err).toBeInstanceOf(SshKeyFileError);
    expect(err.message).toContain(`chmod 600 ${copy}`);
    const keyText = fs.readFileSync(copy, 'utf8');
    const body = keyText.split('\n')[1] ?? '';
    expect(body.length).toBeGreaterThan(20);
    expect(err.message).not.toContain(body);
    expect(JSON.stringify(err)).not.toContain(body);
  });

  test('sudo: true runs through sudo -n; a password prompt becomes SudoPasswordRequiredError', async () => {
    const p = pool();
    const r = await p.run(target({ sudo: true }), sh`echo "$0:$1" && id -u`);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^sh:.*\n0\n$/);
    sshd.setSudoPasswordRequired(true);
    try {
      const err = await rejection(p.run(target({ sudo: true }), cmd('true')));
      expect(err).toBeInstanceOf(SudoPasswordRequiredError);
      expect(err).toMatchObject({ retryable: false });
      expect(err.message).toContain('NOPASSWD');
    } finally {
      sshd.setSudoPasswordRequired(false);
    }
  });

  test('connection refused is a retryable transport error', async () => {
    const port = await freePort();
    const err = await rejection(pool().run(target({ port }), cmd('true')));
    expect(err).toBeInstanceOf(SshTransportError);
    expect(err).toMatchObject({ retryable: true, code: 'ECONNREFUSED' });
  });

  test('a key the server does not accept is a non-retryable authentication error', async () => {
    const other = path.join(sshd.dir, 'id_other');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other], { stdio: 'ignore' });
    const err = await rejection(pool({ privateKeyPath: other }).run(target(), cmd('true')));
    expect(err).toBeInstanceOf(SshAuthenticationError);
    expect(err).toMatchObject({ retryable: false });
  });

  test('a server that does not speak SSH is a retryable transport error', async () => {
    const srv = net.createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    try {
      const err = await rejection(pool({ connectTimeoutMs: 2000 }).run(target({ port }), cmd('true')));
      expect(err).toBeInstanceOf(SshTransportError);
      expect(err).toMatchObject({ retryable: true });
    } finally {
      srv.close();
    }
  });

  test('a server that never answers times out the handshake (retryable, ETIMEDOUT)', async () => {
    const sockets: net.Socket[] = [];
    const srv = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      const err = await rejection(pool({ connectTimeoutMs: 500 }).run(target({ port }), cmd('true')));
      expect(err).toBeInstanceOf(SshTransportError);
      expect(err).toMatchObject({ retryable: true, code: 'ETIMEDOUT' });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      for (const s of sockets) s.destroy();
      srv.close();
    }
  });

  test('a jump host tunnels the connection (two handshakes, then reuse)', async () => {
    const counter = handshakeCounter();
    const p = pool({
      jumpHost: { host: sshd.host, port: sshd.port, user: 'root' },
      observe: counter.observe,
    });
    const r = await p.run(target(), sh`echo "$SSH_CONNECTION"`);
    // Seen by the target, the client is the jump host's sshd on loopback.
    expect(r.stdout).toMatch(/^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+\n$/);
    await p.run(target(), cmd('true'));
    expect(counter.handshakes).toBe(2);
  });

  test('the global connection cap queues callers and hands idle connections over', async () => {
    const kh = path.join(sshd.dir, 'known_hosts_cap');
    fs.writeFileSync(
      kh,
      `${sshd.knownHostsLine}\n[localhost]:${sshd.port} ${sshd.hostPublicKey.split(/\s+/).slice(0, 2).join(' ')}\n`,
    );
    const p = createSshPool({ privateKeyPath: sshd.clientKeyPath, knownHostsPath: kh, maxConnections: 1 });
    pools.push(p);
    const a = target({ name: 'a' });
    const b = target({ name: 'b', host: 'localhost' });
    const runs = await Promise.all([
      p.run(a, sh`sleep 0.2; echo a`),
      p.run(b, sh`echo b`),
      p.run(a, sh`echo a2`),
    ]);
    expect(runs.map((r) => r.stdout)).toEqual(['a\n', 'b\n', 'a2\n']);
    expect(p.stats().connections).toBeLessThanOrEqual(1);
  });
});

describe('behind a ForceCommand (as the lab runs its nodes)', () => {
  let forced: TestSshd;
  beforeAll(async () => {
    forced = await startSshd({
      extraConfig: ['ForceCommand bash --noprofile --norc -c "$SSH_ORIGINAL_COMMAND"'],
    });
  });
  afterAll(async () => {
    await forced.stop();
  });

  test('commands, exit codes, argv and timeouts still work', async () => {
    const p = createSshPool({
      privateKeyPath: forced.clientKeyPath,
      knownHostsPath: forced.writeKnownHosts([forced.knownHostsLine]),
    });
    pools.push(p);
    const t: SshTarget = { name: 'forced', host: forced.host, port: forced.port, user: 'root', sudo: false };
    expect(await p.run(t, sh`echo hi; exit ${4}`)).toMatchObject({ exitCode: 4, stdout: 'hi\n' });
    const args = ['; rm -rf /', '$(id)', 'a b'];
    expect((await p.run(t, cmd('printf', '%s\\0', ...args))).stdout.split('\0').slice(0, -1)).toEqual(args);
    const marker = path.join(forced.dir, 'after-timeout');
    const err = await rejection(p.run(t, sh`sleep 1.5; touch ${marker}`, { timeoutMs: 300 }));
    expect(err).toBeInstanceOf(SshTimeoutError);
    await new Promise((r) => setTimeout(r, 2000));
    expect(fs.existsSync(marker)).toBe(false);
  });
});
