/**
 * Invariant 9: a worker SIGKILLed in the middle of a node's upgrade (after its drain, before its
 * kubelet restart) is replaced by a new worker process, the run completes, and the lab's exec log
 * shows no mutating command of a completed step run a second time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { loadInventory } from '../../src/inventory';
import { stateQuery } from '../../src/shared/messages';
import { upgradeWorkflowId, WORKFLOW_TYPES } from '../../src/shared/names';
import type { UpgradeResult } from '../../src/shared/types';
import { Lab, ROOT, repeatedMutations } from '../helpers/lab';
import { address, client, uniqueQueue } from '../helpers/temporal';

jest.setTimeout(15 * 60_000);

function workerProcess(taskQueue: string, config: string): ChildProcess {
  return spawn(process.execPath, [path.join(ROOT, 'dist/src/worker.js')], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: address(),
      KUPGRADE_TASK_QUEUE: taskQueue,
      KUPGRADE_WORKER_CONFIG: config,
      KUPGRADE_POLL_MS: '100',
      KUPGRADE_LOG_LEVEL: 'WARN',
    },
    // Not a pipe: nobody reads it, and a full pipe would stall the worker.
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 5 * 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('crash of the worker in the middle of a node', () => {
  let lab: Lab | undefined;
  const workers: ChildProcess[] = [];
  afterAll(() => {
    for (const w of workers) w.kill('SIGKILL');
    lab?.down();
  });

  it('resumes in a new worker process without repeating a completed step', async () => {
    lab = Lab.up({ controlPlanes: 1, workers: 2, version: '1.29.6', packages: 'yum', speed: 50 });
    const inventory = loadInventory(lab.inventory);
    const victim = inventory.nodes.find((n) => n.role === 'worker')!.name;
    const queue = uniqueQueue('crash');
    const { client: c, close } = await client();
    try {
      const first = workerProcess(queue, path.join(lab.dir, 'worker.yaml'));
      workers.push(first);
      const handle = await c.workflow.start(WORKFLOW_TYPES.upgrade, {
        taskQueue: queue,
        workflowId: upgradeWorkflowId(inventory.metadata.name),
        args: [{ inventory, target: '1.30', options: { autoApprove: true, maxUnavailable: 1 } }],
        workflowIdConflictPolicy: 'FAIL',
      });
      // Kill the worker right after the victim's drain succeeded: its kubelet is not restarted yet.
      const drainRe = new RegExp(`^kubectl (?:-\\S+ )*drain (?:-\\S+ )*${victim}$`);
      await until('the drain of the victim', () =>
        lab!.events().find((e) => e.type === 'exec' && e.exit === 0 && drainRe.test(e.cmd ?? '')),
      );
      const restartedBeforeKill = lab
        .events()
        .some(
          (e) => e.type === 'exec' && e.node === victim && /^systemctl restart kubelet/.test(e.cmd ?? ''),
        );
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      expect(restartedBeforeKill).toBe(false);

      const second = workerProcess(queue, path.join(lab.dir, 'worker.yaml'));
      workers.push(second);
      const result = (await handle.result()) as UpgradeResult;
      expect(result.phase).toBe('done');
      const state = await handle.query(stateQuery);
      const target = state.hops.at(-1)!.version;
      expect(lab.check(target, 1).status).toBe(0);
      expect(repeatedMutations(lab.events())).toEqual([]);
      // The victim's kubelet was restarted exactly once, after the crash.
      const restarts = lab
        .events()
        .filter(
          (e) =>
            e.type === 'exec' &&
            e.node === victim &&
            e.exit === 0 &&
            /^systemctl restart kubelet/.test(e.cmd ?? ''),
        );
      expect(restarts).toHaveLength(1);
      second.kill('SIGTERM');
    } finally {
      await close();
    }
  });
});
