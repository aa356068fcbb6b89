/**
 * Refusals before anything runs: an input too malformed to build a run from, and a `carried` state
 * from anyone but this workflow's own continue-as-new. The inventory itself is checked by the
 * worker (activity checkUpgradeInput and every activity's boundary).
 */
import { workflowInfo } from '@temporalio/workflow';
import type { Inventory } from '../../shared/inventory';
import type { UpgradeInput } from '../../shared/types';

/** Why the input cannot start a run, or undefined. */
export function inputProblem(input: UpgradeInput): string | undefined {
  const inv = input?.inventory as Partial<Inventory> | undefined;
  if (
    !inv ||
    typeof inv.metadata?.name !== 'string' ||
    !Array.isArray(inv.nodes) ||
    inv.nodes.some((n) => !n || typeof n.name !== 'string') ||
    typeof input.target !== 'string'
  ) {
    return 'the workflow input is not {inventory, target, options?}: start the upgrade with `kupgrade start -f cluster.yaml --to VERSION`';
  }
  const c = input.carried;
  if (c === undefined) return undefined;
  const info = workflowInfo();
  if (!info.continuedFromExecutionRunId || info.cronSchedule || info.attempt > 1) {
    return "the workflow input carries state (`carried`), which only this workflow's own continue-as-new may pass: a first run starts from preflight; remove `carried` and start with `kupgrade start`";
  }
  const names = inv.nodes.map((n) => n.name).join(',');
  if (
    !c ||
    typeof c !== 'object' ||
    c.cluster !== inv.metadata.name ||
    !Array.isArray(c.nodes) ||
    c.nodes.map((n) => n?.name).join(',') !== names ||
    typeof c.generation !== 'number' ||
    c.generation < 1
  ) {
    return `the carried state does not belong to the inventory of cluster "${inv.metadata.name}"`;
  }
  return undefined;
}
