/**
 * `kubeadm upgrade apply` fails for good on the first control plane. What the
 * operator sees: the run blocks on cp-1 with kubeadm's error, the tail of its output and kubeadm's
 * backup folders. Then: abort leaves every node schedulable; a new run blocks again, the cause is
 * fixed (the fault cleared) and `retry` finishes the upgrade without repeating any completed step.
 * Real dev server, real worker, the lab over real SSH.
 */
import { checkLab, clearFaults, injectFault } from '../../lab/src/api';
import { upgradeWorkflowId } from '../../src/shared/names';
import { kupgrade } from '../helpers/cli';
import { saveRun } from '../helpers/histories';
import { repeatedMutations } from '../helpers/lab';
import { setUp, status, until, type Setup } from '../helpers/runs';
import { client } from '../helpers/temporal';

jest.setTimeout(8 * 60_000);

const BACKUP = '/etc/kubernetes/tmp/kubeadm-backup-manifests-2026-11-28-11-40-02';
const ETCD_ERROR = 'static Pod hash for component etcd on Node cp-1 did not change after 5m0s';
/** What kubeadm 1.30 prints when the etcd upgrade fails and it rolls back (stderr of the fault). */
const KUBEADM_OUTPUT = [
  '[upgrade/staticpods] Writing new Static Pod manifests to "/etc/kubernetes/tmp/kubeadm-upgraded-manifests3371208829"',
  '[upgrade/staticpods] Preparing for "etcd" upgrade',
  '[upgrade/staticpods] Renewing etcd-server certificate',
  `[upgrade/staticpods] Moving new manifest to "/etc/kubernetes/manifests/etcd.yaml" and backing up old manifest to "${BACKUP}/etcd.yaml"`,
  '[upgrade/staticpods] Waiting for the kubelet to restart the component',
  `[upgrade/etcd] Failed to upgrade etcd: couldn't upgrade control plane. kubeadm has tried to recover everything into the earlier state. Errors faced: ${ETCD_ERROR}`,
  '[upgrade/etcd] Waiting for previous etcd to become available',
  '[upgrade/etcd] Etcd was rolled back and is now available',
  `[upgrade/apply] FATAL: fatal error when trying to upgrade the etcd cluster, rolled the state back to pre-upgrade state: couldn't upgrade control plane. kubeadm has tried to recover everything into the earlier state. Errors faced: ${ETCD_ERROR}`,
  'To see the stack trace of this error execute with --v=5 or higher',
].join('\n');

describe('kubeadm upgrade apply fails on the first control plane', () => {
  let s: Setup;

  beforeAll(async () => {
    s = await setUp('apply-fails', { controlPlanes: 1, workers: 2, version: '1.29.6', packages: 'yum' });
    await injectFault(s.lab.dir, {
      kind: 'fail',
      // the apply itself, not the rehearsal's `kubeadm upgrade apply v1.30.14 --dry-run`
      match: 'kubeadm upgrade apply v1.30.14 --yes',
      node: 'cp-1',
      exit: 1,
      message: KUBEADM_OUTPUT,
    });
  });
  afterAll(async () => {
    await s?.stop();
  });

  const start = () =>
    kupgrade('start', '-f', s.lab.inventory, '--to', '1.30', '--auto-approve', '--by', 'ci');

  /** Replay fixture of the run that just ended (the next run reuses the workflow and child IDs). */
  async function record(name: string, children: string[]): Promise<void> {
    const c = await client();
    try {
      await saveRun(c.client, c.client.workflow.getHandle(upgradeWorkflowId(s.cluster)), name, children);
    } finally {
      await c.close();
    }
  }

  it('blocks on cp-1 with the error, the output tail and the backup folders; abort leaves every node schedulable', async () => {
    expect((await start()).code).toBe(0);
    const st = await until(s.cluster, (x) => x.phase === 'blocked', 'the run to block');
    expect(st.blocked).toHaveLength(1);
    const b = st.blocked[0];
    expect(b).toMatchObject({ node: 'cp-1', step: 'upgrade-apply', type: 'KubeadmFailed', attempt: 1 });
    expect(b.message).toMatch(
      /kubeadm upgrade apply v1\.30\.14 failed and kubeadm rolled the control plane back/,
    );
    expect(b.command).toMatch(/^kubeadm upgrade apply v1\.30\.14 --yes/);
    expect(b.outputTail).toContain(ETCD_ERROR);
    expect(b.outputTail).toContain('[upgrade/etcd] Etcd was rolled back and is now available');
    expect(b.hints).toContain(`kubeadm backup folder on cp-1: ${BACKUP}`);
    expect(b.hints.join('\n')).toMatch(/kubeadm upgrade apply <current version> --force/);
    // kupgrade's own backup (etcd snapshot + /etc/kubernetes copy) is named too.
    expect(b.hints.join('\n')).toMatch(/kupgrade's backup on cp-1: /);
    // Nothing after the apply ran: no drain, the kubelet untouched.
    expect(s.lab.cordoned()).toEqual([]);
    expect(s.lab.nodes()['cp-1'].kubelet).toBe('1.29.6');

    const abort = await kupgrade('abort', s.cluster, '--by', 'alice', '--comment', 'etcd trouble');
    expect(abort.code).toBe(0);
    const end = await until(s.cluster, (x) => x.phase === 'aborted', 'the abort to finish');
    expect(end.blocked).toEqual([]);
    expect(end.failures[0]).toMatchObject({ node: 'cp-1', resolution: 'abort' });
    expect(end.nodes.filter((n) => n.cordonedByRun)).toEqual([]);
    // Ground truth: every node schedulable, every kubelet still at the old version.
    expect(s.lab.cordoned()).toEqual([]);
    expect(Object.values(s.lab.nodes()).map((n) => n.kubelet)).toEqual(['1.29.6', '1.29.6', '1.29.6']);
    await record('lab-apply-abort', ['h0/cp-1/a1-apply']);
  });

  it('after the cause is fixed, retry completes the upgrade without repeating a completed step', async () => {
    // A new run of the same cluster: the steps cp-1 finished in the aborted run are found done.
    expect((await start()).code).toBe(0);
    const st = await until(
      s.cluster,
      (x) => x.phase === 'blocked' && x.blocked[0]?.node === 'cp-1',
      'the new run to block on cp-1',
    );
    expect(st.blocked[0]).toMatchObject({ step: 'upgrade-apply', type: 'KubeadmFailed' });

    expect(await clearFaults(s.lab.dir)).toBe(1);
    const retry = await kupgrade('retry', s.cluster, '--by', 'alice', '--comment', 'etcd fixed');
    expect(retry.code).toBe(0);
    const end = await until(s.cluster, (x) => x.phase === 'done' || x.phase === 'failed', 'the run to end');
    expect(end.phase).toBe('done');
    expect(end.nodes.map((n) => [n.name, n.status, n.version])).toEqual([
      ['cp-1', 'done', 'v1.30.14'],
      ['w-1', 'done', 'v1.30.14'],
      ['w-2', 'done', 'v1.30.14'],
    ]);
    expect(end.failures.map((f) => f.resolution)).toEqual(['retry']);
    expect((await status(s.cluster))?.blocked).toEqual([]);
    await record('lab-apply-retry', ['h0/cp-1/a1-apply', 'h0/cp-1/a2-apply']);

    const check = checkLab(s.lab.dir, { target: 'v1.30.14', maxUnavailable: 1 });
    expect(check.violations).toEqual([]);
    expect(s.lab.cordoned()).toEqual([]);
    // Two runs and a retry, yet no successful mutating command ran twice for the same node.
    expect(repeatedMutations(s.lab.events())).toEqual([]);
    // The apply itself: failed twice (both runs), then ran once successfully.
    const applies = s.lab
      .events()
      .filter(
        (e) => e.type === 'exec' && /^kubeadm upgrade apply v1\.30\.14(?!.*--dry-run)/.test(e.cmd ?? ''),
      );
    expect(applies.map((e) => e.exit)).toEqual([1, 1, 0]);
  });
});
