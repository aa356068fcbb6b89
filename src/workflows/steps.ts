/** The ordered step list of each kind of node. Pure. */
import type { Inventory, InventoryNode } from '../shared/inventory';
import type { NodeStep } from '../shared/types';

export interface StepOptions {
  /** The node was cordoned before the run: never uncordon it. */
  cordonedBefore: boolean;
  /**
   * The first control plane rehearses apply (`kubeadm upgrade diff` + `apply --dry-run`) after the
   * plan (default true; the upgrade workflow passes its patched() answer so old histories replay).
   */
  rehearsal?: boolean;
}

/**
 * First control plane, split in two around the `cni` gate:
 * `before`: repo → kubeadm package → upgrade plan → rehearsal → images → upgrade apply;
 * `after`: cni → drain → kubelet+kubectl → restart → Ready → uncordon.
 */
export function firstControlPlaneSteps(
  inventory: Pick<Inventory, 'packages' | 'kubeadm' | 'rollout'>,
  opts: StepOptions,
): { before: NodeStep[]; after: NodeStep[] } {
  const before: NodeStep[] = [];
  if (inventory.packages.repository.mode !== 'unmanaged') before.push('repo');
  before.push('kubeadm-package', 'upgrade-plan');
  if (opts.rehearsal !== false) before.push('rehearsal');
  if (inventory.kubeadm.prePullImages) before.push('images');
  before.push('upgrade-apply');
  const after: NodeStep[] = [];
  if (inventory.rollout.cni?.command) after.push('cni');
  after.push(...kubeletSteps(opts));
  return { before, after };
}

/** Other control planes (kubeadm upgrade node, images pre-pulled) and workers. */
export function nodeSteps(
  inventory: Pick<Inventory, 'packages' | 'kubeadm' | 'rollout'>,
  node: Pick<InventoryNode, 'role'>,
  opts: StepOptions,
): NodeStep[] {
  const steps: NodeStep[] = [];
  if (inventory.packages.repository.mode !== 'unmanaged') steps.push('repo');
  steps.push('kubeadm-package');
  if (node.role === 'control-plane' && inventory.kubeadm.prePullImages) steps.push('images');
  steps.push('upgrade-node', ...kubeletSteps(opts));
  return steps;
}

/**
 * A worker split at the drain, for `rollout.prepareAhead`: `prepare` leaves the node schedulable
 * (repo → kubeadm package → upgrade node), `kubelet` is drain → … → uncordon.
 */
export function workerSteps(
  inventory: Pick<Inventory, 'packages' | 'kubeadm' | 'rollout'>,
  opts: StepOptions,
): { prepare: NodeStep[]; kubelet: NodeStep[] } {
  const all = nodeSteps(inventory, { role: 'worker' }, opts);
  const kubelet = kubeletSteps(opts);
  return { prepare: all.slice(0, all.length - kubelet.length), kubelet };
}

function kubeletSteps(opts: StepOptions): NodeStep[] {
  const steps: NodeStep[] = ['drain', 'kubelet-packages', 'kubelet-restart', 'wait-ready'];
  if (!opts.cordonedBefore) steps.push('uncordon');
  return steps;
}
