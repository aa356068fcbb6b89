/**
 * kube-system/kubelet-config: the cluster-wide KubeletConfiguration kubeadm uploads at init and
 * `upgrade apply` (data key `kubelet`), and writes to /var/lib/kubelet/config.yaml on
 * `upgrade apply|node`. With `up --swap-allowed` the operator has set `failSwapOn: false` and
 * `memorySwap.swapBehavior: LimitedSwap` there (as the NodeSwap docs ask of kubeadm clusters).
 */
import * as YAML from 'yaml';
import { humanDuration, kubectlTable } from '../model/format';
import { kubeletConfig } from '../model/manifests';
import type { ExecResult, ToolCall } from './types';
import { ok } from './types';

/** The cluster's swap setting in the kubelet-config ConfigMap, if any. */
export function clusterSwap(c: ToolCall): { swapBehavior: string } | undefined {
  return c.cl.spec.options.swapAllowed?.length ? { swapBehavior: 'LimitedSwap' } : undefined;
}

export function kubeletConfigMap(c: ToolCall, out: string, sortKeys: (v: unknown) => unknown): ExecResult {
  const st = c.cl.state;
  const data = kubeletConfig(st.kubernetesVersion, clusterSwap(c))
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  const obj = {
    apiVersion: 'v1',
    data: { kubelet: data },
    kind: 'ConfigMap',
    metadata: {
      creationTimestamp: new Date(st.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      name: 'kubelet-config',
      namespace: 'kube-system',
      resourceVersion: '236',
    },
  };
  if (out === 'json') return ok(JSON.stringify(sortKeys(obj), null, 4) + '\n');
  if (out === 'yaml') return ok(YAML.stringify(sortKeys(obj), { blockQuote: 'literal' }));
  return ok(
    kubectlTable([
      ['NAME', 'DATA', 'AGE'],
      ['kubelet-config', '1', humanDuration(Date.now() - st.createdAt)],
    ]),
  );
}
