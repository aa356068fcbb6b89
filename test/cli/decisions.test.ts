/**
 * A node that fails for good blocks the run; `kupgrade retry` runs it again (it blocks again while
 * the fault lasts) and `kupgrade abort` ends the run safely: every node the run cordoned is
 * schedulable again. Real dev server, real worker, a lab with a fault injected.
 */
import { loadInventory } from '../../src/inventory';
import { kupgrade } from '../helpers/cli';
import { Lab } from '../helpers/lab';
import { startWorker, uniqueQueue } from '../helpers/temporal';

jest.setTimeout(10 * 60_000);

interface State {
  phase: string;
  blocked: { node?: string; attempt: number; message: string; hints: string[] }[];
  nodes: { name: string; status: string }[];
}

async function state(cluster: string): Promise<State | undefined> {
  try {
    return JSON.parse((await kupgrade('status', cluster, '-o', 'json')).stdout) as State;
  } catch {
    return undefined;
  }
}

async function until(cluster: string, pred: (s: State) => boolean, what: string): Promise<State> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const s = await state(cluster);
    if (s && pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('decisions on a blocked run', () => {
  let lab: Lab;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const queue = uniqueQueue('decide');

  beforeAll(async () => {
    process.env.KUPGRADE_TASK_QUEUE = queue;
    lab = Lab.up({ controlPlanes: 1, workers: 2, version: '1.29.6', packages: 'yum' });
    worker = await startWorker(queue);
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
    const started = await kupgrade(
      'start',
      '-f',
      lab.inventory,
      '--to',
      '1.30',
      '--auto-approve',
      '--max-unavailable',
      '1',
    );
    expect(started.code).toBe(0);

    const blocked = await until(cluster, (s) => s.phase === 'blocked', 'the run to block');
    expect(blocked.blocked[0].node).toBe('w-1');
    expect(blocked.blocked[0].message).toMatch(/boom|upgrade node/);

    const retry = await kupgrade('retry', cluster, '--by', 'alice', '--comment', 'try again');
    expect(retry.code).toBe(0);
    await until(
      cluster,
      (s) => s.phase === 'blocked' && s.blocked[0]?.attempt >= 2,
      'the retried node to block again',
    );

    const abort = await kupgrade('abort', cluster, '--by', 'alice');
    expect(abort.code).toBe(0);
    const end = await until(cluster, (s) => s.phase === 'aborted', 'the abort to finish');
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
