/**
 * Activity option groups: explicit timeouts, heartbeats for the long ones, retries with backoff
 * for transient trouble and none for semantic failures (NON_RETRYABLE_ERROR_TYPES).
 */
import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../shared/errors';
import type { InventorySettings } from '../shared/inventory';

function retry(maximumAttempts: number): RetryPolicy {
  return {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  };
}

export type ActivityGroup =
  'read' | 'cluster-read' | 'package' | 'kubeadm' | 'drain' | 'ready' | 'backup' | 'quick';

/** Options of each group; `drain` follows the inventory's drain timeout. */
export function activityOptions(
  group: ActivityGroup,
  settings?: Pick<InventorySettings, 'drain'>,
): ActivityOptions {
  switch (group) {
    case 'quick': // cordon state, uncordon, restart, repo switch
      return { startToCloseTimeout: '3 minutes', retry: retry(6) };
    case 'read': // single-node read-only commands
      return { startToCloseTimeout: '5 minutes', heartbeatTimeout: '1 minute', retry: retry(5) };
    case 'cluster-read': // preflight / resolve / verify over every node
      return { startToCloseTimeout: '30 minutes', heartbeatTimeout: '2 minutes', retry: retry(4) };
    case 'package':
      return { startToCloseTimeout: '20 minutes', heartbeatTimeout: '1 minute', retry: retry(4) };
    case 'kubeadm':
      return { startToCloseTimeout: '40 minutes', heartbeatTimeout: '2 minutes', retry: retry(3) };
    case 'backup':
      return { startToCloseTimeout: '20 minutes', heartbeatTimeout: '1 minute', retry: retry(3) };
    case 'ready':
      return { startToCloseTimeout: '15 minutes', heartbeatTimeout: '1 minute', retry: retry(2) };
    case 'drain': {
      const seconds = settings?.drain.timeoutSeconds ?? 300;
      return {
        startToCloseTimeout: `${seconds + 180} seconds`,
        heartbeatTimeout: '1 minute',
        retry: retry(3),
      };
    }
  }
}
