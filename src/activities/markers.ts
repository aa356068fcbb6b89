/**
 * Completion markers: a one-line file per finished mutating step, written in the same command as
 * the step itself (`step && write marker`), so a retry after a crash between the step's end and
 * the activity's completion sees the marker and does not run the step again.
 *
 * A marker is keyed by run and hop: its line is `<version> run=<run> hop=<index>`, and only the
 * exact line of the current run and hop counts. A marker left by an earlier run (even for the same
 * version), by an earlier hop, or in the old one-version format never makes a step skip.
 *
 * Markers complement, never replace, the real state checks (installed packages, the node's
 * reported kubelet, manifests): those run first, and a marker is trusted only for what a node does
 * not show (`kubeadm upgrade node` on a worker, a package database that cannot be read, a kubelet
 * restart whose new version the API server has not reported yet). Losing one only costs a repeat
 * of an idempotent step.
 */
import type { NodeHopInput } from '../shared/activities';
import { cmd, sh, type ShellCommand } from '../ssh/command';

/** Under kubeadm's own scratch folder, so it lives with the node's kubeadm state. */
const MARKER_DIR = '/etc/kubernetes/tmp/kupgrade';

export type MarkerName =
  'upgrade-apply' | 'upgrade-node' | 'images' | 'cni' | 'kubelet-packages' | 'kubelet-restart';

/** What a marker says: the version, and the run and hop that wrote it. */
export interface MarkerKey {
  version: string;
  /** The run (absent for a run started before markers were keyed: the version alone). */
  run?: string;
  hop?: number;
}

/** The key of a step of this run and hop. */
export function markerKey(input: Pick<NodeHopInput, 'hop' | 'run'>, version: string): MarkerKey {
  return { version, ...(input.run ? { run: input.run, hop: input.hop.index } : {}) };
}

/** The marker's line, without newline. Run ids are [A-Za-z0-9-]: nothing to quote. */
export function markerLine(key: MarkerKey | string): string {
  if (typeof key === 'string') return key;
  return key.run ? `${key.version} run=${key.run} hop=${key.hop ?? 0}` : key.version;
}

/** Does the marker's content (as `readMarker` printed it) say this exact run, hop and version? */
export function markerSays(content: string | undefined, key: MarkerKey | string): boolean {
  return content !== undefined && content.trim() !== '' && content.trim() === markerLine(key);
}

function markerPath(name: MarkerName): string {
  return `${MARKER_DIR}/${name}`;
}

/** Prints the marker's content (nothing when absent); always exits 0. */
export function readMarker(name: MarkerName): ShellCommand {
  const p = markerPath(name);
  return sh`if [ -f ${p} ]; then cat ${p}; fi`;
}

function writeMarker(name: MarkerName, key: MarkerKey | string): ShellCommand {
  const p = markerPath(name);
  return sh`${cmd('mkdir', '-p', MARKER_DIR)} && printf '%s\\n' ${markerLine(key)} > ${p}`;
}

/** `command && write marker`: the marker exists only when the command succeeded. */
export function withMarker(command: ShellCommand, name: MarkerName, key: MarkerKey | string): ShellCommand {
  return sh`${command} && ${writeMarker(name, key)}`;
}
