/**
 * Step groups: several of a node's ensure-steps as ONE activity, to spare the workflow a task and
 * a dispatch per step. `ensureKubeletUpgraded` runs the steps after the drain, `ensureNodePrepared`
 * a worker's steps before it. Each sub-step is the existing ensure-activity, called in order, so a
 * retry of the whole group re-checks every sub-step first and redoes nothing. The group heartbeats
 * the sub-step it is in; a failure names that sub-step (details[0].step) so the workflow blocks on
 * the real step; a cancellation passes through untouched (a transaction waits for its end first).
 */
import { ApplicationFailure } from '@temporalio/common';
import {
  KUBELET_GROUP_STEPS,
  PREPARE_GROUP_STEPS,
  type GroupedStep,
  type GroupedStepRecord,
  type StepGroupFailureDetails,
  type StepGroupInput,
  type StepGroupResult,
  type StepResult,
  type UpgradeActivities,
} from '../shared/activities';
import { ErrorType } from '../shared/errors';
import type { GroupContext } from './group-context';
import { readyStep } from '../shared/ready-step';
import { cancellationSignal, heartbeat } from './runtime';

type WithContext<F> = F extends (input: infer I) => infer R ? (input: I, ctx?: GroupContext) => R : never;

/**
 * The ensure-activities the groups are made of. Each takes the group run's context
 * (group-context.ts): what an earlier sub-step read that a later one would read again.
 */
export type GroupedActivities = {
  [K in GroupedActivityName]: WithContext<UpgradeActivities[K]>;
};

type GroupedActivityName =
  | 'ensureRepoMinor'
  | 'ensureKubeadmPackage'
  | 'ensureKubeadmUpgradeNode'
  | 'ensureKubeletPackages'
  | 'ensureKubeletRestarted'
  | 'waitNodeReady'
  | 'ensureUncordoned';

export interface StepGroupOptions {
  /** How often the group heartbeats its sub-step while one runs. Default 10 s. */
  heartbeatIntervalMs?: number;
  /** Clock of the step records, injected for tests. */
  now?: () => Date;
}

export function createStepGroupActivities(acts: GroupedActivities, o: StepGroupOptions = {}) {
  const now = o.now ?? (() => new Date());
  const every = o.heartbeatIntervalMs ?? 10_000;

  async function runOne(step: GroupedStep, input: StepGroupInput, ctx: GroupContext): Promise<StepResult> {
    const hopInput = { cluster: input.cluster, node: input.node, hop: input.hop, run: input.run };
    const nodeInput = { cluster: input.cluster, node: input.node };
    switch (step) {
      case 'repo':
        return acts.ensureRepoMinor(hopInput, ctx);
      case 'kubeadm-package':
        return acts.ensureKubeadmPackage(hopInput, ctx);
      case 'upgrade-node':
        return acts.ensureKubeadmUpgradeNode(hopInput, ctx);
      case 'kubelet-packages':
        return acts.ensureKubeletPackages(hopInput, ctx);
      case 'kubelet-restart':
        return acts.ensureKubeletRestarted(hopInput, ctx);
      case 'wait-ready':
        return readyStep(await acts.waitNodeReady(hopInput, ctx), input.node.name, input.hop.version);
      case 'uncordon':
        return acts.ensureUncordoned(nodeInput, ctx);
    }
  }

  function group(name: string, allowed: readonly GroupedStep[]) {
    return async (input: StepGroupInput): Promise<StepGroupResult> => {
      const steps = checkSteps(name, allowed, input.steps);
      const done: GroupedStepRecord[] = [];
      const ctx: GroupContext = { later: [] };
      for (const [i, step] of steps.entries()) {
        ctx.later = steps.slice(i + 1);
        const signal = cancellationSignal();
        // a cancellation between sub-steps starts nothing new
        if (signal?.aborted) throw signal.reason;
        const startedAt = now().toISOString();
        const beat = (): void => heartbeat({ node: input.node.name, step });
        beat();
        // wait-ready heartbeats on its own, with the deadline a retried attempt must keep
        const timer = step === 'wait-ready' ? undefined : setInterval(beat, every);
        let out: StepResult;
        try {
          out = await runOne(step, input, ctx);
        } catch (err) {
          if (cancellationSignal()?.aborted) throw err;
          throw asStepFailure(err, step, done);
        } finally {
          if (timer) clearInterval(timer);
        }
        const record: GroupedStepRecord = { step, changed: out.changed, startedAt, finishedAt: '' };
        if (out.detail) record.detail = out.detail;
        if (step === 'wait-ready' && out.version) record.version = out.version;
        record.finishedAt = now().toISOString();
        done.push(record);
      }
      return { steps: done };
    };
  }

  return {
    ensureKubeletUpgraded: group('ensureKubeletUpgraded', KUBELET_GROUP_STEPS),
    ensureNodePrepared: group('ensureNodePrepared', PREPARE_GROUP_STEPS),
  };
}

/** The requested sub-steps: each of the group's, in the group's order, once. */
function checkSteps(name: string, allowed: readonly GroupedStep[], steps: unknown): GroupedStep[] {
  const list = Array.isArray(steps) ? (steps as unknown[]) : [];
  const positions = list.map((s) => allowed.indexOf(s as GroupedStep));
  if (list.length === 0 || positions.some((p, i) => p < 0 || (i > 0 && p <= positions[i - 1]))) {
    throw ApplicationFailure.create({
      type: ErrorType.InvalidInput,
      message: `${name}: steps must be some of ${allowed.join(', ')}, in that order (got ${JSON.stringify(steps)})`,
      nonRetryable: true,
    });
  }
  return list as GroupedStep[];
}

/**
 * The sub-step's failure as the group's: same type, message and retryability (a transient one
 * retries the whole group), details[0] naming the sub-step and what finished before it.
 */
function asStepFailure(err: unknown, step: GroupedStep, completed: GroupedStepRecord[]): ApplicationFailure {
  const app = err instanceof ApplicationFailure ? err : undefined;
  const first: unknown = app?.details?.[0];
  const own = first && typeof first === 'object' ? (first as Record<string, unknown>) : {};
  const details: StepGroupFailureDetails = { ...own, step, completed };
  const e = err instanceof Error ? err : new Error(String(err));
  const failure = ApplicationFailure.create({
    // the type the SDK would give the sub-step's own error (its class), for the retry policy
    type: app ? (app.type ?? 'Error') : (e.constructor?.name ?? e.name),
    message: e.message,
    nonRetryable: app?.nonRetryable ?? false,
    details: [details],
  });
  failure.stack = e.stack ?? '';
  return failure;
}
