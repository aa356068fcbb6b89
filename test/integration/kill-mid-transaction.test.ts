/**
 * Issue 13.3, never SIGKILL a transaction: the worker is SIGKILLed while `kubeadm upgrade apply`
 * swaps the static pod manifests on the control plane, and again while the worker's kubelet
 * package is being installed. A killed worker's SSH connections close; what ran under them must
 * not die with them (the lab leaves a half-done apply and an interrupted dpkg when it does, and
 * writes the exec line with `killed`). A new worker process takes over, the run completes, the
 * lab's check passes (it counts killed and killed-then-rerun transactions), and each transaction
 * ran exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { loadInventory } from '../../src/inventory';
import { stateQuery } from '../../src/shared/messages';
import { upgradeWorkflowId, WORKFLOW_TYPES } from '../../src/shared/names';
import type { UpgradeState } from '../../src/shared/types';
import { liveSessions } from '../../lab/src/api';
import { Lab, ROOT } from '../helpers/lab';
import { address, client, uniqueQueue } from '../helpers/temporal';

jest.setTimeout(15 * 60_000);

const SPEED = 10;

function workerProcess(taskQueue: string, labDir: string): ChildProcess {
  return spawn(process.execPath, [path.join(ROOT, 'dist/src/worker.js')], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: address(),
      KUPGRADE_TASK_QUEUE: taskQueue,
      KUPGRADE_POLL_MS: '100',
      KUPGRADE_LOG_LEVEL: 'WARN',
      KUPGRADE_WORKER_CONFIG: path.join(labDir, 'worker.yaml'),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function until<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5 * 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A live SSH session on `node` whose whole command matches. */
function session(dir: string, node: string, re: RegExp): string | undefined {
  return liveSessions(dir, node).find((r) => re.test(r.cmd))?.cmd;
}

async function kill(w: ChildProcess): Promise<void> {
  const exited = new Promise((r) => w.once('exit', r));
  w.kill('SIGKILL');
  await exited;
}

describe('a worker killed in the middle of a transaction', () => {
  let lab: Lab | undefined;
  const workers: ChildProcess[] = [];
  afterAll(() => {
    for (const w of workers) w.kill('SIGKILL');
    lab?.down();
  });

  it('leaves kubeadm upgrade apply and the package install running; the run completes once each', async () => {
    lab = Lab.up({ controlPlanes: 1, workers: 1, version: '1.29.6', packages: 'apt', speed: SPEED });
    const inventory = loadInventory(lab.inventory);
    const cp = inventory.nodes.find((n) => n.role === 'control-plane')!.name;
    const worker = inventory.nodes.find((n) => n.role === 'worker')!.name;
    const queue = uniqueQueue('killtxn');
    const { client: c, close } = await client();
    try {
      workers.push(workerProcess(queue, lab!.dir));
      const handle = await c.workflow.start(WORKFLOW_TYPES.upgrade, {
        taskQueue: queue,
        workflowId: upgradeWorkflowId(inventory.metadata.name),
        args: [{ inventory, target: '1.30', options: { autoApprove: true, maxUnavailable: 1 } }],
        workflowIdConflictPolicy: 'FAIL',
      });

      // 1. mid-apply: preflight (15 s) and the image pull (40 s) are over, the static pods are
      //    being swapped (4 x 30 s) — at speed 10, 6.5 s after the command started
      await until('kubeadm upgrade apply on the control plane', () =>
        session(lab!.dir, cp, /kubeadm upgrade apply (?!.*--dry-run)/),
      );
      await new Promise((r) => setTimeout(r, 6_500));
      const applyKilledAt = Date.now();
      await kill(workers.at(-1)!);
      workers.push(workerProcess(queue, lab!.dir));

      // 2. mid-install of the worker's kubelet package (the dpkg half of its ~1.9 s)
      await until(
        "the install of the worker's kubelet package",
        () => session(lab!.dir, worker, /apt-get .*install .*kubelet=/),
        10 * 60_000,
      );
      const since = Date.now() - 200;
      await until('its apt-get update', () =>
        lab!
          .events()
          .find(
            (e) =>
              e.type === 'exec' &&
              e.node === worker &&
              /^apt-get update/.test(e.cmd ?? '') &&
              Date.parse(e.ts) >= since,
          ),
      );
      await new Promise((r) => setTimeout(r, 1_400));
      const installKilledAt = Date.now();
      await kill(workers.at(-1)!);
      workers.push(workerProcess(queue, lab!.dir));

      const state = await until(
        'the run to finish or block',
        async () => {
          const s: UpgradeState = await handle.query(stateQuery);
          return s.stage === 'done' || s.stage === 'failed' || s.stage === 'aborted' || s.blocked.length > 0
            ? s
            : undefined;
        },
        10 * 60_000,
      );
      const events = lab.events();
      const killed = events.filter((e) => e.type === 'exec' && (e as { killed?: boolean }).killed);
      expect(killed.map((e) => `${e.node}: ${e.cmd}`)).toEqual([]);
      expect(state.blocked).toEqual([]);
      expect(state.stage).toBe('done');
      const target = state.hops.at(-1)!.version;
      const check = lab.check(target, 1);
      expect(check.stdout + check.stderr).not.toMatch(/transaction-(killed|rerun)/);
      expect(check.status).toBe(0);
      const runs = (re: RegExp, node: string) =>
        events.filter((e) => e.type === 'exec' && e.node === node && re.test(e.cmd ?? '')).length;
      expect(runs(/^kubeadm upgrade apply (?!.*--dry-run)/, cp)).toBe(1);
      expect(runs(/^apt-get install .*kubelet=/, worker)).toBe(1);
      // the kills did land while the transactions ran (an exec line is written at the end, with ms)
      const ranAcross = (re: RegExp, node: string, at: number) =>
        events.some((e) => {
          const ms = (e as { ms?: number }).ms ?? 0;
          const end = Date.parse(e.ts);
          return e.type === 'exec' && e.node === node && re.test(e.cmd ?? '') && end - ms < at && end > at;
        });
      expect(ranAcross(/^kubeadm upgrade apply (?!.*--dry-run)/, cp, applyKilledAt)).toBe(true);
      expect(ranAcross(/^apt-get install .*kubelet=/, worker, installKilledAt)).toBe(true);
    } finally {
      await close();
    }
  });
});
