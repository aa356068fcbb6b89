/**
 * The workers of one hop: after the `workers` gate, the first worker alone when the `canary` gate
 * is on, then the others in a sliding window of `maxUnavailable`. With prepare-ahead (the default)
 * a worker's steps before the drain (which leave it schedulable) run for the next window's worth
 * of workers while the window drains, so only drain → uncordon is on the critical path.
 */
import { condition, patched } from '@temporalio/workflow';
import { workerNodes, type InventoryNode } from '../../shared/inventory';
import { nodeSteps, workerSteps } from '../steps';
import { continueWithState, wantsContinueAsNew } from './continue-as-new';
import { RunAborted } from './errors';
import { waitAtGate } from './gates';
import { runNode, type NodeOutcome } from './node-runner';
import type { UpgradeRun } from './run';

export async function workerHop(run: UpgradeRun, i: number): Promise<void> {
  const s = run.s;
  run.stage('workers', i);
  let todo = workerNodes(run.inventory).filter((w) => run.needsHop(run.node(w.name), i));
  if (todo.length === 0) return;
  await waitAtGate(run, 'workers', i);
  const canaryPending =
    s.gates.includes('canary') && !s.approvals.some((a) => a.gate === 'canary' && a.hop === i);
  if (canaryPending && todo.length > 1) {
    await run.waitUnpaused();
    const first = todo[0];
    const outcome = await runNode(run, first, i, nodeSteps(run.inventory, first, run.stepOpts(first)), {
      finishesHop: true,
    });
    if (outcome === 'aborted') throw new RunAborted();
    todo = todo.slice(1);
    await waitAtGate(run, 'canary', i);
  }
  const inflight = new Map<string, Promise<NodeOutcome>>();
  let failed: { err: unknown } | undefined;
  // Never leave a rejected promise unobserved (that fails the workflow task): keep the first
  // error and rethrow it below; a cancellation of the run surfaces through the waits above.
  const observe = (p: Promise<NodeOutcome>): Promise<NodeOutcome> =>
    p.catch((err: unknown): NodeOutcome => {
      failed ??= { err };
      return 'aborted';
    });
  const ahead = run.inventory.rollout.prepareAhead !== false && patched('prepare-workers-ahead');
  const prepared = new Map<string, Promise<NodeOutcome>>();
  const prepare = (w: InventoryNode): Promise<NodeOutcome> => {
    let p = prepared.get(w.name);
    if (!p) {
      const n = run.node(w.name);
      // a run continued as new keeps what the run before it prepared
      p = observe(
        n.preparedHop !== i
          ? runNode(run, w, i, workerSteps(run.inventory, run.stepOpts(w)).prepare, {
              finishesHop: false,
              part: 'prepare',
            }).then((o) => {
              if (o === 'ok') {
                n.preparedHop = i;
                // its turn may not have come yet: until then it waits, schedulable
                if (n.status === 'running') n.status = 'prepared';
                run.refresh();
              }
              return o;
            })
          : Promise.resolve('ok'),
      );
      prepared.set(w.name, p);
    }
    return p;
  };
  for (let k = 0; k < todo.length; k++) {
    const w = todo[k];
    if (failed) break;
    await condition(
      () =>
        run.abortRequested ||
        failed !== undefined ||
        wantsContinueAsNew(run) ||
        (!s.paused && s.blocked.length === 0 && inflight.size < s.window),
    );
    run.checkAbort();
    if (failed) break;
    if (wantsContinueAsNew(run)) {
      // Quiet point: let the running nodes finish, then continue as new with the state.
      await Promise.all([...inflight.values(), ...prepared.values()]);
      run.checkAbort();
      await continueWithState(run);
    }
    let p: Promise<NodeOutcome>;
    if (ahead) {
      for (const next of todo.slice(k, k + 1 + s.window)) void prepare(next);
      const { kubelet } = workerSteps(run.inventory, run.stepOpts(w));
      p = prepare(w).then((o) =>
        o === 'ok'
          ? runNode(run, w, i, kubelet, { finishesHop: true, part: 'kubelet', continuesTry: true })
          : o,
      );
    } else {
      p = runNode(run, w, i, nodeSteps(run.inventory, w, run.stepOpts(w)), { finishesHop: true });
    }
    const slot = observe(p).finally(() => inflight.delete(w.name));
    inflight.set(w.name, slot);
  }
  const outcomes = await Promise.all(inflight.values());
  // workers prepared ahead whose turn never came (a failure or an abort stopped the loop)
  await Promise.all(prepared.values());
  if (failed) throw failed.err;
  if (outcomes.includes('aborted') || run.abortRequested) throw new RunAborted();
}
