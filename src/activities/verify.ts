/**
 * What verify finds wrong in the cluster at the end of an upgrade. Pure: kubectl JSON in,
 * problems out, split into two kinds:
 * - `final`: waiting will not change it (a kubelet or a control-plane image at another version, a
 *   node missing, a kube-system pod that failed during the run);
 * - `settling`: the cluster is still converging (a node NotReady, a pod Pending or not Ready yet,
 *   a control-plane mirror pod not listed yet); verify polls until these clear or its deadline.
 * kube-system pods that had already failed before the run (recorded at preflight by name, or
 * failed before the run started) are not problems of this run.
 */
import {
  CONTROL_PLANE_COMPONENTS,
  imageTag,
  parsePodsJson,
  podRef,
  staticPodOf,
  type Pod,
} from '../parsers/pods';
import { sameVersion } from '../shared/versions';

export interface VerifyNode {
  name: string;
  kubeletVersion: string;
  ready: boolean;
}

export interface VerifyScope {
  /** Target version, `v1.30.4`. */
  want: string;
  /** Inventory nodes that must be at `want`, with their role. */
  nodes: { name: string; role: 'control-plane' | 'worker' }[];
  /** Nodes verify leaves out (skipped workers). */
  exclude: string[];
  /** `kube-system/name` of pods that were already Failed at preflight. */
  failedBefore: string[];
  /** ISO time the run started: a pod that failed before it is not this run's problem. */
  since?: string;
}

export interface VerifyFindings {
  final: string[];
  settling: string[];
}

/** When a Failed pod failed: its containers' end, else its Ready condition's last change, else its creation. */
function failedAt(p: Pod): string | undefined {
  const ends = (p.status?.containerStatuses ?? [])
    .map((c) => c.state?.terminated?.finishedAt)
    .filter((t): t is string => typeof t === 'string');
  if (ends.length) return ends.sort()[ends.length - 1];
  const ready = (p.status?.conditions ?? []).find((c) => c.type === 'Ready');
  return ready?.lastTransitionTime ?? p.metadata?.creationTimestamp;
}

/** Problems of the cluster seen through `kubectl get nodes -o json` (parsed) and kube-system pods JSON. */
export function verifyFindings(
  nodes: VerifyNode[],
  kubeSystemPods: string,
  scope: VerifyScope,
): VerifyFindings {
  const final: string[] = [];
  const settling: string[] = [];
  const exclude = new Set(scope.exclude);
  const wanted = scope.nodes.filter((n) => !exclude.has(n.name));
  for (const n of nodes) {
    if (!wanted.some((w) => w.name === n.name)) continue;
    if (!n.ready) settling.push(`${n.name} is not Ready`);
    if (!n.kubeletVersion || !sameVersion(n.kubeletVersion, scope.want))
      final.push(`${n.name} runs kubelet ${n.kubeletVersion || '?'}, not ${scope.want}`);
  }
  for (const w of wanted)
    if (!nodes.some((n) => n.name === w.name)) final.push(`${w.name} is not in the cluster`);

  const pods = parsePodsJson(kubeSystemPods);
  const failedBefore = new Set(scope.failedBefore);
  const since = scope.since ? Date.parse(scope.since) : NaN;
  for (const p of pods) {
    const ref = podRef(p, 'kube-system');
    if (p.metadata?.deletionTimestamp) continue;
    const phase = p.status?.phase ?? 'Unknown';
    if (phase === 'Succeeded') continue;
    if (phase === 'Failed') {
      if (failedBefore.has(ref)) continue;
      const at = failedAt(p);
      if (at && Number.isFinite(since) && Date.parse(at) < since) continue;
      const why = [p.status?.reason, p.status?.message?.trim()].filter(Boolean).join(': ');
      final.push(`${ref} failed during the run${why ? ` (${why})` : ''}`);
      continue;
    }
    const readyCond = (p.status?.conditions ?? []).find((c) => c.type === 'Ready');
    const notReady =
      (p.status?.containerStatuses ?? []).some((c) => c.ready === false) || readyCond?.status === 'False';
    if (phase !== 'Running' || notReady)
      settling.push(`${ref} is ${phase}${notReady ? ' (containers not ready)' : ''}`);
  }

  // Control-plane images: the mirror pods show the image of the static pod the kubelet runs.
  for (const cp of wanted.filter((n) => n.role === 'control-plane')) {
    for (const comp of CONTROL_PLANE_COMPONENTS) {
      const pod = staticPodOf(pods, comp, cp.name);
      if (!pod) {
        settling.push(`no ${comp} pod on ${cp.name} in kube-system`);
        continue;
      }
      const image = pod.spec?.containers?.[0]?.image ?? '';
      const tag = imageTag(image);
      if (!sameVersion(tag, scope.want))
        final.push(
          `kube-system/${pod.metadata?.name ?? `${comp}-${cp.name}`} runs ${image || 'no image'}, not ${scope.want}`,
        );
    }
  }
  return { final, settling };
}

/** `kube-system/name` of the pods in phase Failed (what preflight records as failed before the run). */
export function failedPods(kubeSystemPods: string): string[] {
  return parsePodsJson(kubeSystemPods)
    .filter((p) => p.status?.phase === 'Failed')
    .map((p) => podRef(p, 'kube-system'));
}
