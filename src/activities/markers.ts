/**
 * Completion markers: a one-line file per finished mutating step, written in the same command as
 * the step itself (`step && write marker`), so a retry after a crash between the step's end and
 * the activity's completion sees the marker and does not run the step again.
 *
 * Markers complement, never replace, the real state checks (kubeadm version, manifests, node
 * objects): they cover what a node does not show (`kubeadm upgrade node` on a worker, a kubelet
 * restart whose new version the API server has not reported yet). Losing one only costs a
 * repeat of an idempotent step.
 */
import { cmd, sh, type ShellCommand } from '../ssh/command';

/** Under kubeadm's own scratch folder, so it lives with the node's kubeadm state. */
export const MARKER_DIR = '/etc/kubernetes/tmp/kupgrade';

export type MarkerName =
  'upgrade-apply' | 'upgrade-node' | 'images' | 'cni' | 'kubelet-packages' | 'kubelet-restart';

export function markerPath(name: MarkerName): string {
  return `${MARKER_DIR}/${name}`;
}

/** Prints the marker's content (nothing when absent); always exits 0. */
export function readMarker(name: MarkerName): ShellCommand {
  const p = markerPath(name);
  return sh`if [ -f ${p} ]; then cat ${p}; fi`;
}

export function writeMarker(name: MarkerName, version: string): ShellCommand {
  const p = markerPath(name);
  return sh`${cmd('mkdir', '-p', MARKER_DIR)} && printf '%s\\n' ${version} > ${p}`;
}

/** `command && write marker`: the marker exists only when the command succeeded. */
export function withMarker(command: ShellCommand, name: MarkerName, version: string): ShellCommand {
  return sh`${command} && ${writeMarker(name, version)}`;
}
