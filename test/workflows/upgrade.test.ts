/**
 * The upgrade workflow on the real dev server, with a real Worker and a fake cluster behind the
 * activity interface: gates, decisions, window, abort, pause, signals, one run per cluster.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { ErrorType } from '../../src/shared/errors';
import {
  approveSignal,
  approveUpdate,
  decideSignal,
  decideUpdate,
  pauseUpdate,
  resumeUpdate,
} from '../../src/shared/messages';
import { SA_PHASE } from '../../src/shared/names';
import type { UpgradeInput } from '../../src/shared/types';
import { saveRun } from '../helpers/histories';
import { FakeCluster, makeInventory } from './fake-cluster';
import {
  rejection,
  setUp,
  startUpgrade,
  state,
  uniqueCluster,
  waitFor,
  withWorker,
  type Harness,
} from './harness';

const MUTATING = [
  'backupControlPlane',
  'ensureRepoMinor',
  'ensureKubeadmPackage',
  'ensureImagesPulled',
  'ensureKubeadmApply',
  'ensureKubeadmUpgradeNode',
  'runCniStep',
  'ensureDrained',
  'ensureKubeletPackages',
  'ensureKubeletRestarted',
  'ensureUncordoned',
];

// Real server on a shared 2-core machine: a run of a few nodes can take tens of seconds under load.
jest.setTimeout(300_000);

let h: Harness;
beforeAll(async () => {
  h = await setUp();
}, 120_000);
afterAll(async () => {
  await h?.close();
});

async function replays(...workflowIds: string[]): Promise<void> {
  for (const id of workflowIds) {
    const history = await h.client.workflow.getHandle(id).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: h.bundle }, history, id);
  }
}

function input(
  cluster: string,
  cps: number,
  ws: number,
  target: string,
  options: UpgradeInput['options'] = {},
): UpgradeInput {
  return { inventory: makeInventory(cluster, cps, ws), target, options };
}

describe('upgradeCluster', () => {
  it('upgrades 2 control planes and 3 workers 1.29 → 1.30 in the runbook order (auto-approve)', async () => {
    const inp = input(uniqueCluster('happy'), 2, 3, '1.30', { autoApprove: true });
    const fake = new FakeCluster(inp.inventory, 'v1.29.6', { cordoned: ['w-3'] });
    const { result, history, phase } = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      const result = await handle.result();
      const desc = await handle.describe();
      // replay fixture: workers prepared ahead of their turn in the window
      await saveRun(h.client, handle, 'wf-prepare-ahead', ['h0/w-2/a1-prepare', 'h0/w-2/a1-kubelet']);
      return {
        result,
        history: await handle.fetchHistory(),
        phase: desc.typedSearchAttributes.get(SA_PHASE),
      };
    });
    expect(result.phase).toBe('done');
    expect(phase).toBe('done');
    expect(result.state.target).toBe('v1.30.14');
    for (const n of fake.nodes.values()) expect(n.kubelet).toBe('v1.30.14');
    // apply on exactly the first control plane; upgrade node on the others
    expect(fake.calls.filter((c) => c.activity === 'ensureKubeadmApply').map((c) => c.node)).toEqual([
      'cp-1',
    ]);
    expect(fake.count('ensureKubeadmUpgradeNode', 'cp-2')).toBe(1);
    expect(fake.count('ensureKubeadmUpgradeNode', 'cp-1')).toBe(0);
    // the read-only rehearsal on the first control plane, after the plan, before images and apply
    const cp1 = fake.calls.filter((c) => c.node === 'cp-1').map((c) => c.activity);
    const planAt = cp1.indexOf('kubeadmUpgradePlan');
    expect(cp1.slice(planAt, planAt + 4)).toEqual([
      'kubeadmUpgradePlan',
      'kubeadmRehearsal',
      'ensureImagesPulled',
      'ensureKubeadmApply',
    ]);
    expect(fake.calls.filter((c) => c.activity === 'kubeadmRehearsal').map((c) => c.node)).toEqual(['cp-1']);
    expect(result.state.rehearsal).toEqual({
      node: 'cp-1',
      hop: 0,
      detail: 'rehearsed v1.30.14: 3 manifest(s) would change, apply --dry-run OK',
      outputTail: '+++ new manifest\n+    image: registry.k8s.io/kube-apiserver:v1.30.14',
    });
    // workers start only after every control plane finished (its uncordon)
    const lastCp = Math.max(...fake.calls.flatMap((c, i) => (c.node?.startsWith('cp-') ? [i] : [])));
    const firstWorker = fake.calls.findIndex((c) => c.node?.startsWith('w-'));
    expect(firstWorker).toBeGreaterThan(lastCp);
    expect(fake.maxControlPlanesUnschedulable).toBe(1);
    // per-node order for a worker
    expect(fake.calls.filter((c) => c.node === 'w-1').map((c) => c.activity)).toEqual([
      'ensureRepoMinor',
      'ensureKubeadmPackage',
      'ensureKubeadmUpgradeNode',
      'ensureDrained',
      'ensureKubeletPackages',
      'ensureKubeletRestarted',
      'waitNodeReady',
      'ensureUncordoned',
    ]);
    // w-3 was cordoned by someone else: upgraded, never uncordoned
    expect(fake.node('w-3').unschedulable).toBe(true);
    expect(fake.count('ensureUncordoned', 'w-3')).toBe(0);
    expect(fake.node('w-1').unschedulable).toBe(false);
    // every gate recorded as auto-approved, backup kept in the state
    expect(result.state.approvals.map((a) => a.gate)).toEqual(['preflight', 'control-plane', 'workers']);
    expect(result.state.approvals.every((a) => a.by === 'auto-approve')).toBe(true);
    expect(result.state.backup?.etcdSnapshot).toMatch(/etcd\.db$/);
    // the parent history stays small: nodes ran as child workflows
    const events = history.events ?? [];
    expect(
      events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'ensureDrained'),
    ).toBe(false);
    // cp-1 twice (apply, then its kubelet), cp-2 once, each worker twice: prepared ahead of its turn
    // (repo → upgrade node), then drained → uncordoned in the window
    const children = events.flatMap((e) => {
      const id = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
      return id ? [id.slice(id.indexOf('/h0/') + 4)] : [];
    });
    expect(children.sort()).toEqual(
      [
        'cp-1/a1-apply',
        'cp-1/a2-kubelet',
        'cp-2/a1',
        'w-1/a1-kubelet',
        'w-1/a1-prepare',
        'w-2/a1-kubelet',
        'w-2/a1-prepare',
        'w-3/a1-kubelet',
        'w-3/a1-prepare',
      ].sort(),
    );
  });

  it('waits at each gate until approved and refuses approving a gate that is not open', async () => {
    const inp = input(uniqueCluster('gates'), 1, 2, 'v1.30.4');
    const fake = new FakeCluster(inp.inventory, 'v1.29.6');
    const result = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      let s = await waitFor(handle, (x) => x.gate?.name === 'preflight', 'preflight gate');
      expect(s.phase).toBe('preflight');
      expect(s.preflight?.ok).toBe(true);
      expect(s.hops.map((x) => x.version)).toEqual(['v1.30.4']);
      // nothing changed before the approval
      await new Promise((r) => setTimeout(r, 300));
      expect(fake.calls.filter((c) => MUTATING.includes(c.activity))).toEqual([]);
      const refused = await rejection(
        handle.executeUpdate(approveUpdate, { args: [{ gate: 'workers', by: 'mallory' }] }),
      );
      expect(refused.type).toBe(ErrorType.GateNotOpen);
      expect(refused.message).toMatch(/open gate is preflight/);
      const rec = await handle.executeUpdate(approveUpdate, {
        args: [{ gate: 'preflight', by: 'alice', comment: 'CAB-1234' }],
      });
      expect(rec).toMatchObject({ gate: 'preflight', by: 'alice', comment: 'CAB-1234', via: 'update' });
      // approving the same gate twice is refused: it is closed now
      expect(
        (await rejection(handle.executeUpdate(approveUpdate, { args: [{ gate: 'preflight', by: 'alice' }] })))
          .type,
      ).toBe(ErrorType.GateNotOpen);
      s = await waitFor(handle, (x) => x.gate?.name === 'control-plane', 'control-plane gate');
      expect(s.gate?.hop).toBe(0);
      expect(fake.count('backupControlPlane')).toBe(1);
      expect(fake.count('ensureRepoMinor')).toBe(0);
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'control-plane', by: 'bob' }] });
      await waitFor(handle, (x) => x.gate?.name === 'workers', 'workers gate');
      expect(fake.node('cp-1').kubelet).toBe('v1.30.4');
      expect(fake.count('ensureDrained', 'w-1')).toBe(0);
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'workers', by: 'carol' }] });
      const result = await handle.result();
      await saveRun(h.client, handle, 'wf-approve-updates'); // replay fixture: gates approved by Update
      return result;
    });
    expect(result.phase).toBe('done');
    expect(result.state.approvals.map((a) => `${a.gate}:${a.by}`)).toEqual([
      'preflight:alice',
      'control-plane:bob',
      'workers:carol',
    ]);
  });

  it('computes two hops for 1.28 → 1.30 (apply once per hop) and refuses a downgrade', async () => {
    const inp = input(uniqueCluster('hops'), 2, 1, '1.30', { autoApprove: true });
    const fake = new FakeCluster(inp.inventory, 'v1.28.15');
    const result = await withWorker(h, fake, async (tq) => (await startUpgrade(h, tq, inp)).result());
    expect(result.state.hops.map((x) => [x.minor, x.version])).toEqual([
      ['1.29', 'v1.29.10'],
      ['1.30', 'v1.30.14'],
    ]);
    expect(fake.calls.filter((c) => c.activity === 'ensureKubeadmApply').map((c) => [c.node, c.hop])).toEqual(
      [
        ['cp-1', 0],
        ['cp-1', 1],
      ],
    );
    // every worker went through 1.29 before 1.30 (no minor skipped)
    expect(
      fake.calls.filter((c) => c.activity === 'waitNodeReady' && c.node === 'w-1').map((c) => c.hop),
    ).toEqual([0, 1]);
    // hop 1's workers start only after every control plane finished hop 1
    const hop1 = fake.calls.filter((c) => c.hop === 1);
    const lastCp = Math.max(...hop1.flatMap((c, i) => (c.node?.startsWith('cp-') ? [i] : [])));
    expect(hop1.findIndex((c) => c.node?.startsWith('w-'))).toBeGreaterThan(lastCp);
    // the per-hop gates were approved per hop
    expect(result.state.approvals.filter((a) => a.gate === 'control-plane').map((a) => a.hop)).toEqual([
      0, 1,
    ]);

    const down = input(uniqueCluster('down'), 1, 1, '1.29', { autoApprove: true });
    const fake2 = new FakeCluster(down.inventory, 'v1.30.4');
    const err = await withWorker(h, fake2, async (tq) => {
      const handle = await startUpgrade(h, tq, down);
      const e = await handle.result().then(
        () => undefined,
        (x: unknown) => x,
      );
      return { e, s: await state(handle) };
    });
    expect(err.e).toBeInstanceOf(WorkflowFailedError);
    const cause = (err.e as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe(ErrorType.HopRefused);
    expect(cause.message).toMatch(/downgrade/);
    expect(err.s.phase).toBe('failed');
    expect(fake2.calls.filter((c) => MUTATING.includes(c.activity))).toEqual([]);
  });

  it('never has more than maxUnavailable workers cordoned by the run (count and percentage)', async () => {
    for (const [maxUnavailable, expected] of [
      [2, 2],
      ['60%', 3],
    ] as const) {
      const inp = input(uniqueCluster('window'), 1, 5, '1.30', { autoApprove: true, maxUnavailable });
      const fake = new FakeCluster(inp.inventory, 'v1.29.10');
      fake.delayMs = 40;
      const result = await withWorker(h, fake, async (tq) => (await startUpgrade(h, tq, inp)).result());
      expect(result.phase).toBe('done');
      expect(result.state.window).toBe(expected);
      expect(fake.maxWorkersUnavailable).toBe(expected); // reached, never exceeded
    }
  });

  it('blocks on a failed node with error, output tail and hints, then retries from the failed step', async () => {
    const inp = input(uniqueCluster('retry'), 1, 2, '1.30', { autoApprove: true });
    const fake = new FakeCluster(inp.inventory, 'v1.29.10');
    fake.faults.push({
      activity: 'ensureDrained',
      node: 'w-2',
      times: 1,
      type: ErrorType.DrainTimeout,
      message: 'PDB web blocks eviction',
    });
    const result = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      const s = await waitFor(handle, (x) => x.phase === 'blocked', 'blocked');
      expect(s.blocked).toHaveLength(1);
      const b = s.blocked[0];
      expect(b).toMatchObject({
        node: 'w-2',
        step: 'drain',
        type: ErrorType.DrainTimeout,
        hop: 0,
        attempt: 1,
      });
      expect(b.message).toMatch(/PDB web blocks eviction/);
      expect(b.outputTail).toMatch(/DrainTimeout/);
      expect(b.hints.join('\n')).toMatch(/PodDisruptionBudget/);
      expect(s.nodes.find((n) => n.name === 'w-2')?.status).toBe('blocked');
      // nothing to skip on a control plane; a node that is not blocked is refused
      expect(
        (await rejection(handle.executeUpdate(decideUpdate, { args: [{ action: 'retry', node: 'w-1' }] })))
          .type,
      ).toBe(ErrorType.NothingBlocked);
      const d = await handle.executeUpdate(decideUpdate, { args: [{ action: 'retry', by: 'alice' }] });
      expect(d).toMatchObject({ action: 'retry', by: 'alice' });
      const result = await handle.result();
      // the histories replay on the current code (determinism): parent, failed child, retried child
      await replays(
        handle.workflowId,
        `${handle.workflowId}/h0/w-2/a1-kubelet`,
        `${handle.workflowId}/h0/w-2/a2-kubelet`,
      );
      await saveRun(h.client, handle, 'wf-retry', ['h0/w-2/a1-kubelet', 'h0/w-2/a2-kubelet']);
      return result;
    });
    expect(result.phase).toBe('done');
    const w2 = result.state.nodes.find((n) => n.name === 'w-2');
    expect(w2?.attempts).toBe(2);
    expect(w2?.status).toBe('done');
    expect(fake.count('ensureKubeadmUpgradeNode', 'w-2')).toBe(1); // retry resumed at the drain
    expect(fake.count('ensureDrained', 'w-2')).toBe(2);
    expect(result.state.failures[0].resolution).toBe('retry');
    expect(fake.node('w-2').kubelet).toBe('v1.30.14');
  });

  it('a failed verify blocks; accept (a verify only, with a comment) ends the run done with who and why', async () => {
    const inp = input(uniqueCluster('accept'), 1, 1, '1.30', { autoApprove: true });
    const fake = new FakeCluster(inp.inventory, 'v1.29.10');
    fake.faults.push({ activity: 'waitNodeReady', node: 'w-1', times: 1, type: ErrorType.NodeNotReady });
    fake.verifyProblems = ['kube-system/kube-apiserver-cp-1 runs registry.k8s.io/kube-apiserver:v1.29.10'];
    const result = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      await waitFor(handle, (x) => x.blocked[0]?.node === 'w-1', 'w-1 blocked');
      const onNode = await rejection(
        handle.executeUpdate(decideUpdate, { args: [{ action: 'accept', by: 'bob', comment: 'x' }] }),
      );
      expect(onNode.type).toBe(ErrorType.InvalidInput);
      expect(onNode.message).toMatch(/only a failed verify can be accepted/);
      await handle.executeUpdate(decideUpdate, { args: [{ action: 'retry' }] });
      const s = await waitFor(handle, (x) => x.blocked[0]?.step === 'verify', 'verify blocked');
      expect(s.blocked[0]).toMatchObject({ type: 'VerifyFailed' });
      expect(s.blocked[0].hints.join('\n')).toMatch(/kupgrade accept/);
      const bare = await rejection(
        handle.executeUpdate(decideUpdate, { args: [{ action: 'accept', by: 'bob' }] }),
      );
      expect(bare.message).toMatch(/accept needs a comment/);
      await handle.executeUpdate(decideUpdate, {
        args: [{ action: 'accept', by: 'bob', comment: 'CAB-9: apiserver pinned on purpose' }],
      });
      const result = await handle.result();
      await saveRun(h.client, handle, 'wf-accept-verify');
      return result;
    });
    expect(result.phase).toBe('done');
    expect(result.state.decisions.find((d) => d.action === 'accept')).toMatchObject({
      by: 'bob',
      comment: 'CAB-9: apiserver pinned on purpose',
    });
    expect(result.state.failures.find((f) => f.step === 'verify')?.resolution).toBe('accept');
    expect(result.state.message).toBe(
      'verified with problems, accepted by bob: CAB-9: apiserver pinned on purpose',
    );
  });

  it('refuses to skip a control plane, skips a worker (uncordoned, left at its version)', async () => {
    const inp = input(uniqueCluster('skip'), 2, 2, '1.30', { autoApprove: true });
    const fake = new FakeCluster(inp.inventory, 'v1.29.10');
    fake.faults.push({
      activity: 'ensureKubeadmUpgradeNode',
      node: 'cp-2',
      times: 1,
      type: ErrorType.KubeadmFailed,
    });
    fake.faults.push({
      activity: 'waitNodeReady',
      node: 'w-1',
      times: Infinity,
      type: ErrorType.NodeNotReady,
    });
    const result = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      const s = await waitFor(handle, (x) => x.blocked[0]?.node === 'cp-2', 'cp-2 blocked');
      expect(s.blocked[0].hints.join('\n')).toMatch(/kubeadm-backup-manifests/);
      expect(s.blocked[0].hints.join('\n')).toContain(s.backup?.etcdSnapshot);
      const refused = await rejection(
        handle.executeUpdate(decideUpdate, { args: [{ action: 'skip', node: 'cp-2' }] }),
      );
      expect(refused.type).toBe(ErrorType.SkipRefused);
      // no worker has started while a control plane is unfinished
      expect(fake.calls.some((c) => c.node?.startsWith('w-'))).toBe(false);
      await handle.executeUpdate(decideUpdate, { args: [{ action: 'retry' }] });
      await waitFor(handle, (x) => x.blocked[0]?.node === 'w-1', 'w-1 blocked');
      expect(fake.node('w-1').unschedulable).toBe(true);
      await handle.executeUpdate(decideUpdate, {
        args: [{ action: 'skip', node: 'w-1', by: 'bob', comment: 'bad disk' }],
      });
      const result = await handle.result();
      await saveRun(h.client, handle, 'wf-skip', ['h0/cp-2/a1', 'h0/cp-2/a2', 'h0/w-1/a1-kubelet']);
      return result;
    });
    expect(result.phase).toBe('done');
    const w1 = result.state.nodes.find((n) => n.name === 'w-1');
    expect(w1?.status).toBe('skipped');
    expect(fake.node('w-1').unschedulable).toBe(false); // this run cordoned it: uncordoned on skip
    expect(fake.node('w-2').kubelet).toBe('v1.30.14');
    expect(fake.calls.find((c) => c.activity === 'verifyCluster')).toBeDefined();
  });

  it('abort cancels the run and uncordons exactly the nodes this run cordoned', async () => {
    const inp = input(uniqueCluster('abort'), 1, 4, '1.30', { autoApprove: true, maxUnavailable: 2 });
    const fake = new FakeCluster(inp.inventory, 'v1.29.10', { cordoned: ['w-4'] });
    fake.faults.push({
      activity: 'ensureKubeletRestarted',
      node: 'w-1',
      times: Infinity,
      type: ErrorType.CommandFailed,
    });
    fake.faults.push({
      activity: 'ensureKubeletRestarted',
      node: 'w-2',
      times: Infinity,
      type: ErrorType.CommandFailed,
    });
    const result = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      const s = await waitFor(handle, (x) => x.blocked.length === 2, 'two workers blocked');
      expect(s.nodes.filter((n) => n.cordonedByRun).map((n) => n.name)).toEqual(['w-1', 'w-2']);
      // several blocked: skip needs a node name
      expect((await rejection(handle.executeUpdate(decideUpdate, { args: [{ action: 'skip' }] }))).type).toBe(
        ErrorType.NothingBlocked,
      );
      await handle.executeUpdate(decideUpdate, { args: [{ action: 'abort', by: 'alice' }] });
      const result = await handle.result();
      await replays(handle.workflowId, `${handle.workflowId}/h0/w-1/a1-kubelet`);
      await saveRun(h.client, handle, 'wf-abort', ['h0/w-1/a1-kubelet']);
      return result;
    });
    expect(result.phase).toBe('aborted');
    expect(result.state.phase).toBe('aborted');
    expect(result.state.message).toMatch(/aborted by alice/);
    expect(fake.node('w-1').unschedulable).toBe(false);
    expect(fake.node('w-2').unschedulable).toBe(false);
    expect(fake.node('w-4').unschedulable).toBe(true); // cordoned before the run: stays cordoned
    expect(fake.count('ensureUncordoned', 'w-4')).toBe(0);
    expect(fake.count('ensureDrained', 'w-3')).toBe(0); // nothing new started after the block
  });

  it("a cancel from the Temporal UI or CLI ends like an abort: this run's cordons are undone", async () => {
    const inp = input(uniqueCluster('cancel'), 1, 2, '1.30', { autoApprove: true });
    const fake = new FakeCluster(inp.inventory, 'v1.29.10');
    fake.faults.push({
      activity: 'waitNodeReady',
      node: 'w-1',
      times: Infinity,
      type: ErrorType.NodeNotReady,
    });
    const err = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      await waitFor(handle, (x) => x.blocked[0]?.node === 'w-1', 'w-1 blocked');
      expect(fake.node('w-1').unschedulable).toBe(true);
      await handle.cancel();
      const e = await handle.result().then(
        () => undefined,
        (x: unknown) => x,
      );
      const s = await state(handle);
      expect(s.phase).toBe('aborted');
      await saveRun(h.client, handle, 'wf-cancel', ['h0/w-1/a1-kubelet']);
      return e;
    });
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(fake.node('w-1').unschedulable).toBe(false);
    expect(fake.count('ensureDrained', 'w-2')).toBe(0);
  });

  it('refuses a second start for the same cluster (conflict policy FAIL)', async () => {
    const inp = input(uniqueCluster('dup'), 1, 1, '1.30');
    const fake = new FakeCluster(inp.inventory, 'v1.29.10');
    await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      await waitFor(handle, (x) => x.gate?.name === 'preflight', 'preflight gate');
      await expect(startUpgrade(h, tq, inp)).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
      await handle.executeUpdate(decideUpdate, { args: [{ action: 'abort', by: 'test' }] });
      expect((await handle.result()).phase).toBe('aborted');
      // once finished the cluster can be upgraded again
      const again = await startUpgrade(h, tq, { ...inp, options: { autoApprove: true } });
      expect((await again.result()).phase).toBe('done');
    });
  });

  it('pause stops starting nodes until resume', async () => {
    const inp = input(uniqueCluster('pause'), 1, 3, '1.30', { autoApprove: false });
    inp.options = { gates: ['workers'] };
    const fake = new FakeCluster(inp.inventory, 'v1.29.10');
    const result = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      await waitFor(handle, (x) => x.gate?.name === 'workers', 'workers gate');
      const p = await handle.executeUpdate(pauseUpdate, { args: [{ by: 'alice' }] });
      expect(p.action).toBe('pause');
      let s = await state(handle);
      expect(s.paused).toBe(true);
      expect(s.phase).toBe('paused');
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'workers', by: 'alice' }] });
      await new Promise((r) => setTimeout(r, 800));
      expect(fake.calls.some((c) => c.node?.startsWith('w-'))).toBe(false);
      await handle.executeUpdate(resumeUpdate, { args: [{ by: 'alice' }] });
      s = await state(handle);
      expect(s.paused).toBe(false);
      const result = await handle.result();
      await saveRun(h.client, handle, 'wf-pause');
      return result;
    });
    expect(result.phase).toBe('done');
    expect(result.state.decisions.map((d) => d.action)).toEqual(['pause', 'resume']);
  });

  it('accepts decisions as signals; an approval by signal is recorded and refused', async () => {
    const inp = input(uniqueCluster('signals'), 1, 1, '1.30');
    inp.options = { gates: ['preflight'] };
    const fake = new FakeCluster(inp.inventory, 'v1.29.10');
    fake.faults.push({
      activity: 'ensureKubeletPackages',
      node: 'w-1',
      times: 1,
      type: ErrorType.PackageFailed,
    });
    const result = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      await waitFor(handle, (x) => x.gate?.name === 'preflight', 'preflight gate');
      // A signal skips the Update's validator (approvers, comment): approval by signal is refused.
      await handle.signal(approveSignal, { gate: 'preflight', by: 'eve' });
      let s = await waitFor(handle, (x) => x.ignoredSignals.length === 1, 'ignored signal');
      expect(s.ignoredSignals[0]).toMatchObject({
        name: 'approveSignal',
        reason: expect.stringMatching(/approval by signal is not accepted: use the approve Update/),
      });
      expect(s.gate?.name).toBe('preflight');
      expect(s.approvals).toEqual([]);
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'preflight', by: 'alice' }] });
      s = await waitFor(handle, (x) => x.phase === 'blocked', 'blocked');
      expect(s.approvals[0]).toMatchObject({ gate: 'preflight', by: 'alice', via: 'update' });
      await handle.signal(decideSignal, { action: 'retry', by: 'alice' });
      const result = await handle.result();
      await saveRun(h.client, handle, 'wf-signals');
      return result;
    });
    expect(result.phase).toBe('done');
    expect(result.state.decisions[0]).toMatchObject({ action: 'retry', via: 'signal' });
  });

  it('dry run and a failed preflight change nothing', async () => {
    const dry = input(uniqueCluster('dry'), 1, 2, '1.30', { dryRun: true });
    const fake = new FakeCluster(dry.inventory, 'v1.29.10');
    const result = await withWorker(h, fake, async (tq) => (await startUpgrade(h, tq, dry)).result());
    expect(result.phase).toBe('done');
    expect(result.state.message).toMatch(/dry run/);
    expect(result.state.hops).toHaveLength(1);
    expect(fake.calls.filter((c) => MUTATING.includes(c.activity))).toEqual([]);

    const bad = input(uniqueCluster('prefail'), 1, 2, '1.30', { autoApprove: true });
    const fake2 = new FakeCluster(bad.inventory, 'v1.29.10');
    fake2.preflightFail = 'swap is on';
    const err = await withWorker(h, fake2, async (tq) =>
      (await startUpgrade(h, tq, bad)).result().then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe(ErrorType.PreflightFailed);
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).message).toMatch(/swap is on/);
    expect(fake2.calls.filter((c) => MUTATING.includes(c.activity))).toEqual([]);
  });

  it('continues as new at a quiet point and carries the state (no node upgraded twice)', async () => {
    const inp = input(uniqueCluster('can'), 1, 4, '1.30', {
      autoApprove: true,
      maxUnavailable: 2,
      continueAsNewAfterNodes: 3,
    });
    const fake = new FakeCluster(inp.inventory, 'v1.29.10');
    const result = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      const result = await handle.result();
      // replay fixture: every run of the chain, and a worker prepared in one run and drained in the next
      await saveRun(h.client, handle, 'wf-continue-as-new', ['h0/w-3/a1-prepare', 'h0/w-3/a1-kubelet']);
      return result;
    });
    expect(result.phase).toBe('done');
    expect(result.state.generation).toBeGreaterThan(0);
    for (const w of ['w-1', 'w-2', 'w-3', 'w-4']) {
      expect(fake.count('ensureKubeadmUpgradeNode', w)).toBe(1);
      expect(fake.node(w).kubelet).toBe('v1.30.14');
    }
    expect(fake.count('ensureKubeadmApply')).toBe(1);
    expect(fake.count('backupControlPlane')).toBe(1);
  });

  it('prepares the next workers while the window drains; rollout.prepareAhead: false runs each worker whole', async () => {
    const order = async (prepareAhead: boolean) => {
      const inventory = makeInventory(uniqueCluster(`ahead-${prepareAhead}`), 1, 3);
      inventory.rollout = {
        ...inventory.rollout,
        maxUnavailable: 1,
        ...(prepareAhead ? {} : { prepareAhead }),
      };
      const fake = new FakeCluster(inventory, 'v1.29.10');
      fake.delayMs = 30;
      const result = await withWorker(h, fake, async (tq) =>
        (await startUpgrade(h, tq, { inventory, target: '1.30', options: { autoApprove: true } })).result(),
      );
      expect(result.phase).toBe('done');
      for (const w of ['w-1', 'w-2', 'w-3']) {
        expect(fake.node(w).kubelet).toBe('v1.30.14');
        expect(fake.count('ensureKubeadmUpgradeNode', w)).toBe(1);
      }
      expect(fake.maxWorkersUnavailable).toBe(1); // the window holds either way
      const at = (activity: string, node: string) =>
        fake.calls.findIndex((c) => c.activity === activity && c.node === node);
      return { fake, at };
    };
    const ahead = await order(true);
    // one window ahead: w-2 got kubeadm and `upgrade node` while w-1 was drained and upgraded, w-3
    // while w-2 was; each was drained only after the one before it was back
    expect(ahead.at('ensureKubeadmUpgradeNode', 'w-2')).toBeLessThan(ahead.at('ensureUncordoned', 'w-1'));
    expect(ahead.at('ensureDrained', 'w-2')).toBeGreaterThan(ahead.at('ensureUncordoned', 'w-1'));
    expect(ahead.at('ensureRepoMinor', 'w-3')).toBeGreaterThan(ahead.at('ensureDrained', 'w-1'));
    expect(ahead.at('ensureKubeadmUpgradeNode', 'w-3')).toBeLessThan(ahead.at('ensureUncordoned', 'w-2'));
    expect(ahead.at('ensureDrained', 'w-3')).toBeGreaterThan(ahead.at('ensureUncordoned', 'w-2'));
    const serial = await order(false);
    expect(serial.at('ensureRepoMinor', 'w-2')).toBeGreaterThan(serial.at('ensureUncordoned', 'w-1'));
    expect(serial.at('ensureRepoMinor', 'w-3')).toBeGreaterThan(serial.at('ensureUncordoned', 'w-2'));
  });

  it('progress "drain" (large clusters): a child that starts at the drain sends no signal; the run owns its cordon', async () => {
    const inp = input(uniqueCluster('quiet'), 1, 3, '1.30', {
      autoApprove: true,
      maxUnavailable: 1,
      progress: 'drain',
    });
    const fake = new FakeCluster(inp.inventory, 'v1.29.10', { cordoned: ['w-3'] });
    fake.faults.push({
      activity: 'ensureKubeletRestarted',
      node: 'w-1',
      times: 1,
      type: ErrorType.CommandFailed,
    });
    const { result, signals } = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      const s = await waitFor(handle, (x) => x.blocked[0]?.node === 'w-1', 'w-1 blocked');
      // no drain report came, yet the run knows it cordoned w-1 (and not w-3, cordoned before)
      expect(s.nodes.find((n) => n.name === 'w-1')?.cordonedByRun).toBe(true);
      await handle.executeUpdate(decideUpdate, { args: [{ action: 'abort', by: 'ops' }] });
      const result = await handle.result();
      const events = (await handle.fetchHistory()).events ?? [];
      await saveRun(h.client, handle, 'wf-progress-drain', ['h0/w-1/a1-kubelet']);
      return { result, signals: events.filter((e) => e.workflowExecutionSignaledEventAttributes).length };
    });
    expect(result.phase).toBe('aborted');
    expect(signals).toBe(0);
    expect(fake.node('w-1').unschedulable).toBe(false); // this run cordoned it: uncordoned on abort
    expect(fake.node('w-3').unschedulable).toBe(true);
  });
});
