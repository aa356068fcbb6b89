/**
 * A cordon an operator makes during the run is theirs: w-2 is cordoned by a
 * person after the preflight gate was approved (so preflight saw it schedulable). The run drains
 * and upgrades it, and leaves it cordoned — at the end of the run, and after an abort. The lab's
 * `check` knows the operator's cordon (`kupgrade-lab cordon`) and must not flag it. Real dev
 * server, real worker, the lab over real SSH.
 */
import { injectFault, operatorCordon } from '../../lab/src/api';
import { kupgrade } from '../helpers/cli';
import { type Setup, setUp, startRun, until } from '../helpers/runs';

jest.setTimeout(10 * 60_000);

async function approve(cluster: string, gate: string): Promise<void> {
  await until(cluster, (x) => (x as { gate?: { name: string } }).gate?.name === gate, `gate ${gate}`);
  const r = await kupgrade('approve', cluster, '--gate', gate, '--by', 'alice');
  if (r.code !== 0) throw new Error(`approve ${gate} exited ${r.code}: ${r.stderr}`);
}

describe('a node cordoned by an operator during the run', () => {
  describe('the run ends', () => {
    let s: Setup;
    beforeAll(async () => {
      s = await setUp('opcordon', { controlPlanes: 1, workers: 2, version: '1.29.6', packages: 'yum' });
    });
    afterAll(async () => {
      await s?.stop();
    });

    it('is upgraded and stays cordoned', async () => {
      await startRun(s.lab.inventory, '1.30', { autoApprove: false });
      await approve(s.cluster, 'preflight');
      await operatorCordon(s.lab.dir, 'w-2', true);
      await approve(s.cluster, 'control-plane');
      await approve(s.cluster, 'workers');
      const end = await until(s.cluster, (x) => ['done', 'blocked', 'aborted'].includes(x.phase), 'the end');
      expect(end.phase).toBe('done');
      expect(end.nodes.find((n) => n.name === 'w-2')).toMatchObject({ status: 'done', cordonedByRun: false });
      expect(s.lab.cordoned()).toEqual(['w-2']);
      expect(s.lab.nodes()['w-2'].kubelet).toBe('1.30.14');
      const check = s.lab.check('v1.30.14');
      expect(check.stdout).not.toMatch(/left-cordoned|unschedulable/);
      expect(check.status).toBe(0);
    });
  });

  describe('the run is aborted', () => {
    let s: Setup;
    beforeAll(async () => {
      s = await setUp(
        'opcordonabort',
        { controlPlanes: 1, workers: 2, version: '1.29.6', packages: 'yum' },
        { readyTimeoutMs: 8_000 },
      );
      // w-2 blocks at wait-ready after its drain and kubelet restart
      await injectFault(s.lab.dir, { kind: 'kubelet-not-ready', node: 'w-2' });
    });
    afterAll(async () => {
      await s?.stop();
    });

    it('stays cordoned after the abort', async () => {
      await startRun(s.lab.inventory, '1.30', { autoApprove: false });
      await approve(s.cluster, 'preflight');
      await operatorCordon(s.lab.dir, 'w-2', true);
      await approve(s.cluster, 'control-plane');
      await approve(s.cluster, 'workers');
      const st = await until(s.cluster, (x) => x.phase === 'blocked', 'the run to block on w-2');
      expect(st.blocked[0]).toMatchObject({ node: 'w-2', step: 'wait-ready' });
      const abort = await kupgrade('abort', s.cluster, '--by', 'alice');
      expect(abort.code).toBe(0);
      const end = await until(s.cluster, (x) => x.phase === 'aborted', 'the abort to finish');
      expect(end.nodes.find((n) => n.name === 'w-2')?.cordonedByRun).toBe(false);
      expect(s.lab.cordoned()).toEqual(['w-2']);
      const check = s.lab.check('v1.30.14');
      expect(check.stdout).not.toMatch(/left-cordoned|unschedulable/);
    });
  });

  describe('the run is aborted while the node is being upgraded', () => {
    let s: Setup;
    beforeAll(async () => {
      s = await setUp('opcordoncancel', { controlPlanes: 1, workers: 2, version: '1.29.6', packages: 'yum' });
      // w-2's kubelet install hangs: its node child is still running (after its drain) at the abort.
      // Bounded (4,000 s of modelled time, ~20 s at the lab's speed 200): the install is a
      // transaction, so the abort waits for it to end instead of killing it.
      await injectFault(s.lab.dir, {
        kind: 'hang',
        match: 'kubelet-1.30.14',
        node: 'w-2',
        forMs: 4_000_000,
      });
    });
    afterAll(async () => {
      await s?.stop();
    });

    it('stays cordoned after the abort', async () => {
      await startRun(s.lab.inventory, '1.30', { autoApprove: false });
      await approve(s.cluster, 'preflight');
      await operatorCordon(s.lab.dir, 'w-2', true);
      await approve(s.cluster, 'control-plane');
      await approve(s.cluster, 'workers');
      await until(
        s.cluster,
        (x) => x.nodes.some((n) => n.name === 'w-2' && n.step === 'kubelet-packages'),
        'w-2 to reach its kubelet install',
      );
      const abort = await kupgrade('abort', s.cluster, '--by', 'alice');
      expect(abort.code).toBe(0);
      const end = await until(s.cluster, (x) => x.phase === 'aborted', 'the abort to finish');
      expect(end.nodes.find((n) => n.name === 'w-2')?.cordonedByRun).toBe(false);
      expect(s.lab.cordoned()).toEqual(['w-2']);
      expect(s.lab.check('v1.30.14').stdout).not.toMatch(/left-cordoned|unschedulable/);
    });
  });
});
