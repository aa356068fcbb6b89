/**
 * The run's messages (src/shared/messages.ts): Updates approve/decide/pause/resume with their
 * validators, the same as Signals (a refused signal is kept in `ignoredSignals`), the `state`
 * Query, and the node children's progress.
 */
import { patched, setHandler } from '@temporalio/workflow';
import { ErrorType } from '../../shared/errors';
import { DECISION_ACTIONS } from '../../shared/gates';
import {
  approveSignal,
  approveUpdate,
  decideSignal,
  decideUpdate,
  nodeProgressSignal,
  pauseSignal,
  pauseUpdate,
  resumeSignal,
  resumeUpdate,
  stateQuery,
} from '../../shared/messages';
import type { DecisionRecord, NodeProgress, PauseRequest } from '../../shared/types';
import { now } from '../clock';
import { claimCordon, noteDrain } from './cordons';
import { decide, validateDecide } from './decisions';
import { failure } from './errors';
import { approve, validateApprove } from './gates';
import { APPROVE_KEYS, DECIDE_KEYS, MESSAGE_LIMITS, payloadProblem } from './payload';
import type { UpgradeRun } from './run';

export function installHandlers(run: UpgradeRun): void {
  setHandler(stateQuery, () => run.s);

  setHandler(approveUpdate, (req) => approve(run, req, 'update'), {
    validator: (req) => validateApprove(run, req),
    description: 'Approve the open gate: {gate, by?, comment?}',
  });
  setHandler(approveSignal, (req) => {
    viaSignal(
      run,
      'approveSignal',
      req,
      () => {
        // A signal has no validator and no reply: an approval must go through the Update, whose
        // validator checks the approver. Old runs (no marker) keep the old behaviour on replay.
        if (patched('approve-signal-refused'))
          throw failure(
            ErrorType.ApprovalRefused,
            'approval by signal is not accepted: use the approve Update (`kupgrade approve`), which checks the approver',
          );
        validateApprove(run, req);
      },
      () => approve(run, req, 'signal'),
    );
  });

  setHandler(decideUpdate, (req) => decide(run, req, 'update'), {
    validator: (req) => validateDecide(run, req),
    description: `Decide on a blocked run: {action: ${DECISION_ACTIONS.join('|')} (accept: a failed verify, comment required), node?, by?, comment?}`,
  });
  setHandler(decideSignal, (req) => {
    viaSignal(
      run,
      'decideSignal',
      req,
      () => validateDecide(run, req),
      () => decide(run, req, 'signal'),
    );
  });

  setHandler(pauseUpdate, (req) => setPaused(run, true, req, 'update'), {
    validator: (req: PauseRequest) => validatePause(run, req),
    description: 'Pause between nodes: {by?, comment?}',
  });
  setHandler(resumeUpdate, (req) => setPaused(run, false, req, 'update'), {
    validator: (req: PauseRequest) => validatePause(run, req),
    description: 'Resume after a pause: {by?, comment?}',
  });
  for (const [signal, paused] of [
    [pauseSignal, true],
    [resumeSignal, false],
  ] as const) {
    setHandler(signal, (req) => {
      viaSignal(
        run,
        signal.name,
        req,
        () => run.validateRunning(),
        () => setPaused(run, paused, req, 'signal'),
      );
    });
  }

  setHandler(nodeProgressSignal, (p) => onProgress(run, p));
}

/** A signal runs its Update's validation itself: a refused one is kept and otherwise ignored. */
function viaSignal(
  run: UpgradeRun,
  name: string,
  payload: unknown,
  validate: () => void,
  apply: () => void,
): void {
  const capped = patched('signal-payload-caps');
  try {
    if (capped) {
      const bad = payloadProblem(payload, name === 'approveSignal' ? APPROVE_KEYS : DECIDE_KEYS);
      if (bad) throw failure(ErrorType.InvalidInput, bad);
    }
    validate();
  } catch (err) {
    const small = !capped || JSON.stringify(payload ?? null).length <= MESSAGE_LIMITS.payload;
    run.s.ignoredSignals.push({
      name,
      payload: small ? (payload ?? null) : '(too large; not kept)',
      reason: err instanceof Error ? err.message : String(err),
      at: now(),
    });
    run.refresh();
    return;
  }
  apply();
}

function validatePause(run: UpgradeRun, req: PauseRequest | undefined): void {
  run.validateRunning();
  const bad = payloadProblem(req, DECIDE_KEYS);
  if (bad) throw failure(ErrorType.InvalidInput, `refused: ${bad}`);
}

function setPaused(
  run: UpgradeRun,
  paused: boolean,
  req: PauseRequest | undefined,
  via: 'update' | 'signal',
): DecisionRecord {
  const record: DecisionRecord = {
    action: paused ? 'pause' : 'resume',
    by: req?.by || 'unknown',
    at: now(),
    via,
  };
  if (req?.comment) record.comment = req.comment;
  run.s.decisions.push(record);
  run.s.paused = paused;
  run.refresh();
  return record;
}

function onProgress(run: UpgradeRun, p: NodeProgress): void {
  const n = run.nodes.get(p.node);
  if (!n || n.hop !== p.hop || n.attempts !== p.attempt) return; // stale report of an older attempt
  n.step = p.step;
  // The drain found someone else's cordon (reported before the child ends).
  if (p.step === 'drain' && p.event === 'finished' && p.cordonedByRun === false) {
    noteDrain(n, p.hop, true);
    run.refresh();
    return;
  }
  // Conservative: from the moment a drain starts, the run owns the cordon (unless it was there
  // before, or this hop's first drain found someone else's).
  if (p.step === 'drain') claimCordon(n, p.hop);
  run.refresh();
}
