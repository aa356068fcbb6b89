/**
 * A node that fails for good blocks the run; `kupgrade retry` runs it again (it blocks again while
 * the fault lasts) and `kupgrade abort` ends the run safely: every node the run cordoned is
 * schedulable again. Real dev server, real worker, a lab with a fault injected.
 */
import { loadInventory } from '../../src/inventory';
import { kupgrade } from '../helpers/cli';
import { Lab } from '../helpers/lab';
import { startRun, until } from '../helpers/runs';
import { startWorker, uniqueQueue } from '../helpers/temporal';

jest.setTimeout(10 * 60_000);

// the deadline of every wait below (it only turns a hung run into a readable failure)
const WAIT_MS = 300_000;

describe('decisions on a blocked run', () => {
  let lab: Lab;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const queue = uniqueQueue('decide');

  beforeAll(async () => {
    process.env.KUPGRADE_TASK_QUEUE = queue;
    lab = Lab.up({ controlPlanes: 1, workers: 2, version: '1.29.6', packages: 'yum' });
    worker = await startWorker(queue, lab);
  });
  afterAll(async () => {
    await worker?.stop();
    lab?.down();
    delete process.env.KUPGRADE_TASK_QUEUE;
  });

  it('blocks on a failing node, retries on request, and aborts leaving every node schedulable', async () => {
    const cluster = loadInventory(lab.inventory).metadata.name;
    lab.fault([
      'fail',
      '--match',
      'upgrade node',
      '--node',
      'w-1',
      '--message',
      'error execution phase kubelet-config: boom',
    ]);
    await startRun(lab.inventory);

    const blocked = await until(cluster, (s) => s.phase === 'blocked', 'the run to block', WAIT_MS);
    expect(blocked.blocked[0].node).toBe('w-1');
    expect(blocked.blocked[0].message).toMatch(/boom|upgrade node/);

    const retry = await kupgrade('retry', cluster, '--by', 'alice', '--comment', 'try again');
    expect(retry.code).toBe(0);
    await until(
      cluster,
      (s) => s.phase === 'blocked' && s.blocked[0]?.attempt >= 2,
      'the retried node to block again',
      WAIT_MS,
    );

    const abort = await kupgrade('abort', cluster, '--by', 'alice');
    expect(abort.code).toBe(0);
    const end = await until(cluster, (s) => s.phase === 'aborted', 'the abort to finish', WAIT_MS);
    expect(end.nodes.find((n) => n.name === 'w-1')?.status).not.toBe('done');

    // Ground truth: no node is left unschedulable, and w-1's kubelet never changed.
    const last = new Map<string, { unschedulable?: boolean; kubelet?: string }>();
    for (const e of lab.events()) if (e.type === 'state') last.set(e.node, e);
    expect([...last.entries()].filter(([, e]) => e.unschedulable).map(([n]) => n)).toEqual([]);
    expect(last.get('w-1')?.kubelet).toBe('v1.29.6');

    const again = await kupgrade('retry', cluster);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already finished/);
  });
});
