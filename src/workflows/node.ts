/**
 * Child workflow: one node, one hop, one attempt. Runs the given steps in order, each an "ensure"
 * activity with a summary ("drain w-3"), except that the steps after the drain, and a worker's
 * steps before it, run as one activity per group (step-groups.ts: one dispatch and one workflow
 * task instead of one per step). Reports each step's start to the parent (signal nodeProgress; a
 * group's first step, and a failed one), keeps one record per step, and fails with a NodeStepFailed ApplicationFailure carrying a FailureInfo when a step fails after
 * its retries. The parent decides what happens next (retry from the failed step, skip, abort).
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
} from '@temporalio/workflow';
import type {
  GroupedStepRecord,
  NodeHopInput,
  ResolvedHop,
  StepGroupFailureDetails,
  UpgradeActivities,
} from '../shared/activities';
import { ErrorType, recoveryHints } from '../shared/errors';
import type { ClusterContext, InventoryNode } from '../shared/inventory';
import { nodeProgressSignal } from '../shared/messages';
import type { FailureInfo, NodeProgress, NodeStep } from '../shared/types';
import { now } from './clock';
import { describeActivityError } from './failures';
import { STEP_GROUP, TRANSACTION_STEPS, groupSummary, runStep, stepSummary } from './node-step';
import { activityOptions, groupActivityOptions } from './options';
import { failedSubStep, groupAt, type StepGroup } from './step-groups';

export interface NodeUpgradeInput {
  /** Workflow ID of the parent, for progress signals (absent: no signals). */
  parentId?: string;
  cluster: ClusterContext;
  node: InventoryNode;
  hop: ResolvedHop;
  steps: NodeStep[];
  attempt: number;
  /** The run, for the completion markers (keyed by run and hop). */
  run?: string;
  /**
   * Steps whose start is signalled to the parent (default: every step). `drain` is always
   * reported: from then on the run owns the node's cordon. Large clusters report only `drain` to
   * keep the parent's history and workflow tasks small.
   */
  reportSteps?: NodeStep[];
  /**
   * false: the parent already owns the cordon (it started this child at the drain), so not even
   * the drain is reported; a large rollout saves a workflow task in the parent and in the child
   * per node.
   */
  reportDrain?: boolean;
  /**
   * What the first drain of this hop (in an earlier child) found: true, the node was already
   * cordoned (an operator's cordon made after preflight) and the uncordon step leaves it so; false,
   * this run cordoned it (a later drain finding the run's own cordon changes nothing). Absent: this
   * child's own drain decides.
   */
  firstDrainWasCordoned?: boolean;
}

export interface NodeStepRecord {
  step: NodeStep;
  changed: boolean;
  detail?: string;
  startedAt: string;
  finishedAt: string;
  /** The rehearsal's diff and dry-run lines, for the operator. */
  outputTail?: string;
}

export interface NodeUpgradeResult {
  node: string;
  hop: number;
  steps: NodeStepRecord[];
  /** kubelet version after wait-ready (when it ran). */
  version?: string;
  /** The drain step found the node schedulable (so this run cordoned it). */
  cordonedByRun?: boolean;
  /** The uncordon step ran. */
  uncordoned: boolean;
}

export async function upgradeNode(input: NodeUpgradeInput): Promise<NodeUpgradeResult> {
  const { node, hop, cluster } = input;
  const acts = proxyActivities<UpgradeActivities>(activityOptions('quick'));
  const drainOpts = activityOptions('drain', cluster.inventory);
  const parent = input.parentId ? getExternalWorkflowHandle(input.parentId) : undefined;
  const result: NodeUpgradeResult = { node: node.name, hop: hop.index, steps: [], uncordoned: false };
  const hopInput: NodeHopInput = { cluster, node, hop, ...(input.run ? { run: input.run } : {}) };

  const report = async (p: Omit<NodeProgress, 'node' | 'hop' | 'attempt' | 'at'>): Promise<void> => {
    if (!parent) return;
    try {
      await parent.signal(nodeProgressSignal, {
        node: node.name,
        hop: hop.index,
        attempt: input.attempt,
        at: now(),
        ...p,
      });
    } catch {
      // The parent is gone (terminated/aborted): progress is best effort.
    }
  };

  const render = (current?: NodeStep): void => {
    const rows = input.steps.map((s) => {
      const done = result.steps.find((r) => r.step === s);
      const status = done ? (done.changed ? 'done' : 'already done') : s === current ? 'running' : 'pending';
      return `| ${s} | ${status} | ${done?.detail?.replace(/\|/g, '\\|') ?? ''} |`;
    });
    setCurrentDetails(
      [
        `**${node.name}** (${node.role}) → ${hop.version}, attempt ${input.attempt}`,
        '',
        '| step | status | detail |',
        '|---|---|---|',
        ...rows,
        ...result.steps
          .filter((r) => r.outputTail)
          .flatMap((r) => [
            '',
            `**${r.step}** (kubeadm upgrade diff, apply --dry-run):`,
            '```',
            r.outputTail!,
            '```',
          ]),
      ].join('\n'),
    );
  };

  // what this child's drain found: an operator's cordon is theirs to lift
  let drainWasCordoned: boolean | undefined;
  const keepsOperatorCordon = (): boolean =>
    (input.firstDrainWasCordoned ?? drainWasCordoned) === true && patched('keep-operator-cordon');
  const leaveCordoned = (startedAt: string): void => {
    result.steps.push({
      step: 'uncordon',
      changed: false,
      detail: `${node.name} was cordoned before this run's drain: left cordoned`,
      startedAt,
      finishedAt: now(),
    });
  };
  const reported = (step: NodeStep): boolean =>
    (step === 'drain' && input.reportDrain !== false) ||
    !input.reportSteps ||
    input.reportSteps.includes(step);

  const stepFailed = (step: NodeStep, err: unknown, described = describeActivityError(err)): Error => {
    const { type, message, details } = described;
    const info: FailureInfo = {
      node: node.name,
      role: node.role,
      step,
      hop: hop.index,
      type,
      message,
      hints: [...(details.hints ?? []), ...recoveryHints(step, node.role)],
      at: now(),
      attempt: input.attempt,
    };
    if (details.command) info.command = details.command;
    if (details.outputTail) info.outputTail = details.outputTail;
    // the parent decides from the drain's own finding whose cordon the node carries
    const found = step === 'drain' ? (details as { wasCordoned?: unknown }).wasCordoned : drainWasCordoned;
    if (typeof found === 'boolean') info.wasCordoned = found;
    render(step);
    return ApplicationFailure.create({
      type: ErrorType.NodeStepFailed,
      message: `${stepSummary(step, node.name, hop.version)} failed: ${message}`,
      nonRetryable: true,
      details: [info],
    });
  };

  // Several steps as one activity: one dispatch and one workflow task instead of one per step.
  const runGroup = async (group: StepGroup): Promise<void> => {
    const startedAt = now();
    const keep = group.steps.includes('uncordon') && keepsOperatorCordon();
    const steps = keep ? group.steps.filter((s) => s !== 'uncordon') : group.steps;
    if (steps.length > 0) {
      render(steps[0]);
      const activity = group.kind === 'kubelet' ? acts.ensureKubeletUpgraded : acts.ensureNodePrepared;
      const options = {
        ...groupActivityOptions(steps.map((s) => STEP_GROUP[s])),
        // its package installs and restarts are transactions: an abort waits for their end
        cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        summary: groupSummary(steps, node.name, hop.version),
      };
      try {
        // the parent sees the group's first step start; the records keep every step
        const [, out] = await Promise.all([
          reported(steps[0]) ? report({ step: steps[0], event: 'started' }) : Promise.resolve(),
          activity.executeWithOptions(options, [{ ...hopInput, steps }]),
        ]);
        for (const r of out.steps) {
          result.steps.push(groupRecord(r));
          if (r.step === 'wait-ready' && r.version) result.version = r.version;
          if (r.step === 'uncordon') result.uncordoned = true;
        }
      } catch (err) {
        if (isCancellation(err)) throw err;
        const described = describeActivityError(err);
        const d = described.details as Partial<StepGroupFailureDetails>;
        for (const r of Array.isArray(d.completed) ? d.completed : []) result.steps.push(groupRecord(r));
        const failed = failedSubStep(err, d, steps);
        // the parent shows a blocked node at its failed step, as when each step reported its start
        if (failed !== steps[0] && reported(failed)) await report({ step: failed, event: 'started' });
        throw stepFailed(failed, err, described);
      }
    }
    if (keep) leaveCordoned(startedAt);
  };

  for (let k = 0; k < input.steps.length; k++) {
    const step = input.steps[k];
    const group = groupAt(input.steps, k, node.role);
    if (
      group &&
      patched(group.kind === 'kubelet' ? 'kubelet-steps-one-activity' : 'prepare-steps-one-activity')
    ) {
      await runGroup(group);
      k += group.steps.length - 1;
      continue;
    }
    const startedAt = now();
    if (step === 'uncordon' && keepsOperatorCordon()) {
      leaveCordoned(startedAt);
      continue;
    }
    render(step);
    const options = {
      ...(step === 'drain' ? drainOpts : activityOptions(STEP_GROUP[step])),
      ...(TRANSACTION_STEPS.includes(step) && patched('transaction-waits-on-cancel')
        ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED }
        : {}),
      summary: stepSummary(step, node.name, hop.version),
    };
    try {
      const [, out] = await Promise.all([
        reported(step) ? report({ step, event: 'started' }) : Promise.resolve(),
        runStep(acts, step, hopInput, options),
      ]);
      const record: NodeStepRecord = { step, changed: out.changed, startedAt, finishedAt: now() };
      if (out.detail) record.detail = out.detail;
      if (step === 'rehearsal' && out.outputTail) record.outputTail = out.outputTail;
      result.steps.push(record);
      if (step === 'drain' && 'wasCordoned' in out) {
        drainWasCordoned = (out as { wasCordoned: boolean }).wasCordoned;
        result.cordonedByRun = !drainWasCordoned;
        // Someone else's cordon (the run meant to uncordon the node): tell the parent at once, so
        // that an abort cancelling this child before its end leaves the cordon alone.
        if (
          drainWasCordoned &&
          input.steps.includes('uncordon') &&
          input.firstDrainWasCordoned === undefined &&
          patched('report-operator-cordon')
        )
          await report({ step, event: 'finished', cordonedByRun: false });
      }
      if (step === 'wait-ready' && out.version) result.version = out.version;
      if (step === 'uncordon') result.uncordoned = true;
    } catch (err) {
      if (isCancellation(err)) throw err;
      throw stepFailed(step, err);
    }
  }
  render();
  return result;
}

function groupRecord(r: GroupedStepRecord): NodeStepRecord {
  const record: NodeStepRecord = {
    step: r.step,
    changed: r.changed,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
  };
  if (r.detail) record.detail = r.detail;
  return record;
}
