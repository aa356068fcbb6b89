/**
 * Updates, signals and queries of the upgrade workflow. The CLI imports these definitions; the
 * same names work from `temporal workflow update execute --name approve --input '{"gate":"workers","by":"alice"}'`.
 *
 * Updates (validated synchronously; a refused update leaves no history event):
 * - `approve` {gate, by?, comment?} → ApprovalRecord. Refused (GateNotOpen) unless `gate` is the open gate.
 * - `decide` {action: retry|skip|abort|accept, node?, by?, comment?} → DecisionRecord. retry/skip need a
 *   blocked node (NothingBlocked); skip only a worker (SkipRefused); accept only a failed verify,
 *   with a comment (the run ends done, the problems recorded); refused once the run finished (RunFinished).
 * - `pause` / `resume` {by?, comment?} → DecisionRecord. Pause stops starting new nodes; running ones finish their step list.
 *
 * Signals (for tools that can only signal): the same payloads. One that cannot apply is recorded in
 * `state.ignoredSignals` and otherwise ignored. `approveSignal` is always refused that way (a
 * signal has no validator to check the approver); it stays registered for old runs.
 *
 * Every payload: only its known fields, `by` ≤ 128 characters, `comment` ≤ 1024, ≤ 4096 in all.
 * `approve` is also checked against the cluster's approval policy from the worker config
 * (approvers, requireComment, distinctFromStarter: docs/operations.md).
 *
 * Query `state` → UpgradeState.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  ApprovalRecord,
  ApproveRequest,
  DecideRequest,
  DecisionRecord,
  NodeProgress,
  PauseRequest,
  UpgradeState,
} from './types';

export const approveUpdate = defineUpdate<ApprovalRecord, [ApproveRequest]>('approve');
export const decideUpdate = defineUpdate<DecisionRecord, [DecideRequest]>('decide');
export const pauseUpdate = defineUpdate<DecisionRecord, [PauseRequest]>('pause');
export const resumeUpdate = defineUpdate<DecisionRecord, [PauseRequest]>('resume');

export const approveSignal = defineSignal<[ApproveRequest]>('approveSignal');
export const decideSignal = defineSignal<[DecideRequest]>('decideSignal');
export const pauseSignal = defineSignal<[PauseRequest]>('pauseSignal');
export const resumeSignal = defineSignal<[PauseRequest]>('resumeSignal');

export const stateQuery = defineQuery<UpgradeState>('state');

/** Internal: node child workflow → parent progress. */
export const nodeProgressSignal = defineSignal<[NodeProgress]>('nodeProgress');
