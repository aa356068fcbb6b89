/**
 * `npm run chaos`: a bounded, seeded soak. A 2-control-plane + 6-worker lab is upgraded two minors
 * with maxUnavailable 2 while the harness SIGKILLs workers, SIGKILLs the dev server twice (restarted
 * on the same SQLite file), runs two workers and injects lab faults. It passes when the run
 * completes, `kupgrade-lab check` passes (it counts transactions killed mid-way and killed ones
 * started again), no node is left cordoned, and the lab's exec log shows no mutating command of a
 * completed step run again. Besides the seeded kills, every worker is SIGKILLed once in the middle
 * of a `kubeadm upgrade apply` and once in the middle of a kubelet package install. Writes a JSON
 * report.
 *
 *   node dist/test/chaos/run.js [--seed S] [--kills 10] [--server-kills 2] [--speed 40] [--out FILE]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import {
  checkLab,
  clearFaults,
  injectFault,
  labDown,
  labUp,
  listFaults,
  liveSessions,
  setNodeDown,
} from '../../lab/src/api';
import { loadInventory } from '../../src/inventory';
import { stateQuery } from '../../src/shared/messages';
import { upgradeWorkflowId, WORKFLOW_TYPES } from '../../src/shared/names';
import type { UpgradeState } from '../../src/shared/types';
import { freePort, startDevServer, waitForServer } from '../../src/temporal/dev-server';
import { readEvents, repeatedMutations, type LabEvent } from '../helpers/lab';

const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');

export interface ChaosOptions {
  seed: string;
  workerKills: number;
  serverKills: number;
  speed: number;
  dir?: string;
  log?: (s: string) => void;
  timeoutMs?: number;
  /** 'real': the lab runs the real kube-apiserver & co. (v1.33.13 -> v1.34, one hop) */
  api?: 'real' | 'emulated';
}

export interface ChaosReport {
  seed: string;
  passed: boolean;
  reasons: string[];
  wallSeconds: number;
  /** worker: the seeded kills; aimed: workers killed in the middle of a transaction (transactionKills) */
  kills: { worker: number; server: number; aimed: number };
  faults: { injected: number; hits: number; byKind: Record<string, number> };
  /** activity attempts beyond the first (ActivityTaskStarted with attempt > 1) over `workflows` runs */
  retries: { activityAttempts: number; failuresRecorded: number; workflows: number };
  repeatedCommands: { node: string; cmd: string; count: number }[];
  /** every worker SIGKILLed while a kubeadm upgrade apply / a kubelet package install ran (ms into it) */
  transactionKills: { apply?: number; install?: number };
  /** from `kupgrade-lab check`: transactions killed mid-way, and killed ones started again */
  transactions: { killed: number; reruns: number };
  sshCommands: number;
  finalPhase?: string;
  target?: string;
}

function rng(seed: string): () => number {
  let h = 2166136261;
  for (const c of seed) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return () => {
    h += 0x6d2b79f5;
    let t = h;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long (ms) the oldest live SSH session whose command matches has been running, if any. */
function sessionAge(labDir: string, re: RegExp): number | undefined {
  let oldest: number | undefined;
  for (const r of liveSessions(labDir)) {
    if (!re.test(r.cmd)) continue;
    const age = Date.now() - Date.parse(r.started);
    if (oldest === undefined || age > oldest) oldest = age;
  }
  return oldest;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? ((s: string) => console.log(s));
  const rand = rng(o.seed);
  const work = o.dir ?? mkdtempSync(path.join(os.tmpdir(), 'kupgrade-chaos-'));
  mkdirSync(work, { recursive: true });
  const labDir = path.join(work, 'lab');
  const dbFile = path.join(work, 'temporal.db');
  const port = await freePort();
  const uiPort = await freePort();
  const started = Date.now();
  const report: ChaosReport = {
    seed: o.seed,
    passed: false,
    reasons: [],
    wallSeconds: 0,
    kills: { worker: 0, server: 0, aimed: 0 },
    faults: { injected: 0, hits: 0, byKind: {} },
    retries: { activityAttempts: 0, failuresRecorded: 0, workflows: 0 },
    repeatedCommands: [],
    transactionKills: {},
    transactions: { killed: 0, reruns: 0 },
    sshCommands: 0,
  };
  let server = await startDevServer({ dbFile, port, uiPort, logFile: path.join(work, 'server.log') });
  const address = server.address;
  const queue = `chaos-${o.seed}`;
  const workers: ChildProcess[] = [];
  const killed = new Set<ChildProcess>();
  const spawnWorker = () => {
    const w = spawn(process.execPath, [path.join(ROOT, 'dist/src/worker.js')], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: address,
        KUPGRADE_TASK_QUEUE: queue,
        KUPGRADE_WORKER_CONFIG: path.join(labDir, 'worker.yaml'),
        KUPGRADE_POLL_MS: '200',
        KUPGRADE_LOG_LEVEL: 'WARN',
      },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    workers.push(w);
    return w;
  };
  const fault = async (spec: Parameters<typeof injectFault>[1]) => {
    await injectFault(labDir, spec);
    report.faults.injected++;
    report.faults.byKind[spec.kind] = (report.faults.byKind[spec.kind] ?? 0) + 1;
  };

  await labUp({
    dir: labDir,
    controlPlanes: 2,
    workers: 6,
    // the real API exists for the releases built from Go modules: one hop there, two here
    version: o.api === 'real' ? '1.33.13' : '1.28.9',
    packages: 'yum',
    speed: o.speed,
    seed: o.seed,
    ...(o.api === 'real' ? { api: 'real' as const } : {}),
  });
  const inventory = loadInventory(path.join(labDir, 'cluster.yaml'));
  const workerNodes = inventory.nodes.filter((n) => n.role === 'worker').map((n) => n.name);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  try {
    // Faults known up front: every node's first package install fails once; one PDB blocks a while;
    // one kubelet is slow to become Ready (cleared later).
    for (const n of inventory.nodes) {
      await fault({
        kind: 'fail',
        match: 'install',
        node: n.name,
        times: 1,
        message:
          "Error: Failed to download metadata for repo 'kubernetes': Cannot download repomd.xml: Curl error (28): Timeout was reached",
      });
    }
    await fault({ kind: 'pdb-block', node: pick(workerNodes), forMs: (20_000 / o.speed) * 10 });
    const slow = pick(workerNodes);
    // The slow kubelet comes once the run is past preflight (a NotReady node fails preflight).

    spawnWorker();
    spawnWorker();
    let connection = await Connection.connect({ address });
    let client = new Client({ connection });
    const workflowId = upgradeWorkflowId(inventory.metadata.name);
    await client.workflow.start(WORKFLOW_TYPES.upgrade, {
      taskQueue: queue,
      workflowId,
      args: [
        {
          inventory,
          target: o.api === 'real' ? '1.34' : '1.30',
          options: { autoApprove: true, maxUnavailable: 2, startedBy: 'chaos' },
        },
      ],
      workflowIdConflictPolicy: 'FAIL',
    });

    // The schedule of disruptions, seeded: worker kills spread over the expected run, two server kills,
    // a node down for a while, SSH drops, the slow kubelet released.
    const horizonMs = Math.max(20_000, 2_000_000 / o.speed);
    type Action = { at: number; what: string };
    const plan: Action[] = [];
    for (let i = 0; i < o.workerKills; i++) plan.push({ at: rand() * horizonMs, what: 'kill-worker' });
    for (let i = 0; i < o.serverKills; i++)
      plan.push({ at: (0.2 + 0.5 * rand()) * horizonMs, what: 'kill-server' });
    plan.push({ at: 0.3 * horizonMs, what: 'node-down' });
    plan.push({ at: 0.3 * horizonMs + 5_000, what: 'node-up' });
    plan.push({ at: 0.25 * horizonMs, what: 'slow-kubelet' });
    plan.push({ at: 0.4 * horizonMs, what: 'release-slow' });
    for (let i = 0; i < 12; i++) plan.push({ at: rand() * horizonMs, what: 'drop' });
    plan.sort((a, b) => a.at - b.at);
    const downNode = pick(workerNodes.filter((n) => n !== slow));

    // Kills aimed at transactions: every worker dies while `kubeadm upgrade apply` swaps the
    // static pods, and again while a worker's kubelet package is being installed.
    const killAll = (why: string) => {
      for (const w of workers.filter((x) => !killed.has(x) && x.exitCode === null && x.signalCode === null)) {
        w.kill('SIGKILL');
        killed.add(w);
        report.kills.aimed++;
        spawnWorker();
      }
      log(`chaos: SIGKILL every worker ${why}`);
    };
    const aimed = [
      {
        key: 'apply' as const,
        re: /kubeadm upgrade apply (?!.*--dry-run)/,
        afterMs: (55_000 + 30_000) / o.speed,
      },
      { key: 'install' as const, re: /(yum|dnf) install .*kubelet-/, afterMs: (1_200 + 10_000) / o.speed },
    ];

    let state: UpgradeState | undefined;
    let i = 0;
    let lastDescribe = 0;
    const deadline = Date.now() + (o.timeoutMs ?? 30 * 60_000);
    for (;;) {
      const elapsed = Date.now() - started;
      while (i < plan.length && plan[i].at <= elapsed) {
        const a = plan[i++];
        if (a.what === 'kill-worker') {
          // a worker just killed may not have reported its exit yet: never pick it twice
          const alive = workers.filter((w) => !killed.has(w) && w.exitCode === null && w.signalCode === null);
          const victim = pick(alive);
          if (victim) {
            victim.kill('SIGKILL');
            killed.add(victim);
            report.kills.worker++;
            log(`chaos: SIGKILL worker pid ${victim.pid} at ${(elapsed / 1000).toFixed(1)}s`);
            spawnWorker();
          }
        } else if (a.what === 'kill-server') {
          process.kill(server.pid, 'SIGKILL');
          report.kills.server++;
          log(`chaos: SIGKILL dev server at ${(elapsed / 1000).toFixed(1)}s`);
          await sleep(1000);
          server = await startDevServer({ dbFile, port, uiPort, logFile: path.join(work, 'server.log') });
          await connection.close().catch(() => undefined);
          connection = await Connection.connect({ address });
          client = new Client({ connection });
        } else if (a.what === 'node-down') {
          await setNodeDown(labDir, downNode, true);
          log(`chaos: node ${downNode} down`);
        } else if (a.what === 'node-up') {
          await setNodeDown(labDir, downNode, false);
          log(`chaos: node ${downNode} up`);
        } else if (a.what === 'slow-kubelet') {
          await fault({ kind: 'kubelet-not-ready', node: slow });
        } else if (a.what === 'release-slow') {
          const f = (await listFaults(labDir)).find((x) => x.kind === 'kubelet-not-ready');
          if (f) await clearFaults(labDir, f.id);
        } else if (a.what === 'drop') {
          await fault({
            kind: 'drop',
            match: pick(['kubectl', 'yum', 'kubeadm', 'systemctl']),
            node: pick(inventory.nodes).name,
            times: 1,
            when: rand() < 0.5 ? 'before' : 'after',
          });
        }
      }
      for (const a of aimed) {
        if (report.transactionKills[a.key] !== undefined) continue;
        const age = sessionAge(labDir, a.re);
        if (age !== undefined && age >= a.afterMs) {
          report.transactionKills[a.key] = Math.round(age);
          killAll(`${Math.round(age)} ms into an ${a.key}`);
        }
      }
      if (Date.now() - lastDescribe < 500) {
        await sleep(50);
        continue;
      }
      lastDescribe = Date.now();
      try {
        const desc = await client.workflow.getHandle(workflowId).describe();
        if (desc.status.name !== 'RUNNING') {
          state = await client.workflow
            .getHandle(workflowId)
            .query(stateQuery)
            .catch(() => undefined);
          report.finalPhase = state?.phase ?? desc.status.name;
          break;
        }
      } catch {
        await waitForServer(address, 30_000).catch(() => undefined);
      }
      if (Date.now() > deadline) {
        report.reasons.push('timed out');
        break;
      }
      await sleep(50);
    }

    // Judge.
    const ev = readEvents(labDir);
    report.sshCommands = ev.filter((e) => e.type === 'ssh').length;
    const faults = await listFaults(labDir);
    report.faults.hits = faults.reduce((n, f) => n + f.hits, 0);
    report.retries.failuresRecorded = state?.failures.length ?? 0;
    // Retries over the whole run: the parent and every node child (this dev server serves only this run).
    for await (const wf of client.workflow.list()) {
      const hist = await client.workflow
        .getHandle(wf.workflowId, wf.runId)
        .fetchHistory()
        .catch(() => undefined);
      for (const e of hist?.events ?? []) {
        const attempt = e.activityTaskStartedEventAttributes?.attempt ?? 1;
        if (attempt > 1) report.retries.activityAttempts++;
      }
      report.retries.workflows++;
    }
    report.target = state?.hops.at(-1)?.version;
    if (report.finalPhase !== 'done') report.reasons.push(`run ended ${report.finalPhase ?? 'unknown'}`);
    if (report.target) {
      const check = checkLab(labDir, { target: report.target, maxUnavailable: 2 });
      report.transactions = { killed: check.killed, reruns: check.reruns };
      if (check.violations.length)
        report.reasons.push(
          `check: ${check.violations.length} violation(s): ${JSON.stringify(check.violations.slice(0, 3))}`,
        );
    }
    const lastState = new Map<string, LabEvent>();
    for (const e of ev) if (e.type === 'state') lastState.set(e.node, e);
    const cordoned = [...lastState.values()].filter((e) => e.unschedulable).map((e) => e.node);
    if (cordoned.length) report.reasons.push(`left cordoned: ${cordoned.join(', ')}`);
    report.repeatedCommands = repeatedMutations(ev);
    if (report.repeatedCommands.length)
      report.reasons.push(`${report.repeatedCommands.length} mutating command(s) repeated`);
    report.passed = report.reasons.length === 0;
    await connection.close().catch(() => undefined);
  } finally {
    for (const w of workers) w.kill('SIGKILL');
    try {
      process.kill(server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await labDown(labDir).catch(() => undefined);
    report.wallSeconds = (Date.now() - started) / 1000;
  }
  return report;
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: String(Date.now() % 100000) },
      kills: { type: 'string', default: '10' },
      'server-kills': { type: 'string', default: '2' },
      speed: { type: 'string', default: '40' },
      out: { type: 'string' },
      api: { type: 'string', default: 'emulated' },
    },
  });
  runChaos({
    seed: values.seed!,
    workerKills: Number(values.kills),
    serverKills: Number(values['server-kills']),
    speed: Number(values.speed),
    api: values.api === 'real' ? 'real' : 'emulated',
  }).then(
    (r) => {
      const out = values.out ?? path.join(ROOT, `test-output/chaos-${r.seed}.json`);
      mkdirSync(path.dirname(out), { recursive: true });
      writeFileSync(out, JSON.stringify(r, null, 2));
      console.log(JSON.stringify(r, null, 2));
      console.log(
        r.passed
          ? `chaos: PASS (seed ${r.seed}) — report ${out}`
          : `chaos: FAIL (seed ${r.seed}): ${r.reasons.join('; ')}`,
      );
      process.exit(r.passed ? 0 : 1);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
