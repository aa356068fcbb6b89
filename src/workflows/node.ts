/**
 * Child workflow: one node, one hop, one attempt. Runs the given steps in order, each an "ensure"
 * activity with a summary ("drain w-3"), reports each step to the parent (signal nodeProgress),
 * and fails with a NodeStepFailed ApplicationFailure carrying a FailureInfo when a step fails after
 * its retries. The parent decides what happens next (retry from the failed step, skip, abort).
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
} from '@temporalio/workflow';
import type { NodeHopInput, ResolvedHop, StepResult, UpgradeActivities } from '../shared/activities';
import { ErrorType, recoveryHints } from '../shared/errors';
import { manualUpgradeHints } from '../shared/manual-upgrade';
import type { ClusterContext, InventoryNode } from '../shared/inventory';
import { nodeProgressSignal } from '../shared/messages';
import type { FailureInfo, NodeProgress, NodeStep } from '../shared/types';
import { now } from './clock';
import { describeActivityError } from './failures';
import { activityOptions, type ActivityGroup } from './options';

export interface NodeUpgradeInput {
  /** Workflow ID of the parent, for progress signals (absent: no signals). */
  parentId?: string;
  cluster: ClusterContext;
  node: InventoryNode;
  hop: ResolvedHop;
  steps: NodeStep[];
  attempt: number;
  /** The run, for the completion markers (keyed by run and hop). */
  run?: string;
  /**
   * Steps whose start is signalled to the parent (default: every step). `drain` is always
   * reported: from then on the run owns the node's cordon. Large clusters report only `drain` to
   * keep the parent's history and workflow tasks small.
   */
  reportSteps?: NodeStep[];
  /**
   * false: the parent already owns the cordon (it started this child at the drain), so not even
   * the drain is reported; a large rollout saves a workflow task in the parent and in the child
   * per node.
   */
  reportDrain?: boolean;
  /**
   * What the first drain of this hop (in an earlier child) found: true, the node was already
   * cordoned (an operator's cordon made after preflight) and the uncordon step leaves it so; false,
   * this run cordoned it (a later drain finding the run's own cordon changes nothing). Absent: this
   * child's own drain decides.
   */
  firstDrainWasCordoned?: boolean;
}

export interface NodeStepRecord {
  step: NodeStep;
  changed: boolean;
  detail?: string;
  startedAt: string;
  finishedAt: string;
  /** The rehearsal's diff and dry-run lines, for the operator. */
  outputTail?: string;
}

export interface NodeUpgradeResult {
  node: string;
  hop: number;
  steps: NodeStepRecord[];
  /** kubelet version after wait-ready (when it ran). */
  version?: string;
  /** The drain step found the node schedulable (so this run cordoned it). */
  cordonedByRun?: boolean;
  /** The uncordon step ran. */
  uncordoned: boolean;
}

const STEP_GROUP: Record<NodeStep, ActivityGroup> = {
  repo: 'quick',
  'kubeadm-package': 'package',
  'upgrade-plan': 'read',
  rehearsal: 'kubeadm',
  images: 'package',
  'upgrade-apply': 'kubeadm',
  'upgrade-node': 'kubeadm',
  cni: 'kubeadm',
  drain: 'drain',
  'kubelet-packages': 'package',
  'kubelet-restart': 'quick',
  'wait-ready': 'ready',
  uncordon: 'quick',
};

/**
 * Steps that run a transaction detached on the node (src/ssh/detached.ts): an abort waits for the
 * activity to report its cancellation, which it does once the transaction has ended, so nothing
 * the abort does next (uncordon) overlaps a kubeadm upgrade or a package install.
 */
const TRANSACTION_STEPS: readonly NodeStep[] = [
  'repo',
  'kubeadm-package',
  'upgrade-apply',
  'upgrade-node',
  'cni',
  'kubelet-packages',
  'kubelet-restart',
];

const VERB: Record<NodeStep, string> = {
  repo: 'switch repo',
  'kubeadm-package': 'install kubeadm',
  'upgrade-plan': 'kubeadm upgrade plan',
  rehearsal: 'rehearse kubeadm upgrade (diff, apply --dry-run)',
  images: 'pull images',
  'upgrade-apply': 'kubeadm upgrade apply',
  'upgrade-node': 'kubeadm upgrade node',
  cni: 'CNI step',
  drain: 'drain',
  'kubelet-packages': 'install kubelet+kubectl',
  'kubelet-restart': 'restart kubelet',
  'wait-ready': 'wait Ready',
  uncordon: 'uncordon',
};

export function stepSummary(step: NodeStep, node: string, version?: string): string {
  const withVersion = step === 'drain' || step === 'uncordon' || !version ? '' : ` ${version}`;
  return `${VERB[step]} ${node}${withVersion}`;
}

export async function upgradeNode(input: NodeUpgradeInput): Promise<NodeUpgradeResult> {
  const { node, hop, cluster } = input;
  const acts = proxyActivities<UpgradeActivities>(activityOptions('quick'));
  const drainOpts = activityOptions('drain', cluster.inventory);
  const parent = input.parentId ? getExternalWorkflowHandle(input.parentId) : undefined;
  const result: NodeUpgradeResult = { node: node.name, hop: hop.index, steps: [], uncordoned: false };
  const hopInput: NodeHopInput = { cluster, node, hop, ...(input.run ? { run: input.run } : {}) };

  const report = async (p: Omit<NodeProgress, 'node' | 'hop' | 'attempt' | 'at'>): Promise<void> => {
    if (!parent) return;
    try {
      await parent.signal(nodeProgressSignal, {
        node: node.name,
        hop: hop.index,
        attempt: input.attempt,
        at: now(),
        ...p,
      });
    } catch {
      // The parent is gone (terminated/aborted): progress is best effort.
    }
  };

  const render = (current?: NodeStep): void => {
    const rows = input.steps.map((s) => {
      const done = result.steps.find((r) => r.step === s);
      const status = done ? (done.changed ? 'done' : 'already done') : s === current ? 'running' : 'pending';
      return `| ${s} | ${status} | ${done?.detail?.replace(/\|/g, '\\|') ?? ''} |`;
    });
    setCurrentDetails(
      [
        `**${node.name}** (${node.role}) → ${hop.version}, attempt ${input.attempt}`,
        '',
        '| step | status | detail |',
        '|---|---|---|',
        ...rows,
        ...result.steps
          .filter((r) => r.outputTail)
          .flatMap((r) => [
            '',
            `**${r.step}** (kubeadm upgrade diff, apply --dry-run):`,
            '```',
            r.outputTail!,
            '```',
          ]),
      ].join('\n'),
    );
  };

  // what this child's drain found: an operator's cordon is theirs to lift
  let drainWasCordoned: boolean | undefined;
  for (const step of input.steps) {
    const startedAt = now();
    if (
      step === 'uncordon' &&
      (input.firstDrainWasCordoned ?? drainWasCordoned) === true &&
      patched('keep-operator-cordon')
    ) {
      result.steps.push({
        step,
        changed: false,
        detail: `${node.name} was cordoned before this run's drain: left cordoned`,
        startedAt,
        finishedAt: now(),
      });
      continue;
    }
    render(step);
    const options = {
      ...(step === 'drain' ? drainOpts : activityOptions(STEP_GROUP[step])),
      ...(TRANSACTION_STEPS.includes(step) && patched('transaction-waits-on-cancel')
        ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED }
        : {}),
      summary: stepSummary(step, node.name, hop.version),
    };
    try {
      const [, out] = await Promise.all([
        (step === 'drain' && input.reportDrain !== false) ||
        !input.reportSteps ||
        input.reportSteps.includes(step)
          ? report({ step, event: 'started' })
          : Promise.resolve(),
        runStep(acts, step, hopInput, options),
      ]);
      const record: NodeStepRecord = { step, changed: out.changed, startedAt, finishedAt: now() };
      if (out.detail) record.detail = out.detail;
      if (step === 'rehearsal' && out.outputTail) record.outputTail = out.outputTail;
      result.steps.push(record);
      if (step === 'drain' && 'wasCordoned' in out) {
        drainWasCordoned = (out as { wasCordoned: boolean }).wasCordoned;
        result.cordonedByRun = !drainWasCordoned;
        // Someone else's cordon (the run meant to uncordon the node): tell the parent at once, so
        // that an abort cancelling this child before its end leaves the cordon alone.
        if (
          drainWasCordoned &&
          input.steps.includes('uncordon') &&
          input.firstDrainWasCordoned === undefined &&
          patched('report-operator-cordon')
        )
          await report({ step, event: 'finished', cordonedByRun: false });
      }
      if (step === 'wait-ready' && out.version) result.version = out.version;
      if (step === 'uncordon') result.uncordoned = true;
    } catch (err) {
      if (isCancellation(err)) throw err;
      const { type, message, details } = describeActivityError(err);
      const info: FailureInfo = {
        node: node.name,
        role: node.role,
        step,
        hop: hop.index,
        type,
        message,
        hints: [...(details.hints ?? []), ...recoveryHints(step, node.role)],
        at: now(),
        attempt: input.attempt,
      };
      if (details.command) info.command = details.command;
      if (details.outputTail) info.outputTail = details.outputTail;
      // the parent decides from the drain's own finding whose cordon the node carries
      const found = step === 'drain' ? (details as { wasCordoned?: unknown }).wasCordoned : drainWasCordoned;
      if (typeof found === 'boolean') info.wasCordoned = found;
      render(step);
      throw ApplicationFailure.create({
        type: ErrorType.NodeStepFailed,
        message: `${stepSummary(step, node.name, hop.version)} failed: ${message}`,
        nonRetryable: true,
        details: [info],
      });
    }
  }
  render();
  return result;
}

type Acts = ReturnType<typeof proxyActivities<UpgradeActivities>>;

async function runStep(
  acts: Acts,
  step: NodeStep,
  input: NodeHopInput,
  options: Parameters<Acts['ensureDrained']['executeWithOptions']>[0],
): Promise<StepResult> {
  const nodeInput = { cluster: input.cluster, node: input.node };
  switch (step) {
    case 'repo':
      return acts.ensureRepoMinor.executeWithOptions(options, [input]);
    case 'kubeadm-package':
      return acts.ensureKubeadmPackage.executeWithOptions(options, [input]);
    case 'upgrade-plan': {
      const plan = await acts.kubeadmUpgradePlan.executeWithOptions(options, [input]);
      if (!plan.ok || plan.manualUpgradeRequired.length > 0) {
        throw ApplicationFailure.create({
          type: ErrorType.KubeadmFailed,
          message: plan.manualUpgradeRequired.length
            ? `kubeadm upgrade plan requires a manual config upgrade of ${plan.manualUpgradeRequired.join(', ')}`
            : `kubeadm upgrade plan refused ${input.hop.version}`,
          nonRetryable: true,
          details: [
            {
              node: input.node.name,
              outputTail: plan.outputTail,
              ...(plan.manualUpgradeRequired.length
                ? { hints: manualUpgradeHints(plan.manualUpgradeRequired.map((group) => ({ group }))) }
                : {}),
            },
          ],
        });
      }
      return {
        changed: false,
        detail: 'plan accepted',
        ...(plan.outputTail ? { outputTail: plan.outputTail } : {}),
      };
    }
    case 'rehearsal':
      return acts.kubeadmRehearsal.executeWithOptions(options, [input]);
    case 'images':
      return acts.ensureImagesPulled.executeWithOptions(options, [input]);
    case 'upgrade-apply':
      return acts.ensureKubeadmApply.executeWithOptions(options, [input]);
    case 'upgrade-node':
      return acts.ensureKubeadmUpgradeNode.executeWithOptions(options, [input]);
    case 'cni':
      return acts.runCniStep.executeWithOptions(options, [input]);
    case 'drain':
      return acts.ensureDrained.executeWithOptions(options, [nodeInput]);
    case 'kubelet-packages':
      return acts.ensureKubeletPackages.executeWithOptions(options, [input]);
    case 'kubelet-restart':
      return acts.ensureKubeletRestarted.executeWithOptions(options, [input]);
    case 'wait-ready': {
      const r = await acts.waitNodeReady.executeWithOptions(options, [input]);
      if (!r.ready) {
        throw ApplicationFailure.create({
          type: ErrorType.NodeNotReady,
          message: `${input.node.name} not Ready at ${input.hop.version} (kubelet ${r.kubeletVersion})`,
          nonRetryable: true,
        });
      }
      return { changed: false, version: r.kubeletVersion, detail: `Ready at ${r.kubeletVersion}` };
    }
    case 'uncordon':
      return acts.ensureUncordoned.executeWithOptions(options, [nodeInput]);
  }
}
