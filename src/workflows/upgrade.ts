/**
 * The upgrade of one cluster (workflow ID `kupgrade-<cluster>`), PRODUCT.md §The workflow:
 *
 *   preflight (read-only) ─ gate preflight ─ backup ─ per hop:
 *     gate control-plane ─ first CP (repo, kubeadm, plan, images, apply) ─ gate cni ─ (cni, drain,
 *     kubelet, restart, Ready, uncordon) ─ other CPs one at a time (upgrade node …) ─
 *     gate workers ─ first worker ─ gate canary ─ other workers in a sliding window of maxUnavailable
 *   ─ verify.
 *
 * Each node of each hop runs as a child workflow (src/workflows/node.ts), so this history stays
 * small; a failed child blocks the run (phase `blocked`) until an operator decides retry (from the
 * failed step), skip (workers) or abort. Abort cancels the running children and uncordons exactly
 * the nodes this run cordoned. Continue-as-new happens at a quiet point (no child running) when the
 * server suggests it, carrying the state.
 */
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ResolvedHop, UpgradeActivities } from '../shared/activities';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../shared/errors';
import {
  isDecisionAction,
  DEFAULT_GATES,
  isGateName,
  type DecisionAction,
  type GateName,
} from '../shared/gates';
import {
  clusterContext,
  controlPlanes,
  workerNodes,
  type Inventory,
  type InventoryNode,
} from '../shared/inventory';
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
} from '../shared/messages';
import { SA_CLUSTER, SA_PHASE, SA_TARGET, nodeWorkflowId } from '../shared/names';
import { renderDetails } from '../shared/render';
import {
  NODE_STEPS,
  type ApprovalRecord,
  type ApproveRequest,
  type DecideRequest,
  type DecisionRecord,
  type FailureInfo,
  type NodeProgress,
  type NodeState,
  type NodeStep,
  type PauseRequest,
  type Phase,
  type Stage,
  type UpgradeInput,
  type UpgradeResult,
  type UpgradeState,
} from '../shared/types';
import { HopError, atLeast, computeHops, isVersion, lowestVersion, windowSize } from '../shared/versions';
import { childFailureInfo, describeActivityError } from './failures';
import { upgradeNode, type NodeUpgradeResult } from './node';
import { activityOptions } from './options';
import { firstControlPlaneSteps, nodeSteps, workerSteps } from './steps';

type NodeOutcome = 'ok' | 'skipped' | 'aborted';

const FINISHED: Stage[] = ['done', 'aborted', 'failed'];

function now(): string {
  return new Date().toISOString();
}

function failure(code: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: code, message, nonRetryable: true });
}

/** Thrown inside the run to stop it with phase `failed`. */
class RunFailed extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** Thrown inside the run when an abort finished the work. */
class RunAborted extends Error {}

export async function upgradeCluster(input: UpgradeInput): Promise<UpgradeResult> {
  const bad = inputProblem(input);
  if (bad) throw failure(ErrorType.InputRefused, bad);
  return new UpgradeRun(input).execute();
}

/**
 * Refusals before anything runs (issue 13.1): an input too malformed to build a run from, and a
 * `carried` state from anyone but this workflow's own continue-as-new. The inventory itself is
 * checked by the worker (activity checkUpgradeInput and every activity's boundary).
 */
function inputProblem(input: UpgradeInput): string | undefined {
  const inv = input?.inventory as Partial<Inventory> | undefined;
  if (
    !inv ||
    typeof inv.metadata?.name !== 'string' ||
    !Array.isArray(inv.nodes) ||
    inv.nodes.some((n) => !n || typeof n.name !== 'string') ||
    typeof input.target !== 'string'
  ) {
    return 'the workflow input is not {inventory, target, options?}: start the upgrade with `kupgrade start -f cluster.yaml --to VERSION`';
  }
  const c = input.carried;
  if (c === undefined) return undefined;
  const info = workflowInfo();
  if (!info.continuedFromExecutionRunId || info.cronSchedule || info.attempt > 1) {
    return "the workflow input carries state (`carried`), which only this workflow's own continue-as-new may pass: a first run starts from preflight; remove `carried` and start with `kupgrade start`";
  }
  const names = inv.nodes.map((n) => n.name).join(',');
  if (
    !c ||
    typeof c !== 'object' ||
    c.cluster !== inv.metadata.name ||
    !Array.isArray(c.nodes) ||
    c.nodes.map((n) => n?.name).join(',') !== names ||
    typeof c.generation !== 'number' ||
    c.generation < 1
  ) {
    return `the carried state does not belong to the inventory of cluster "${inv.metadata.name}"`;
  }
  return undefined;
}

/** Longest `by` and `comment` of an Update or Signal, and the largest payload (JSON characters). */
export const MESSAGE_LIMITS = { by: 128, comment: 1024, payload: 4096 } as const;

/** Size and shape caps of a decision payload; a refusal message, or undefined. */
function payloadProblem(req: unknown, keys: readonly string[]): string | undefined {
  if (req === undefined || req === null) return undefined;
  if (typeof req !== 'object' || Array.isArray(req)) return 'the request is not a mapping';
  const size = JSON.stringify(req).length;
  if (size > MESSAGE_LIMITS.payload)
    return `the request is ${size} characters; at most ${MESSAGE_LIMITS.payload} are accepted (shorten the comment)`;
  const unknown = Object.keys(req).filter((k) => !keys.includes(k));
  if (unknown.length) return `unknown field(s) ${unknown.join(', ')}; fields are ${keys.join(', ')}`;
  const r = req as { by?: unknown; comment?: unknown };
  if (r.by !== undefined && (typeof r.by !== 'string' || r.by.length > MESSAGE_LIMITS.by))
    return `by must be a name of at most ${MESSAGE_LIMITS.by} characters`;
  if (r.comment !== undefined && (typeof r.comment !== 'string' || r.comment.length > MESSAGE_LIMITS.comment))
    return `comment must be a text of at most ${MESSAGE_LIMITS.comment} characters`;
  return undefined;
}

class UpgradeRun {
  readonly inventory: Inventory;
  readonly s: UpgradeState;
  readonly nodes = new Map<string, NodeState>();
  private abortRequested = false;
  private readonly decisions = new Map<string, DecisionAction>();
  private readonly scopes = new Map<string, CancellationScope>();
  private childrenStarted = 0;
  private readonly readActs = proxyActivities<UpgradeActivities>(activityOptions('cluster-read'));
  private readonly backupActs = proxyActivities<UpgradeActivities>(activityOptions('backup'));
  private readonly quickActs = proxyActivities<UpgradeActivities>(activityOptions('quick'));

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
      nodes: input.inventory.nodes.map((n) => ({
        name: n.name,
        role: n.role,
        status: 'pending',
        attempts: 0,
        cordonedBefore: false,
        cordonedByRun: false,
      })),
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
    this.installHandlers();
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  private installHandlers(): void {
    setHandler(stateQuery, () => this.s);

    setHandler(approveUpdate, (req) => this.approve(req, 'update'), {
      validator: (req) => this.validateApprove(req),
      description: 'Approve the open gate: {gate, by?, comment?}',
    });
    setHandler(approveSignal, (req) => {
      this.viaSignal(
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
          this.validateApprove(req);
        },
        () => this.approve(req, 'signal'),
      );
    });

    setHandler(decideUpdate, (req) => this.decide(req, 'update'), {
      validator: (req) => this.validateDecide(req),
      description:
        'Decide on a blocked run: {action: retry|skip|abort|accept (a failed verify, comment required), node?, by?, comment?}',
    });
    setHandler(decideSignal, (req) => {
      this.viaSignal(
        'decideSignal',
        req,
        () => this.validateDecide(req),
        () => this.decide(req, 'signal'),
      );
    });

    setHandler(pauseUpdate, (req) => this.setPaused(true, req, 'update'), {
      validator: (req: PauseRequest) => this.validatePause(req),
      description: 'Pause between nodes: {by?, comment?}',
    });
    setHandler(resumeUpdate, (req) => this.setPaused(false, req, 'update'), {
      validator: (req: PauseRequest) => this.validatePause(req),
      description: 'Resume after a pause: {by?, comment?}',
    });
    setHandler(pauseSignal, (req) => {
      this.viaSignal(
        'pauseSignal',
        req,
        () => this.validateRunning(),
        () => this.setPaused(true, req, 'signal'),
      );
    });
    setHandler(resumeSignal, (req) => {
      this.viaSignal(
        'resumeSignal',
        req,
        () => this.validateRunning(),
        () => this.setPaused(false, req, 'signal'),
      );
    });

    setHandler(nodeProgressSignal, (p) => this.onProgress(p));
  }

  private viaSignal(name: string, payload: unknown, validate: () => void, apply: () => void): void {
    const capped = patched('signal-payload-caps');
    try {
      if (capped) {
        const bad = payloadProblem(payload, name === 'approveSignal' ? APPROVE_KEYS : DECIDE_KEYS);
        if (bad) throw failure(ErrorType.InvalidInput, bad);
      }
      validate();
    } catch (err) {
      const small = !capped || JSON.stringify(payload ?? null).length <= MESSAGE_LIMITS.payload;
      this.s.ignoredSignals.push({
        name,
        payload: small ? (payload ?? null) : '(too large; not kept)',
        reason: err instanceof Error ? err.message : String(err),
        at: now(),
      });
      this.refresh();
      return;
    }
    apply();
  }

  private validatePause(req: PauseRequest | undefined): void {
    this.validateRunning();
    const bad = payloadProblem(req, DECIDE_KEYS);
    if (bad) throw failure(ErrorType.InvalidInput, `refused: ${bad}`);
  }

  private validateRunning(): void {
    if (FINISHED.includes(this.s.stage) || this.abortRequested) {
      throw failure(
        ErrorType.RunFinished,
        `the upgrade of ${this.s.cluster} is ${this.abortRequested ? 'aborting' : this.s.stage}`,
      );
    }
  }

  private validateApprove(req: ApproveRequest | undefined): void {
    this.validateRunning();
    const bad = payloadProblem(req, APPROVE_KEYS);
    if (bad) throw failure(ErrorType.InvalidInput, `approval refused: ${bad}`);
    if (!req || typeof req.gate !== 'string' || !isGateName(req.gate)) {
      throw failure(
        ErrorType.InvalidInput,
        `unknown gate ${JSON.stringify(req?.gate)}; gates are preflight, control-plane, cni, workers, canary`,
      );
    }
    const open = this.s.gate;
    if (!open)
      throw failure(
        ErrorType.GateNotOpen,
        `gate ${req.gate} is not open: no gate is open (phase ${this.s.phase})`,
      );
    if (open.name !== req.gate) {
      throw failure(ErrorType.GateNotOpen, `gate ${req.gate} is not open; the open gate is ${open.name}`);
    }
    this.checkApprover(req);
  }

  /** The cluster's approval policy (from the worker config, via checkUpgradeInput). */
  private checkApprover(req: ApproveRequest): void {
    const p = this.s.approvalPolicy;
    if (!p) return;
    const by = typeof req.by === 'string' ? req.by.trim() : '';
    const cluster = this.s.cluster;
    if (p.approvers && !p.approvers.includes(by)) {
      throw failure(
        ErrorType.ApprovalRefused,
        `${by ? `"${by}"` : 'an approval without an identity'} may not approve gates of ${cluster}: the approvers are ${p.approvers.join(', ')} (the worker config's clusters.${cluster}.approvals); ask one of them to run \`kupgrade approve ${cluster}\``,
      );
    }
    const starter = this.input.options?.startedBy;
    if (p.distinctFromStarter && (!by || by === starter)) {
      throw failure(
        ErrorType.ApprovalRefused,
        `"${by}" started this upgrade of ${cluster} and may not approve it (approvals.distinctFromStarter): another approver must approve`,
      );
    }
    if (p.requireComment && !(typeof req.comment === 'string' && req.comment.trim())) {
      throw failure(
        ErrorType.ApprovalRefused,
        `an approval of ${cluster} needs a comment (approvals.requireComment): add --comment "<change ticket or reason>"`,
      );
    }
  }

  private approve(req: ApproveRequest, via: 'update' | 'signal'): ApprovalRecord {
    const open = this.s.gate;
    const record: ApprovalRecord = { gate: req.gate, by: req.by || 'unknown', at: now(), via };
    if (open?.hop !== undefined) record.hop = open.hop;
    if (req.comment) record.comment = req.comment;
    this.s.approvals.push(record);
    this.s.gate = undefined;
    this.refresh();
    return record;
  }

  /** The blocked failures a decision applies to. */
  private targetsOf(req: DecideRequest): FailureInfo[] {
    const blocked = this.s.blocked.filter((b) => !this.decisions.has(keyOf(b)));
    if (req.node) return blocked.filter((b) => b.node === req.node);
    if (req.action === 'retry') return blocked;
    return blocked.length === 1 ? blocked : [];
  }

  private validateDecide(req: DecideRequest | undefined): void {
    this.validateRunning();
    const bad = payloadProblem(req, DECIDE_KEYS);
    if (bad) throw failure(ErrorType.InvalidInput, `refused: ${bad}`);
    if (!req || !isDecisionAction(req.action)) {
      throw failure(
        ErrorType.InvalidInput,
        `unknown action ${JSON.stringify(req?.action)}; actions are retry, skip, abort, accept`,
      );
    }
    if (req.action === 'abort') return;
    const pending = this.s.blocked.filter((b) => !this.decisions.has(keyOf(b)));
    if (pending.length === 0)
      throw failure(
        ErrorType.NothingBlocked,
        `nothing is blocked in ${this.s.cluster}; nothing to ${req.action}`,
      );
    const targets = this.targetsOf(req);
    if (targets.length === 0) {
      throw failure(
        ErrorType.NothingBlocked,
        req.node
          ? `node ${req.node} is not blocked; blocked: ${pending.map(keyOf).join(', ')}`
          : `several nodes are blocked (${pending.map(keyOf).join(', ')}); name one with node`,
      );
    }
    if (req.action === 'accept') {
      if (targets.some((t) => t.step !== 'verify'))
        throw failure(
          ErrorType.InvalidInput,
          `only a failed verify can be accepted; blocked: ${targets.map(keyOf).join(', ')} (retry, skip or abort)`,
        );
      if (typeof req.comment !== 'string' || !req.comment.trim())
        throw failure(
          ErrorType.InvalidInput,
          'accept needs a comment saying why the cluster is accepted as it is',
        );
    }
    if (req.action === 'skip') {
      for (const t of targets) {
        if (t.role !== 'worker') {
          throw failure(
            ErrorType.SkipRefused,
            `${t.node ?? t.step} cannot be skipped: only workers can be skipped (a control plane must finish the hop before any worker starts it); retry or abort`,
          );
        }
      }
    }
  }

  private decide(req: DecideRequest, via: 'update' | 'signal'): DecisionRecord {
    const record: DecisionRecord = { action: req.action, by: req.by || 'unknown', at: now(), via };
    if (req.node) record.node = req.node;
    if (req.comment) record.comment = req.comment;
    this.s.decisions.push(record);
    if (req.action === 'abort') {
      this.abortRequested = true;
      for (const scope of this.scopes.values()) scope.cancel();
    } else {
      for (const t of this.targetsOf(req)) this.decisions.set(keyOf(t), req.action);
    }
    this.refresh();
    return record;
  }

  private setPaused(
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
    this.s.decisions.push(record);
    this.s.paused = paused;
    this.refresh();
    return record;
  }

  private onProgress(p: NodeProgress): void {
    const n = this.nodes.get(p.node);
    if (!n || n.hop !== p.hop || n.attempts !== p.attempt) return; // stale report of an older attempt
    n.step = p.step;
    // The drain found someone else's cordon (reported before the child ends).
    if (p.step === 'drain' && p.event === 'finished' && p.cordonedByRun === false) {
      this.noteDrain(n, p.hop, true);
      this.refresh();
      return;
    }
    // Conservative: from the moment a drain starts, the run owns the cordon (unless it was there
    // before, or this hop's first drain found someone else's).
    if (p.step === 'drain' && !n.cordonedBefore && !this.cordonedByOther(n, p.hop)) n.cordonedByRun = true;
    this.refresh();
  }

  // -------------------------------------------------------------------------------------------
  // State helpers

  /** This hop's first drain found the node cordoned by someone else (after preflight). */
  private cordonedByOther(n: NodeState, hop: number): boolean {
    return n.firstDrain?.hop === hop && n.firstDrain.wasCordoned;
  }

  /**
   * Records what the first drain of hop i found. A node someone cordoned after preflight is theirs:
   * the run drops its claim (taken when the drain started) and never uncordons it.
   */
  private noteDrain(n: NodeState, i: number, wasCordoned: boolean | undefined): void {
    if (wasCordoned === undefined || n.firstDrain?.hop === i || n.cordonedBefore) return;
    if (wasCordoned && !patched('keep-operator-cordon')) return;
    n.firstDrain = { hop: i, wasCordoned };
    if (wasCordoned) n.cordonedByRun = false;
  }

  private refresh(): void {
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

  private stage(stage: Stage, hop?: number): void {
    const t = now();
    const last = this.s.timings.phases[this.s.timings.phases.length - 1];
    if (last && !last.finishedAt) last.finishedAt = t;
    if (!FINISHED.includes(stage))
      this.s.timings.phases.push({ phase: stage, ...(hop !== undefined ? { hop } : {}), startedAt: t });
    else this.s.timings.finishedAt = t;
    this.s.stage = stage;
    this.refresh();
  }

  private node(name: string): NodeState {
    const n = this.nodes.get(name);
    if (!n) throw failure(ErrorType.InvalidInput, `unknown node ${name}`);
    return n;
  }

  private checkAbort(): void {
    if (this.abortRequested) throw new RunAborted();
  }

  private async waitUnpaused(): Promise<void> {
    await condition(() => this.abortRequested || !this.s.paused);
    this.checkAbort();
  }

  /** Block the run on a failure until an operator decides; returns the decision. */
  private async block(info: FailureInfo): Promise<DecisionAction> {
    const key = keyOf(info);
    this.s.blocked.push(info);
    this.s.failures.push(info);
    this.refresh();
    await condition(() => this.abortRequested || this.decisions.has(key));
    const action: DecisionAction = this.abortRequested ? 'abort' : (this.decisions.get(key) ?? 'abort');
    this.decisions.delete(key);
    info.resolution = action;
    this.s.blocked = this.s.blocked.filter((b) => b !== info);
    this.refresh();
    return action;
  }

  /** Waits at a gate (unless disabled, already approved in this run, or auto-approved). */
  private async gate(name: GateName, hop?: number): Promise<void> {
    if (!this.s.gates.includes(name)) return;
    const approved = (): boolean => this.s.approvals.some((a) => a.gate === name && a.hop === hop);
    if (approved()) return;
    if (this.s.autoApprove) {
      this.s.approvals.push({
        gate: name,
        ...(hop !== undefined ? { hop } : {}),
        by: 'auto-approve',
        at: now(),
        via: 'auto',
      });
      this.refresh();
      return;
    }
    this.s.gate = { name, ...(hop !== undefined ? { hop } : {}), openedAt: now() };
    this.refresh();
    await condition(() => this.abortRequested || approved());
    this.s.gate = undefined;
    this.refresh();
    this.checkAbort();
  }

  // -------------------------------------------------------------------------------------------
  // Run

  async execute(): Promise<UpgradeResult> {
    const s = this.s;
    if (!this.input.carried) {
      upsertSearchAttributes([
        { key: SA_CLUSTER, value: s.cluster },
        { key: SA_TARGET, value: this.input.target },
        { key: SA_PHASE, value: s.phase },
      ]);
    }
    this.refresh();
    try {
      await this.run();
      this.stage('done');
    } catch (err) {
      if (err instanceof RunFailed) {
        s.message = err.message;
        this.stage('failed');
        await condition(allHandlersFinished);
        throw ApplicationFailure.create({ type: err.type, message: err.message, nonRetryable: true });
      }
      if (err instanceof RunAborted || isCancellation(err)) {
        await CancellationScope.nonCancellable(() => this.finishAbort());
        if (isCancellation(err)) throw err;
      } else {
        throw err;
      }
    }
    await condition(allHandlersFinished);
    return { phase: s.stage === 'done' ? 'done' : 'aborted', state: s };
  }

  private async run(): Promise<void> {
    const s = this.s;
    if (patched('worker-checks-input')) await this.checkInput();
    if (s.hops.length === 0) {
      const proceed = await this.preflight();
      if (!proceed) return;
    }
    if (!s.backup) {
      this.stage('backup');
      const apiNode = controlPlanes(this.inventory)[0];
      const label = `kupgrade-${s.timings.startedAt.replace(/[-:]/g, '').replace(/\..*$/, '')}`;
      s.backup = await this.clusterStep('backup', () =>
        this.backupActs.backupControlPlane.executeWithOptions({ summary: `backup ${apiNode.name}` }, [
          { cluster: clusterContext(this.inventory), node: apiNode, label },
        ]),
      );
      this.refresh();
    }
    for (let i = s.hopIndex ?? 0; i < s.hops.length; i++) {
      s.hopIndex = i;
      await this.controlPlaneHop(i);
      await this.workerHop(i);
      if (i < s.hops.length - 1 && this.shouldContinueAsNew()) {
        s.hopIndex = i + 1;
        await this.continueAsNew();
      }
    }
    this.stage('verify');
    const last = s.hops[s.hops.length - 1];
    const exclude = s.nodes.filter((n) => n.status === 'skipped').map((n) => n.name);
    await this.clusterStep(
      'verify',
      async () => {
        const report = await this.readActs.verifyCluster.executeWithOptions(
          { summary: `verify ${s.cluster} at ${last.version}` },
          [
            {
              inventory: this.inventory,
              version: last.version,
              exclude,
              failedBefore: s.failedBefore ?? [],
              since: s.timings.startedAt,
            },
          ],
        );
        if (!report.ok) throw failure('VerifyFailed', report.problems.join('; ') || 'verification failed');
        return report;
      },
      (by) => {
        s.message = `verified with problems, accepted by ${by.by}: ${by.comment ?? ''}`;
      },
    );
  }

  /**
   * The worker checks the input against its own config before anything reaches a node (issue
   * 13.1); a refusal fails the run. The cluster's approval policy comes back from there.
   */
  private async checkInput(): Promise<void> {
    try {
      const r = await this.quickActs.checkUpgradeInput.executeWithOptions(
        { summary: `check the input of ${this.s.cluster}` },
        [{ inventory: this.inventory, target: this.input.target, options: this.input.options ?? {} }],
      );
      if (r.approvals) this.s.approvalPolicy = r.approvals;
      else delete this.s.approvalPolicy;
    } catch (err) {
      if (isCancellation(err)) throw err;
      const d = describeActivityError(err);
      throw new RunFailed(d.type === 'Unknown' ? ErrorType.InputRefused : d.type, d.message);
    }
  }

  /** Preflight, hops, target resolution; returns false when there is nothing more to do (dry run, up to date). */
  private async preflight(): Promise<boolean> {
    const s = this.s;
    const options = this.input.options ?? {};
    // Input checks (the inventory itself was validated by src/inventory before the start).
    const gates = options.gates ?? this.inventory.rollout?.gates ?? DEFAULT_GATES;
    const bad = gates.filter((g) => !isGateName(g));
    if (bad.length) throw new RunFailed(ErrorType.InvalidInput, `unknown gate(s) ${bad.join(', ')}`);
    s.gates = [...gates];
    const workers = workerNodes(this.inventory);
    try {
      s.window = windowSize(
        options.maxUnavailable ?? this.inventory.rollout?.maxUnavailable ?? 1,
        workers.length,
      );
    } catch (err) {
      throw new RunFailed(ErrorType.InvalidInput, err instanceof Error ? err.message : String(err));
    }
    if (controlPlanes(this.inventory).length === 0)
      throw new RunFailed(ErrorType.InvalidInput, 'the inventory has no control plane');
    if (!isVersion(this.input.target))
      throw new RunFailed(ErrorType.HopRefused, `"${this.input.target}" is not a Kubernetes version`);

    const cluster = clusterContext(this.inventory);
    let hops!: ResolvedHop[]; // assigned by the loop below before it breaks
    // Read-only so far: an infrastructure failure (a node unreachable for longer than the retries,
    // a worker lost again and again) blocks for a decision instead of failing the run.
    for (let attempt = 1; ; attempt++) {
      try {
        const state = await this.readActs.getClusterState.executeWithOptions(
          { summary: `read versions of ${s.cluster}` },
          [{ inventory: this.inventory }],
        );
        s.apiServerVersion = state.apiServerVersion;
        if (state.failedPods) s.failedBefore = state.failedPods;
        for (const o of state.nodes) {
          const n = this.nodes.get(o.name);
          if (!n) continue;
          n.version = o.kubeletVersion;
          n.cordonedBefore = o.unschedulable;
        }
        const versions = [state.apiServerVersion, ...state.nodes.map((n) => n.kubeletVersion)].filter(
          isVersion,
        );
        s.from = lowestVersion(versions);
        const requests = computeHops(versions, this.input.target);
        if (requests.length === 0) {
          s.message = `${s.cluster} already runs ${this.input.target}`;
          for (const n of s.nodes) n.status = 'up-to-date';
          return false;
        }
        hops = await this.readActs.resolveTarget.executeWithOptions(
          { summary: `resolve ${requests.map((r) => r.minor).join(', ')}` },
          [{ cluster, hops: requests }],
        );
        s.hops = hops;
        s.target = hops[hops.length - 1].version;
        upsertSearchAttributes([{ key: SA_TARGET, value: s.target }]);
        const report = await this.readActs.preflight.executeWithOptions(
          { summary: `preflight ${s.cluster}` },
          [
            {
              inventory: this.inventory,
              hops,
              ...(options.allowUnlisted === true ? { allowUnlisted: true } : {}),
            },
          ],
        );
        s.preflight = report;
        this.refresh();
        if (!report.ok) {
          const failed = report.checks.filter((c) => c.status === 'fail');
          throw new RunFailed(
            ErrorType.PreflightFailed,
            `preflight failed: ${failed.map((c) => `${c.node ? `${c.node}: ` : ''}${c.name}: ${c.message}`).join('; ')}`,
          );
        }
      } catch (err) {
        if (err instanceof RunFailed || isCancellation(err)) throw err;
        if (err instanceof HopError) throw new RunFailed(ErrorType.HopRefused, err.message);
        const d = describeActivityError(err);
        const info: FailureInfo = {
          step: 'preflight',
          type: d.type,
          message: d.message,
          hints: d.details.hints ?? [],
          at: now(),
          attempt,
        };
        if (d.details.node) info.node = d.details.node;
        if (d.details.outputTail) info.outputTail = d.details.outputTail;
        if (NON_RETRYABLE_ERROR_TYPES.includes(d.type)) {
          // a semantic refusal (host key, version, policy): nothing to wait for
          s.failures.push(info);
          throw new RunFailed(
            d.type === 'Unknown' ? ErrorType.PreflightFailed : d.type,
            `preflight: ${d.message}`,
          );
        }
        info.hints = [
          ...info.hints,
          'Nothing has changed on any node yet. Fix the cause, then `kupgrade retry <cluster>`, or `kupgrade abort <cluster>`.',
        ];
        const action = await this.block(info);
        if (action === 'abort') throw new RunAborted();
        continue;
      }
      break;
    }
    const finalVersion = hops[hops.length - 1].version;
    for (const n of s.nodes)
      if (n.version && isVersion(n.version) && atLeast(n.version, finalVersion)) n.status = 'up-to-date';
    if (s.dryRun) {
      s.message = `dry run: ${hops.length} hop(s) to ${finalVersion}; nothing changed`;
      return false;
    }
    await this.gate('preflight');
    return true;
  }

  /** A cluster-level step (backup, verify) that blocks on failure until retry or abort. */
  private async clusterStep<T>(
    step: 'backup' | 'verify',
    fn: () => Promise<T>,
    /** verify only: a person accepted the failure (the decision names who and why). */
    onAccept?: (by: DecisionRecord) => void,
  ): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      this.checkAbort();
      try {
        return await fn();
      } catch (err) {
        if (isCancellation(err)) throw err;
        const d = describeActivityError(err);
        const info: FailureInfo = {
          step,
          type: d.type,
          message: d.message,
          hints: [
            ...(d.details.hints ?? []),
            onAccept
              ? 'Fix the cause, then `kupgrade retry <cluster>`; or take the cluster as it is: `kupgrade accept <cluster> --comment WHY` (the run ends done).'
              : 'Fix the cause, then `kupgrade retry <cluster>`, or `kupgrade abort <cluster>`.',
          ],
          at: now(),
          attempt,
        };
        if (d.details.node) info.node = d.details.node;
        if (d.details.outputTail) info.outputTail = d.details.outputTail;
        if (d.details.command) info.command = d.details.command;
        const action = await this.block(info);
        if (action === 'abort') throw new RunAborted();
        if (action === 'accept' && onAccept) {
          const by = [...this.s.decisions].reverse().find((x) => x.action === 'accept');
          if (by) onAccept(by);
          this.refresh();
          return undefined;
        }
      }
    }
  }

  private doneWithHop(n: NodeState, i: number): boolean {
    if (n.status === 'skipped' || n.status === 'up-to-date') return true;
    return n.hop !== undefined && n.hop >= i && (n.status === 'hop-done' || n.status === 'done');
  }

  /** The node needs work in hop i (not done, skipped, or already at the hop's version). */
  private needsHop(n: NodeState, i: number): boolean {
    if (this.doneWithHop(n, i)) return false;
    const hop = this.s.hops[i];
    if (n.version && isVersion(n.version) && atLeast(n.version, hop.version)) {
      this.finishNode(n, i);
      return false;
    }
    return true;
  }

  private finishNode(n: NodeState, i: number): void {
    n.hop = i;
    n.status = i === this.s.hops.length - 1 ? 'done' : 'hop-done';
    n.finishedAt = now();
    n.error = undefined;
    this.refresh();
  }

  private async controlPlaneHop(i: number): Promise<void> {
    const s = this.s;
    const hop = s.hops[i];
    this.stage('control-plane', i);
    const cps = controlPlanes(this.inventory);
    const applyNeeded = i > 0 || !s.apiServerVersion || !atLeast(s.apiServerVersion, hop.version);
    const todo = cps.filter((cp, k) => {
      const n = this.node(cp.name);
      return !this.doneWithHop(n, i) && ((k === 0 && applyNeeded) || this.needsHop(n, i));
    });
    if (todo.length === 0) return;
    await this.gate('control-plane', i);
    for (const [k, cp] of cps.entries()) {
      const n = this.node(cp.name);
      if (!todo.includes(cp)) continue;
      await this.waitUnpaused();
      let outcome: NodeOutcome;
      if (k === 0) {
        const { before, after } = firstControlPlaneSteps(this.inventory, {
          cordonedBefore: n.cordonedBefore,
          rehearsal: patched('kubeadm-rehearsal'),
        });
        outcome = await this.runNode(cp, i, before, false, 'apply');
        if (outcome === 'ok') {
          await this.gate('cni', i);
          await this.waitUnpaused();
          outcome = await this.runNode(cp, i, after, true, 'kubelet');
        }
      } else {
        outcome = await this.runNode(
          cp,
          i,
          nodeSteps(this.inventory, cp, { cordonedBefore: n.cordonedBefore }),
          true,
        );
      }
      if (outcome === 'aborted') throw new RunAborted();
    }
  }

  private async workerHop(i: number): Promise<void> {
    const s = this.s;
    this.stage('workers', i);
    let todo = workerNodes(this.inventory).filter((w) => this.needsHop(this.node(w.name), i));
    if (todo.length === 0) return;
    await this.gate('workers', i);
    const canaryPending =
      s.gates.includes('canary') && !s.approvals.some((a) => a.gate === 'canary' && a.hop === i);
    if (canaryPending && todo.length > 1) {
      await this.waitUnpaused();
      const first = todo[0];
      const outcome = await this.runNode(
        first,
        i,
        nodeSteps(this.inventory, first, this.stepOpts(first)),
        true,
      );
      if (outcome === 'aborted') throw new RunAborted();
      todo = todo.slice(1);
      await this.gate('canary', i);
    }
    const inflight = new Map<string, Promise<NodeOutcome>>();
    let failed: { err: unknown } | undefined;
    // Never leave a rejected promise unobserved (that fails the workflow task): keep the first
    // error and rethrow it below; a cancellation of the run surfaces through the waits above.
    const observe = (p: Promise<NodeOutcome>): Promise<NodeOutcome> =>
      p.catch((err: unknown): NodeOutcome => {
        failed ??= { err };
        return 'aborted';
      });
    // The steps before the drain leave a worker schedulable: they run for the next window's worth
    // of workers while the window drains, so that only drain → uncordon is on the critical path.
    const ahead = this.inventory.rollout.prepareAhead !== false && patched('prepare-workers-ahead');
    const prepared = new Map<string, Promise<NodeOutcome>>();
    const prepare = (w: InventoryNode): Promise<NodeOutcome> => {
      let p = prepared.get(w.name);
      if (!p) {
        const n = this.node(w.name);
        // a run continued as new keeps what the run before it prepared
        p = observe(
          n.preparedHop !== i
            ? this.runNode(
                w,
                i,
                workerSteps(this.inventory, this.stepOpts(w)).prepare,
                false,
                'prepare',
              ).then((o) => {
                if (o === 'ok') {
                  n.preparedHop = i;
                  // its turn may not have come yet: until then it waits, schedulable
                  if (n.status === 'running') n.status = 'prepared';
                  this.refresh();
                }
                return o;
              })
            : Promise.resolve('ok'),
        );
        prepared.set(w.name, p);
      }
      return p;
    };
    for (let k = 0; k < todo.length; k++) {
      const w = todo[k];
      if (failed) break;
      await condition(
        () =>
          this.abortRequested ||
          failed !== undefined ||
          this.wantsContinueAsNew() ||
          (!s.paused && s.blocked.length === 0 && inflight.size < s.window),
      );
      this.checkAbort();
      if (failed) break;
      if (this.wantsContinueAsNew()) {
        // Quiet point: let the running nodes finish, then continue as new with the state.
        await Promise.all([...inflight.values(), ...prepared.values()]);
        this.checkAbort();
        await this.continueAsNew();
      }
      let p: Promise<NodeOutcome>;
      if (ahead) {
        for (const next of todo.slice(k, k + 1 + s.window)) void prepare(next);
        const { kubelet } = workerSteps(this.inventory, this.stepOpts(w));
        p = prepare(w).then((o) => (o === 'ok' ? this.runNode(w, i, kubelet, true, 'kubelet', true) : o));
      } else {
        p = this.runNode(w, i, nodeSteps(this.inventory, w, this.stepOpts(w)), true);
      }
      const slot = observe(p).finally(() => inflight.delete(w.name));
      inflight.set(w.name, slot);
    }
    const outcomes = await Promise.all(inflight.values());
    // workers prepared ahead whose turn never came (a failure or an abort stopped the loop)
    await Promise.all(prepared.values());
    if (failed) throw failed.err;
    if (outcomes.includes('aborted') || this.abortRequested) throw new RunAborted();
  }

  /** Per-step progress signals for small clusters; only the drain for large ones (parent history). */
  private reportAllSteps(): boolean {
    const p = this.input.options?.progress;
    return p ? p === 'steps' : this.inventory.nodes.length <= 50;
  }

  private stepOpts(node: InventoryNode): { cordonedBefore: boolean } {
    return { cordonedBefore: this.node(node.name).cordonedBefore };
  }

  private wantsContinueAsNew(): boolean {
    const every = this.input.options?.continueAsNewAfterNodes;
    return (
      (every !== undefined && every > 0 && this.childrenStarted >= every) ||
      workflowInfo().continueAsNewSuggested
    );
  }

  private shouldContinueAsNew(): boolean {
    return this.wantsContinueAsNew();
  }

  private async continueAsNew(): Promise<never> {
    this.s.generation += 1;
    await condition(allHandlersFinished);
    return continueAsNew<typeof upgradeCluster>({ ...this.input, carried: this.s });
  }

  /**
   * One node through `steps` as child workflows; on failure, blocks until a decision: retry starts a
   * new child from the failed step, skip leaves the node (uncordoned if this run cordoned it).
   */
  private async runNode(
    node: InventoryNode,
    i: number,
    steps: NodeStep[],
    finishes: boolean,
    part = '',
    /** The second part of the same try (a prepared worker's drain → uncordon): same attempt. */
    continuing = false,
  ): Promise<NodeOutcome> {
    const s = this.s;
    const n = this.node(node.name);
    const hop = s.hops[i];
    let todo = steps;
    let sameTry = continuing && n.attempts > 0;
    for (;;) {
      if (this.abortRequested) {
        n.status = 'aborted';
        return 'aborted';
      }
      if (!sameTry) n.attempts += 1;
      sameTry = false;
      if (n.hop !== i) {
        n.startedAt = now();
        n.finishedAt = undefined;
      }
      n.hop = i;
      n.status = 'running';
      n.step = todo[0];
      n.error = undefined;
      this.childrenStarted += 1;
      // A large rollout's child that starts at the drain does not report it: the run owns the
      // cordon from the start of that child (ensureUncordoned checks first, so an abort before
      // the cordon changes nothing).
      const claimsCordon =
        todo[0] === 'drain' && !this.reportAllSteps() && patched('drain-child-claims-cordon');
      if (claimsCordon && !n.cordonedBefore && !this.cordonedByOther(n, i)) n.cordonedByRun = true;
      this.refresh();
      const scope = new CancellationScope();
      this.scopes.set(node.name, scope);
      try {
        const result: NodeUpgradeResult = await scope.run(() =>
          executeChild(upgradeNode, {
            workflowId: nodeWorkflowId(workflowInfo().workflowId, node.name, i, n.attempts, part),
            staticSummary: `${node.role === 'control-plane' ? 'control plane' : 'worker'} ${node.name} → ${hop.version}${part ? ` (${part})` : ''}, attempt ${n.attempts}`,
            args: [
              {
                parentId: workflowInfo().workflowId,
                cluster: clusterContext(this.inventory),
                node,
                hop,
                steps: todo,
                attempt: n.attempts,
                ...(s.runKey ? { run: s.runKey } : {}),
                ...(n.firstDrain?.hop === i ? { firstDrainWasCordoned: n.firstDrain.wasCordoned } : {}),
                ...(this.reportAllSteps()
                  ? {}
                  : claimsCordon
                    ? { reportSteps: [], reportDrain: false }
                    : { reportSteps: ['drain' as const] }),
              },
            ],
          }),
        );
        if (result.cordonedByRun !== undefined) this.noteDrain(n, i, !result.cordonedByRun);
        if (result.cordonedByRun && !n.cordonedBefore && !this.cordonedByOther(n, i)) n.cordonedByRun = true;
        if (result.uncordoned) n.cordonedByRun = false;
        if (result.version) n.version = result.version;
        const rehearsal = result.steps.find((r) => r.step === 'rehearsal');
        if (rehearsal) {
          this.s.rehearsal = {
            node: node.name,
            hop: i,
            ...(rehearsal.detail ? { detail: rehearsal.detail } : {}),
            ...(rehearsal.outputTail ? { outputTail: rehearsal.outputTail } : {}),
          };
        }
        n.step = todo[todo.length - 1];
        if (finishes) this.finishNode(n, i);
        else this.refresh();
        return 'ok';
      } catch (err) {
        if (isCancellation(err) && !this.abortRequested) throw err; // the whole run is being cancelled
        if (this.abortRequested) {
          n.status = 'aborted';
          this.refresh();
          return 'aborted';
        }
        const info: FailureInfo = childFailureInfo(err) ?? this.genericFailure(err, node, n, i, todo[0]);
        if (node.role === 'control-plane' && s.backup) {
          const b = s.backup;
          info.hints = [
            ...info.hints,
            `kupgrade's backup on ${b.node}: ${b.kubernetesCopy}${b.etcdSnapshot ? ` and etcd snapshot ${b.etcdSnapshot}` : ''}.`,
          ];
        }
        const failedStep = info.step as NodeStep;
        this.noteDrain(n, i, info.wasCordoned);
        if (
          !n.cordonedBefore &&
          !this.cordonedByOther(n, i) &&
          NODE_STEPS.indexOf(failedStep) >= NODE_STEPS.indexOf('drain')
        )
          n.cordonedByRun = true;
        // A failed drain changed nothing on the node but the cordon: give the node back to the
        // scheduler while a person decides (retry drains it again; skip leaves it as it is).
        if (failedStep === 'drain' && n.cordonedByRun && patched('uncordon-after-failed-drain')) {
          await this.uncordonIfOurs(n, node);
          if (!n.cordonedByRun)
            info.hints = [`${node.name} was uncordoned while blocked: retry drains it again.`, ...info.hints];
        }
        n.error = info;
        n.status = 'blocked';
        const action = await this.block(info);
        if (action === 'abort') {
          n.status = 'aborted';
          this.refresh();
          return 'aborted';
        }
        if (action === 'skip') {
          await this.uncordonIfOurs(n, node);
          n.status = 'skipped';
          n.finishedAt = now();
          this.refresh();
          return 'skipped';
        }
        const idx = todo.indexOf(failedStep);
        if (idx > 0) todo = todo.slice(idx);
      } finally {
        this.scopes.delete(node.name);
      }
    }
  }

  private genericFailure(
    err: unknown,
    node: InventoryNode,
    n: NodeState,
    i: number,
    first: NodeStep,
  ): FailureInfo {
    const d = describeActivityError(err);
    return {
      node: node.name,
      role: node.role,
      step: n.step ?? first,
      hop: i,
      type: d.type,
      message: d.message,
      hints: d.details.hints ?? [],
      at: now(),
      attempt: n.attempts,
    };
  }

  private async uncordonIfOurs(n: NodeState, node: InventoryNode): Promise<void> {
    if (!n.cordonedByRun || n.cordonedBefore) return;
    try {
      await this.quickActs.ensureUncordoned.executeWithOptions({ summary: `uncordon ${node.name}` }, [
        { cluster: clusterContext(this.inventory), node },
      ]);
      n.cordonedByRun = false;
      // the next drain finds the node as it is then (someone may cordon it meanwhile)
      n.firstDrain = undefined;
    } catch (err) {
      const d = describeActivityError(err);
      this.s.failures.push({
        node: node.name,
        role: node.role,
        step: 'uncordon',
        type: d.type,
        message: `could not uncordon ${node.name}: ${d.message}`,
        hints: [`Run \`kubectl uncordon ${node.name}\` by hand.`],
        at: now(),
        attempt: n.attempts,
      });
    }
    this.refresh();
  }

  /** Abort: wait for cancelled children, then uncordon exactly the nodes this run cordoned. */
  private async finishAbort(): Promise<void> {
    this.abortRequested = true;
    for (const scope of this.scopes.values()) scope.cancel();
    await condition(() => this.scopes.size === 0);
    for (const n of this.s.nodes) {
      if (n.status === 'running' || n.status === 'blocked' || n.status === 'prepared') n.status = 'aborted';
      const node = this.inventory.nodes.find((x) => x.name === n.name);
      if (node) await this.uncordonIfOurs(n, node);
    }
    this.s.blocked = [];
    const by = [...this.s.decisions].reverse().find((d) => d.action === 'abort');
    this.s.message = `aborted${by ? ` by ${by.by}` : ''}`;
    this.stage('aborted');
  }
}

const APPROVE_KEYS = ['gate', 'by', 'comment'] as const;
const DECIDE_KEYS = ['action', 'node', 'by', 'comment'] as const;

function keyOf(f: FailureInfo): string {
  return f.node ?? f.step;
}
