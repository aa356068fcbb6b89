/**
 * Whose cordon a node carries. The run uncordons only what it cordoned: never a node that was
 * unschedulable before the run, nor one someone cordoned after preflight (the first drain of the
 * hop finds it so).
 */
import { patched } from '@temporalio/workflow';
import { clusterContext, type InventoryNode } from '../../shared/inventory';
import type { NodeState } from '../../shared/types';
import { now } from '../clock';
import { describeActivityError } from '../failures';
import type { UpgradeRun } from './run';

/** This hop's first drain found the node cordoned by someone else (after preflight). */
export function cordonedByOther(n: NodeState, hop: number): boolean {
  return n.firstDrain?.hop === hop && n.firstDrain.wasCordoned;
}

/**
 * Records what the first drain of hop i found. A node someone cordoned after preflight is theirs:
 * the run drops its claim (taken when the drain started) and never uncordons it.
 */
export function noteDrain(n: NodeState, i: number, wasCordoned: boolean | undefined): void {
  if (wasCordoned === undefined || n.firstDrain?.hop === i || n.cordonedBefore) return;
  if (wasCordoned && !patched('keep-operator-cordon')) return;
  n.firstDrain = { hop: i, wasCordoned };
  if (wasCordoned) n.cordonedByRun = false;
}

/** The run claims the node's cordon unless it was there before or is someone else's. */
export function claimCordon(n: NodeState, hop: number): void {
  if (!n.cordonedBefore && !cordonedByOther(n, hop)) n.cordonedByRun = true;
}

/** Uncordons the node if this run cordoned it; a failure is recorded with the manual fix. */
export async function uncordonIfOurs(run: UpgradeRun, n: NodeState, node: InventoryNode): Promise<void> {
  if (!n.cordonedByRun || n.cordonedBefore) return;
  try {
    await run.quickActs.ensureUncordoned.executeWithOptions({ summary: `uncordon ${node.name}` }, [
      { cluster: clusterContext(run.inventory), node },
    ]);
    n.cordonedByRun = false;
    // the next drain finds the node as it is then (someone may cordon it meanwhile)
    n.firstDrain = undefined;
  } catch (err) {
    const d = describeActivityError(err);
    run.s.failures.push({
      node: node.name,
      role: node.role,
      step: 'uncordon',
      type: d.type,
      message: `could not uncordon ${node.name}: ${d.message}`,
      hints: [`Run \`kubectl uncordon ${node.name}\` by hand.`],
      at: now(),
      attempt: n.attempts,
    });
  }
  run.refresh();
}
