/**
 * kubeadm's own files, read back: the kubeadm-config ConfigMap's ClusterConfiguration, the
 * kubelet flags kubeadm writes (kubeadm-flags.env) and the static Pod manifests' images.
 */
import { withV } from '../shared/versions';
import { jsonIn } from './common';
import { imageTag } from './pods';

/** What kupgrade reads of the cluster's ClusterConfiguration. */
export interface ClusterConfiguration {
  /** `v1.30.4`. */
  kubernetesVersion?: string;
  imageRepository?: string;
}

/** `kubectl -n kube-system get configmap kubeadm-config -o json`. Throws when the output holds no JSON object. */
export function parseKubeadmConfigMap(json: string): ClusterConfiguration {
  const text =
    (jsonIn(json) as { data?: { ClusterConfiguration?: string } }).data?.ClusterConfiguration ?? '';
  const out: ClusterConfiguration = {};
  const version = kubernetesVersionIn(text);
  if (version) out.kubernetesVersion = version;
  const repo = imageRepositoryIn(text);
  if (repo) out.imageRepository = repo;
  return out;
}

/** `kubernetesVersion: v1.30.4` of a ClusterConfiguration document, as `v1.30.4`. */
function kubernetesVersionIn(clusterConfiguration: string): string | undefined {
  const m = /^\s*kubernetesVersion:\s*["']?(v?\d+\.\d+\.\d+)["']?\s*$/m.exec(clusterConfiguration);
  return m?.[1] ? withV(m[1]) : undefined;
}

/** `imageRepository: R` of a ClusterConfiguration document. */
export function imageRepositoryIn(clusterConfiguration: string): string | undefined {
  const m = /^imageRepository:\s*["']?([^"'\s#]+)["']?\s*(#.*)?$/m.exec(clusterConfiguration);
  return m?.[1];
}

/** `--container-runtime-endpoint=unix:///…` (or the pre-1.24 `--cri-socket`/remote form) of kubeadm-flags.env. */
export function criSocketIn(flagsEnv: string): string | undefined {
  const m = /--container-runtime-endpoint[= ]["']?((?:unix|npipe|tcp):\/\/[^\s"']+|\/[^\s"']+)/.exec(
    flagsEnv,
  );
  if (!m?.[1]) return undefined;
  return m[1].startsWith('/') ? `unix://${m[1]}` : m[1];
}

/** The image tag per static Pod manifest, from `grep -H image: /etc/kubernetes/manifests/<component>.yaml…`. */
export function manifestImageTags(grepOutput: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of grepOutput.split('\n')) {
    const m = /\/manifests\/([a-z-]+)\.yaml:\s*-?\s*image:\s*(\S+)/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    const tag = imageTag(m[2]);
    if (tag) out[m[1]] = tag;
  }
  return out;
}
