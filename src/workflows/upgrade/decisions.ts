/**
 * Decisions on a blocked run. A failure blocks the run until a person decides (the `decide` Update
 * or Signal); which decisions a failure can take is said once, by `actionsFor`: the validator
 * refuses the others, and every place that blocks gets the decision through `blockUntilDecided`.
 */
import { condition } from '@temporalio/workflow';
import { ErrorType } from '../../shared/errors';
import { DECISION_ACTIONS, isDecisionAction, type DecisionAction } from '../../shared/gates';
import type { DecideRequest, DecisionRecord, FailureInfo } from '../../shared/types';
import { now } from '../clock';
import { failure } from './errors';
import { DECIDE_KEYS, payloadProblem } from './payload';
import type { UpgradeRun } from './run';

/**
 * The decisions a failure can take: any failure can be retried or aborted; only a worker can be
 * skipped (a control plane must finish the hop before any worker starts it); only a failed verify
 * can be accepted (the cluster taken as it is).
 */
export function actionsFor(f: FailureInfo): DecisionAction[] {
  return DECISION_ACTIONS.filter((a) =>
    a === 'skip' ? f.role === 'worker' : a === 'accept' ? f.step === 'verify' : true,
  );
}

/** A blocked failure's key: its node, or its step for a cluster-level one. */
export function keyOf(f: FailureInfo): string {
  return f.node ?? f.step;
}

/**
 * Blocks the run on a failure until a person decides; returns the decision, one of
 * `actionsFor(info)` (what the validator let through; anything else would be a retry).
 */
export async function blockUntilDecided(run: UpgradeRun, info: FailureInfo): Promise<DecisionAction> {
  const key = keyOf(info);
  run.s.blocked.push(info);
  run.s.failures.push(info);
  run.refresh();
  await condition(() => run.abortRequested || run.decisions.has(key));
  const decided: DecisionAction = run.abortRequested ? 'abort' : (run.decisions.get(key) ?? 'abort');
  const action = actionsFor(info).includes(decided) ? decided : 'retry';
  run.decisions.delete(key);
  info.resolution = action;
  run.s.blocked = run.s.blocked.filter((b) => b !== info);
  run.refresh();
  return action;
}

/** The blocked failures a decision applies to. */
function targetsOf(run: UpgradeRun, req: DecideRequest): FailureInfo[] {
  const blocked = run.s.blocked.filter((b) => !run.decisions.has(keyOf(b)));
  if (req.node) return blocked.filter((b) => b.node === req.node);
  if (req.action === 'retry') return blocked;
  return blocked.length === 1 ? blocked : [];
}

/** "a, b or c" */
function orList(items: string[]): string {
  return items.length > 1 ? `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}` : items.join('');
}

export function validateDecide(run: UpgradeRun, req: DecideRequest | undefined): void {
  run.validateRunning();
  const bad = payloadProblem(req, DECIDE_KEYS);
  if (bad) throw failure(ErrorType.InvalidInput, `refused: ${bad}`);
  if (!req || !isDecisionAction(req.action)) {
    throw failure(
      ErrorType.InvalidInput,
      `unknown action ${JSON.stringify(req?.action)}; actions are ${DECISION_ACTIONS.join(', ')}`,
    );
  }
  if (req.action === 'abort') return;
  const pending = run.s.blocked.filter((b) => !run.decisions.has(keyOf(b)));
  if (pending.length === 0)
    throw failure(
      ErrorType.NothingBlocked,
      `nothing is blocked in ${run.s.cluster}; nothing to ${req.action}`,
    );
  const targets = targetsOf(run, req);
  if (targets.length === 0) {
    throw failure(
      ErrorType.NothingBlocked,
      req.node
        ? `node ${req.node} is not blocked; blocked: ${pending.map(keyOf).join(', ')}`
        : `several nodes are blocked (${pending.map(keyOf).join(', ')}); name one with node`,
    );
  }
  const refusedBy = targets.find((t) => !actionsFor(t).includes(req.action));
  if (refusedBy) {
    const others = orList(actionsFor(refusedBy).filter((a) => a !== 'accept'));
    if (req.action === 'accept')
      throw failure(
        ErrorType.InvalidInput,
        `only a failed verify can be accepted; blocked: ${targets.map(keyOf).join(', ')} (${others})`,
      );
    throw failure(
      ErrorType.SkipRefused,
      `${keyOf(refusedBy)} cannot be skipped: only workers can be skipped (a control plane must finish the hop before any worker starts it); ${others}`,
    );
  }
  if (req.action === 'accept' && (typeof req.comment !== 'string' || !req.comment.trim()))
    throw failure(
      ErrorType.InvalidInput,
      'accept needs a comment saying why the cluster is accepted as it is',
    );
}

export function decide(run: UpgradeRun, req: DecideRequest, via: 'update' | 'signal'): DecisionRecord {
  const record: DecisionRecord = { action: req.action, by: req.by || 'unknown', at: now(), via };
  if (req.node) record.node = req.node;
  if (req.comment) record.comment = req.comment;
  run.s.decisions.push(record);
  if (req.action === 'abort') {
    run.abortRequested = true;
    for (const scope of run.scopes.values()) scope.cancel();
  } else {
    for (const t of targetsOf(run, req)) run.decisions.set(keyOf(t), req.action);
  }
  run.refresh();
  return record;
}

/** The latest decision of `action` (who accepted, who aborted). */
export function lastDecision(run: UpgradeRun, action: DecisionAction): DecisionRecord | undefined {
  return [...run.s.decisions].reverse().find((d) => d.action === action);
}
