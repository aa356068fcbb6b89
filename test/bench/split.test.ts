/** The benchmark's split of a worker's time, from its children's histories and the lab's events. */
import { attribute, slotHandoffs, splitPerNode, summarize, type HistoryEvent } from '../../bench/split';
import type { TimelineEvent } from '../../bench/timeline';

const t0 = Date.UTC(2026, 0, 1);
const time = (ms: number) => ({ seconds: Math.floor((t0 + ms) / 1000), nanos: ((t0 + ms) % 1000) * 1e6 });
const at = (ms: number) => new Date(t0 + ms).toISOString();

/** A child: first workflow task 0-20, activity scheduled 20, started 30, done 1030, last task 1030-1050. */
function child(): HistoryEvent[] {
  let id = 0;
  const e = (ms: number, attrs: Partial<HistoryEvent>): HistoryEvent => ({
    eventId: ++id,
    eventTime: time(ms),
    ...attrs,
  });
  return [
    e(0, {}), // WorkflowExecutionStarted
    e(0, { workflowTaskScheduledEventAttributes: {} }),
    e(5, { workflowTaskStartedEventAttributes: { scheduledEventId: 2 } }),
    e(20, { workflowTaskCompletedEventAttributes: { scheduledEventId: 2 } }),
    e(20, { activityTaskScheduledEventAttributes: { activityType: { name: 'ensureDrained' } } }),
    e(30, { activityTaskStartedEventAttributes: { scheduledEventId: 5 } }),
    e(1030, { activityTaskCompletedEventAttributes: { scheduledEventId: 5 } }),
    e(1030, { workflowTaskScheduledEventAttributes: {} }),
    e(1035, { workflowTaskStartedEventAttributes: { scheduledEventId: 8 } }),
    e(1050, { workflowTaskCompletedEventAttributes: { scheduledEventId: 8 } }),
    e(1050, {}), // WorkflowExecutionCompleted
  ];
}

describe('split', () => {
  test('each millisecond goes to the first layer that covers it', () => {
    expect(
      attribute(
        [0, 100],
        [
          [[10, 20]],
          [
            [0, 30],
            [90, 100],
          ],
        ],
      ),
    ).toEqual([10, 30, 60]);
  });

  test('a worker: tools inside a wrapped session inside the activity, the rest to tasks and dispatch', () => {
    const events: TimelineEvent[] = [
      { ts: at(800), node: 'w-1', type: 'exec', cmd: 'yum install -y kubelet', exit: 0, ms: 600 },
      { ts: at(850), node: 'w-1', type: 'ssh', cmd: "sh -c '…' kupgrade-attach …", exit: 0, ms: 750 },
      { ts: at(950), node: 'cp-1', type: 'exec', cmd: 'kubectl get node w-1 -o json', exit: 0, ms: 40 },
      { ts: at(960), node: 'cp-1', type: 'ssh', cmd: "kubectl get node 'w-1' -o json", exit: 0, ms: 60 },
      { ts: at(990), node: 'w-2', type: 'exec', cmd: 'yum install -y kubelet', exit: 0, ms: 900 },
    ];
    const [w1] = splitPerNode([{ node: 'w-1', initiatedAt: t0 - 40, events: child() }], events);
    expect(w1).toMatchObject({
      node: 'w-1',
      wallMs: 1050,
      children: 1,
      events: 11,
      workflowTasks: 2,
      activities: 1,
      sshSessions: 2,
      wrappedSessions: 1,
      childStartMs: 45,
    });
    expect(w1!.parts).toEqual({
      tools: 640,
      wrapper: 150,
      nodeShell: 20,
      activityRun: 1000 - 640 - 150 - 20,
      activityQueue: 10,
      workflowTask: 40,
      other: 0,
    });
    expect(summarize([w1!], [30]).parts.tools).toBe(640);
  });

  test('slot handoffs: a completion to the next start request', () => {
    const ev = (ms: number, a: Partial<HistoryEvent>): HistoryEvent => ({ eventTime: time(ms), ...a });
    const parent = [
      ev(0, { startChildWorkflowExecutionInitiatedEventAttributes: { workflowId: 'a' } }),
      ev(1000, { childWorkflowExecutionCompletedEventAttributes: {} }),
      ev(1070, { startChildWorkflowExecutionInitiatedEventAttributes: { workflowId: 'b' } }),
      ev(1075, { startChildWorkflowExecutionInitiatedEventAttributes: { workflowId: 'c' } }),
    ];
    expect(slotHandoffs(parent)).toEqual([70]);
  });
});
