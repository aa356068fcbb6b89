/**
 * Step groups on a real dev server with the fake cluster: a worker's prepare steps and its steps
 * after the drain each run as one activity, yet the records, the blocked step, retry, the
 * operator's cordon and an abort's wait for a running install stay as they were step by step.
 */
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { createStepGroupActivities } from '../../src/activities/step-group';
import type { UpgradeActivities } from '../../src/shared/activities';
import { ErrorType } from '../../src/shared/errors';
import { decideUpdate } from '../../src/shared/messages';
import type { UpgradeInput } from '../../src/shared/types';
import type { NodeUpgradeResult } from '../../src/workflows/node';
import { saveRun } from '../helpers/histories';
import { FakeCluster, makeInventory } from './fake-cluster';
import { setUp, startUpgrade, state, uniqueCluster, waitFor, withWorker, type Harness } from './harness';

jest.setTimeout(300_000);

let h: Harness;
beforeAll(async () => void (h = await setUp()), 120_000);
afterAll(() => h?.close());

/** A worker's kubelet child: the drain, then the group. */
const KUBELET_CHILD = ['drain', 'kubelet-packages', 'kubelet-restart', 'wait-ready', 'uncordon'];

function input(cluster: string, ws: number): UpgradeInput {
  return { inventory: makeInventory(cluster, 1, ws), target: '1.30', options: { autoApprove: true } };
}

/** The activity types a workflow scheduled, in order. */
async function scheduled(workflowId: string): Promise<string[]> {
  const events = (await h.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return events.flatMap((e) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
}

async function childResult(workflowId: string): Promise<NodeUpgradeResult> {
  return h.client.workflow.getHandle(workflowId).result() as Promise<NodeUpgradeResult>;
}

async function replays(...workflowIds: string[]): Promise<void> {
  for (const id of workflowIds) {
    const history = await h.client.workflow.getHandle(id).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: h.bundle }, history, id);
  }
}

describe('step groups', () => {
  it("runs a worker's prepare steps and its steps after the drain as one activity each, one record per step", async () => {
    const inp = input(uniqueCluster('groups'), 2);
    const fake = new FakeCluster(inp.inventory, 'v1.29.10');
    const { id, s } = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      await handle.result();
      return { id: handle.workflowId, s: await state(handle) };
    });
    expect(s.phase).toBe('done');
    expect(await scheduled(`${id}/h0/w-1/a1-prepare`)).toEqual(['ensureNodePrepared']);
    expect(await scheduled(`${id}/h0/w-1/a1-kubelet`)).toEqual(['ensureDrained', 'ensureKubeletUpgraded']);
    const prepare = await childResult(`${id}/h0/w-1/a1-prepare`);
    expect(prepare.steps.map((r) => [r.step, r.changed])).toEqual([
      ['repo', true],
      ['kubeadm-package', true],
      ['upgrade-node', true],
    ]);
    const kubelet = await childResult(`${id}/h0/w-1/a1-kubelet`);
    expect(kubelet.steps.map((r) => r.step)).toEqual(KUBELET_CHILD);
    expect(kubelet.steps.find((r) => r.step === 'wait-ready')).toMatchObject({
      changed: false,
      detail: 'Ready at v1.30.14',
    });
    expect(kubelet.steps.find((r) => r.step === 'uncordon')).toMatchObject({
      changed: true,
      detail: '1.30.14 uncordoned',
    });
    for (const r of kubelet.steps)
      expect(Date.parse(r.finishedAt)).toBeGreaterThanOrEqual(Date.parse(r.startedAt));
    expect(kubelet).toMatchObject({ version: 'v1.30.14', uncordoned: true, cordonedByRun: true });
    // each sub-step still is its own ensure call, once, in the runbook's order
    const w1 = fake.calls.filter((c) => c.node === 'w-1').map((c) => c.activity);
    expect(w1).toHaveLength(8);
    expect(w1.indexOf('ensureKubeadmUpgradeNode')).toBe(2);
    expect(w1.indexOf('ensureDrained')).toBe(3);
    expect(w1.slice(4)).toEqual([
      'ensureKubeletPackages',
      'ensureKubeletRestarted',
      'waitNodeReady',
      'ensureUncordoned',
    ]);
    expect(s.nodes.find((n) => n.name === 'w-1')).toMatchObject({ status: 'done', version: 'v1.30.14' });
    expect(fake.node('w-2').unschedulable).toBe(false);
  });

  it('a failure at kubelet-restart blocks on kubelet-restart; retry re-runs the group from there', async () => {
    const inp = input(uniqueCluster('group-retry'), 2);
    const fake = new FakeCluster(inp.inventory, 'v1.29.10');
    fake.faults.push({
      activity: 'ensureKubeletRestarted',
      node: 'w-2',
      times: 1,
      type: ErrorType.CommandFailed,
      message: 'kubelet would not restart',
    });
    const { id, result } = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      const s = await waitFor(handle, (x) => x.blocked.length > 0, 'w-2 blocked');
      const [b, ...others] = s.blocked;
      expect(others).toEqual([]);
      expect(s.phase).toBe('blocked');
      expect(b).toMatchObject({
        node: 'w-2',
        step: 'kubelet-restart',
        type: ErrorType.CommandFailed,
        command: 'fake ensureKubeletRestarted',
        hop: 0,
        attempt: 1,
        wasCordoned: false,
      });
      expect(b.message).toMatch(/kubelet would not restart/);
      expect(b.outputTail).toMatch(/CommandFailed/);
      expect(b.hints).toContain('fake hint');
      expect(s.nodes.find((n) => n.name === 'w-2')).toMatchObject({
        status: 'blocked',
        step: 'kubelet-restart',
        cordonedByRun: true,
      });
      await handle.executeUpdate(decideUpdate, { args: [{ action: 'retry', by: 'alice' }] });
      const result = await handle.result();
      const kids = ['h0/w-2/a1-prepare', 'h0/w-2/a1-kubelet', 'h0/w-2/a2-kubelet'];
      await replays(handle.workflowId, ...kids.map((k) => `${handle.workflowId}/${k}`));
      await saveRun(h.client, handle, 'wf-step-groups-retry', kids);
      return { id: handle.workflowId, result };
    });
    expect(result.phase).toBe('done');
    expect(result.state.nodes.find((n) => n.name === 'w-2')).toMatchObject({ status: 'done', attempts: 2 });
    expect(result.state.failures[0]).toMatchObject({ step: 'kubelet-restart', resolution: 'retry' });
    // the retry started at the failed sub-step: no second drain or install
    expect(fake.count('ensureDrained', 'w-2')).toBe(1);
    expect(fake.count('ensureKubeletPackages', 'w-2')).toBe(1);
    expect(fake.count('ensureKubeletRestarted', 'w-2')).toBe(2);
    expect(await scheduled(`${id}/h0/w-2/a2-kubelet`)).toEqual(['ensureKubeletUpgraded']);
    const retried = await childResult(`${id}/h0/w-2/a2-kubelet`);
    expect(retried.steps.map((r) => [r.step, r.changed])).toEqual([
      ['kubelet-restart', true],
      ['wait-ready', false],
      ['uncordon', true],
    ]);
    expect(fake.node('w-2')).toMatchObject({ kubelet: 'v1.30.14', unschedulable: false });
  });

  it("leaves an operator's cordon made after preflight: the group skips the uncordon and records why", async () => {
    const inp = input(uniqueCluster('group-cordon'), 2);
    const fake = new FakeCluster(inp.inventory, 'v1.29.10');
    // an operator cordons w-1 while it is prepared, before its drain
    fake.onCall = (c) => {
      if (c.activity === 'ensureKubeadmUpgradeNode' && c.node === 'w-1')
        fake.node('w-1').unschedulable = true;
    };
    const id = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, inp);
      await handle.result();
      return handle.workflowId;
    });
    const kubelet = await childResult(`${id}/h0/w-1/a1-kubelet`);
    expect(kubelet.steps.map((r) => r.step)).toEqual(KUBELET_CHILD);
    expect(kubelet.steps[4]).toMatchObject({
      changed: false,
      detail: expect.stringMatching(/left cordoned/),
    });
    expect(kubelet).toMatchObject({ uncordoned: false, cordonedByRun: false, version: 'v1.30.14' });
    expect(fake.count('ensureUncordoned', 'w-1')).toBe(0);
    expect(fake.node('w-1')).toMatchObject({ kubelet: 'v1.30.14', unschedulable: true });
  });

  it('an abort waits for the running sub-step to end, then starts nothing new in the group', async () => {
    const inp = input(uniqueCluster('group-abort'), 1);
    const fake = new HeldRestart(inp.inventory, 'v1.29.10');
    const result = await withWorker(
      h,
      fake,
      async (tq) => {
        const handle = await startUpgrade(h, tq, inp);
        await fake.restarting;
        await handle.executeUpdate(decideUpdate, { args: [{ action: 'abort', by: 'ops' }] });
        await fake.cancelSeen;
        // the cancellation reached the group mid-restart; the abort has not uncordoned under it
        await new Promise((r) => setTimeout(r, 1000));
        expect(fake.node('w-1').unschedulable).toBe(true);
        expect(fake.count('ensureUncordoned', 'w-1')).toBe(0);
        fake.release();
        return handle.result();
      },
      // a heartbeating activity learns of its cancellation within a second
      { maxHeartbeatThrottleInterval: '1 second', defaultHeartbeatThrottleInterval: '1 second' },
    );
    expect(result.phase).toBe('aborted');
    expect(fake.count('ensureKubeletRestarted', 'w-1')).toBe(1);
    expect(fake.count('waitNodeReady', 'w-1')).toBe(0); // cancelled between sub-steps
    expect(fake.count('ensureUncordoned', 'w-1')).toBe(1); // the abort's, after the restart ended
    expect(fake.node('w-1').unschedulable).toBe(false);
  });
});

/** w-1's kubelet restart holds, like a transaction that outlives its cancellation, until released. */
class HeldRestart extends FakeCluster {
  release!: () => void;
  private readonly gate = new Promise<void>((r) => (this.release = r));
  private started!: () => void;
  readonly restarting = new Promise<void>((r) => (this.started = r));
  private cancelled!: () => void;
  readonly cancelSeen = new Promise<void>((r) => (this.cancelled = r));

  override activities(): UpgradeActivities {
    const base = super.activities();
    const steps: UpgradeActivities = {
      ...base,
      ensureKubeletRestarted: async (i) => {
        if (i.node.name === 'w-1') {
          this.started();
          Context.current().cancellationSignal.addEventListener('abort', () => this.cancelled());
          await this.gate;
        }
        return base.ensureKubeletRestarted(i);
      },
    };
    return { ...steps, ...createStepGroupActivities(steps, { heartbeatIntervalMs: 200 }) };
  }
}
