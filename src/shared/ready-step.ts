/** The wait-ready step's result from waitNodeReady's answer (workflow and step group alike). */
import { ApplicationFailure } from '@temporalio/common';
import type { NodeReadyResult, StepResult } from './activities';
import { ErrorType } from './errors';

/** Ready: the step's record (the version it is Ready at); not Ready: NodeNotReady, non-retryable. */
export function readyStep(r: NodeReadyResult, node: string, version: string): StepResult {
  if (!r.ready) {
    throw ApplicationFailure.create({
      type: ErrorType.NodeNotReady,
      message: `${node} not Ready at ${version} (kubelet ${r.kubeletVersion})`,
      nonRetryable: true,
    });
  }
  return { changed: false, version: r.kubeletVersion, detail: `Ready at ${r.kubeletVersion}` };
}
