/**
 * One step of a node child as its activity: the step's option group, whether it is a transaction,
 * its summary ("drain w-3"), and the call. Deterministic workflow code.
 */
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { NodeHopInput, StepResult, UpgradeActivities } from '../shared/activities';
import { ErrorType } from '../shared/errors';
import { manualUpgradeHints } from '../shared/manual-upgrade';
import { readyStep } from '../shared/ready-step';
import type { NodeStep } from '../shared/types';
import type { ActivityGroup } from './options';

export const STEP_GROUP: Record<NodeStep, ActivityGroup> = {
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
export const TRANSACTION_STEPS: readonly NodeStep[] = [
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

/** A step group's summary: its steps' verbs, then the node and version. */
export function groupSummary(steps: readonly NodeStep[], node: string, version: string): string {
  return `${steps.map((s) => VERB[s]).join(', ')} ${node} ${version}`;
}

/** The steps whose activity takes the hop input and answers a StepResult as it is. */
const HOP_STEP_ACTIVITY = {
  repo: 'ensureRepoMinor',
  'kubeadm-package': 'ensureKubeadmPackage',
  rehearsal: 'kubeadmRehearsal',
  images: 'ensureImagesPulled',
  'upgrade-apply': 'ensureKubeadmApply',
  'upgrade-node': 'ensureKubeadmUpgradeNode',
  cni: 'runCniStep',
  'kubelet-packages': 'ensureKubeletPackages',
  'kubelet-restart': 'ensureKubeletRestarted',
} as const satisfies Partial<Record<NodeStep, keyof UpgradeActivities>>;

export type Acts = ReturnType<typeof proxyActivities<UpgradeActivities>>;

export async function runStep(
  acts: Acts,
  step: NodeStep,
  input: NodeHopInput,
  options: Parameters<Acts['ensureDrained']['executeWithOptions']>[0],
): Promise<StepResult> {
  const nodeInput = { cluster: input.cluster, node: input.node };
  const plain =
    step in HOP_STEP_ACTIVITY ? HOP_STEP_ACTIVITY[step as keyof typeof HOP_STEP_ACTIVITY] : undefined;
  if (plain) return acts[plain].executeWithOptions(options, [input]);
  switch (step) {
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
    case 'drain':
      return acts.ensureDrained.executeWithOptions(options, [nodeInput]);
    case 'wait-ready':
      return readyStep(
        await acts.waitNodeReady.executeWithOptions(options, [input]),
        input.node.name,
        input.hop.version,
      );
    case 'uncordon':
      return acts.ensureUncordoned.executeWithOptions(options, [nodeInput]);
    default:
      throw new Error(`node-step.ts: no activity for step ${step}`);
  }
}
