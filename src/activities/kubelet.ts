/**
 * kubelet restart after the package upgrade: `systemctl daemon-reload && systemctl restart kubelet`.
 *
 * Check-first rules:
 * - the Node object already reports the hop's kubelet version and Ready → nothing run;
 * - the restart marker says the hop's version and `systemctl is-active kubelet` is active → nothing
 *   run (the kubelet restarted; the API server has not seen its new version yet — waitNodeReady waits);
 * - otherwise the node must be cordoned (invariant 3) before the restart.
 */
import { cmd, sh, type ShellCommand } from '../ssh/command';
import type { RunResult } from '../ssh/types';
import { stepId } from '../ssh/detached';
import type { NodeHopInput, StepResult } from '../shared/activities';
import { parseSystemctlIsActive } from '../parsers/system';
import { sameVersion, withV } from '../shared/versions';
import { takeRead, type GroupContext } from './group-context';
import { readNode } from './kubectl';
import { markerKey, markerSays, readMarker, withMarker } from './markers';
import { ErrorTypes, failure, lastLine, looksTransient, outputOf, tail } from './failure';
import type { Runner } from './runner';
import { logger } from './runtime';
import { batch, parseBatch, sectionRun, targetOf, type Section } from './script';

/** What the restart checks on the node before it acts. */
export const RESTART_CHECK: readonly Section[] = [
  { name: 'restart-marker', command: readMarker('kubelet-restart') },
  { name: 'kubelet-active', command: cmd('systemctl', 'is-active', 'kubelet') },
];

const RESTART_KUBELET = sh`${cmd('systemctl', 'daemon-reload')} && ${cmd('systemctl', 'restart', 'kubelet')}`;

/** The restart and its marker for this run and hop: alone, or after the package install. */
export function restartCommand(input: NodeHopInput): ShellCommand {
  return withMarker(RESTART_KUBELET, 'kubelet-restart', markerKey(input, withV(input.hop.version)));
}

function restartFailed(node: string, step: string, r: RunResult, command: ShellCommand): Error {
  const out = outputOf(r);
  const transient = looksTransient(out);
  return failure({
    type: transient ? ErrorTypes.Transient : ErrorTypes.CommandFailed,
    message: `kubelet restart failed (exit ${r.exitCode}): ${lastLine(out)}`,
    node,
    step,
    result: r,
    command,
    nonRetryable: !transient,
    hints: [`See \`systemctl status kubelet\` and \`journalctl -xeu kubelet\` on ${node}.`],
  });
}

export function createKubeletActivities(run: Runner) {
  async function ensureKubeletRestarted(input: NodeHopInput, ctx?: GroupContext): Promise<StepResult> {
    const { cluster, node, hop } = input;
    const step = 'kubelet-restart';
    const want = withV(hop.version);
    // in a group, the package install that had to run restarted the kubelet in its transaction
    const ran = takeRead(ctx, 'restartRun');
    if (ran) {
      if (ran.exitCode !== 0) throw restartFailed(node.name, step, sectionRun(ran), restartCommand(input));
      return {
        changed: true,
        detail: `kubelet restarted for ${want} (in the package install's transaction)`,
        version: want,
        outputTail: tail(ran.output),
      };
    }
    const state = ctx?.node ?? (await readNode(run, cluster, node.name, step));
    if (ctx) ctx.node = state;
    if (state.ready && sameVersion(state.kubeletVersion, want)) {
      return { changed: false, detail: `kubelet already ${want} and Ready`, version: want };
    }
    const target = targetOf(cluster.inventory, node);
    // in a group, read with the package check just before (one session fewer)
    const s =
      takeRead(ctx, 'restartCheck') ??
      parseBatch((await run.exec(target, batch([...RESTART_CHECK]), { step })).stdout);
    // The node's reported version came first (above); then only this run's marker for this hop
    // counts (a restart whose new version the API server has not reported yet), with the kubelet active.
    if (
      markerSays(s.get('restart-marker')?.output, markerKey(input, want)) &&
      parseSystemctlIsActive(s.get('kubelet-active')?.output ?? '').state === 'active'
    ) {
      return { changed: false, detail: `kubelet already restarted for ${want}`, version: want };
    }
    if (!state.unschedulable) {
      throw failure({
        type: ErrorTypes.PolicyRefused,
        message: `refusing to restart the kubelet: ${node.name} is not cordoned`,
        node: node.name,
        step,
        nonRetryable: true,
        hints: ['A kubelet is restarted only on a cordoned, drained node (the workflow drains first).'],
      });
    }
    const command = restartCommand(input);
    logger().info('restarting kubelet', { node: node.name, version: want });
    // the Node's version and Ready condition change now: the next step reads them anew
    if (ctx) delete ctx.node;
    const r = await run.transaction(target, stepId(step, want), command, { step, timeoutMs: 5 * 60_000 });
    if (r.exitCode !== 0) throw restartFailed(node.name, step, r, command);
    return {
      changed: true,
      detail: `kubelet restarted for ${want}`,
      version: want,
      outputTail: tail(outputOf(r)),
    };
  }
  return { ensureKubeletRestarted };
}
