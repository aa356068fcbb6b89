/**
 * A throwaway OpenSSH server for tests: 127.0.0.1 on a free high port, its own host key, one
 * authorized client key, all in a temp dir. Runs the machine's /usr/sbin/sshd as root (the test
 * machine is root); logs in as root with the generated key.
 *
 * `bin/` is put first on the session PATH (sshd SetEnv) and holds a fake `sudo` that insists on
 * `-n --` and, when `<dir>/sudo-password-required` exists, answers as sudo does for a user that
 * needs a password. The real sudo may not be installed, and a test must not change sudoers.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';

export interface TestSshd {
  host: string;
  port: number;
  user: string;
  dir: string;
  /** Private key of the authorized client (mode 0600). */
  clientKeyPath: string;
  hostKeyPath: string;
  /** `ssh-ed25519 AAAA...` of the server. */
  hostPublicKey: string;
  /** `SHA256:...` of the server's host key. */
  hostFingerprint: string;
  /** Line for a known_hosts file trusting this server. */
  knownHostsLine: string;
  /** Writes `<dir>/known_hosts` with the given lines and returns its path. */
  writeKnownHosts(lines: string[]): string;
  /** Makes the fake sudo demand a password (true) or not. */
  setSudoPasswordRequired(required: boolean): void;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function keygen(file: string, type = 'ed25519'): string {
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'kupgrade-test', '-f', file], {
    stdio: 'ignore',
  });
  return fs.readFileSync(`${file}.pub`, 'utf8').trim();
}

export function fingerprintOfPublicKey(pub: string): string {
  const blob = Buffer.from(pub.split(/\s+/)[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Generates a public key that is not the server's (for "changed key" tests). */
export function otherPublicKey(dir: string, type = 'ed25519'): string {
  const f = path.join(dir, `other-${type}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  return keygen(f, type);
}

async function waitForPort(port: number, child: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${logs()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port}: ${logs()}`);
}

export async function startSshd(opts: { extraConfig?: string[] } = {}): Promise<TestSshd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-sshd-'));
  const hostKeyPath = path.join(dir, 'ssh_host_ed25519_key');
  const hostPublicKey = keygen(hostKeyPath);
  const clientKeyPath = path.join(dir, 'id_ed25519');
  const clientPub = keygen(clientKeyPath);
  fs.writeFileSync(path.join(dir, 'authorized_keys'), `${clientPub}\n`, { mode: 0o600 });
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(
    path.join(bin, 'sudo'),
    [
      '#!/bin/sh',
      '# Test stand-in for sudo: kupgrade must call `sudo -n -- ...`.',
      'if [ "$1" != "-n" ] || [ "$2" != "--" ]; then echo "fake sudo: expected -n --, got: $*" >&2; exit 2; fi',
      'shift 2',
      `if [ -e ${dir}/sudo-password-required ]; then echo "sudo: a password is required" >&2; exit 1; fi`,
      'exec "$@"',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  // sshd refuses to start without its privilege-separation directory.
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const configPath = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    configPath,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKeyPath}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'MaxSessions 20',
      'MaxStartups 100',
      'AllowTcpForwarding yes',
      'LogLevel ERROR',
      // SHLVL=1: bash then skips ~/.bashrc for ssh commands (it sources it only at shell level 1),
      // so a slow bashrc on the test machine does not add seconds to every command.
      `SetEnv PATH=${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SHLVL=1`,
      ...(opts.extraConfig ?? []),
      '',
    ].join('\n'),
  );
  let log = '';
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  await waitForPort(port, child, () => log);

  const hostFingerprint = fingerprintOfPublicKey(hostPublicKey);
  const [type, b64] = hostPublicKey.split(/\s+/);
  const knownHostsLine = `[127.0.0.1]:${port} ${type} ${b64}`;
  return {
    host: '127.0.0.1',
    port,
    user: 'root',
    dir,
    clientKeyPath,
    hostKeyPath,
    hostPublicKey,
    hostFingerprint,
    knownHostsLine,
    writeKnownHosts(lines: string[]) {
      const p = path.join(dir, 'known_hosts');
      fs.writeFileSync(p, lines.map((l) => `${l}\n`).join(''), { mode: 0o600 });
      return p;
    },
    setSudoPasswordRequired(required: boolean) {
      const f = path.join(dir, 'sudo-password-required');
      if (required) fs.writeFileSync(f, '');
      else fs.rmSync(f, { force: true });
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 3000)))]);
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
