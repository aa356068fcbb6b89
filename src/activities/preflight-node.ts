/**
 * Preflight's per-node checks, from the node's own batch and the cluster's view of it: Ready,
 * identity, swap, versions and skew, versionlock, and whether the hops' packages are offered.
 */
import { parseKubeadmVersion } from '../parsers/kubeadm';
import { parseSwaponShow } from '../parsers/system';
import type { ResolvedHop } from '../shared/activities';
import type { Inventory } from '../shared/inventory';
import { isVersion, minorOf, parseVersion } from '../shared/versions';
import { KUBELET_CONFIG, kubeletSwapConfig, type KubeletSwapConfig } from './kubelet-config';
import type { NodeInfo } from './kubectl';
import { identityVerdict, parseNodeIdentity } from './node-identity';
import { versionlockCheck } from './package-install';
import type { CheckList } from './preflight-checks';
import type { NodeFacts } from './preflight-probe';
import type { SectionResult } from './script';

/** The swap devices of a node's `swapon --show` section. */
function swapDevicesIn(swap: SectionResult | undefined): string[] {
  return swap ? parseSwaponShow(swap.output).devices.map((d) => d.name) : [];
}

/** Swap is on and the node's kubelet config has `failSwapOn: false`. */
export function swapAllowedOnNode(sections: Map<string, SectionResult> | undefined): boolean {
  const cfg = sections?.get('kubelet-config');
  if (!cfg || cfg.exitCode !== 0 || swapDevicesIn(sections?.get('swap')).length === 0) return false;
  return kubeletSwapConfig(cfg.output)?.failSwapOn === false;
}

function swapCheck(
  list: CheckList,
  name: string,
  sections: Map<string, SectionResult>,
  clusterKubelet: KubeletSwapConfig | null,
): void {
  const swap = sections.get('swap');
  const devices = swapDevicesIn(swap);
  const kcfg = sections.get('kubelet-config');
  const swapCfg = kcfg?.exitCode === 0 ? kubeletSwapConfig(kcfg.output) : null;
  if (swap && swap.exitCode === 0 && devices.length === 0) list.pass('swap');
  else if (devices.length && swapCfg && !swapCfg.failSwapOn) {
    const on = `swap is on (${devices.join(', ')}) and the kubelet runs with failSwapOn: false (memorySwap.swapBehavior: ${swapCfg.swapBehavior ?? 'NoSwap, the default'})`;
    if (clusterKubelet?.failSwapOn === true)
      list.add({
        name: 'swap',
        node: name,
        status: 'warn',
        message: `${on}, but the kubelet-config ConfigMap does not set failSwapOn: false: kubeadm upgrade apply|node rewrites ${KUBELET_CONFIG} from it, and the kubelet then refuses to start with swap on. Set failSwapOn: false (and memorySwap) in the ConfigMap (kubectl -n kube-system edit cm kubelet-config) or in a kubeletconfiguration patch, or swapoff -a, before upgrading`,
      });
    else
      list.add({
        name: 'swap',
        node: name,
        status: 'pass',
        message: `${on}, supported with NodeSwap since 1.28; ${clusterKubelet ? 'the kubelet-config ConfigMap, which kubeadm upgrade writes back, sets it too' : `kubeadm upgrade rewrites ${KUBELET_CONFIG} from the kubelet-config ConfigMap, so keep failSwapOn: false there (or in a kubeletconfiguration patch)`}`,
      });
  } else if (devices.length)
    list.add({
      name: 'swap',
      node: name,
      status: 'fail',
      message: `swap is on (${devices.join(', ')}) and the kubelet's ${KUBELET_CONFIG} ${swapCfg ? 'does not set failSwapOn: false' : 'could not be read'}: run swapoff -a and remove it from /etc/fstab, or run the kubelet with failSwapOn: false (NodeSwap, 1.28+)`,
    });
  else
    list.add({
      name: 'swap',
      node: name,
      status: 'warn',
      message: `cannot read swap state: ${swap?.output.trim() ?? 'no output'}`,
    });
}

function kubeadmVersionReadable(output: string): boolean {
  try {
    return isVersion(parseKubeadmVersion(output).gitVersion);
  } catch {
    return false;
  }
}

function skewCheck(
  list: CheckList,
  name: string,
  seen: NodeInfo,
  apiServerVersion: string,
  hops: ResolvedHop[],
) {
  const kv = parseVersion(seen.kubeletVersion);
  const av = parseVersion(apiServerVersion);
  if (kv.minor > av.minor) {
    list.add({
      name: 'skew',
      node: name,
      status: 'fail',
      message: `kubelet ${seen.kubeletVersion} is newer than kube-apiserver ${apiServerVersion}`,
    });
  } else if (hops.length && parseVersion(minorOf(hops[hops.length - 1].version)).minor - kv.minor > 3) {
    list.add({
      name: 'skew',
      node: name,
      status: 'warn',
      message: `kubelet ${seen.kubeletVersion} will be more than 3 minors behind until upgraded`,
    });
  } else list.pass('skew');
}

export interface NodeCheckContext {
  inventory: Inventory;
  hops: ResolvedHop[];
  /** The cluster-wide reads succeeded: a node missing from them is not in the cluster. */
  clusterRead: boolean;
  /** The node as the cluster sees it. */
  seen?: NodeInfo;
  apiServerVersion?: string;
  /** The cluster-wide KubeletConfiguration kubeadm upgrade writes back to every node (null: unknown). */
  clusterKubelet: KubeletSwapConfig | null;
}

export function nodeChecks(list: CheckList, f: NodeFacts, c: NodeCheckContext): void {
  const name = f.node.name;
  const seen = c.seen;
  if (c.clusterRead && !seen)
    list.add({
      name: 'node-ready',
      node: name,
      status: 'fail',
      message: 'not found in the cluster (kubectl get nodes)',
    });
  else if (seen && !seen.ready)
    list.add({ name: 'node-ready', node: name, status: 'fail', message: 'node is not Ready' });
  else if (seen) list.pass('node-ready');
  if (!f.sections) return;
  const identity = f.sections.get('identity');
  const who = identityVerdict(name, f.node.address, parseNodeIdentity(identity?.output ?? ''));
  if (who.status === 'pass') list.pass('node-identity');
  else list.add({ name: 'node-identity', node: name, ...who });
  swapCheck(list, name, f.sections, c.clusterKubelet);
  const kubeadm = f.sections.get('kubeadm')?.output.trim() ?? '';
  if (kubeadmVersionReadable(kubeadm)) list.pass('versions');
  else
    list.add({
      name: 'versions',
      node: name,
      status: 'warn',
      message: `kubeadm version unreadable (${kubeadm.split('\n').pop()}); kubelet ${seen?.kubeletVersion ?? '?'}`,
    });
  if (c.apiServerVersion && seen && isVersion(seen.kubeletVersion))
    skewCheck(list, name, seen, c.apiServerVersion, c.hops);
  const locks = versionlockCheck(c.inventory.packages.manager, f.sections.get('versionlock'));
  if (locks === 'pass') list.pass('versionlock');
  else if (locks) list.add({ name: 'versionlock', node: name, status: 'fail', message: locks });
  for (const p of f.packages) {
    if (p.status === 'pass') list.pass('packages');
    else list.add({ name: 'packages', node: name, status: p.status, message: p.message });
  }
}
