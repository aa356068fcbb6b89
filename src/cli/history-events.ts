/**
 * The steps of an upgrade's parent workflow, decoded from its event history for `kupgrade
 * history`: each activity that ended (with the summary it was scheduled with) and each node
 * workflow that completed or failed.
 */
import type { WorkflowHandle } from '@temporalio/client';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

export interface HistoryStep {
  at: string;
  what: string;
}

export function parentSteps(history: History): HistoryStep[] {
  const scheduled = new Map<string, { type: string; summary?: string }>();
  const events: HistoryStep[] = [];
  for (const e of history.events ?? []) {
    const at = e.eventTime ? new Date(Number(e.eventTime.seconds ?? 0) * 1000).toISOString() : '';
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) {
      scheduled.set(String(e.eventId), {
        type: sched.activityType?.name ?? '?',
        summary: summaryText(e.userMetadata?.summary?.data),
      });
    }
    const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
    if (done) {
      const s = scheduled.get(String(done.scheduledEventId));
      events.push({
        at,
        what: `${e.activityTaskFailedEventAttributes ? 'FAILED ' : ''}${s?.summary ?? s?.type ?? 'activity'}`,
      });
    }
    const child =
      e.childWorkflowExecutionCompletedEventAttributes ?? e.childWorkflowExecutionFailedEventAttributes;
    if (child)
      events.push({
        at,
        what: `node workflow ${child.workflowExecution?.workflowId ?? ''} ${e.childWorkflowExecutionFailedEventAttributes ? 'failed' : 'completed'}`,
      });
  }
  return events;
}

/** A user-metadata summary is a JSON-encoded string payload. */
function summaryText(data: Uint8Array | null | undefined): string | undefined {
  if (!data) return undefined;
  try {
    return JSON.parse(Buffer.from(data).toString('utf8')) as string;
  } catch {
    return undefined;
  }
}
