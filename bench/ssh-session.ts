/**
 * What one SSH command costs through kupgrade's own pool, apart from the upgrade: the same `true`
 * sent (1) as built, (2) under the kill-on-EOF wrapper every command gets, (3) as a detached
 * transaction (src/ssh/detached.ts), against one lab node (its sshd and node shell, no
 * controller), and the two wrappers run by a local `sh` without SSH. The difference between the
 * rows is kupgrade's per-session and per-transaction price; the first row is the lab's and SSH's.
 *
 *   node dist/bench/ssh-session.js [--commands 40] [--rounds 5]
 *
 * Rounds alternate the modes so that a noisy machine shifts all of them alike; medians are printed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { planAddressesDetailed, startSshd, stopSshd } from '../lab/src/sshd';
import { cmd, type ShellCommand } from '../src/ssh/command';
import { detachedStep } from '../src/ssh/detached';
import { killableCommand } from '../src/ssh/exec';
import { createSshPool } from '../src/ssh/pool';
import type { SshTarget } from '../src/ssh/types';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? Number(process.argv[i + 1]) : def;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return +(s[Math.floor((s.length - 1) / 2)] ?? NaN).toFixed(1);
};

async function timed(n: number, one: (i: number) => Promise<void> | void): Promise<number> {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await one(i);
  return Number(process.hrtime.bigint() - t) / 1e6 / n;
}

/** Runs `line` as sshd would: its own session, stdin open (a FIFO held open for reading and writing). */
function local(line: ShellCommand, stdin: number): void {
  const r = spawnSync('setsid', ['-w', 'sh', '-c', line], { stdio: [stdin, 'ignore', 'ignore'] });
  if (r.status !== 0) throw new Error(`sh -c ${line.slice(0, 60)}…: exit ${r.status}`);
}

async function main(): Promise<void> {
  const commands = arg('commands', 40);
  const rounds = arg('rounds', 5);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-session-bench-'));
  const runDir = path.join(dir, 'run');
  const fifo = path.join(dir, 'stdin');
  spawnSync('mkfifo', [fifo]);
  const stdin = fs.openSync(fifo, 'r+');
  const [address] = planAddressesDetailed(1).addresses;
  if (!address) throw new Error('no lab address free');
  await startSshd(dir, [{ name: 'n0', ...address }]);
  const pools = [false, true].map((killOnDisconnect) =>
    createSshPool({
      privateKeyPath: path.join(dir, 'ssh', 'id_ed25519'),
      knownHostsPath: path.join(dir, 'ssh', 'known_hosts'),
      killOnDisconnect,
    }),
  );
  const [raw, killable] = pools as [(typeof pools)[0], (typeof pools)[0]];
  const target: SshTarget = {
    name: 'n0',
    host: address.address,
    port: address.port,
    user: os.userInfo().username,
    sudo: false,
  };
  const remote = async (p: typeof raw, line: ShellCommand): Promise<void> => {
    const r = await p.run(target, line);
    if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${r.stderr}`);
  };
  const rows: Record<string, number[]> = {};
  const add = (k: string, v: number): void => void (rows[k] ??= []).push(v);
  let step = 0;
  try {
    await remote(raw, cmd('true'));
    await remote(killable, cmd('true'));
    for (let r = 0; r < rounds; r++) {
      add('ssh, as built', await timed(commands, () => remote(raw, cmd('true'))));
      add('ssh, kill-on-EOF wrapper', await timed(commands, () => remote(killable, cmd('true'))));
      add(
        'ssh, kill-on-EOF + detached transaction',
        await timed(commands, () => remote(killable, detachedStep(`s${step++}`, cmd('true'), runDir))),
      );
      add('local sh -c true', await timed(commands, () => local(cmd('true'), stdin)));
      add(
        'local kill-on-EOF wrapper',
        await timed(commands, () => local(killableCommand(cmd('true')), stdin)),
      );
      add(
        'local detached transaction',
        await timed(commands, () =>
          local(detachedStep(`l${step++}`, cmd('true'), path.join(dir, 'local')), stdin),
        ),
      );
    }
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    fs.closeSync(stdin);
    await stopSshd(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `# ms per command, median of ${rounds} rounds of ${commands}; load ${os.loadavg()[0]?.toFixed(1)}`,
  );
  for (const [k, v] of Object.entries(rows)) console.log(JSON.stringify({ what: k, ms: median(v) }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
