/**
 * A failed kubeadm upgrade command (plan, diff, apply, node) as the workflow sees it: src/parsers
 * reads kubeadm's output; this decides what a retry can fix.
 */
import { manualConversionIn, parseApplyResult } from '../parsers/kubeadm';
import { manualUpgradeHints } from '../shared/manual-upgrade';
import type { RunResult } from '../ssh/types';
import { ErrorTypes, failure, lastLine, looksTransient, outputOf } from './failure';

/** The upgrade preflight's health checks: a control plane or the health-check Job briefly not ready. */
export const HEALTH_RE = /\[upgrade\/health\] FATAL|\[ERROR ControlPlaneNodesReady\]|\[ERROR CreateJob\]/;

/**
 * Classifies a failed kubeadm upgrade command (apply/node/plan) into an ApplicationFailure, with
 * src/parsers' reading of kubeadm's output: a version-policy refusal, a missing kubeadm-config or a
 * rolled-back control plane block the node (non-retryable KubeadmFailed); the upgrade preflight's
 * health checks (a control plane or the health-check Job briefly not ready) and network trouble
 * are retried; anything else blocks.
 */
export function kubeadmFailure(node: string, step: string, r: RunResult, command: string, what: string) {
  const out = outputOf(r);
  const recovery = step === 'upgrade-apply' || step === 'upgrade-node';
  const base = { node, step, result: r, command, kubeadmRecovery: recovery };
  const manual = manualConversionIn(out);
  if (manual.length) {
    return failure({
      ...base,
      type: ErrorTypes.KubeadmFailed,
      message: `${what} refused: kubeadm needs a manual upgrade of its component config ${manual.map((m) => `${m.group} (${m.from} → ${m.to})`).join(', ')}`,
      nonRetryable: true,
      kubeadmRecovery: false,
      hints: manualUpgradeHints(manual.map((m) => ({ group: m.group, to: m.to }))),
    });
  }
  const res = parseApplyResult(out);
  const error = res.ok ? { kind: 'unknown' as const, message: lastLine(out) } : res.error;
  switch (error.kind) {
    case 'policy':
      return failure({
        ...base,
        type: ErrorTypes.KubeadmFailed,
        message: `${what} refused by kubeadm's version policy: ${error.message}`,
        nonRetryable: true,
        kubeadmRecovery: false,
        hints: [
          'kubeadm upgrades one minor at a time, with kubeadm itself at the target minor: check the hop and the kubeadm package.',
        ],
      });
    case 'config':
      return failure({
        ...base,
        type: ErrorTypes.KubeadmFailed,
        message: `${what}: ${error.message}`,
        nonRetryable: true,
        kubeadmRecovery: false,
        hints: ["Re-upload it with 'kubeadm init phase upload-config kubeadm --config <your config>'."],
      });
    case 'rolled-back':
      return failure({
        ...base,
        type: ErrorTypes.KubeadmFailed,
        message: `${what} failed and kubeadm rolled the control plane back: ${lastLine(out)}`,
        nonRetryable: true,
      });
    case 'preflight':
      if (HEALTH_RE.test(out)) {
        return failure({
          ...base,
          type: ErrorTypes.UnexpectedExit,
          message: `${what}: kubeadm's health checks failed, will retry: ${error.message}`,
          nonRetryable: false,
        });
      }
      return failure({
        ...base,
        type: ErrorTypes.KubeadmFailed,
        message: `${what}: kubeadm preflight failed: ${error.message}`,
        nonRetryable: true,
      });
    default:
      if (looksTransient(out)) {
        return failure({
          ...base,
          type: ErrorTypes.Transient,
          message: `${what} failed (exit ${r.exitCode}), will retry: ${lastLine(out)}`,
          nonRetryable: false,
        });
      }
      return failure({
        ...base,
        type: ErrorTypes.KubeadmFailed,
        message: `${what} failed (exit ${r.exitCode}): ${lastLine(out)}`,
        nonRetryable: true,
      });
  }
}

/** The inventory's kubeadm.configFile is not on the node: nothing kupgrade can fix. */
export function configFileMissing(node: string, step: string, file: string) {
  return failure({
    type: ErrorTypes.KubeadmFailed,
    message: `kubeadm.configFile: ${file} is not readable on ${node}`,
    node,
    step,
    nonRetryable: true,
    hints: [
      `Copy the kubeadm config file to ${file} on ${node} (the first control plane), or fix kubeadm.configFile in the inventory.`,
    ],
  });
}
