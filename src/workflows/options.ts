/**
 * Activity option groups: explicit timeouts, heartbeats for the long ones, retries with backoff
 * for transient trouble and none for semantic failures (NON_RETRYABLE_ERROR_TYPES).
 */
import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../shared/errors';
import type { InventorySettings } from '../shared/inventory';

/** maximumAttempts 0: unlimited (read-only groups, bounded by their schedule-to-close timeout). */
function retry(maximumAttempts: number): RetryPolicy {
  return {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    // the SDK refuses 0; leaving it out means unlimited
    ...(maximumAttempts > 0 ? { maximumAttempts } : {}),
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
    // Attempts count worker crashes and dropped connections too (a lost worker is a heartbeat or
    // start-to-close timeout): every activity is an idempotent "ensure state", so a retry is safe,
    // and a step should not need a person because its worker died twice.
    case 'quick': // cordon state, uncordon, restart, repo switch
      return { startToCloseTimeout: '3 minutes', retry: retry(8) };
    case 'read': // single-node read-only commands
      return {
        startToCloseTimeout: '5 minutes',
        scheduleToCloseTimeout: '30 minutes',
        heartbeatTimeout: '1 minute',
        retry: retry(0),
      };
    case 'cluster-read': // preflight / resolve / verify over every node
      return {
        startToCloseTimeout: '30 minutes',
        scheduleToCloseTimeout: '1 hour',
        heartbeatTimeout: '2 minutes',
        retry: retry(0),
      };
    case 'package':
      return { startToCloseTimeout: '20 minutes', heartbeatTimeout: '1 minute', retry: retry(6) };
    case 'kubeadm':
      return { startToCloseTimeout: '40 minutes', heartbeatTimeout: '2 minutes', retry: retry(5) };
    case 'backup':
      return { startToCloseTimeout: '20 minutes', heartbeatTimeout: '1 minute', retry: retry(5) };
    case 'ready':
      return { startToCloseTimeout: '15 minutes', heartbeatTimeout: '1 minute', retry: retry(3) };
    case 'drain': {
      const seconds = settings?.drain.timeoutSeconds ?? 300;
      return {
        startToCloseTimeout: `${seconds + 180} seconds`,
        heartbeatTimeout: '1 minute',
        retry: retry(4),
      };
    }
  }
}

/** A duration of these options ('3 minutes', '480 seconds', or ms) in milliseconds. */
function durationMs(d: ActivityOptions['startToCloseTimeout']): number {
  if (typeof d === 'number') return d;
  const m = /^(\d+) (second|minute|hour)s?$/.exec(String(d));
  if (!m) throw new Error(`options.ts: unexpected duration ${String(d)}`);
  const unit = { second: 1000, minute: 60_000, hour: 3_600_000 } as const;
  return Number(m[1]) * unit[m[2] as keyof typeof unit];
}

/**
 * Options of several steps run as one activity (a step group): the sum of their budgets, the
 * shortest heartbeat timeout among them (1 minute when none has one: the group heartbeats on its
 * own), and the strictest retry policy (fewest attempts).
 */
export function groupActivityOptions(
  groups: ActivityGroup[],
  settings?: Pick<InventorySettings, 'drain'>,
): ActivityOptions {
  const each = groups.map((g) => activityOptions(g, settings));
  const heartbeats = each.flatMap((o) => (o.heartbeatTimeout ? [durationMs(o.heartbeatTimeout)] : []));
  const attempts = each.map((o) => o.retry?.maximumAttempts ?? 0).filter((n) => n > 0);
  return {
    startToCloseTimeout: each.reduce((sum, o) => sum + durationMs(o.startToCloseTimeout), 0),
    heartbeatTimeout: heartbeats.length ? Math.min(...heartbeats) : 60_000,
    retry: retry(attempts.length ? Math.min(...attempts) : 0),
  };
}
