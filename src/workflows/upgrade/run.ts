/**
 * One upgrade run: its state (what the `state` query shows and continue-as-new carries) and the
 * bookkeeping every part of the workflow shares: phase, stage, pause and abort, where each node is.
 */
import {
  CancellationScope,
  condition,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { UpgradeActivities } from '../../shared/activities';
import { ErrorType } from '../../shared/errors';
import type { DecisionAction } from '../../shared/gates';
import type { Inventory, InventoryNode } from '../../shared/inventory';
import { SA_PHASE } from '../../shared/names';
import { renderDetails } from '../../shared/render';
import type { NodeState, Phase, Stage, UpgradeInput, UpgradeState } from '../../shared/types';
import { atLeast, isVersion } from '../../shared/versions';
import { now } from '../clock';
import { activityOptions } from '../options';
import type { StepOptions } from '../steps';
import { RunAborted, failure } from './errors';

export const FINISHED: Stage[] = ['done', 'aborted', 'failed'];

/** A node as a new run first knows it (preflight reads its version and cordon). */
const NOT_STARTED = { status: 'pending', attempts: 0, cordonedBefore: false, cordonedByRun: false } as const;

export class UpgradeRun {
  readonly inventory: Inventory;
  readonly s: UpgradeState;
  readonly nodes = new Map<string, NodeState>();
  abortRequested = false;
  /** Decisions taken on blocked failures (by failure key) until the blocked place takes them. */
  readonly decisions = new Map<string, DecisionAction>();
  /** The cancellation scope of each node whose child runs. */
  readonly scopes = new Map<string, CancellationScope>();
  /** Node children this run (this execution, not the chain) started: continue-as-new counts them. */
  childrenStarted = 0;
  readonly readActs = proxyActivities<UpgradeActivities>(activityOptions('cluster-read'));
  readonly backupActs = proxyActivities<UpgradeActivities>(activityOptions('backup'));
  readonly quickActs = proxyActivities<UpgradeActivities>(activityOptions('quick'));

  constructor(readonly input: UpgradeInput) {
    this.inventory = input.inventory;
    const options = input.options ?? {};
    this.s = input.carried ?? {
      cluster: input.inventory.metadata.name,
      target: input.target,
      dryRun: options.dryRun === true,
      phase: 'preflight',
      stage: 'preflight',
      paused: false,
      gates: [],
      autoApprove: options.autoApprove === true,
      hops: [],
      window: 1,
      nodes: input.inventory.nodes.map(({ name, role }): NodeState => ({ name, role, ...NOT_STARTED })),
      blocked: [],
      failures: [],
      approvals: [],
      decisions: [],
      ignoredSignals: [],
      timings: { startedAt: now(), phases: [] },
      generation: 0,
    };
    for (const n of this.s.nodes) this.nodes.set(n.name, n);
    // markers on the nodes are keyed by this (a run carried from before keeps its own)
    this.s.runKey ??= workflowInfo().firstExecutionRunId;
  }

  /** Recomputes the phase (search attribute on change) and the details shown in the UI. */
  refresh(): void {
    const s = this.s;
    const phase: Phase = FINISHED.includes(s.stage)
      ? s.stage
      : s.blocked.length > 0
        ? 'blocked'
        : s.paused
          ? 'paused'
          : s.stage;
    if (phase !== s.phase) {
      s.phase = phase;
      upsertSearchAttributes([{ key: SA_PHASE, value: phase }]);
    }
    setCurrentDetails(renderDetails(s));
  }

  stage(stage: Stage, hop?: number): void {
    const t = now();
    const last = this.s.timings.phases[this.s.timings.phases.length - 1];
    if (last && !last.finishedAt) last.finishedAt = t;
    if (!FINISHED.includes(stage))
      this.s.timings.phases.push({ phase: stage, ...(hop !== undefined ? { hop } : {}), startedAt: t });
    else this.s.timings.finishedAt = t;
    this.s.stage = stage;
    this.refresh();
  }

  node(name: string): NodeState {
    const n = this.nodes.get(name);
    if (!n) throw failure(ErrorType.InvalidInput, `unknown node ${name}`);
    return n;
  }

  /** Refuses a message once the run finished or is aborting. */
  validateRunning(): void {
    if (FINISHED.includes(this.s.stage) || this.abortRequested) {
      throw failure(
        ErrorType.RunFinished,
        `the upgrade of ${this.s.cluster} is ${this.abortRequested ? 'aborting' : this.s.stage}`,
      );
    }
  }

  checkAbort(): void {
    if (this.abortRequested) throw new RunAborted();
  }

  async waitUnpaused(): Promise<void> {
    await condition(() => this.abortRequested || !this.s.paused);
    this.checkAbort();
  }

  /** Per-step progress signals for small clusters; only the drain for large ones (parent history). */
  reportAllSteps(): boolean {
    const p = this.input.options?.progress;
    return p ? p === 'steps' : this.inventory.nodes.length <= 50;
  }

  stepOpts(node: InventoryNode): StepOptions {
    return { cordonedBefore: this.node(node.name).cordonedBefore };
  }

  doneWithHop(n: NodeState, i: number): boolean {
    if (n.status === 'skipped' || n.status === 'up-to-date') return true;
    return n.hop !== undefined && n.hop >= i && (n.status === 'hop-done' || n.status === 'done');
  }

  /** The node needs work in hop i (not done, skipped, or already at the hop's version). */
  needsHop(n: NodeState, i: number): boolean {
    if (this.doneWithHop(n, i)) return false;
    const hop = this.s.hops[i];
    if (n.version && isVersion(n.version) && atLeast(n.version, hop.version)) {
      this.finishNode(n, i);
      return false;
    }
    return true;
  }

  finishNode(n: NodeState, i: number): void {
    n.hop = i;
    n.status = i === this.s.hops.length - 1 ? 'done' : 'hop-done';
    n.finishedAt = now();
    n.error = undefined;
    this.refresh();
  }
}
