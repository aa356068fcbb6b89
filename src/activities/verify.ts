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
import { normalizeVersion } from '../shared/versions';
import { jsonIn } from './script';

export const CONTROL_PLANE_COMPONENTS = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
] as const;

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

interface K8sPod {
  metadata?: {
    name?: string;
    namespace?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
  };
  spec?: { nodeName?: string; containers?: { image?: string }[] };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: { type?: string; status?: string; lastTransitionTime?: string }[];
    containerStatuses?: {
      ready?: boolean;
      state?: { terminated?: { finishedAt?: string } };
    }[];
  };
}

export function imageTag(image: string): string {
  const i = image.lastIndexOf(':');
  return i > image.lastIndexOf('/') ? image.slice(i + 1) : '';
}

/** When a Failed pod failed: its containers' end, else its Ready condition's last change, else its creation. */
export function failedAt(p: K8sPod): string | undefined {
  const ends = (p.status?.containerStatuses ?? [])
    .map((c) => c.state?.terminated?.finishedAt)
    .filter((t): t is string => typeof t === 'string');
  if (ends.length) return ends.sort()[ends.length - 1];
  const ready = (p.status?.conditions ?? []).find((c) => c.type === 'Ready');
  return ready?.lastTransitionTime ?? p.metadata?.creationTimestamp;
}

function sameVersion(a: string, b: string): boolean {
  try {
    return normalizeVersion(a) === normalizeVersion(b);
  } catch {
    return false;
  }
}

function componentOf(p: K8sPod): string | undefined {
  const c = p.metadata?.labels?.component;
  if (c && (CONTROL_PLANE_COMPONENTS as readonly string[]).includes(c)) return c;
  const name = p.metadata?.name ?? '';
  return CONTROL_PLANE_COMPONENTS.find((x) => p.spec?.nodeName && name === `${x}-${p.spec.nodeName}`);
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

  const o = jsonIn(kubeSystemPods) as { items?: K8sPod[] };
  const pods = o.items ?? [];
  const failedBefore = new Set(scope.failedBefore);
  const since = scope.since ? Date.parse(scope.since) : NaN;
  for (const p of pods) {
    const ref = `${p.metadata?.namespace ?? 'kube-system'}/${p.metadata?.name ?? '?'}`;
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
      const pod = pods.find((p) => p.spec?.nodeName === cp.name && componentOf(p) === comp);
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
  const o = jsonIn(kubeSystemPods) as { items?: K8sPod[] };
  return (o.items ?? [])
    .filter((p) => p.status?.phase === 'Failed')
    .map((p) => `${p.metadata?.namespace ?? 'kube-system'}/${p.metadata?.name ?? '?'}`);
}
