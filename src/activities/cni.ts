/**
 * The optional CNI step: the operator's own command (inventory rollout.cni.command).
 * Check-first: no command configured, or the cni marker says the version → nothing run.
 */
import { raw, sh } from '../ssh/command';
import { stepId } from '../ssh/detached';
import type { NodeHopInput, StepResult } from '../shared/activities';
import { withV } from '../shared/versions';
import { ErrorTypes, failure, lastLine, looksTransient, outputOf, tail } from './failure';
import { KUBEADM_TIMEOUT_MS } from './kubeadm-settings';
import { markerKey, markerSays, readMarker, withMarker } from './markers';
import type { Runner } from './runner';
import { targetOf } from './script';

export function createCniActivities(run: Runner) {
  async function runCniStep(input: NodeHopInput): Promise<StepResult> {
    const { cluster, node, hop } = input;
    const step = 'cni';
    const want = withV(hop.version);
    const text = cluster.inventory.rollout.cni?.command;
    if (!text) return { changed: false, detail: 'no CNI command configured' };
    const target = targetOf(cluster.inventory, node);
    const marker = await run.exec(target, readMarker('cni'), { step });
    if (marker.exitCode === 0 && markerSays(marker.stdout, markerKey(input, want))) {
      return { changed: false, detail: `CNI step already done for ${want}` };
    }
    // The operator's own command (inventory rollout.cni.command), run as written in a subshell.
    const command = withMarker(sh`( ${raw(text)} )`, 'cni', markerKey(input, want));
    const r = await run.transaction(target, stepId(step, want), command, {
      step,
      timeoutMs: KUBEADM_TIMEOUT_MS,
    });
    if (r.exitCode !== 0) {
      const out = outputOf(r);
      throw failure({
        type: looksTransient(out) ? ErrorTypes.Transient : ErrorTypes.CommandFailed,
        message: `CNI command failed (exit ${r.exitCode}): ${lastLine(out)}`,
        node: node.name,
        step,
        result: r,
        command,
        nonRetryable: !looksTransient(out),
        hints: [
          'The CNI command comes from rollout.cni.command in the inventory; pod networking may be disrupted while it runs.',
        ],
      });
    }
    return { changed: true, detail: 'CNI step done', outputTail: tail(outputOf(r)) };
  }

  return { runCniStep };
}
