/** Turning activity and child workflow failures into the FailureInfo kept in the state. */
import {
  ApplicationFailure,
  ActivityFailure,
  ChildWorkflowFailure,
  TemporalFailure,
} from '@temporalio/workflow';
import type { FailureDetails } from '../shared/errors';
import type { FailureInfo } from '../shared/types';

/** The innermost ApplicationFailure of an error chain, if any. */
export function applicationCause(err: unknown): ApplicationFailure | undefined {
  let e: unknown = err;
  for (let i = 0; i < 8 && e; i++) {
    if (e instanceof ApplicationFailure) return e;
    if (e instanceof ActivityFailure || e instanceof ChildWorkflowFailure || e instanceof TemporalFailure) {
      e = e.cause;
      continue;
    }
    return undefined;
  }
  return undefined;
}

/** type, message and FailureDetails of an activity failure. */
export function describeActivityError(err: unknown): {
  type: string;
  message: string;
  details: FailureDetails;
} {
  const app = applicationCause(err);
  if (app) {
    const d = (app.details?.[0] ?? {}) as FailureDetails;
    return { type: app.type ?? 'Error', message: app.message, details: typeof d === 'object' && d ? d : {} };
  }
  if (err instanceof TemporalFailure) {
    // Timeouts and other server-side failures: the cause chain says what happened.
    const inner = err.cause instanceof TemporalFailure ? err.cause : undefined;
    return { type: inner?.name ?? err.name, message: inner?.message ?? err.message, details: {} };
  }
  return { type: 'Unknown', message: err instanceof Error ? err.message : String(err), details: {} };
}

/** A node child's failure carries its FailureInfo as details[0]. */
export function childFailureInfo(err: unknown): FailureInfo | undefined {
  const app = applicationCause(err);
  const d = app?.details?.[0] as FailureInfo | undefined;
  return d && typeof d === 'object' && 'step' in d ? d : undefined;
}
