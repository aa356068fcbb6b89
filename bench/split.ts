/**
 * Where a worker's wall time goes, from the node children's workflow histories and the lab's event
 * log. Pure: histories and events in, numbers out (bench/run.ts fetches them).
 *
 * Each millisecond of a worker's child workflows is given to ONE of these, the first that holds:
 * - `tools`: a lab tool held a command of this node (modelled durations, PDB waits: `exec` `ms`);
 * - `nodeShell` / `wrapper`: an SSH session of this node ran (the lab's `ssh` event `ms`: sshd's
 *   ForceCommand, the login shell, the kill-on-EOF wrapper, the shim's process), outside the tool;
 *   `wrapper` when the session ran a detached transaction (src/ssh/detached.ts);
 * - `activityRun`: an activity ran on the worker, outside any SSH session of the node (SSH channel
 *   and transport, the worker's own code, connecting);
 * - `activityQueue`: an activity was scheduled and not yet picked up (dispatch latency);
 * - `workflowTask`: a workflow task was scheduled or running (the workflow code and its dispatch);
 * - `other`: timers and gaps (a child's start before its first task, the time after its last one).
 * Outside the children, per worker: `childStart` (the parent's start request to the child's first
 * workflow task) and, for children started into a freed window slot, `slotHandoff` (the child that
 * freed the slot completed → the next child's start request).
 */
import type { TimelineEvent } from './timeline';

/** The few fields of a Temporal history event the split reads (the SDK's proto objects fit). */
export interface HistoryEvent {
  eventId?: unknown;
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
  workflowTaskScheduledEventAttributes?: object | null;
  workflowTaskStartedEventAttributes?: { scheduledEventId?: unknown } | null;
  workflowTaskCompletedEventAttributes?: { scheduledEventId?: unknown } | null;
  workflowTaskFailedEventAttributes?: { scheduledEventId?: unknown } | null;
  workflowTaskTimedOutEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskStartedEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskFailedEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskTimedOutEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskCanceledEventAttributes?: { scheduledEventId?: unknown } | null;
  timerStartedEventAttributes?: object | null;
  signalExternalWorkflowExecutionInitiatedEventAttributes?: object | null;
  startChildWorkflowExecutionInitiatedEventAttributes?: { workflowId?: string | null } | null;
  childWorkflowExecutionStartedEventAttributes?: {
    workflowExecution?: { workflowId?: string | null } | null;
  } | null;
  childWorkflowExecutionCompletedEventAttributes?: {
    workflowExecution?: { workflowId?: string | null } | null;
  } | null;
}

export const SPLIT_PARTS = [
  'tools',
  'nodeShell',
  'wrapper',
  'activityRun',
  'activityQueue',
  'workflowTask',
  'other',
] as const;
export type SplitPart = (typeof SPLIT_PARTS)[number];

/** Time by part and what the children's histories hold: of one worker, or medians over them. */
interface SplitFigures {
  wallMs: number;
  parts: Record<SplitPart, number>;
  childStartMs: number;
  events: number;
  workflowTasks: number;
  activities: number;
  timers: number;
  signals: number;
  sshSessions: number;
  wrappedSessions: number;
}

/** One worker's figures, over all its children. */
export interface NodeSplit extends SplitFigures {
  node: string;
  children: number;
}

export function eventMs(e: HistoryEvent): number {
  const t = e.eventTime;
  return Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
}

type Interval = [number, number];

const CLOSED = ['Completed', 'Failed', 'TimedOut', 'Canceled'] as const;

/** The intervals of scheduled → started and started → closed of one kind of task. */
function taskIntervals(
  events: HistoryEvent[],
  kind: 'workflowTask' | 'activityTask',
): { queue: Interval[]; run: Interval[] } {
  const attrs = (e: HistoryEvent, what: string) =>
    (e as Record<string, { scheduledEventId?: unknown } | null | undefined>)[`${kind}${what}EventAttributes`];
  const sched = new Map<string, number>();
  const start = new Map<string, number>();
  const queue: Interval[] = [];
  const run: Interval[] = [];
  for (const e of events) {
    const at = eventMs(e);
    if (attrs(e, 'Scheduled')) sched.set(String(e.eventId), at);
    const s = attrs(e, 'Started')?.scheduledEventId;
    if (s !== undefined && s !== null) {
      const id = String(s);
      start.set(id, at);
      if (sched.has(id)) queue.push([sched.get(id)!, at]);
    }
    const c = CLOSED.map((w) => attrs(e, w)?.scheduledEventId).find((x) => x !== undefined && x !== null);
    if (c !== undefined) {
      const id = String(c);
      const from = start.get(id) ?? sched.get(id);
      if (from !== undefined) run.push([from, at]);
    }
  }
  return { queue, run };
}

/** What one child's history says: its span, its tasks' intervals and its counts. */
export function childIntervals(events: HistoryEvent[]): {
  span: Interval;
  wtQueue: Interval[];
  wtRun: Interval[];
  actQueue: Interval[];
  actRun: Interval[];
  counts: { events: number; workflowTasks: number; activities: number; timers: number; signals: number };
} {
  const wt = taskIntervals(events, 'workflowTask');
  const act = taskIntervals(events, 'activityTask');
  const times = events.map(eventMs);
  return {
    span: [Math.min(...times), Math.max(...times)],
    wtQueue: wt.queue,
    wtRun: wt.run,
    actQueue: act.queue,
    actRun: act.run,
    counts: {
      events: events.length,
      workflowTasks: events.filter((e) => e.workflowTaskScheduledEventAttributes).length,
      activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
      timers: events.filter((e) => e.timerStartedEventAttributes).length,
      signals: events.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes).length,
    },
  };
}

/**
 * Gives each millisecond of `span` to the first layer (in order) that covers it; returns the
 * milliseconds per layer and, last, those no layer covers.
 */
export function attribute(span: Interval, layers: Interval[][]): number[] {
  const cuts = new Set<number>([span[0], span[1]]);
  for (const l of layers)
    for (const [a, b] of l) {
      if (a > span[0] && a < span[1]) cuts.add(a);
      if (b > span[0] && b < span[1]) cuts.add(b);
    }
  const xs = [...cuts].sort((a, b) => a - b);
  const out = new Array<number>(layers.length + 1).fill(0);
  for (let i = 0; i + 1 < xs.length; i++) {
    const [a, b] = [xs[i]!, xs[i + 1]!];
    const mid = (a + b) / 2;
    const k = layers.findIndex((l) => l.some(([x, y]) => x <= mid && mid <= y));
    out[k < 0 ? layers.length : k]! += b - a;
  }
  return out;
}

/** The worker a lab event acts on: its own node, or the node a kubectl command names. */
function subject(e: TimelineEvent, names: Set<string>): string | undefined {
  if (names.has(e.node)) return e.node;
  if (!e.cmd?.includes('kubectl ')) return undefined;
  return e.cmd
    .split(/[\s=']/)
    .reverse()
    .find((w) => names.has(w));
}

export interface ChildHistory {
  node: string;
  /** the parent's StartChildWorkflowExecutionInitiated time */
  initiatedAt?: number;
  events: HistoryEvent[];
}

/** The split of every worker that has children, from their histories and the lab's events. */
export function splitPerNode(children: ChildHistory[], labEvents: TimelineEvent[]): NodeSplit[] {
  const byNode = new Map<string, ChildHistory[]>();
  for (const c of children) byNode.set(c.node, [...(byNode.get(c.node) ?? []), c]);
  const names = new Set(byNode.keys());
  const tools = new Map<string, Interval[]>();
  const sessions = new Map<string, { iv: Interval; wrapped: boolean }[]>();
  for (const e of labEvents) {
    if (typeof e.ms !== 'number' || (e.type !== 'exec' && e.type !== 'ssh')) continue;
    const node = subject(e, names);
    if (!node) continue;
    const end = Date.parse(e.ts);
    const iv: Interval = [end - e.ms, end];
    if (e.type === 'exec') tools.set(node, [...(tools.get(node) ?? []), iv]);
    else
      sessions.set(node, [
        ...(sessions.get(node) ?? []),
        { iv, wrapped: (e.cmd ?? '').includes('kupgrade-attach') },
      ]);
  }
  const out: NodeSplit[] = [];
  for (const [node, list] of byNode) {
    const parts = Object.fromEntries(SPLIT_PARTS.map((p) => [p, 0])) as Record<SplitPart, number>;
    const s: NodeSplit = {
      node,
      wallMs: 0,
      parts,
      childStartMs: 0,
      children: list.length,
      events: 0,
      workflowTasks: 0,
      activities: 0,
      timers: 0,
      signals: 0,
      sshSessions: 0,
      wrappedSessions: 0,
    };
    const ss = sessions.get(node) ?? [];
    for (const c of list) {
      if (!c.events.length) continue;
      const h = childIntervals(c.events);
      const inSpan = (iv: Interval) => iv[0] >= h.span[0] - 5 && iv[1] <= h.span[1] + 5;
      const mine = ss.filter((x) => inSpan(x.iv));
      s.sshSessions += mine.length;
      s.wrappedSessions += mine.filter((x) => x.wrapped).length;
      const ms = attribute(h.span, [
        (tools.get(node) ?? []).filter(inSpan),
        mine.filter((x) => x.wrapped).map((x) => x.iv),
        mine.filter((x) => !x.wrapped).map((x) => x.iv),
        h.actRun,
        h.actQueue,
        [...h.wtQueue, ...h.wtRun],
      ]);
      parts.tools += ms[0]!;
      parts.wrapper += ms[1]!;
      parts.nodeShell += ms[2]!;
      parts.activityRun += ms[3]!;
      parts.activityQueue += ms[4]!;
      parts.workflowTask += ms[5]!;
      parts.other += ms[6]!;
      s.wallMs += h.span[1] - h.span[0];
      // the parent asked for the child → the child's first workflow task ran
      const firstTask = h.wtRun[0]?.[0];
      if (c.initiatedAt !== undefined && firstTask !== undefined) s.childStartMs += firstTask - c.initiatedAt;
      for (const k of ['events', 'workflowTasks', 'activities', 'timers', 'signals'] as const)
        s[k] += h.counts[k];
    }
    out.push(s);
  }
  return out.sort((a, b) => a.node.localeCompare(b.node, 'en', { numeric: true }));
}

/**
 * The parent's slot handoffs: for each child started after another child completed, the time from
 * the latest completion before it to its start request (the parent's workflow task in between).
 */
export function slotHandoffs(parent: HistoryEvent[]): number[] {
  let lastDone: number | undefined;
  const out: number[] = [];
  for (const e of parent) {
    if (e.childWorkflowExecutionCompletedEventAttributes) lastDone = eventMs(e);
    else if (e.startChildWorkflowExecutionInitiatedEventAttributes && lastDone !== undefined) {
      out.push(eventMs(e) - lastDone);
      lastDone = undefined;
    }
  }
  return out;
}

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

/** Medians over the workers: the per-node row of the --split table. */
export interface SplitSummary extends SplitFigures {
  nodes: number;
  slotHandoffMs: number;
}

export function summarize(splits: NodeSplit[], handoffs: number[]): SplitSummary {
  const m = (f: (s: NodeSplit) => number) => Math.round(median(splits.map(f)));
  return {
    nodes: splits.length,
    wallMs: m((s) => s.wallMs),
    parts: Object.fromEntries(SPLIT_PARTS.map((p) => [p, m((s) => s.parts[p])])) as Record<SplitPart, number>,
    childStartMs: m((s) => s.childStartMs),
    slotHandoffMs: Math.round(median(handoffs)),
    events: m((s) => s.events),
    workflowTasks: m((s) => s.workflowTasks),
    activities: m((s) => s.activities),
    timers: m((s) => s.timers),
    signals: m((s) => s.signals),
    sshSessions: m((s) => s.sshSessions),
    wrappedSessions: m((s) => s.wrappedSessions),
  };
}

export const SPLIT_HEADER =
  '| nodes | speed | mu | wall ms | tools | wrapper | node shell | activity (worker, SSH) | activity queue | workflow tasks | other | child start | slot handoff | events | WTs | activities | timers | signals | ssh sessions (wrapped) | commit |';

export function splitRow(nodes: number, speed: number, mu: string, s: SplitSummary, commit = ''): string {
  const p = s.parts;
  return `| ${nodes} | ${speed} | ${mu} | ${s.wallMs} | ${p.tools} | ${p.wrapper} | ${p.nodeShell} | ${p.activityRun} | ${p.activityQueue} | ${p.workflowTask} | ${p.other} | ${s.childStartMs} | ${Number.isFinite(s.slotHandoffMs) ? s.slotHandoffMs : ''} | ${s.events} | ${s.workflowTasks} | ${s.activities} | ${s.timers} | ${s.signals} | ${s.sshSessions} (${s.wrappedSessions}) | ${commit} |`;
}
