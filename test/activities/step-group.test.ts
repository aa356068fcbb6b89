/**
 * The step-group activities over stub ensure-steps: order, records, and failures that keep the
 * sub-step's type and retryability and name the sub-step.
 */
import { ApplicationFailure } from '@temporalio/common';
import { createStepGroupActivities, type GroupedActivities } from '../../src/activities/step-group';
import type { NodeHopInput, StepGroupFailureDetails, StepGroupInput } from '../../src/shared/activities';
import { ErrorType } from '../../src/shared/errors';
import { makeInventory } from '../workflows/fake-cluster';
import { clusterContext } from '../../src/shared/inventory';

const inventory = makeInventory('groups', 1, 1);
const base: NodeHopInput = {
  cluster: clusterContext(inventory),
  node: inventory.nodes[1],
  hop: {
    index: 0,
    from: 'v1.29.6',
    minor: '1.30',
    version: 'v1.30.14',
    packages: { kubeadm: '1.30.14-0', kubelet: '1.30.14-0', kubectl: '1.30.14-0' },
  },
  run: 'run-1',
};

function stubs(overrides: Partial<GroupedActivities> = {}): { acts: GroupedActivities; calls: string[] } {
  const calls: string[] = [];
  const ok = (name: string, detail: string) => async () => {
    calls.push(name);
    return { changed: true, detail };
  };
  const acts: GroupedActivities = {
    ensureRepoMinor: ok('repo', 'repo at 1.30'),
    ensureKubeadmPackage: ok('kubeadm-package', 'kubeadm 1.30.14-0 installed'),
    ensureKubeadmUpgradeNode: ok('upgrade-node', 'kubeadm upgrade node done'),
    ensureKubeletPackages: ok('kubelet-packages', 'kubelet 1.30.14-0 installed'),
    ensureKubeletRestarted: ok('kubelet-restart', 'kubelet restarted for v1.30.14'),
    waitNodeReady: async () => {
      calls.push('wait-ready');
      return { ready: true, kubeletVersion: 'v1.30.14' };
    },
    ensureUncordoned: ok('uncordon', 'uncordoned'),
    ...overrides,
  };
  return { acts, calls };
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected the group to fail');
}

const kubelet = (steps: StepGroupInput['steps']): StepGroupInput => ({ ...base, steps });

describe('step groups', () => {
  it('runs the requested sub-steps in order, one record each (wait-ready with its version)', async () => {
    const { acts, calls } = stubs();
    let t = 0;
    const g = createStepGroupActivities(acts, { now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, t++)) });
    const out = await g.ensureKubeletUpgraded(
      kubelet(['kubelet-packages', 'kubelet-restart', 'wait-ready', 'uncordon']),
    );
    expect(calls).toEqual(['kubelet-packages', 'kubelet-restart', 'wait-ready', 'uncordon']);
    expect(out.steps.map((r) => [r.step, r.changed, r.detail])).toEqual([
      ['kubelet-packages', true, 'kubelet 1.30.14-0 installed'],
      ['kubelet-restart', true, 'kubelet restarted for v1.30.14'],
      ['wait-ready', false, 'Ready at v1.30.14'],
      ['uncordon', true, 'uncordoned'],
    ]);
    expect(out.steps[2].version).toBe('v1.30.14');
    expect(out.steps[0]).toMatchObject({
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:01.000Z',
    });
    const prepared = await g.ensureNodePrepared(kubelet(['kubeadm-package', 'upgrade-node']));
    expect(prepared.steps.map((r) => r.step)).toEqual(['kubeadm-package', 'upgrade-node']);
    expect(calls.slice(4)).toEqual(['kubeadm-package', 'upgrade-node']);
  });

  it("a sub-step's failure keeps its type and retryability and names the sub-step and what finished", async () => {
    const { acts, calls } = stubs({
      ensureKubeletRestarted: async () => {
        throw ApplicationFailure.create({
          type: ErrorType.CommandFailed,
          message: 'w-1: kubelet restart failed (exit 1): boom',
          nonRetryable: true,
          details: [
            { node: 'w-1', step: 'kubelet-restart', command: 'systemctl restart kubelet', hints: ['h'] },
          ],
        });
      },
    });
    const f = await failureOf(
      createStepGroupActivities(acts).ensureKubeletUpgraded(
        kubelet(['kubelet-packages', 'kubelet-restart', 'wait-ready', 'uncordon']),
      ),
    );
    expect(calls).toEqual(['kubelet-packages']); // nothing after the failed sub-step
    expect(f).toMatchObject({
      type: ErrorType.CommandFailed,
      nonRetryable: true,
      message: 'w-1: kubelet restart failed (exit 1): boom',
    });
    const d = f.details?.[0] as StepGroupFailureDetails;
    expect(d).toMatchObject({ step: 'kubelet-restart', command: 'systemctl restart kubelet', hints: ['h'] });
    expect(d.completed.map((r) => r.step)).toEqual(['kubelet-packages']);
  });

  it('a transport error stays retryable (typed by its class) and names the sub-step', async () => {
    class SshConnectionLost extends Error {}
    const { acts } = stubs({
      ensureUncordoned: async () => {
        throw new SshConnectionLost('connection reset');
      },
    });
    const f = await failureOf(
      createStepGroupActivities(acts).ensureKubeletUpgraded(kubelet(['wait-ready', 'uncordon'])),
    );
    expect(f).toMatchObject({ type: 'SshConnectionLost', nonRetryable: false, message: 'connection reset' });
    expect(f.details?.[0]).toMatchObject({ step: 'uncordon' });
  });

  it('a node not Ready is NodeNotReady on wait-ready', async () => {
    const { acts } = stubs({ waitNodeReady: async () => ({ ready: false, kubeletVersion: 'v1.29.6' }) });
    const f = await failureOf(
      createStepGroupActivities(acts).ensureKubeletUpgraded(kubelet(['kubelet-restart', 'wait-ready'])),
    );
    expect(f).toMatchObject({ type: ErrorType.NodeNotReady, nonRetryable: true });
    expect(f.message).toMatch(/not Ready at v1\.30\.14 \(kubelet v1\.29\.6\)/);
    expect(f.details?.[0]).toMatchObject({ step: 'wait-ready' });
  });

  it("refuses steps that are not the group's, out of order, or none", async () => {
    const { acts, calls } = stubs();
    const g = createStepGroupActivities(acts);
    for (const steps of [[], ['uncordon', 'wait-ready'], ['drain', 'kubelet-packages'], ['repo']] as const) {
      const f = await failureOf(g.ensureKubeletUpgraded(kubelet([...steps] as StepGroupInput['steps'])));
      expect(f).toMatchObject({ type: ErrorType.InvalidInput, nonRetryable: true });
      expect(f.message).toMatch(
        /steps must be some of kubelet-packages, kubelet-restart, wait-ready, uncordon/,
      );
    }
    expect((await failureOf(g.ensureNodePrepared(kubelet(['kubelet-restart'])))).type).toBe(
      ErrorType.InvalidInput,
    );
    expect(calls).toEqual([]);
  });
});
