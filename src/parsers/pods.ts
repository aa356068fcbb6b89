/**
 * Pods as `kubectl get pods -o json` lists them: the one typed shape every reader of pods shares
 * (drain, preflight, verify), and kubeadm's control-plane static pods among them.
 */
import { jsonIn } from './common';

/** The fields of a Pod kupgrade reads; the API omits empty ones, so everything is optional. */
export interface Pod {
  metadata?: {
    name?: string;
    namespace?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind?: string; controller?: boolean }[];
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

/** `kubectl get pods -o json` (a List): its items. Throws when the output holds no JSON object. */
export function parsePodsJson(text: string): Pod[] {
  return (jsonIn(text) as { items?: Pod[] }).items ?? [];
}

/** `ns/name`, with `namespace` for a pod that does not say its own. */
export function podRef(p: Pod, namespace: string): string {
  return `${p.metadata?.namespace ?? namespace}/${p.metadata?.name ?? '?'}`;
}

/** The tag of `registry/name:tag` (empty when the image has none). */
export function imageTag(image: string): string {
  const i = image.lastIndexOf(':');
  return i > image.lastIndexOf('/') ? image.slice(i + 1) : '';
}

/** The static pods kubeadm runs on every control plane (etcd too, unless it is external). */
export const CONTROL_PLANE_COMPONENTS = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
] as const;

/** kubeadm's static pod of `component` on `node`: labelled `component: <name>`, mirrored as `<name>-<node>`. */
export function staticPodOf(pods: Pod[], component: string, node: string): Pod | undefined {
  return pods.find(
    (p) =>
      (p.metadata?.labels?.component === component && p.spec?.nodeName === node) ||
      p.metadata?.name === `${component}-${node}`,
  );
}
