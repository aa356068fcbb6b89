/**
 * The run from start to end: input check, preflight, backup, per hop the control planes then the
 * workers, verify; how it ends (done, failed, aborted or cancelled).
 */
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  patched,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { clusterContext, controlPlanes } from '../../shared/inventory';
import { SA_CLUSTER, SA_PHASE, SA_TARGET } from '../../shared/names';
import type { UpgradeResult } from '../../shared/types';
import { finishAbort } from './abort';
import { clusterStep } from './cluster-step';
import { continueWithState, wantsContinueAsNew } from './continue-as-new';
import { controlPlaneHop } from './control-planes';
import { RunAborted, RunFailed, failure } from './errors';
import { checkInput, preflight } from './preflight';
import type { UpgradeRun } from './run';
import { workerHop } from './worker-window';

export async function execute(run: UpgradeRun): Promise<UpgradeResult> {
  const s = run.s;
  if (!run.input.carried) {
    upsertSearchAttributes([
      { key: SA_CLUSTER, value: s.cluster },
      { key: SA_TARGET, value: run.input.target },
      { key: SA_PHASE, value: s.phase },
    ]);
  }
  run.refresh();
  try {
    await upgrade(run);
    run.stage('done');
  } catch (err) {
    if (err instanceof RunFailed) {
      s.message = err.message;
      run.stage('failed');
      await condition(allHandlersFinished);
      throw ApplicationFailure.create({ type: err.type, message: err.message, nonRetryable: true });
    }
    if (err instanceof RunAborted || isCancellation(err)) {
      await CancellationScope.nonCancellable(() => finishAbort(run));
      if (isCancellation(err)) throw err;
    } else {
      throw err;
    }
  }
  await condition(allHandlersFinished);
  return { phase: s.stage === 'done' ? 'done' : 'aborted', state: s };
}

async function upgrade(run: UpgradeRun): Promise<void> {
  const s = run.s;
  if (patched('worker-checks-input')) await checkInput(run);
  if (s.hops.length === 0) {
    const proceed = await preflight(run);
    if (!proceed) return;
  }
  if (!s.backup) {
    run.stage('backup');
    const apiNode = controlPlanes(run.inventory)[0];
    const label = `kupgrade-${s.timings.startedAt.replace(/[-:]/g, '').replace(/\..*$/, '')}`;
    s.backup = await clusterStep(run, 'backup', () =>
      run.backupActs.backupControlPlane.executeWithOptions({ summary: `backup ${apiNode.name}` }, [
        { cluster: clusterContext(run.inventory), node: apiNode, label },
      ]),
    );
    run.refresh();
  }
  for (let i = s.hopIndex ?? 0; i < s.hops.length; i++) {
    s.hopIndex = i;
    await controlPlaneHop(run, i);
    await workerHop(run, i);
    if (i < s.hops.length - 1 && wantsContinueAsNew(run)) {
      s.hopIndex = i + 1;
      await continueWithState(run);
    }
  }
  run.stage('verify');
  const last = s.hops[s.hops.length - 1];
  const exclude = s.nodes.filter((n) => n.status === 'skipped').map((n) => n.name);
  await clusterStep(
    run,
    'verify',
    async () => {
      const report = await run.readActs.verifyCluster.executeWithOptions(
        { summary: `verify ${s.cluster} at ${last.version}` },
        [
          {
            inventory: run.inventory,
            version: last.version,
            exclude,
            failedBefore: s.failedBefore ?? [],
            since: s.timings.startedAt,
          },
        ],
      );
      if (!report.ok) throw failure('VerifyFailed', report.problems.join('; ') || 'verification failed');
      return report;
    },
    (by) => {
      s.message = `verified with problems, accepted by ${by.by}: ${by.comment ?? ''}`;
    },
  );
}
