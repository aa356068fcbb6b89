/**
 * The plan workflow, the cni and canary gates, and what the Temporal UI gets (activity summaries,
 * current details), on the real dev server with a fake cluster.
 */
import { randomUUID } from 'node:crypto';
import { approveUpdate } from '../../src/shared/messages';
import { planWorkflowId } from '../../src/shared/names';
import type { PlanInput, UpgradePlan } from '../../src/shared/types';
import type { planUpgrade } from '../../src/workflows';
import { FakeCluster, makeInventory } from './fake-cluster';
import { setUp, startUpgrade, uniqueCluster, waitFor, withWorker, type Harness } from './harness';

// Real server on a shared 2-core machine: a run of a few nodes can take tens of seconds under load.
jest.setTimeout(300_000);

let h: Harness;
beforeAll(async () => {
  h = await setUp();
}, 120_000);
afterAll(async () => {
  await h?.close();
});

async function plan(fake: FakeCluster, target: string, options?: PlanInput['options']): Promise<UpgradePlan> {
  return withWorker(h, fake, (taskQueue) =>
    h.client.workflow.execute<typeof planUpgrade>('planUpgrade', {
      taskQueue,
      workflowId: planWorkflowId(fake.inventory.metadata.name, randomUUID().slice(0, 8)),
      args: [{ inventory: fake.inventory, target, ...(options ? { options } : {}) }],
    }),
  );
}

describe('planUpgrade', () => {
  it('lists versions, hops, preflight and the ordered steps per node without changing anything', async () => {
    const inventory = makeInventory(uniqueCluster('plan'), 2, 2);
    const fake = new FakeCluster(inventory, 'v1.28.15', { cordoned: ['w-2'] });
    const p = await plan(fake, '1.30', { maxUnavailable: 2, gates: ['workers', 'canary'] });
    expect(p.refused).toBeUndefined();
    expect(p.resolvedTarget).toBe('v1.30.14');
    expect(p.hops.map((x) => x.hop.version)).toEqual(['v1.29.10', 'v1.30.14']);
    const hop0 = p.hops[0];
    expect(hop0.window).toBe(2);
    expect(hop0.gates).toEqual(['workers', 'canary']);
    expect(hop0.nodes.find((n) => n.name === 'cp-1')?.kind).toBe('first-control-plane');
    expect(hop0.nodes.find((n) => n.name === 'cp-1')?.steps).toContain('upgrade-apply');
    expect(hop0.nodes.find((n) => n.name === 'cp-2')?.steps).toContain('upgrade-node');
    expect(hop0.nodes.find((n) => n.name === 'w-2')?.steps).not.toContain('uncordon'); // cordoned before
    expect(p.preflight?.ok).toBe(true);
    expect(p.versions.find((v) => v.name === 'w-2')?.unschedulable).toBe(true);
    expect(fake.calls.map((c) => c.activity)).toEqual(['getClusterState', 'resolveTarget', 'preflight']);
  });

  it('reports a downgrade or an unknown version as refused', async () => {
    const inventory = makeInventory(uniqueCluster('planx'), 1, 1);
    const down = await plan(new FakeCluster(inventory, 'v1.30.4'), '1.29');
    expect(down.refused?.type).toBe('HopRefused');
    const missing = await plan(new FakeCluster(inventory, 'v1.30.4'), '1.31');
    expect(missing.refused?.type).toBe('VersionNotFound');
  });
});

describe('cni and canary gates', () => {
  it('opens cni after apply (before the CNI step and the drain) and canary after the first worker', async () => {
    const inventory = makeInventory(uniqueCluster('cni'), 1, 3, {
      rollout: {
        maxUnavailable: 2,
        gates: ['cni', 'canary'],
        cni: { command: 'kubectl apply -f calico.yaml' },
      },
    });
    const fake = new FakeCluster(inventory, 'v1.29.10');
    const { result, childHistory, details } = await withWorker(h, fake, async (tq) => {
      const handle = await startUpgrade(h, tq, { inventory, target: '1.30' });
      await waitFor(handle, (s) => s.gate?.name === 'cni', 'cni gate');
      expect(fake.count('ensureKubeadmApply', 'cp-1')).toBe(1);
      expect(fake.count('runCniStep')).toBe(0);
      expect(fake.count('ensureDrained', 'cp-1')).toBe(0);
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'cni', by: 'netops' }] });
      const s = await waitFor(handle, (x) => x.gate?.name === 'canary', 'canary gate');
      expect(s.nodes.find((n) => n.name === 'w-1')?.status).toBe('done');
      expect(fake.count('ensureDrained', 'w-2') + fake.count('ensureDrained', 'w-3')).toBe(0);
      // the UI's current details: a Markdown table of nodes and the approve command
      const meta = await h.client.workflowService.queryWorkflow({
        namespace: 'default',
        execution: { workflowId: handle.workflowId },
        query: { queryType: '__temporal_workflow_metadata' },
      });
      const details = JSON.stringify(
        meta.queryResult?.payloads?.map((p) => Buffer.from(p.data ?? []).toString()) ?? [],
      );
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'canary', by: 'alice' }] });
      const result = await handle.result();
      // w-2 was prepared ahead (repo → upgrade node) while w-1 was the canary, then drained
      const events = [];
      for (const part of ['prepare', 'kubelet']) {
        const child = h.client.workflow.getHandle(`${handle.workflowId}/h0/w-2/a1-${part}`);
        events.push(...((await child.fetchHistory()).events ?? []));
      }
      return { result, childHistory: { events }, details };
    });
    expect(result.phase).toBe('done');
    expect(fake.count('runCniStep', 'cp-1')).toBe(1);
    expect(result.state.approvals.map((a) => a.gate)).toEqual(['cni', 'canary']);
    expect(details).toContain('kupgrade approve');
    expect(details).toContain('| node | role | status |');
    // every activity of a node child carries a readable summary ("drain w-2")
    const summaries = (childHistory.events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => Buffer.from(e.userMetadata?.summary?.data ?? []).toString());
    expect(summaries).toContain('"drain w-2"');
    // prepare, drain, and the steps after it (the step groups: one activity each)
    expect(summaries).toHaveLength(3);
    for (const summary of summaries) expect(summary).toMatch(/^"\S.* w-2( v1\.30\.\d+)?"$/);
  });
});
