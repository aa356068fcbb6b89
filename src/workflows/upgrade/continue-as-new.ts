/**
 * Continue-as-new keeps the parent's history small: at a quiet point (no child running) once the
 * server suggests it, or after `options.continueAsNewAfterNodes` children, the run starts afresh
 * with its state carried.
 */
import { allHandlersFinished, condition, continueAsNew, workflowInfo } from '@temporalio/workflow';
import type { upgradeCluster } from './index';
import type { UpgradeRun } from './run';

export function wantsContinueAsNew(run: UpgradeRun): boolean {
  const every = run.input.options?.continueAsNewAfterNodes;
  return (
    (every !== undefined && every > 0 && run.childrenStarted >= every) ||
    workflowInfo().continueAsNewSuggested
  );
}

export async function continueWithState(run: UpgradeRun): Promise<never> {
  run.s.generation += 1;
  await condition(allHandlersFinished);
  return continueAsNew<typeof upgradeCluster>({ ...run.input, carried: run.s });
}
