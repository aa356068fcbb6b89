// Measures the lab's SSH layer: start/stop of N nodes, the cost of one SSH command, and the node
// shell's own overhead (the node shell running `true` against `bash -c true`, both without SSH).
//   node dist/lab/src/sshd/bench.js [--nodes 10,100,1000] [--commands 30] [--dir /tmp/x]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'ssh2';
import { knownHostKeys } from './client';
import { BASH, nodeShellPath, planAddressesDetailed, setNodeDown, startSshd, stopSshd } from './index';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

function connect(dir: string, address: string, port: number): Promise<Client> {
  const c = new Client();
  return new Promise((resolve, reject) => {
    c.on('ready', () => resolve(c)).on('error', reject);
    c.connect({
      host: address,
      port,
      username: os.userInfo().username,
      privateKey: fs.readFileSync(path.join(dir, 'ssh', 'id_ed25519')),
      hostVerifier: (key: Buffer) =>
        knownHostKeys(path.join(dir, 'ssh', 'known_hosts'), address, port).includes(key.toString('base64')),
    });
  });
}

function exec(c: Client, cmd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    c.exec(cmd, (e, st) => {
      if (e) return reject(e);
      st.resume();
      st.stderr.resume();
      st.on('close', () => resolve());
    });
  });
}

/** CPU time (user + system, ms) of this process's reaped children, from /proc/self/stat. */
function childrenCpuMs(): number {
  const st = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1000) / 100; // cutime, cstime in clock ticks (USER_HZ 100)
}

/** Wall and CPU ms per run of a command (its children included). */
function perRun(
  n: number,
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): { wall: number; cpu: number } {
  const t = process.hrtime.bigint();
  const c = childrenCpuMs();
  for (let i = 0; i < n; i++) {
    const r = spawnSync(file, args, { env, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.status}`);
  }
  const wall = Number(process.hrtime.bigint() - t) / 1e6 / n;
  return { wall: +wall.toFixed(1), cpu: +((childrenCpuMs() - c) / n).toFixed(1) };
}

async function main(): Promise<void> {
  const counts = arg('nodes', '10,100').split(',').map(Number);
  const commands = Number(arg('commands', '30'));
  const base = arg('dir', fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-sshd-bench-')));
  console.log(
    `# cpus ${os.cpus().length}, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  for (const count of counts) {
    const dir = path.join(base, String(count));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
    let t = Date.now();
    const plan = planAddressesDetailed(count);
    const planMs = Date.now() - t;
    const nodes = plan.addresses.map((a, i) => ({ name: `n${i}`, ...a }));
    t = Date.now();
    await startSshd(dir, nodes);
    const startMs = Date.now() - t;
    const last = nodes[nodes.length - 1];
    t = Date.now();
    const c = await connect(dir, last.address, last.port);
    const connectMs = Date.now() - t;
    await exec(c, 'true');
    t = Date.now();
    for (let i = 0; i < commands; i++) await exec(c, 'true');
    const commandMs = (Date.now() - t) / commands;
    c.end();
    t = Date.now();
    await setNodeDown(dir, last.name, true);
    const downMs = Date.now() - t;
    t = Date.now();
    await setNodeDown(dir, last.name, false);
    const upMs = Date.now() - t;
    t = Date.now();
    await stopSshd(dir);
    const stopMs = Date.now() - t;
    console.log(
      JSON.stringify({
        nodes: count,
        mode: plan.mode,
        sshd: Math.ceil(count / 16),
        planMs,
        startMs,
        stopMs,
        connectMs,
        commandMs,
        nodeDownMs: downMs,
        nodeUpMs: upMs,
      }),
    );
    if (count === counts[0]) {
      // the node shell alone, as sshd would run it, against a bare bash
      const env = {
        ...process.env,
        SSH_CONNECTION: `127.0.0.1 1 ${last.address} ${last.port}`,
        SSH_ORIGINAL_COMMAND: 'true',
      };
      const bash = perRun(commands, '/bin/bash', ['-c', 'true'], env);
      const nodeBare = perRun(commands, process.execPath, ['-e', '0'], env);
      const shell = perRun(commands, BASH, ['--noprofile', '--norc', nodeShellPath(dir)], env);
      console.log(
        JSON.stringify({
          nodeShell: shell,
          bashTrue: bash,
          nodeBare,
          overheadWallMs: +(shell.wall - bash.wall).toFixed(1),
          overheadCpuMs: +(shell.cpu - bash.cpu).toFixed(1),
        }),
      );
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.rmSync(base, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
