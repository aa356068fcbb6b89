/**
 * The control planes of one hop, one at a time: the first one applies the hop (`kubeadm upgrade
 * apply`, then the `cni` gate, then its kubelet), the others run `kubeadm upgrade node`.
 */
import { patched } from '@temporalio/workflow';
import { controlPlanes } from '../../shared/inventory';
import { atLeast } from '../../shared/versions';
import { firstControlPlaneSteps, nodeSteps } from '../steps';
import { RunAborted } from './errors';
import { waitAtGate } from './gates';
import { runNode, type NodeOutcome } from './node-runner';
import type { UpgradeRun } from './run';

export async function controlPlaneHop(run: UpgradeRun, i: number): Promise<void> {
  const s = run.s;
  const hop = s.hops[i];
  run.stage('control-plane', i);
  const cps = controlPlanes(run.inventory);
  const applyNeeded = i > 0 || !s.apiServerVersion || !atLeast(s.apiServerVersion, hop.version);
  const todo = cps.filter((cp, k) => {
    const n = run.node(cp.name);
    return !run.doneWithHop(n, i) && ((k === 0 && applyNeeded) || run.needsHop(n, i));
  });
  if (todo.length === 0) return;
  await waitAtGate(run, 'control-plane', i);
  for (const [k, cp] of cps.entries()) {
    const n = run.node(cp.name);
    if (!todo.includes(cp)) continue;
    await run.waitUnpaused();
    let outcome: NodeOutcome;
    if (k === 0) {
      const { before, after } = firstControlPlaneSteps(run.inventory, {
        cordonedBefore: n.cordonedBefore,
        rehearsal: patched('kubeadm-rehearsal'),
      });
      outcome = await runNode(run, cp, i, before, { finishesHop: false, part: 'apply' });
      if (outcome === 'ok') {
        await waitAtGate(run, 'cni', i);
        await run.waitUnpaused();
        outcome = await runNode(run, cp, i, after, { finishesHop: true, part: 'kubelet' });
      }
    } else {
      outcome = await runNode(run, cp, i, nodeSteps(run.inventory, cp, run.stepOpts(cp)), {
        finishesHop: true,
      });
    }
    if (outcome === 'aborted') throw new RunAborted();
  }
}
