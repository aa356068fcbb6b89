/**
 * `npm run bench`: kupgrade against the critical-path bound of the same plan and against the
 * seed's runbook run serially over ssh, on fresh labs in one run, on one dev server.
 *
 *   node dist/bench/run.js [--sizes 10,100,1000] [--speeds 10,100] [--out bench] [--runbook-max-nodes N]
 *                          [--budget-minutes 6] [--slow-max-nodes 100] [--run-timeout-minutes 45]
 *                          [--append] [--windows 1,10%] [--api real|emulated] [--split]
 *                          [--ansible-max-nodes 100] [--no-ansible]
 *
 * A configuration whose critical-path bound alone exceeds --budget-minutes is not run (a serial
 * upgrade of 1,000 nodes at speed 10 is ~1.8 hours of modelled time); the table says so. Sizes above
 * --slow-max-nodes run at the fastest speed only: what limits them is the CPU the lab and the worker
 * need for ~20,000 SSH commands, which the lab's speed does not change.
 *
 * For each size (3 control planes, the rest workers, yum, one minor) and speed it measures:
 * kupgrade with maxUnavailable 1 and 10%, the runbook script, the runbook as an Ansible playbook
 * with the same windows (bench/peers/ansible.ts), and the bound from the lab's time
 * model (prepared-ahead workers, and the lab's PodDisruptionBudgets, which let one pod of an app go
 * at a time); plus overhead per node (its child workflows' time minus the time the lab's tools held
 * its commands), SSH handshakes and commands per node, history sizes (every run of a
 * continue-as-new chain), worker peak RSS/CPU and the dev server's CPU. The clock starts once the
 * worker polls. Results: bench/results.json, bench/results.md, and a timeline SVG of the 100-node run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { hopBoundMs, labDown, labUp, labPdbLoads, checkLab, type PdbLoad } from '../lab/src/api';
import { loadInventory } from '../src/inventory';
import { upgradeWorkflowId, WORKFLOW_TYPES } from '../src/shared/names';
import { windowSize } from '../src/shared/versions';
import type { UpgradeInput, UpgradeResult } from '../src/shared/types';
import { startDevServer } from '../src/temporal/dev-server';
import { timelineSvg, type TimelineEvent } from './timeline';
import {
  slotHandoffs,
  splitPerNode,
  splitRow,
  summarize,
  SPLIT_HEADER,
  eventMs,
  type ChildHistory,
  type HistoryEvent,
  type SplitSummary,
} from './split';
import { benchAnsible, type AnsibleRun } from './peers/ansible';

const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');
// `--api real`: the lab's API is the real kube-apiserver & co., which exist for v1.33.13/v1.34.4 only
const API: 'real' | 'emulated' =
  process.argv.includes('--api') && process.argv[process.argv.indexOf('--api') + 1] === 'real'
    ? 'real'
    : 'emulated';
const FROM = API === 'real' ? '1.33.13' : '1.29.6';
const TO = API === 'real' ? '1.34' : '1.30';

export interface KupgradeRun {
  maxUnavailable: string;
  wallSeconds: number;
  boundSeconds: number;
  ratioToBound: number;
  overheadPerNodeMs: { median: number; p95: number };
  sshPerNode: { handshakes: number; commands: number };
  /** parent: events of the largest run of the chain (continue-as-new); runs: how many runs */
  historyEvents: { parent: number; node: number; parentRuns?: number; parentTotal?: number };
  worker: { peakRssMiB: number; cpuSeconds: number };
  serverCpuSeconds: number;
  checkPassed: boolean;
  /** `--split`: where a worker's time goes (medians over the workers; bench/split.ts) */
  split?: SplitSummary;
}

export interface SizeResult {
  nodes: number;
  speed: number;
  runs: KupgradeRun[];
  /** configurations not run, and why (bound over the time budget) */
  skipped: string[];
  /** the commit measured (git rev-parse --short HEAD) */
  commit?: string;
  runbook?: { wallSeconds: number; checkPassed: boolean };
  ratioToRunbook?: Record<string, number>;
  /** the Ansible playbook, one run per window (serial = maxUnavailable) */
  ansible?: AnsibleRun[];
  /** kupgrade's wall time over Ansible's with the same window */
  ratioToAnsible?: Record<string, number>;
}

function cpuSecondsOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const tick = 100; // USER_HZ on Linux
    return (Number(f[11]) + Number(f[12])) / tick;
  } catch {
    return NaN;
  }
}

function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
}

function readEvents(dir: string): TimelineEvent[] {
  const f = path.join(dir, 'events.jsonl');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TimelineEvent);
}

function workerProcess(
  address: string,
  taskQueue: string,
  statsFile: string,
  speed: number,
  config: string,
): ChildProcess {
  return spawn(process.execPath, [path.join(ROOT, 'dist/bench/worker.js')], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: address,
      KUPGRADE_TASK_QUEUE: taskQueue,
      KUPGRADE_WORKER_CONFIG: config,
      KUPGRADE_STATS_FILE: statsFile,
      // the worker's default poll (5 s: Ready after a kubelet restart) scaled like every other
      // duration of the lab, so that a faster lab is not polled harder than a real cluster
      KUPGRADE_POLL_MS: String(Math.max(10, Math.round(5000 / speed))),
      KUPGRADE_LOG_LEVEL: 'WARN',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/**
 * Waits until a worker polls the task queue: the clock of an upgrade starts with a running worker
 * (`kupgrade worker` is long-lived), not with its bundling of the workflow code.
 */
async function untilPolled(client: Client, taskQueue: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
    });
    if ((r.pollers ?? []).length > 0) return;
    if (Date.now() > deadline) throw new Error(`no worker polled ${taskQueue} within ${timeoutMs / 1000} s`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Every run of a workflow ID (a chain of continue-as-new), oldest first. */
async function runsOf(client: Client, workflowId: string): Promise<string[]> {
  const runs: { runId: string; start: number }[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    runs.push({ runId: w.runId, start: w.startTime.getTime() });
  }
  return runs.sort((a, b) => a.start - b.start).map((r) => r.runId);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

async function runKupgrade(opts: {
  client: Client;
  address: string;
  serverPid: number;
  nodes: number;
  speed: number;
  maxUnavailable: number | `${number}%`;
  runTimeoutMs: number;
  keepEvents?: (e: TimelineEvent[]) => void;
  /** fetch every worker's child histories and split its time (bench/split.ts) */
  split?: boolean;
}): Promise<KupgradeRun> {
  const workers = opts.nodes - 3;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kupgrade-bench-'));
  await labUp({
    dir,
    controlPlanes: 3,
    workers,
    version: FROM,
    packages: 'yum',
    speed: opts.speed,
    api: API,
  });
  const pdbs = labPdbLoads(dir);
  const queue = `bench-${path.basename(dir)}`;
  const statsFile = path.join(dir, 'worker-stats.json');
  const worker = workerProcess(opts.address, queue, statsFile, opts.speed, path.join(dir, 'worker.yaml'));
  try {
    const inventory = loadInventory(path.join(dir, 'cluster.yaml'));
    // The lab's web and api PDBs let one pod of each go at a time, cluster-wide: parallel drains
    // queue for their turn behind pod starts (12 s each, modelled), so a window of 9 or 99 drains
    // needs more than kubectl's 5 minutes, as on a real cluster with such budgets.
    inventory.drain = { ...inventory.drain, timeoutSeconds: Math.max(inventory.drain.timeoutSeconds, 3600) };
    const input: UpgradeInput = {
      inventory,
      target: TO,
      options: { autoApprove: true, maxUnavailable: opts.maxUnavailable, startedBy: 'bench' },
    };
    await untilPolled(opts.client, queue);
    const cpu0 = cpuSecondsOf(opts.serverPid);
    const t0 = Date.now();
    const handle = await opts.client.workflow.start(WORKFLOW_TYPES.upgrade, {
      taskQueue: queue,
      workflowId: `${upgradeWorkflowId(inventory.metadata.name)}-${path.basename(dir)}`,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
    });
    // a run that blocks for a decision would wait forever: give up after runTimeoutMs
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no result after ${opts.runTimeoutMs / 60_000} min (blocked or too slow)`)),
        opts.runTimeoutMs,
      );
    });
    const result = (await Promise.race([handle.result(), timeout]).catch(async (e: unknown) => {
      await handle.terminate('bench timeout').catch(() => undefined);
      throw e;
    })) as UpgradeResult;
    clearTimeout(timer);
    const wallMs = Date.now() - t0;
    const serverCpu = cpuSecondsOf(opts.serverPid) - cpu0;
    if (result.phase !== 'done')
      throw new Error(`bench upgrade ended ${result.phase}: ${result.state.message ?? ''}`);
    const target = result.state.hops.at(-1)!.version;
    const window = benchWindow(opts.nodes, opts.maxUnavailable);
    const check = checkLab(dir, { target, maxUnavailable: window });

    // Every run of the parent (a large upgrade continues as new to keep each history small): the
    // history sizes, and when each worker's children ran (for its overhead).
    const wfId = handle.workflowId;
    let runIds: string[] = [];
    for (let i = 0; i < 50; i++) {
      // visibility is eventually consistent: wait until it lists the run that returned the result
      runIds = await runsOf(opts.client, wfId);
      if (runIds.length > 0) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    if (runIds.length === 0) runIds = [(await handle.describe()).runId];
    const started = new Map<string, number>();
    // per worker: when its children ran (a prepared-ahead worker has two: -prepare, -kubelet)
    const spans = new Map<string, [number, number][]>();
    let aChild: string | undefined;
    let parentMax = 0;
    let parentTotal = 0;
    const initiated = new Map<string, number>();
    const handoffs: number[] = [];
    for (const runId of runIds) {
      const history = await opts.client.workflow.getHandle(wfId, runId).fetchHistory();
      const events = history.events ?? [];
      parentMax = Math.max(parentMax, events.length);
      parentTotal += events.length;
      handoffs.push(...slotHandoffs(events as HistoryEvent[]));
      for (const e of events) {
        const at = eventMs(e as HistoryEvent);
        const i = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
        if (i) initiated.set(i, at);
        const s = e.childWorkflowExecutionStartedEventAttributes;
        if (s?.workflowExecution?.workflowId) {
          started.set(s.workflowExecution.workflowId, at);
          aChild ??= s.workflowExecution.workflowId;
        }
        const c = e.childWorkflowExecutionCompletedEventAttributes;
        const id = c?.workflowExecution?.workflowId;
        if (id && started.has(id)) {
          const node = inventory.nodes.find((n) => id.includes(`/${n.name}/`));
          if (node?.role === 'worker')
            spans.set(node.name, [...(spans.get(node.name) ?? []), [started.get(id)!, at]]);
        }
      }
    }
    const events = readEvents(dir);
    const overheads = overheadPerNode(spans, events);
    const nodeEvents = aChild
      ? ((await opts.client.workflow.getHandle(aChild).fetchHistory()).events?.length ?? 0)
      : 0;
    let split: SplitSummary | undefined;
    if (opts.split) {
      const children: ChildHistory[] = [];
      for (const id of started.keys()) {
        const node = inventory.nodes.find((n) => id.includes(`/${n.name}/`));
        if (node?.role !== 'worker') continue;
        const h = await opts.client.workflow.getHandle(id).fetchHistory();
        children.push({
          node: node.name,
          initiatedAt: initiated.get(id),
          events: (h.events ?? []) as HistoryEvent[],
        });
      }
      split = summarize(splitPerNode(children, events), handoffs);
    }
    await stop(worker);
    const stats = existsSync(statsFile)
      ? (JSON.parse(readFileSync(statsFile, 'utf8')) as {
          peakRssBytes: number;
          cpuSeconds: number;
          ssh: { handshakes: number; commands: number };
        })
      : { peakRssBytes: NaN, cpuSeconds: NaN, ssh: { handshakes: NaN, commands: NaN } };
    opts.keepEvents?.(events);
    const boundMs = benchBoundMs(opts.nodes, opts.maxUnavailable, true, pdbs) / opts.speed;
    return {
      maxUnavailable: String(opts.maxUnavailable),
      wallSeconds: wallMs / 1000,
      boundSeconds: boundMs / 1000,
      ratioToBound: wallMs / boundMs,
      overheadPerNodeMs: {
        median: Math.round(quantile(overheads, 0.5)),
        p95: Math.round(quantile(overheads, 0.95)),
      },
      sshPerNode: {
        handshakes: stats.ssh.handshakes / opts.nodes,
        commands: stats.ssh.commands / opts.nodes,
      },
      historyEvents: { parent: parentMax, node: nodeEvents, parentRuns: runIds.length, parentTotal },
      worker: { peakRssMiB: Math.round(stats.peakRssBytes / 2 ** 20), cpuSeconds: stats.cpuSeconds },
      serverCpuSeconds: serverCpu,
      checkPassed: check.violations.length === 0,
      ...(split ? { split } : {}),
    };
  } finally {
    await stop(worker);
    await labDown(dir).catch(() => undefined);
    // KUPGRADE_BENCH_KEEP=1 keeps the lab folder (events.jsonl) for a closer look
    if (process.env.KUPGRADE_BENCH_KEEP) console.log(`  lab kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * kupgrade's own time per worker: how long its child workflows ran minus how long the lab's tools
 * held the commands they sent (modelled durations, PDB waits included), from the lab's exec events
 * (`ms`). kubectl runs on a control plane but works on the node it names.
 */
export function overheadPerNode(spans: Map<string, [number, number][]>, events: TimelineEvent[]): number[] {
  const inLab = new Map<string, number>();
  const names = [...spans.keys()];
  const byName = new Set(names);
  for (const e of events) {
    const ms = e.ms;
    if (e.type !== 'exec' || typeof ms !== 'number') continue;
    let node: string | undefined = byName.has(e.node) ? e.node : undefined;
    if (!node && e.cmd?.startsWith('kubectl ')) {
      node = e.cmd
        .split(/[ =]/)
        .reverse()
        .find((w) => byName.has(w));
    }
    if (!node) continue;
    const end = Date.parse(e.ts);
    const begin = end - ms;
    if ((spans.get(node) ?? []).some(([a, b]) => begin >= a - 5 && end <= b + 5))
      inLab.set(node, (inLab.get(node) ?? 0) + ms);
  }
  return names.map((n) => {
    const wall = (spans.get(n) ?? []).reduce((t, [a, b]) => t + b - a, 0);
    return wall - (inLab.get(n) ?? 0);
  });
}

function gitCommit(): string | undefined {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** The critical-path bound of the benchmark's plan at speed 1 (3 control planes, one pod per worker). */
function benchBoundMs(
  nodes: number,
  mu: number | `${number}%`,
  prepareAhead = true,
  pdbs: PdbLoad[] = [],
): number {
  return hopBoundMs({
    pdbs,
    controlPlanes: 3,
    workers: nodes - 3,
    maxUnavailable: benchWindow(nodes, mu),
    podsPerWorker: 1,
    // the bench's inventories keep rollout.prepareAhead at its default (true); the runbook does not
    prepareAhead,
  });
}

/** How many workers a maxUnavailable lets through at once: the workflow's own rule. */
function benchWindow(nodes: number, mu: number | `${number}%`): number {
  return windowSize(mu, nodes - 3);
}

async function runRunbook(
  nodes: number,
  speed: number,
): Promise<{ wallSeconds: number; checkPassed: boolean }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kupgrade-bench-rb-'));
  await labUp({ dir, controlPlanes: 3, workers: nodes - 3, version: FROM, packages: 'yum', speed, api: API });
  try {
    const t0 = Date.now();
    const r = spawnSync('bash', [path.join(ROOT, 'lab/runbook/upgrade.sh'), '--dir', dir, '--to', TO], {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const wall = (Date.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`runbook failed: ${r.stderr.slice(-2000)}`);
    const state = readEvents(dir)
      .filter((e) => e.type === 'state')
      .map((e) => (e as unknown as { kubelet: string }).kubelet);
    const target = state.at(-1) ?? '';
    return {
      wallSeconds: wall,
      checkPassed: checkLab(dir, { target, maxUnavailable: 1 }).violations.length === 0,
    };
  } finally {
    await labDown(dir).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runBench(opts: {
  sizes: number[];
  speeds: number[];
  out: string;
  runbookMaxNodes: number;
  /** skip a configuration whose bound exceeds this (minutes of wall time at the lab's speed) */
  budgetMinutes?: number;
  /** sizes above this run at the fastest speed only */
  slowMaxNodes?: number;
  /** give up on one kupgrade run after this long */
  runTimeoutMinutes?: number;
  /** add to OUT/results.json instead of replacing it */
  append?: boolean;
  windows?: (number | `${number}%`)[];
  /** sizes above this have no Ansible run (0: none) */
  ansibleMaxNodes?: number;
  log?: (s: string) => void;
  /** split each worker's time (bench/split.ts) and add the table to results.md */
  split?: boolean;
}) {
  const log = opts.log ?? ((s: string) => console.log(s));
  mkdirSync(opts.out, { recursive: true });
  const work = mkdtempSync(path.join(os.tmpdir(), 'kupgrade-bench-server-'));
  const server = await startDevServer({
    dbFile: path.join(work, 'temporal.db'),
    logFile: path.join(work, 'server.log'),
  });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const results: SizeResult[] = [];
  if (opts.append && existsSync(path.join(opts.out, 'results.json'))) {
    // keep what an earlier invocation measured (a long size run on its own)
    const prev = JSON.parse(readFileSync(path.join(opts.out, 'results.json'), 'utf8')) as {
      results: SizeResult[];
    };
    results.push(...prev.results);
  }
  const doc = {
    machine: { cores: os.cpus().length, node: process.version, date: new Date().toISOString() },
    from: FROM,
    to: TO,
    api: API,
    results,
  };
  let md = '';
  // written after every size, so that a long run that dies keeps what it measured
  const writeOut = (): void => {
    writeFileSync(path.join(opts.out, 'results.json'), JSON.stringify(doc, null, 2));
    md = markdown(doc.machine.cores, results);
    writeFileSync(path.join(opts.out, 'results.md'), md);
  };
  try {
    for (const speed of opts.speeds) {
      for (const nodes of opts.sizes) {
        if (speed < Math.max(...opts.speeds) && nodes > (opts.slowMaxNodes ?? Infinity)) continue;
        const res: SizeResult = { nodes, speed, runs: [], skipped: [], commit: gitCommit() };
        const budgetMs = (opts.budgetMinutes ?? Infinity) * 60_000;
        for (const mu of opts.windows ?? ([1, '10%'] as const)) {
          const boundMs = benchBoundMs(nodes, mu) / speed;
          if (boundMs > budgetMs) {
            const why = `kupgrade mu=${mu}: bound ${(boundMs / 60_000).toFixed(1)} min > budget ${opts.budgetMinutes} min`;
            log(`bench: ${nodes} nodes, speed ${speed}: skipped (${why})`);
            res.skipped.push(why);
            continue;
          }
          log(`bench: ${nodes} nodes, speed ${speed}, kupgrade maxUnavailable ${mu} …`);
          try {
            const run = await runKupgrade({
              client,
              address: server.address,
              serverPid: server.pid,
              nodes,
              speed,
              maxUnavailable: mu,
              runTimeoutMs: (opts.runTimeoutMinutes ?? 45) * 60_000,
              split: opts.split,
              keepEvents:
                nodes === 100 && mu === '10%'
                  ? (ev) =>
                      writeFileSync(
                        path.join(opts.out, `timeline-100-speed${speed}.svg`),
                        timelineSvg(ev, `kupgrade, 100 nodes, maxUnavailable 10%, lab speed ${speed}`),
                      )
                  : undefined,
            });
            log(
              `  wall ${run.wallSeconds.toFixed(1)} s, bound ${run.boundSeconds.toFixed(1)} s, ratio ${run.ratioToBound.toFixed(2)}`,
            );
            res.runs.push(run);
          } catch (e) {
            // one configuration failing must not lose the others: the table says what happened
            const why = `kupgrade mu=${mu}: FAILED: ${(e as Error).message.split('\n')[0]}`;
            log(`  ${why}`);
            res.skipped.push(why);
          }
        }
        const serialMs = benchBoundMs(nodes, 1, false) / speed;
        if (nodes <= opts.runbookMaxNodes && serialMs > budgetMs) {
          const why = `runbook: serial bound ${(serialMs / 60_000).toFixed(1)} min > budget ${opts.budgetMinutes} min`;
          log(`bench: ${nodes} nodes, speed ${speed}: skipped (${why})`);
          res.skipped.push(why);
        } else if (nodes <= opts.runbookMaxNodes) {
          try {
            log(`bench: ${nodes} nodes, speed ${speed}, serial runbook …`);
            res.runbook = await runRunbook(nodes, speed);
            res.ratioToRunbook = Object.fromEntries(
              res.runs.map((r) => [r.maxUnavailable, r.wallSeconds / res.runbook!.wallSeconds]),
            );
            log(`  wall ${res.runbook.wallSeconds.toFixed(1)} s`);
          } catch (e) {
            const why = `runbook: FAILED: ${(e as Error).message.split('\n')[0]}`;
            log(`  ${why}`);
            res.skipped.push(why);
          }
        }
        if (nodes <= (opts.ansibleMaxNodes ?? 100)) {
          const a = await benchAnsible({
            nodes,
            speed,
            windows: opts.windows ?? [1, '10%'],
            from: FROM,
            to: TO,
            api: API,
            budgetMs,
            budgetMinutes: opts.budgetMinutes,
            boundMs: (serial) => benchBoundMs(nodes, serial, false) / speed,
            timeoutMs: (opts.runTimeoutMinutes ?? 45) * 60_000,
            log,
          });
          res.ansible = a.runs;
          res.skipped.push(...a.skipped);
          res.ratioToAnsible = Object.fromEntries(
            res.runs.flatMap((r) => {
              const peer = a.runs.find((p) => p.serial === r.maxUnavailable);
              return peer ? [[r.maxUnavailable, r.wallSeconds / peer.wallSeconds]] : [];
            }),
          );
        }
        results.push(res);
        writeOut();
      }
    }
  } finally {
    await connection.close();
    process.kill(server.pid, 'SIGTERM');
  }
  writeOut();
  return { doc, md };
}

function markdown(cores: number, results: SizeResult[]): string {
  const rows = [
    `Machine: ${cores} cores. Lab: 3 control planes + workers, yum, ${FROM} → ${TO}, Kubernetes API ${API === 'real' ? 'real (kube-apiserver, etcd, controller-manager, scheduler, kubectl built from Go modules)' : 'emulated'}.`,
    '',
    '| nodes | speed | run | wall s | bound s | kupgrade/bound | kupgrade/runbook | kupgrade/ansible | overhead/node median ms | p95 ms | ssh handshakes/node | ssh cmds/node | parent events (runs) | node events | worker RSS MiB | worker CPU s | server CPU s | check | commit |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    for (const k of r.runs) {
      rows.push(
        `| ${r.nodes} | ${r.speed} | kupgrade mu=${k.maxUnavailable} | ${k.wallSeconds.toFixed(1)} | ${k.boundSeconds.toFixed(1)} | ${k.ratioToBound.toFixed(2)} | ${r.ratioToRunbook ? r.ratioToRunbook[k.maxUnavailable].toFixed(2) : 'n/a'} | ${r.ratioToAnsible?.[k.maxUnavailable]?.toFixed(2) ?? 'n/a'} | ${k.overheadPerNodeMs.median} | ${k.overheadPerNodeMs.p95} | ${k.sshPerNode.handshakes.toFixed(2)} | ${k.sshPerNode.commands.toFixed(1)} | ${k.historyEvents.parent}${k.historyEvents.parentRuns && k.historyEvents.parentRuns > 1 ? ` (${k.historyEvents.parentRuns})` : ''} | ${k.historyEvents.node} | ${k.worker.peakRssMiB} | ${k.worker.cpuSeconds.toFixed(1)} | ${k.serverCpuSeconds.toFixed(1)} | ${k.checkPassed ? 'pass' : 'FAIL'} | ${r.commit ?? ''} |`,
      );
    }
    for (const why of r.skipped ?? []) {
      rows.push(
        `| ${r.nodes} | ${r.speed} | ${why.includes('FAILED') ? '' : 'skipped: '}${why} | | | | | | | | | | | | | | | |`,
      );
    }
    if (r.runbook) {
      rows.push(
        `| ${r.nodes} | ${r.speed} | serial runbook | ${r.runbook.wallSeconds.toFixed(1)} | | | | | | | | | | | | | | ${r.runbook.checkPassed ? 'pass' : 'FAIL'} | ${r.commit ?? ''} |`,
      );
    }
    for (const a of r.ansible ?? []) {
      rows.push(
        `| ${r.nodes} | ${r.speed} | ansible serial=${a.serial} | ${a.wallSeconds.toFixed(1)} | | | | | | | | ${a.sshPerNode.toFixed(1)} | | | | | | ${a.checkPassed ? 'pass' : 'FAIL'} | ${r.commit ?? ''} |`,
      );
    }
  }
  const splits = results.flatMap((r) =>
    r.runs
      .filter((k) => k.split)
      .map((k) => splitRow(r.nodes, r.speed, k.maxUnavailable, k.split!, r.commit)),
  );
  if (splits.length) {
    rows.push(
      '',
      "Where a worker's time goes (`--split`, bench/split.ts): medians over the workers, ms per worker over its child workflows, each millisecond given to the first of: the lab's tools, a detached-transaction SSH session (wrapper), another SSH session (node shell), an activity running (worker side: SSH channel, transport, code), an activity waiting for a worker, a workflow task; `other` is timers and gaps. Child start: the parent's start request to the child's first workflow task; slot handoff: a child's completion to the next start request. Counts per worker, all its children.",
      '',
      SPLIT_HEADER,
      `|${'---|'.repeat(SPLIT_HEADER.split('|').length - 2)}`,
      ...splits,
    );
  }
  return rows.join('\n') + '\n';
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '10,100,1000' },
      speeds: { type: 'string', default: '10,100' },
      out: { type: 'string', default: path.join(ROOT, 'bench') },
      'runbook-max-nodes': { type: 'string', default: '100' },
      'budget-minutes': { type: 'string', default: '6' },
      'slow-max-nodes': { type: 'string', default: '100' },
      'run-timeout-minutes': { type: 'string', default: '45' },
      append: { type: 'boolean', default: false },
      windows: { type: 'string', default: '1,10%' },
      api: { type: 'string', default: 'emulated' },
      split: { type: 'boolean', default: false },
      'ansible-max-nodes': { type: 'string', default: '100' },
      'no-ansible': { type: 'boolean', default: false },
    },
  });
  runBench({
    sizes: values.sizes!.split(',').map(Number),
    speeds: values.speeds!.split(',').map(Number),
    out: values.out!,
    runbookMaxNodes: Number(values['runbook-max-nodes']),
    budgetMinutes: Number(values['budget-minutes']),
    slowMaxNodes: Number(values['slow-max-nodes']),
    runTimeoutMinutes: Number(values['run-timeout-minutes']),
    append: values.append,
    windows: values.windows!.split(',').map((w) => (w.endsWith('%') ? (w as `${number}%`) : Number(w))),
    split: values.split,
    ansibleMaxNodes: values['no-ansible'] ? 0 : Number(values['ansible-max-nodes']),
  }).then(
    ({ md }) => {
      console.log(md);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
