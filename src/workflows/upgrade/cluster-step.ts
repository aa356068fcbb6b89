/** A cluster-level step (backup, verify) that blocks on failure until retry, abort or (verify) accept. */
import { isCancellation } from '@temporalio/workflow';
import type { DecisionRecord, FailureInfo } from '../../shared/types';
import { now } from '../clock';
import { describeActivityError } from '../failures';
import { blockUntilDecided, lastDecision } from './decisions';
import { RunAborted } from './errors';
import type { UpgradeRun } from './run';

export async function clusterStep<T>(
  run: UpgradeRun,
  step: 'backup' | 'verify',
  fn: () => Promise<T>,
  /** verify only: a person accepted the failure (the decision names who and why). */
  onAccept?: (by: DecisionRecord) => void,
): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    run.checkAbort();
    try {
      return await fn();
    } catch (err) {
      if (isCancellation(err)) throw err;
      const d = describeActivityError(err);
      const info: FailureInfo = {
        step,
        type: d.type,
        message: d.message,
        hints: [
          ...(d.details.hints ?? []),
          onAccept
            ? 'Fix the cause, then `kupgrade retry <cluster>`; or take the cluster as it is: `kupgrade accept <cluster> --comment WHY` (the run ends done).'
            : 'Fix the cause, then `kupgrade retry <cluster>`, or `kupgrade abort <cluster>`.',
        ],
        at: now(),
        attempt,
      };
      if (d.details.node) info.node = d.details.node;
      if (d.details.outputTail) info.outputTail = d.details.outputTail;
      if (d.details.command) info.command = d.details.command;
      const action = await blockUntilDecided(run, info);
      if (action === 'abort') throw new RunAborted();
      if (action === 'accept' && onAccept) {
        const by = lastDecision(run, 'accept');
        if (by) onAccept(by);
        run.refresh();
        return undefined;
      }
    }
  }
}
