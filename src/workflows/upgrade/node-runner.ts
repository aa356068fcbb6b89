/**
 * One node through a list of steps as child workflows (src/workflows/node.ts). A failed child
 * blocks the run until a decision: retry starts a new child from the failed step, skip leaves the
 * node (uncordoned if this run cordoned it), abort ends it.
 */
import { CancellationScope, executeChild, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import { clusterContext, type InventoryNode } from '../../shared/inventory';
import { nodeWorkflowId } from '../../shared/names';
import { NODE_STEPS, type FailureInfo, type NodeState, type NodeStep } from '../../shared/types';
import { now } from '../clock';
import { childFailureInfo, describeActivityError } from '../failures';
import { upgradeNode, type NodeUpgradeInput, type NodeUpgradeResult } from '../node';
import { claimCordon, noteDrain, uncordonIfOurs } from './cordons';
import { blockUntilDecided } from './decisions';
import type { UpgradeRun } from './run';

export type NodeOutcome = 'ok' | 'skipped' | 'aborted';

export interface NodeRunOptions {
  /** The node has finished the hop once these steps are done. */
  finishesHop: boolean;
  /** Which part of the node's hop the child is (in its workflow ID); none: the whole hop. */
  part?: 'apply' | 'kubelet' | 'prepare';
  /** The second part of the same try (a prepared worker's drain → uncordon): same attempt. */
  continuesTry?: boolean;
}

export async function runNode(
  run: UpgradeRun,
  node: InventoryNode,
  i: number,
  steps: NodeStep[],
  opts: NodeRunOptions,
): Promise<NodeOutcome> {
  const s = run.s;
  const n = run.node(node.name);
  let todo = steps;
  let sameTry = opts.continuesTry === true && n.attempts > 0;
  for (;;) {
    if (run.abortRequested) {
      n.status = 'aborted';
      return 'aborted';
    }
    if (!sameTry) n.attempts += 1;
    sameTry = false;
    if (n.hop !== i) {
      n.startedAt = now();
      n.finishedAt = undefined;
    }
    n.hop = i;
    n.status = 'running';
    n.step = todo[0];
    n.error = undefined;
    run.childrenStarted += 1;
    // A large rollout's child that starts at the drain does not report it: the run owns the
    // cordon from the start of that child (ensureUncordoned checks first, so an abort before
    // the cordon changes nothing).
    const claimsCordon = todo[0] === 'drain' && !run.reportAllSteps() && patched('drain-child-claims-cordon');
    if (claimsCordon) claimCordon(n, i);
    run.refresh();
    const scope = new CancellationScope();
    run.scopes.set(node.name, scope);
    try {
      const result: NodeUpgradeResult = await scope.run(() =>
        executeChild(upgradeNode, {
          workflowId: nodeWorkflowId(workflowInfo().workflowId, node.name, i, n.attempts, opts.part),
          staticSummary: childSummary(node, s.hops[i].version, n.attempts, opts.part),
          args: [childInput(run, node, n, i, todo, claimsCordon)],
        }),
      );
      if (result.cordonedByRun !== undefined) noteDrain(n, i, !result.cordonedByRun);
      if (result.cordonedByRun) claimCordon(n, i);
      if (result.uncordoned) n.cordonedByRun = false;
      if (result.version) n.version = result.version;
      const rehearsal = result.steps.find((r) => r.step === 'rehearsal');
      if (rehearsal) {
        s.rehearsal = {
          node: node.name,
          hop: i,
          ...(rehearsal.detail ? { detail: rehearsal.detail } : {}),
          ...(rehearsal.outputTail ? { outputTail: rehearsal.outputTail } : {}),
        };
      }
      n.step = todo[todo.length - 1];
      if (opts.finishesHop) run.finishNode(n, i);
      else run.refresh();
      return 'ok';
    } catch (err) {
      if (isCancellation(err) && !run.abortRequested) throw err; // the whole run is being cancelled
      if (run.abortRequested) {
        n.status = 'aborted';
        run.refresh();
        return 'aborted';
      }
      const info = failureOfChild(run, err, node, n, i, todo[0]);
      // A failed drain changed nothing on the node but the cordon: give the node back to the
      // scheduler while a person decides (retry drains it again; skip leaves it as it is).
      if (info.step === 'drain' && n.cordonedByRun && patched('uncordon-after-failed-drain')) {
        await uncordonIfOurs(run, n, node);
        if (!n.cordonedByRun)
          info.hints = [`${node.name} was uncordoned while blocked: retry drains it again.`, ...info.hints];
      }
      n.error = info;
      n.status = 'blocked';
      const action = await blockUntilDecided(run, info);
      if (action === 'abort') {
        n.status = 'aborted';
        run.refresh();
        return 'aborted';
      }
      if (action === 'skip') {
        await uncordonIfOurs(run, n, node);
        n.status = 'skipped';
        n.finishedAt = now();
        run.refresh();
        return 'skipped';
      }
      const idx = todo.indexOf(info.step as NodeStep);
      if (idx > 0) todo = todo.slice(idx);
    } finally {
      run.scopes.delete(node.name);
    }
  }
}

function childSummary(node: InventoryNode, version: string, attempt: number, part?: string): string {
  const kind = node.role === 'control-plane' ? 'control plane' : 'worker';
  return `${kind} ${node.name} → ${version}${part ? ` (${part})` : ''}, attempt ${attempt}`;
}

function childInput(
  run: UpgradeRun,
  node: InventoryNode,
  n: NodeState,
  i: number,
  steps: NodeStep[],
  claimsCordon: boolean,
): NodeUpgradeInput {
  return {
    parentId: workflowInfo().workflowId,
    cluster: clusterContext(run.inventory),
    node,
    hop: run.s.hops[i],
    steps,
    attempt: n.attempts,
    ...(run.s.runKey ? { run: run.s.runKey } : {}),
    ...(n.firstDrain?.hop === i ? { firstDrainWasCordoned: n.firstDrain.wasCordoned } : {}),
    ...(run.reportAllSteps()
      ? {}
      : claimsCordon
        ? { reportSteps: [], reportDrain: false }
        : { reportSteps: ['drain' as const] }),
  };
}

/**
 * The failure of a node's child as it blocks the run: with the backup's whereabouts for a control
 * plane, and the cordon claimed from the drain on.
 */
function failureOfChild(
  run: UpgradeRun,
  err: unknown,
  node: InventoryNode,
  n: NodeState,
  i: number,
  first: NodeStep,
): FailureInfo {
  let info = childFailureInfo(err);
  if (!info) {
    // a child that failed without one (timed out, terminated)
    const d = describeActivityError(err);
    info = {
      node: node.name,
      role: node.role,
      step: n.step ?? first,
      hop: i,
      type: d.type,
      message: d.message,
      hints: d.details.hints ?? [],
      at: now(),
      attempt: n.attempts,
    };
  }
  const b = run.s.backup;
  if (node.role === 'control-plane' && b) {
    info.hints = [
      ...info.hints,
      `kupgrade's backup on ${b.node}: ${b.kubernetesCopy}${b.etcdSnapshot ? ` and etcd snapshot ${b.etcdSnapshot}` : ''}.`,
    ];
  }
  noteDrain(n, i, info.wasCordoned);
  if (NODE_STEPS.indexOf(info.step as NodeStep) >= NODE_STEPS.indexOf('drain')) claimCordon(n, i);
  return info;
}
