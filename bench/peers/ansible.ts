/**
 * The bench's Ansible peer: what a person who does not use kupgrade runs, the seed's runbook as an
 * Ansible playbook (bench/ansible/upgrade.yml) with the workers in batches (`serial: 10%`, or 1),
 * over the same SSH (the lab's user and key, strict host-key checking against its known_hosts).
 *
 * `runPlaybook` runs it against a lab that is up; `runAnsible` starts a fresh lab of the bench's
 * shape, times the playbook and checks the end state with the lab's own replay of events.jsonl.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkLab, labDown, labUp } from '../../lab/src/api';
import { latestPatch } from '../../lab/src/model/versions';
import { windowSize } from '../../src/shared/versions';
import { writeInventory } from '../ansible/inventory';

const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');
export const PLAYBOOK = path.join(ROOT, 'bench/ansible/upgrade.yml');
const CONFIG = path.join(ROOT, 'bench/ansible/ansible.cfg');

export interface PlaybookOptions {
  /** the target minor, `1.30` */
  minor: string;
  /** the workers' batch: a count or a percentage of the workers, as Ansible's `serial` takes it */
  serial: number | `${number}%`;
  /** how often the Ready wait after a kubelet restart polls */
  readyPollSeconds: number;
  /** give up (SIGTERM) after this long */
  timeoutMs?: number;
}

export interface PlaybookResult {
  code: number;
  wallMs: number;
  /** DIR/ansible.log: the playbook's output */
  log: string;
}

/**
 * Runs the playbook against the lab in DIR. Ansible's state (its SSH control sockets, local temp)
 * lives in DIR: a ControlPersist master left from another lab on the same address must not be used.
 */
export function runPlaybook(dir: string, o: PlaybookOptions): Promise<PlaybookResult> {
  const spec = JSON.parse(readFileSync(path.join(dir, 'lab.json'), 'utf8')) as { nodes: { role: string }[] };
  const workers = spec.nodes.filter((n) => n.role === 'worker').length;
  const inventory = writeInventory(dir);
  const state = path.join(dir, 'ansible');
  mkdirSync(state, { recursive: true });
  const log = path.join(dir, 'ansible.log');
  const out = createWriteStream(log);
  // one fork per host of a batch: Ansible's default of 5 would make a 10% batch of 97 workers 2 rounds
  const forks = Math.max(5, windowSize(o.serial, workers));
  const args = [
    '-i',
    inventory,
    PLAYBOOK,
    '--forks',
    String(forks),
    '-e',
    `k8s_minor=${o.minor}`,
    '-e',
    `worker_serial=${o.serial}`,
    '-e',
    `ready_poll_seconds=${o.readyPollSeconds}`,
  ];
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn('ansible-playbook', args, {
      env: {
        ...process.env,
        ANSIBLE_CONFIG: CONFIG,
        ANSIBLE_HOST_KEY_CHECKING: 'True',
        ANSIBLE_SSH_CONTROL_PATH_DIR: path.join(state, 'cp'),
        ANSIBLE_LOCAL_TEMP: path.join(state, 'tmp'),
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_FORCE_COLOR: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    const timer = o.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), o.timeoutMs) : undefined;
    child.once('error', (e) => {
      clearTimeout(timer);
      out.end();
      reject(
        (e as NodeJS.ErrnoException).code === 'ENOENT'
          ? new Error("ansible-playbook not found: install Debian's ansible (scripts/setup.sh does)")
          : e,
      );
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const wallMs = Date.now() - t0;
      out.end(() => resolve({ code: code ?? (signal ? 128 : 1), wallMs, log }));
    });
  });
}

export interface AnsibleRun {
  serial: string;
  wallSeconds: number;
  /** SSH sessions the nodes served, per node (the lab's `ssh` events: one per task and host) */
  sshPerNode: number;
  checkPassed: boolean;
}

function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * A fresh lab like the bench's (3 control planes, the rest workers, yum), the playbook's wall time
 * from the start of ansible-playbook to its exit, and the lab's check: every node at the newest
 * patch of the target minor (what the playbook must find in the repository), kubelets restarted
 * only drained, never more workers cordoned than the batch, none left cordoned.
 */
export async function runAnsible(o: {
  nodes: number;
  speed: number;
  serial: number | `${number}%`;
  from: string;
  to: string;
  api?: 'real' | 'emulated';
  timeoutMs?: number;
}): Promise<AnsibleRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kupgrade-bench-ans-'));
  await labUp({
    dir,
    controlPlanes: 3,
    workers: o.nodes - 3,
    version: o.from,
    packages: 'yum',
    speed: o.speed,
    api: o.api,
  });
  try {
    // the Ready poll kupgrade's worker gets in the bench: 5 s scaled by the lab's speed
    const r = await runPlaybook(dir, {
      minor: o.to,
      serial: o.serial,
      readyPollSeconds: Math.max(10, Math.round(5000 / o.speed)) / 1000,
      timeoutMs: o.timeoutMs,
    });
    if (r.code !== 0) throw new Error(`ansible-playbook exited ${r.code}: ${tail(r.log)}`);
    const patch = latestPatch(Number(o.to.split('.')[1]));
    if (!patch) throw new Error(`the lab has no release of ${o.to}`);
    const ssh = readFileSync(path.join(dir, 'events.jsonl'), 'utf8').match(/"type":"ssh"/g)?.length ?? 0;
    return {
      serial: String(o.serial),
      wallSeconds: r.wallMs / 1000,
      sshPerNode: ssh / o.nodes,
      checkPassed: checkLab(dir, { target: `v${patch}`, maxUnavailable: o.serial }).violations.length === 0,
    };
  } finally {
    await labDown(dir).catch(() => undefined);
    if (process.env.KUPGRADE_BENCH_KEEP) console.log(`  lab kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The Ansible runs of one bench configuration: one per kupgrade window (`serial` = maxUnavailable),
 * each skipped when its bound (no preparation ahead: the playbook prepares a worker inside its
 * batch) exceeds the budget. A failed run is recorded, not thrown: the others still count.
 */
export async function benchAnsible(o: {
  nodes: number;
  speed: number;
  windows: readonly (number | `${number}%`)[];
  from: string;
  to: string;
  api?: 'real' | 'emulated';
  budgetMs: number;
  budgetMinutes?: number;
  /** the bound of the plan at this speed, ms */
  boundMs: (serial: number | `${number}%`) => number;
  timeoutMs?: number;
  log: (s: string) => void;
}): Promise<{ runs: AnsibleRun[]; skipped: string[] }> {
  const runs: AnsibleRun[] = [];
  const skipped: string[] = [];
  for (const serial of o.windows) {
    const bound = o.boundMs(serial);
    if (bound > o.budgetMs) {
      const why = `ansible serial=${serial}: bound ${(bound / 60_000).toFixed(1)} min > budget ${o.budgetMinutes} min`;
      o.log(`bench: ${o.nodes} nodes, speed ${o.speed}: skipped (${why})`);
      skipped.push(why);
      continue;
    }
    o.log(`bench: ${o.nodes} nodes, speed ${o.speed}, ansible serial ${serial} …`);
    try {
      const run = await runAnsible({ ...o, serial });
      o.log(`  wall ${run.wallSeconds.toFixed(1)} s, check ${run.checkPassed ? 'pass' : 'FAIL'}`);
      runs.push(run);
    } catch (e) {
      const why = `ansible serial=${serial}: FAILED: ${(e as Error).message.split('\n')[0]}`;
      o.log(`  ${why}`);
      skipped.push(why);
    }
  }
  return { runs, skipped };
}
