/**
 * The kubelet's own configuration file (KubeletConfiguration, kubelet.config.k8s.io/v1beta1) as
 * kubeadm writes it to /var/lib/kubelet/config.yaml: the fields preflight needs.
 *
 * Swap: `failSwapOn` (default true) makes the kubelet refuse to start with swap on; with
 * `failSwapOn: false` it runs with swap on (NodeSwap, beta since 1.28; `memorySwap.swapBehavior`
 * NoSwap, the default, or LimitedSwap). `kubeadm upgrade apply|node` rewrites this file from the
 * cluster's kubelet-config ConfigMap (plus `kubeletconfiguration` patches), so a node-only edit
 * does not survive an upgrade.
 */
import { parse } from 'yaml';

export const KUBELET_CONFIG = '/var/lib/kubelet/config.yaml';

export interface KubeletSwapConfig {
  failSwapOn: boolean;
  swapBehavior?: string;
}

/** null when the text is not a KubeletConfiguration. */
export function kubeletSwapConfig(text: string): KubeletSwapConfig | null {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return null;
  }
  if (!doc || typeof doc !== 'object') return null;
  const o = doc as { kind?: unknown; failSwapOn?: unknown; memorySwap?: { swapBehavior?: unknown } };
  if (o.kind !== 'KubeletConfiguration') return null;
  const behavior = o.memorySwap?.swapBehavior;
  return {
    failSwapOn: o.failSwapOn !== false,
    ...(typeof behavior === 'string' && behavior ? { swapBehavior: behavior } : {}),
  };
}

/** `kubectl -n kube-system get configmap kubelet-config -o json`: its `data.kubelet`. */
export function kubeletConfigMapSwap(json: string): KubeletSwapConfig | null {
  try {
    const cm = JSON.parse(json.slice(json.indexOf('{'))) as { data?: { kubelet?: unknown } };
    return typeof cm.data?.kubelet === 'string' ? kubeletSwapConfig(cm.data.kubelet) : null;
  } catch {
    return null;
  }
}
