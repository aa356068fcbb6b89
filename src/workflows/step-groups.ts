/**
 * Which of a node child's steps run together as one activity (a step group), and how its failure
 * is told back as the sub-step that failed. Deterministic workflow code.
 */
import { TimeoutFailure } from '@temporalio/workflow';
import {
  KUBELET_GROUP_STEPS,
  PREPARE_GROUP_STEPS,
  type GroupedStep,
  type StepGroupFailureDetails,
} from '../shared/activities';
import type { NodeRole } from '../shared/inventory';
import type { NodeStep } from '../shared/types';

export type StepGroupKind = 'kubelet' | 'prepare';

export interface StepGroup {
  kind: StepGroupKind;
  steps: GroupedStep[];
}

/**
 * The group that starts at `steps[k]`: the longest run of the kubelet group's steps (after the
 * drain), or of a worker's prepare steps, that holds at least two (one alone gains nothing).
 */
export function groupAt(steps: readonly NodeStep[], k: number, role: NodeRole): StepGroup | undefined {
  for (const [kind, members] of [
    ['kubelet', KUBELET_GROUP_STEPS],
    ['prepare', role === 'worker' ? PREPARE_GROUP_STEPS : []],
  ] as const) {
    const run: GroupedStep[] = [];
    for (let i = k; i < steps.length && (members as readonly NodeStep[]).includes(steps[i]); i++)
      run.push(steps[i] as GroupedStep);
    if (run.length >= 2) return { kind, steps: run };
  }
  return undefined;
}

/**
 * The sub-step a group's failure is about: the one its details name; for a timeout, the one its
 * last heartbeat named; else the group's first (a retry from there re-checks every step).
 */
export function failedSubStep(
  err: unknown,
  details: Partial<StepGroupFailureDetails>,
  steps: readonly GroupedStep[],
): GroupedStep {
  const named = steps.find((s) => s === details.step);
  if (named) return named;
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    if (e instanceof TimeoutFailure) {
      const beat = e.lastHeartbeatDetails as { step?: unknown } | undefined;
      const found = steps.find((s) => s === beat?.step);
      if (found) return found;
      break;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return steps[0];
}
