/**
 * Before anything changes: the worker's check of the input, then the read-only preflight (versions,
 * hops, target, checks) and its gate. An infrastructure failure here blocks for a decision; a
 * refusal (bad input, failed check, impossible hop) fails the run.
 */
import { isCancellation, upsertSearchAttributes } from '@temporalio/workflow';
import type { ResolvedHop } from '../../shared/activities';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../../shared/errors';
import { DEFAULT_GATES, GATES, isGateName } from '../../shared/gates';
import { clusterContext, controlPlanes, workerNodes } from '../../shared/inventory';
import { SA_TARGET } from '../../shared/names';
import type { FailureInfo } from '../../shared/types';
import { HopError, atLeast, computeHops, isVersion, lowestVersion, windowSize } from '../../shared/versions';
import { now } from '../clock';
import { describeActivityError } from '../failures';
import { blockUntilDecided } from './decisions';
import { RunAborted, RunFailed } from './errors';
import { waitAtGate } from './gates';
import type { UpgradeRun } from './run';

/**
 * The worker checks the input against its own config before anything reaches a node; a refusal
 * fails the run. The cluster's approval policy comes back from there.
 */
export async function checkInput(run: UpgradeRun): Promise<void> {
  try {
    const r = await run.quickActs.checkUpgradeInput.executeWithOptions(
      { summary: `check the input of ${run.s.cluster}` },
      [{ inventory: run.inventory, target: run.input.target, options: run.input.options ?? {} }],
    );
    if (r.approvals) run.s.approvalPolicy = r.approvals;
    else delete run.s.approvalPolicy;
  } catch (err) {
    if (isCancellation(err)) throw err;
    const d = describeActivityError(err);
    throw new RunFailed(d.type === 'Unknown' ? ErrorType.InputRefused : d.type, d.message);
  }
}

/** Preflight, hops, target resolution; returns false when there is nothing more to do (dry run, up to date). */
export async function preflight(run: UpgradeRun): Promise<boolean> {
  const s = run.s;
  const inventory = run.inventory;
  const target = run.input.target;
  const options = run.input.options ?? {};
  const gates = options.gates ?? inventory.rollout?.gates ?? DEFAULT_GATES;
  const bad = gates.filter((g) => !isGateName(g));
  if (bad.length)
    throw new RunFailed(
      ErrorType.InvalidInput,
      `unknown gate(s) ${bad.join(', ')}; gates are ${GATES.join(', ')}`,
    );
  s.gates = [...gates];
  try {
    s.window = windowSize(
      options.maxUnavailable ?? inventory.rollout?.maxUnavailable ?? 1,
      workerNodes(inventory).length,
    );
  } catch (err) {
    throw new RunFailed(ErrorType.InvalidInput, err instanceof Error ? err.message : String(err));
  }
  if (controlPlanes(inventory).length === 0)
    throw new RunFailed(ErrorType.InvalidInput, 'the inventory has no control plane');
  if (!isVersion(target))
    throw new RunFailed(ErrorType.HopRefused, `"${target}" is not a Kubernetes version`);

  const cluster = clusterContext(inventory);
  let hops!: ResolvedHop[]; // assigned by the loop below before it breaks
  // Read-only so far: an infrastructure failure (a node unreachable for longer than the retries,
  // a worker lost again and again) blocks for a decision instead of failing the run.
  for (let attempt = 1; ; attempt++) {
    try {
      const state = await run.readActs.getClusterState.executeWithOptions(
        { summary: `read versions of ${s.cluster}` },
        [{ inventory }],
      );
      s.apiServerVersion = state.apiServerVersion;
      if (state.failedPods) s.failedBefore = state.failedPods;
      for (const o of state.nodes) {
        const n = run.nodes.get(o.name);
        if (!n) continue;
        n.version = o.kubeletVersion;
        n.cordonedBefore = o.unschedulable;
      }
      const versions = [state.apiServerVersion, ...state.nodes.map((n) => n.kubeletVersion)].filter(
        isVersion,
      );
      s.from = lowestVersion(versions);
      const requests = computeHops(versions, target);
      if (requests.length === 0) {
        s.message = `${s.cluster} already runs ${target}`;
        for (const n of s.nodes) n.status = 'up-to-date';
        return false;
      }
      hops = await run.readActs.resolveTarget.executeWithOptions(
        { summary: `resolve ${requests.map((r) => r.minor).join(', ')}` },
        [{ cluster, hops: requests }],
      );
      s.hops = hops;
      s.target = hops[hops.length - 1].version;
      upsertSearchAttributes([{ key: SA_TARGET, value: s.target }]);
      const report = await run.readActs.preflight.executeWithOptions({ summary: `preflight ${s.cluster}` }, [
        { inventory, hops, ...(options.allowUnlisted === true ? { allowUnlisted: true } : {}) },
      ]);
      s.preflight = report;
      run.refresh();
      if (!report.ok) {
        const failed = report.checks.filter((c) => c.status === 'fail');
        throw new RunFailed(
          ErrorType.PreflightFailed,
          `preflight failed: ${failed.map((c) => `${c.node ? `${c.node}: ` : ''}${c.name}: ${c.message}`).join('; ')}`,
        );
      }
    } catch (err) {
      if (err instanceof RunFailed || isCancellation(err)) throw err;
      if (err instanceof HopError) throw new RunFailed(ErrorType.HopRefused, err.message);
      const d = describeActivityError(err);
      const info: FailureInfo = {
        step: 'preflight',
        type: d.type,
        message: d.message,
        hints: d.details.hints ?? [],
        at: now(),
        attempt,
      };
      if (d.details.node) info.node = d.details.node;
      if (d.details.outputTail) info.outputTail = d.details.outputTail;
      if (NON_RETRYABLE_ERROR_TYPES.includes(d.type)) {
        // a semantic refusal (host key, version, policy): nothing to wait for
        s.failures.push(info);
        throw new RunFailed(
          d.type === 'Unknown' ? ErrorType.PreflightFailed : d.type,
          `preflight: ${d.message}`,
        );
      }
      info.hints = [
        ...info.hints,
        'Nothing has changed on any node yet. Fix the cause, then `kupgrade retry <cluster>`, or `kupgrade abort <cluster>`.',
      ];
      const action = await blockUntilDecided(run, info);
      if (action === 'abort') throw new RunAborted();
      continue;
    }
    break;
  }
  const finalVersion = hops[hops.length - 1].version;
  for (const n of s.nodes)
    if (n.version && isVersion(n.version) && atLeast(n.version, finalVersion)) n.status = 'up-to-date';
  if (s.dryRun) {
    s.message = `dry run: ${hops.length} hop(s) to ${finalVersion}; nothing changed`;
    return false;
  }
  await waitAtGate(run, 'preflight');
  return true;
}
