/** How parts of the run stop it: a refusal to the caller, a failed run, an aborted run. */
import { ApplicationFailure } from '@temporalio/workflow';

/** A non-retryable failure: a refused message, or the run's end. */
export function failure(code: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: code, message, nonRetryable: true });
}

/** Thrown inside the run to stop it with phase `failed`. */
export class RunFailed extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** Thrown inside the run when an abort finished the work. */
export class RunAborted extends Error {}
