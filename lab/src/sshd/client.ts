// A minimal ssh2 client for the lab (tests, `kupgrade-lab` checks): one command per connection,
// strict host-key checking against the lab's known_hosts. kupgrade itself uses src/ssh.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Client, type ConnectConfig } from 'ssh2';
import { clientKeyPath, knownHostsPath } from './paths';

export interface LabExecTarget {
  address: string;
  port: number;
  /** default: the user running this process */
  user?: string;
}

export interface LabExecOptions {
  /** lab dir: client key and known_hosts default to DIR/ssh/id_ed25519 and DIR/ssh/known_hosts */
  dir?: string;
  privateKey?: Buffer | string;
  knownHostsPath?: string;
  /** try password authentication instead of the key (to prove it is refused) */
  password?: string;
  stdin?: string;
  timeoutMs?: number;
  /** request a pty (interactive session) */
  pty?: boolean;
}

export interface LabExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Raised for connection-level failures; `level` is ssh2's error level or the socket error code. */
export class LabSshConnectError extends Error {
  override name = 'LabSshConnectError';
  constructor(
    message: string,
    readonly level: string,
  ) {
    super(message);
  }
}

/** The base64 host key blobs known_hosts pins for `[address]:port` (plain `address` on port 22). */
export function knownHostKeys(file: string, address: string, port: number): string[] {
  const host = port === 22 ? address : `[${address}]:${port}`;
  const out: string[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [hosts, , blob] = t.split(/\s+/);
    if (blob && hosts.split(',').includes(host)) out.push(blob);
  }
  return out;
}

/** Runs one command on a lab node over SSH; rejects with LabSshConnectError if it cannot. */
export function labExec(
  target: LabExecTarget,
  command: string | null,
  opts: LabExecOptions = {},
): Promise<LabExecResult> {
  const kh = opts.knownHostsPath ?? (opts.dir ? knownHostsPath(opts.dir) : undefined);
  if (!kh) throw new Error('labExec: give dir or knownHostsPath');
  const pinned = knownHostKeys(kh, target.address, target.port);
  const cfg: ConnectConfig = {
    host: target.address,
    port: target.port,
    username: target.user ?? os.userInfo().username,
    readyTimeout: opts.timeoutMs ?? 60000,
    hostVerifier: (key: Buffer) => pinned.includes(key.toString('base64')),
  };
  if (opts.password !== undefined) {
    cfg.password = opts.password;
    cfg.tryKeyboard = true;
  } else {
    cfg.privateKey = opts.privateKey ?? fs.readFileSync(clientKeyPath(opts.dir!));
  }
  return new Promise((resolve, reject) => {
    const c = new Client();
    let settled = false;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let code: number | null = null;
    let signal: string | null = null;
    const done = (e: Error | null): void => {
      if (settled) return;
      settled = true;
      c.end();
      if (e) reject(e);
      else
        resolve({
          code,
          signal,
          stdout: Buffer.concat(out).toString(),
          stderr: Buffer.concat(err).toString(),
        });
    };
    c.on('error', (e: Error & { level?: string; code?: string }) => {
      done(new LabSshConnectError(e.message, e.level ?? e.code ?? 'unknown'));
    });
    c.on('close', () =>
      done(new LabSshConnectError('connection closed before the command finished', 'closed')),
    );
    c.on('ready', () => {
      const onStream = (e: Error | undefined, stream: import('ssh2').ClientChannel): void => {
        if (e) return done(new LabSshConnectError(e.message, 'channel'));
        stream.on('data', (d: Buffer) => out.push(d));
        stream.stderr.on('data', (d: Buffer) => err.push(d));
        stream.on('exit', (c1: number | null, s1?: string) => {
          code = c1;
          signal = s1 ?? null;
        });
        stream.on('close', () => done(null));
        if (opts.stdin !== undefined) stream.end(opts.stdin);
        else stream.end();
      };
      if (command === null) c.shell(opts.pty ? { term: 'dumb' } : false, onStream);
      else c.exec(command, opts.pty ? { pty: true } : {}, onStream);
    });
    c.connect(cfg);
  });
}
