/**
 * Preflight's cluster-wide checks, from the reads on the first control plane: admin.conf, the
 * node list, the kubeadm-config ConfigMap, the control-plane static pods, nodes the inventory does
 * not list, etcd health and the PodDisruptionBudgets that allow no disruption now.
 */
import { parsePdbsJson } from '../parsers/kubectl';
import { CONTROL_PLANE_COMPONENTS, parsePodsJson, staticPodOf, type Pod } from '../parsers/pods';
import { parseEtcdctlEndpointHealth } from '../parsers/system';
import type { PdbBlocker } from '../shared/activities';
import type { Inventory } from '../shared/inventory';
import { ADMIN_CONF, parseClusterSections, type NodeInfo } from './kubectl';
import type { CheckList } from './preflight-checks';
import type { SectionResult } from './script';

/** etcdctl could not be started at all (neither on the host nor in the etcd pod). */
const ETCDCTL_UNAVAILABLE =
  /OCI runtime exec failed|executable file not found|pods? "etcd-[^"]*" not found|NotFound|command not found|unable to upgrade connection|error dialing backend/;

/**
 * Cluster nodes absent from the inventory: kupgrade would never upgrade them, and an omitted
 * control plane also keeps CoreDNS and kube-proxy at the old version (kubeadm upgrades the addons
 * once every control plane is upgraded), so the version skew grows with each run.
 */
export function unlistedNodes(
  inventory: Inventory,
  nodes: NodeInfo[],
): { name: 'unlisted-nodes'; message: string } | null {
  const listed = new Set(inventory.nodes.map((n) => n.name));
  const missing = nodes.filter((n) => !listed.has(n.name));
  if (missing.length === 0) return null;
  const names = missing.map((n) => (n.controlPlane ? `${n.name} (control plane)` : n.name));
  const cp = missing.some((n) => n.controlPlane)
    ? ' An unlisted control plane keeps its old kube-apiserver and etcd, and CoreDNS and kube-proxy are never upgraded.'
    : '';
  return {
    name: 'unlisted-nodes',
    message: `${missing.length} node(s) in the cluster are not in the inventory and would not be upgraded: ${names.join(', ')}; their kubelets fall behind the control plane (version skew).${cp} Add them to nodes: in the inventory, or pass --allow-unlisted to upgrade without them.`,
  };
}

/** PDBs allowing no disruption now, with the nodes running the pods they select (matchLabels). */
export function pdbBlockers(pdbJson: string, podsJson: string | undefined): PdbBlocker[] {
  const pdbs = parsePdbsJson(pdbJson);
  let pods: Pod[] = [];
  if (podsJson) {
    try {
      pods = parsePodsJson(podsJson);
    } catch {
      pods = [];
    }
  }
  const out: PdbBlocker[] = [];
  for (const p of pdbs) {
    if (p.disruptionsAllowed === undefined || p.disruptionsAllowed > 0) continue;
    const sel = p.matchLabels;
    const nodes = new Set<string>();
    for (const pod of pods) {
      if ((pod.metadata?.namespace ?? 'default') !== p.namespace || !pod.spec?.nodeName) continue;
      const labels = pod.metadata?.labels ?? {};
      if (Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v))
        nodes.add(pod.spec.nodeName);
    }
    const limit =
      p.minAvailable !== undefined
        ? `minAvailable ${p.minAvailable}`
        : `maxUnavailable ${p.maxUnavailable ?? '?'}`;
    out.push({
      namespace: p.namespace,
      name: p.name,
      nodes: [...nodes].sort(),
      reason: `allowed disruptions 0 (${limit}, ${p.currentHealthy ?? '?'} healthy)`,
    });
  }
  return out;
}

/** Control-plane static pods not Running and ready, per the kube-system pod list (etcd may be external). */
function controlPlaneProblems(kubeSystemJson: string, controlPlanes: string[]): string[] {
  const pods = parsePodsJson(kubeSystemJson);
  const problems: string[] = [];
  for (const node of controlPlanes) {
    for (const comp of [...CONTROL_PLANE_COMPONENTS, 'etcd']) {
      const pod = staticPodOf(pods, comp, node);
      if (!pod) {
        if (comp !== 'etcd') problems.push(`${comp} pod missing on ${node}`);
        continue;
      }
      const ready = (pod.status?.containerStatuses ?? []).every((c) => c.ready !== false);
      if (pod.status?.phase !== 'Running' || !ready) {
        problems.push(
          `${pod.metadata?.name ?? comp} is ${pod.status?.phase ?? 'Unknown'}${ready ? '' : ' (not ready)'}`,
        );
      }
    }
  }
  return problems;
}

function etcdHealthCheck(list: CheckList, etcd: SectionResult | undefined, api: string): void {
  const out = etcd?.output ?? '';
  const endpoints = parseEtcdctlEndpointHealth(out);
  const unhealthy = endpoints.filter((e) => !e.healthy).length;
  if (/external etcd/.test(out))
    list.add({ name: 'etcd-health', status: 'pass', message: 'external etcd (not checked here)' });
  else if (endpoints.length === 0 && ETCDCTL_UNAVAILABLE.test(out)) {
    list.add({
      name: 'etcd-health',
      node: api,
      status: 'warn',
      message: `cannot run etcdctl on the first control plane (no host etcdctl, and in the etcd pod: ${out.split('\n').filter(Boolean).pop() ?? ''}); etcd health read from its pod status only`,
    });
  } else if (etcd?.exitCode === 0 && unhealthy === 0 && endpoints.length > 0) list.pass('etcd-health');
  else
    list.add({
      name: 'etcd-health',
      node: api,
      status: 'fail',
      message: `etcd unhealthy: ${out.split('\n').filter(Boolean).slice(-2).join(' ')}`,
    });
}

function pdbCheck(list: CheckList, s: Map<string, SectionResult>): PdbBlocker[] {
  const pdb = s.get('pdb');
  if (pdb?.exitCode !== 0) {
    list.add({ name: 'pdb', status: 'warn', message: 'cannot list PodDisruptionBudgets' });
    return [];
  }
  let pdbs: PdbBlocker[];
  try {
    pdbs = pdbBlockers(pdb.output, s.get('pods')?.exitCode === 0 ? s.get('pods')?.output : undefined);
  } catch {
    pdbs = [];
  }
  for (const b of pdbs) {
    list.add({
      name: 'pdb',
      status: 'warn',
      message: `${b.namespace}/${b.name}: ${b.reason}; may block draining ${b.nodes.join(', ') || 'its nodes'}`,
    });
  }
  if (pdbs.length === 0) list.pass('pdb');
  return pdbs;
}

export interface ClusterFacts {
  nodes: NodeInfo[];
  pdbs: PdbBlocker[];
  /** The lowest kube-apiserver version, when it could be read. */
  apiServerVersion?: string;
}

/** The cluster-wide checks over the first control plane's sections (`api`: its name). */
export function clusterChecks(
  list: CheckList,
  s: Map<string, SectionResult>,
  inventory: Inventory,
  api: string,
  allowUnlisted: boolean,
): ClusterFacts {
  const admin = s.get('admin-conf')?.output.trim();
  if (admin === 'present') list.pass('admin-conf');
  else
    list.add({
      name: 'admin-conf',
      node: api,
      status: 'fail',
      message: `${ADMIN_CONF} not found on the first control plane`,
    });
  const parsed = parseClusterSections(s);
  if (!parsed.nodes)
    list.add({ name: 'node-ready', node: api, status: 'fail', message: parsed.errors.join('; ') });
  if (parsed.kubeadmConfigPresent) list.pass('kubeadm-config');
  else {
    list.add({
      name: 'kubeadm-config',
      node: api,
      status: 'fail',
      message: 'the kubeadm-config ConfigMap is missing in kube-system',
    });
  }
  const ks = s.get('kube-system');
  if (ks?.exitCode === 0) {
    const cps = inventory.nodes.filter((n) => n.role === 'control-plane').map((n) => n.name);
    const problems = controlPlaneProblems(ks.output, cps);
    if (problems.length)
      list.add({ name: 'control-plane-health', status: 'fail', message: problems.join('; ') });
    else list.pass('control-plane-health');
  } else
    list.add({
      name: 'control-plane-health',
      status: 'fail',
      message: `cannot list kube-system pods: ${ks?.output.split('\n').pop() ?? ''}`,
    });
  const unlisted = unlistedNodes(inventory, parsed.nodes ?? []);
  if (unlisted) list.add({ ...unlisted, status: allowUnlisted ? 'warn' : 'fail' });
  etcdHealthCheck(list, s.get('etcd'), api);
  const pdbs = pdbCheck(list, s);
  return {
    nodes: parsed.nodes ?? [],
    pdbs,
    ...(parsed.apiServerVersions.length ? { apiServerVersion: parsed.apiServerVersions.sort()[0] } : {}),
  };
}
