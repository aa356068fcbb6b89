/** The end of an aborted (or cancelled) run. */
import { condition } from '@temporalio/workflow';
import { uncordonIfOurs } from './cordons';
import { lastDecision } from './decisions';
import type { UpgradeRun } from './run';

/** Waits for the cancelled children, then uncordons exactly the nodes this run cordoned. */
export async function finishAbort(run: UpgradeRun): Promise<void> {
  run.abortRequested = true;
  for (const scope of run.scopes.values()) scope.cancel();
  await condition(() => run.scopes.size === 0);
  for (const n of run.s.nodes) {
    if (n.status === 'running' || n.status === 'blocked' || n.status === 'prepared') n.status = 'aborted';
    const node = run.inventory.nodes.find((x) => x.name === n.name);
    if (node) await uncordonIfOurs(run, n, node);
  }
  run.s.blocked = [];
  const by = lastDecision(run, 'abort');
  run.s.message = `aborted${by ? ` by ${by.by}` : ''}`;
  run.stage('aborted');
}
