/**
 * Verify on a cluster as it really is at the end of an upgrade:
 * - kube-system pods the kubelet evicted before the run (phase Failed, reason Evicted) stay in the
 *   API on a node no drain touched (w-2, cordoned by someone else before the run, nothing left to
 *   evict): verify ignores them;
 * - calico-node on the last worker is Ready only some seconds after its node: verify waits for
 *   kube-system to settle (bounded) instead of blocking the finished upgrade;
 * - an out-of-band tool writes the kube-apiserver manifest back to the old image right after
 *   `kubeadm upgrade apply`: verify reads the control-plane image tags, blocks, and a person can
 *   accept it (who and why recorded) — the run ends `done`, not `aborted`.
 * Real dev server, a real worker, the lab over real SSH.
 */
import { injectFault } from '../../lab/src/api';
import { kupgrade } from '../helpers/cli';
import { type Setup, setUp, startRun, until } from '../helpers/runs';

jest.setTimeout(10 * 60_000);

const finished = (phase: string) => ['done', 'blocked', 'aborted', 'failed'].includes(phase);

describe('verify that settles', () => {
  describe('pods evicted before the run, a pod Ready after the last node', () => {
    let s: Setup;
    beforeAll(async () => {
      s = await setUp('settle', {
        controlPlanes: 1,
        workers: 2,
        version: '1.29.6',
        packages: 'yum',
        extra: ['--cordoned', 'w-2', '--evicted-pods', 'w-1,w-2', '--pods-per-worker', '0'],
      });
      // 40 modelled minutes at speed 200: calico-node on w-2 is Ready ~12 s after w-2 itself.
      await injectFault(s.lab.dir, { kind: 'pod-slow-ready', node: 'w-2', forMs: 40 * 60_000 });
    });
    afterAll(async () => {
      await s?.stop();
    });

    it('waits for kube-system, ignores what failed before the run, and ends done', async () => {
      await startRun(s.lab.inventory);
      const end = await until(s.cluster, (x) => finished(x.phase), 'the run to finish or block');
      expect(end.blocked).toEqual([]);
      expect(end.phase).toBe('done');
      // Ground truth: every node at the target; w-2's evicted pod is still there (no drain of
      // w-2: it was cordoned with nothing to evict), w-1's was deleted by w-1's drain.
      expect(
        s.lab
          .state()
          .pods.filter((p) => p.failed)
          .map((p) => p.node),
      ).toEqual(['w-2']);
      for (const n of Object.values(s.lab.nodes())) expect(n.kubelet).toBe('1.30.14');
      expect(s.lab.check('v1.30.14').status).toBe(0);
    });
  });

  describe('an out-of-band rollback of kube-apiserver after apply', () => {
    let s: Setup;
    beforeAll(async () => {
      s = await setUp('rollback', { controlPlanes: 1, workers: 1, version: '1.29.6', packages: 'yum' });
      await injectFault(s.lab.dir, { kind: 'manifest-rollback', node: 'cp-1' });
    });
    afterAll(async () => {
      await s?.stop();
    });

    it('blocks at verify on the image tag, and accept ends the run done with who and why', async () => {
      await startRun(s.lab.inventory);
      const st = await until(s.cluster, (x) => finished(x.phase), 'the run to block at verify');
      expect(st.phase).toBe('blocked');
      expect(st.blocked).toHaveLength(1);
      expect(st.blocked[0]).toMatchObject({ step: 'verify', type: 'VerifyFailed' });
      expect(st.blocked[0].message).toMatch(
        /kube-apiserver-cp-1 runs .*kube-apiserver:v1\.29\.6, not v1\.30\.14/,
      );

      const bare = await kupgrade('accept', s.cluster, '--by', 'alice');
      expect(bare.code).not.toBe(0);
      expect(bare.stderr).toMatch(/--comment/);

      const ok = await kupgrade(
        'accept',
        s.cluster,
        '--by',
        'alice',
        '--comment',
        'CAB-7: rollback on purpose',
      );
      expect(ok.code).toBe(0);
      const end = await until(s.cluster, (x) => x.phase !== 'blocked', 'the accepted run to end');
      expect(end.phase).toBe('done');
      const full = JSON.parse((await kupgrade('status', s.cluster, '-o', 'json')).stdout) as {
        decisions: { action: string; by: string; comment?: string }[];
        failures: { step: string; resolution?: string }[];
        message?: string;
      };
      expect(full.decisions).toContainEqual(
        expect.objectContaining({ action: 'accept', by: 'alice', comment: 'CAB-7: rollback on purpose' }),
      );
      expect(full.failures.find((f) => f.step === 'verify')?.resolution).toBe('accept');
      expect(full.message).toMatch(/accepted by alice/);
    });
  });
});
