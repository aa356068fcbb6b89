/**
 * A PodDisruptionBudget that never allows an eviction on w-1: the drain hits
 * drain.timeout, kupgrade uncordons the node it cordoned and blocks; `kupgrade skip --node w-1`
 * goes on with the others; the run ends with cp-1 and w-2 upgraded and w-1 schedulable at its old
 * version. Real dev server, real worker, the lab over real SSH.
 */
import { injectFault } from '../../lab/src/api';
import { upgradeWorkflowId } from '../../src/shared/names';
import { kupgrade } from '../helpers/cli';
import { saveRun } from '../helpers/histories';
import { repeatedMutations } from '../helpers/lab';
import { type Setup, setUp, startRun, until } from '../helpers/runs';
import { client } from '../helpers/temporal';

jest.setTimeout(8 * 60_000);

describe('a PDB that never yields', () => {
  let s: Setup;

  beforeAll(async () => {
    s = await setUp('pdb', { controlPlanes: 1, workers: 2, version: '1.29.6', packages: 'yum' });
    // drain.timeout from the inventory: 2 minutes instead of 5 (the lab's time model scales it
    // with the speed, like the evictions, so it is enough for the drains the PDB does not block).
    s.lab.editInventory(/^ {2}timeout: 5m$/m, '  timeout: 2m');
    await injectFault(s.lab.dir, { kind: 'pdb-block', node: 'w-1' });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('times the drain out, uncordons w-1, blocks; skip finishes the others and leaves w-1 schedulable', async () => {
    await startRun(s.lab.inventory);

    const st = await until(s.cluster, (x) => x.phase === 'blocked', 'the drain of w-1 to block the run');
    expect(st.blocked).toHaveLength(1);
    const b = st.blocked[0];
    expect(b).toMatchObject({ node: 'w-1', step: 'drain', type: 'DrainTimeout' });
    expect(b.message).toMatch(/drain did not finish within 120s/);
    expect(b.command).toMatch(/kubectl .*drain .*--timeout=120s -- w-1$/);
    expect(b.hints.join('\n')).toMatch(/PodDisruptionBudget/);
    expect(b.hints.join('\n')).toMatch(/pods still blocking the drain: (.*, )?prod\/web-/);
    expect(b.hints[0]).toBe('w-1 was uncordoned while blocked: retry drains it again.');
    // While the run waits for a person, w-1 serves again (ground truth), and the run knows it.
    expect(s.lab.cordoned()).toEqual([]);
    expect(st.nodes.find((n) => n.name === 'w-1')).toMatchObject({ status: 'blocked', cordonedByRun: false });
    // maxUnavailable 1: w-2 was prepared ahead (kubeadm, upgrade node) but is neither drained nor
    // cordoned while w-1 holds the window.
    expect(['prepared', 'running']).toContain(st.nodes.find((n) => n.name === 'w-2')?.status);
    expect(s.lab.nodes()['w-2']).toMatchObject({ kubelet: '1.29.6', unschedulable: false });
    expect(s.lab.nodes()['w-1'].kubelet).toBe('1.29.6');

    const skip = await kupgrade(
      'skip',
      s.cluster,
      '--node',
      'w-1',
      '--by',
      'alice',
      '--comment',
      'PDB owner away',
    );
    expect(skip.code).toBe(0);
    const end = await until(s.cluster, (x) => x.phase === 'done' || x.phase === 'failed', 'the run to end');
    expect(end.phase).toBe('done');
    expect(end.nodes.map((n) => [n.name, n.status])).toEqual([
      ['cp-1', 'done'],
      ['w-1', 'skipped'],
      ['w-2', 'done'],
    ]);
    expect(end.failures.map((f) => [f.node, f.resolution])).toEqual([['w-1', 'skip']]);
    // replay fixture: a skip sent as an Update, the failed child, a worker prepared ahead
    const c = await client();
    try {
      const handle = c.client.workflow.getHandle(upgradeWorkflowId(s.cluster));
      await saveRun(c.client, handle, 'lab-pdb-skip', ['h0/w-1/a1-kubelet', 'h0/w-2/a1-prepare']);
    } finally {
      await c.close();
    }

    // Ground truth: the others upgraded, w-1 schedulable at its old kubelet, nobody cordoned.
    const nodes = s.lab.nodes();
    expect(nodes['cp-1'].kubelet).toBe('1.30.14');
    expect(nodes['w-2'].kubelet).toBe('1.30.14');
    expect(nodes['w-1'].kubelet).toBe('1.29.6');
    expect(nodes['w-1'].packages.kubelet.version).toBe('1.29.6');
    expect(nodes['w-1'].ready).toBe(true);
    expect(s.lab.cordoned()).toEqual([]);
    expect(repeatedMutations(s.lab.events())).toEqual([]);
    // w-1 was drained exactly once (no retry), and uncordoned after it.
    const w1 = s.lab
      .events()
      .filter(
        (e) => e.type === 'exec' && /^kubectl (?:-\S+ )*(drain|uncordon) (?:-\S+ )*w-1$/.test(e.cmd ?? ''),
      );
    expect(w1.map((e) => /(drain|uncordon)/.exec(e.cmd ?? '')?.[1])).toEqual(['drain', 'uncordon']);
  });
});
