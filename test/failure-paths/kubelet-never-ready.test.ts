/**
 * A kubelet that never comes back Ready after its restart on w-1: the run blocks
 * on w-1 at wait-ready with a message that says what is wrong; `abort` uncordons w-1 (this run
 * cordoned it for the drain) so every node is schedulable. Real dev server, a real worker (with a
 * short wait-ready timeout instead of the default 10 minutes), the lab over real SSH.
 */
import { injectFault } from '../../lab/src/api';
import { kupgrade } from '../helpers/cli';
import { repeatedMutations } from '../helpers/lab';
import { type Setup, setUp, startRun, until } from '../helpers/runs';

jest.setTimeout(8 * 60_000);

describe('a kubelet that never becomes Ready', () => {
  let s: Setup;

  beforeAll(async () => {
    s = await setUp(
      'notready',
      { controlPlanes: 1, workers: 2, version: '1.29.6', packages: 'yum' },
      { readyTimeoutMs: 8_000 },
    );
    // Takes effect at w-1's next kubelet restart: preflight still sees every node Ready.
    await injectFault(s.lab.dir, { kind: 'kubelet-not-ready', node: 'w-1' });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('blocks on w-1 with a clear message, and abort leaves every node schedulable', async () => {
    await startRun(s.lab.inventory);

    const st = await until(s.cluster, (x) => x.phase === 'blocked', 'the run to block on w-1');
    // What the operator sees in `kupgrade status -o json`.
    expect(st.blocked).toHaveLength(1);
    const b = st.blocked[0];
    expect(b).toMatchObject({ node: 'w-1', step: 'wait-ready', type: 'NodeNotReady', attempt: 1 });
    expect(b.message).toMatch(
      /^w-1: not Ready at v1\.30\.14 after 8s; last seen NotReady at v1\.30\.14; kubelet service activating$/,
    );
    expect(b.hints.join('\n')).toMatch(/systemctl status kubelet/);
    expect(b.hints.join('\n')).toMatch(/journalctl -xeu kubelet/);
    const w1 = st.nodes.find((n) => n.name === 'w-1');
    expect(w1).toMatchObject({ status: 'blocked', step: 'wait-ready', cordonedByRun: true });
    // The control plane is done; w-2, prepared ahead, waits behind w-1 (window 1): schedulable.
    expect(st.nodes.map((n) => [n.name, n.status === 'running' ? 'prepared' : n.status])).toEqual([
      ['cp-1', 'done'],
      ['w-1', 'blocked'],
      ['w-2', 'prepared'],
    ]);
    expect(s.lab.nodes()['w-2']).toMatchObject({ kubelet: '1.29.6', unschedulable: false });
    // Ground truth while blocked: w-1 restarted on the new kubelet, NotReady, still cordoned.
    const before = s.lab.nodes();
    expect(before['w-1']).toMatchObject({ kubelet: '1.30.14', ready: false, unschedulable: true });
    // The text screen names the node, the step and the error too.
    const screen = await kupgrade('status', s.cluster);
    expect(screen.code).toBe(0);
    expect(screen.stdout).toMatch(/w-1\s+worker\s+blocked\s+wait-ready/);
    expect(screen.stdout).toMatch(/not Ready at v1\.30\.14/);

    const abort = await kupgrade('abort', s.cluster, '--by', 'alice');
    expect(abort.code).toBe(0);
    const end = await until(s.cluster, (x) => x.phase === 'aborted', 'the abort to finish');
    expect(end.nodes.filter((n) => n.cordonedByRun)).toEqual([]);
    expect(end.nodes.find((n) => n.name === 'w-2')?.status).not.toBe('done');

    // Ground truth after abort: nobody cordoned; w-2 was prepared ahead (the new kubeadm and its
    // `kubeadm upgrade node`, as the runbook does before the drain) but never drained: its kubelet
    // is the old one, and no kubectl drain/cordon ever named it.
    expect(s.lab.cordoned()).toEqual([]);
    const after = s.lab.nodes();
    expect(after['w-2'].kubelet).toBe('1.29.6');
    expect(after['w-2'].packages.kubeadm.version).toBe('1.30.14');
    expect(
      s.lab
        .events()
        .filter((e) => e.type === 'exec' && /^kubectl .*(drain|cordon) (?:-\S+ )*w-2$/.test(e.cmd ?? '')),
    ).toEqual([]);
    expect(repeatedMutations(s.lab.events())).toEqual([]);
    const uncordons = s.lab
      .events()
      .filter((e) => e.type === 'exec' && e.exit === 0 && /\buncordon (?:-- )?w-1$/.test(e.cmd ?? ''));
    expect(uncordons).toHaveLength(1);
  });
});
