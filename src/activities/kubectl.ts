/**
 * kubectl on the first control plane (admin.conf): the command itself, reading one node, and the
 * cluster-wide reads getClusterState, preflight and verify share (nodes, the kube-apiserver
 * version, the kubeadm-config ConfigMap, the kube-system pods).
 */
import { parseKubeadmConfigMap } from '../parsers/kubeadm-config';
import { parseNodesJson, parseServerVersion } from '../parsers/kubectl';
import { imageTag, parsePodsJson } from '../parsers/pods';
import { cmd, type ShellCommand } from '../ssh/command';
import type { ObservedNode } from '../shared/activities';
import type { ClusterContext } from '../shared/inventory';
import { withV } from '../shared/versions';
import { ErrorTypes, failure, lastLine, looksTransient, outputOf } from './failure';
import type { Runner } from './runner';
import { targetOf, type Section, type SectionResult } from './script';

export const ADMIN_CONF = '/etc/kubernetes/admin.conf';

/**
 * Output cap of the cluster-wide reads (every Node, every Pod as JSON): a 1,000-node cluster's
 * lists are tens of MB, and a truncated batch would lose its first sections.
 */
export const CLUSTER_READ_MAX_BYTES = 256 * 1024 * 1024;

/** `kubectl --kubeconfig=/etc/kubernetes/admin.conf ...` (run on the first control plane). */
export function kubectl(...args: string[]): ShellCommand {
  return cmd('kubectl', `--kubeconfig=${ADMIN_CONF}`, ...args);
}

export interface NodeInfo extends ObservedNode {
  controlPlane: boolean;
}

/** `kubectl get node(s) -o json`: a List or a single Node. */
export function nodesFromJson(text: string): NodeInfo[] {
  return parseNodesJson(text).map((n) => ({
    name: n.name,
    kubeletVersion: n.kubeletVersion,
    ready: n.ready,
    unschedulable: n.unschedulable,
    controlPlane: n.roles.includes('control-plane') || n.roles.includes('master'),
  }));
}

/** The fields of the ObservedNode contract only (the workflow's history keeps nothing more). */
export function observed(nodes: NodeInfo[]): ObservedNode[] {
  return nodes.map(({ name, kubeletVersion, ready, unschedulable }) => ({
    name,
    kubeletVersion,
    ready,
    unschedulable,
  }));
}

/** Reads one node through kubectl on the API node. Throws a retryable failure when it cannot. */
export async function readNode(
  run: Runner,
  cluster: ClusterContext,
  name: string,
  step: string,
): Promise<NodeInfo> {
  const api = targetOf(cluster.inventory, cluster.apiNode);
  const r = await run.exec(api, kubectl('get', 'node', name, '-o', 'json'), { step });
  const out = outputOf(r);
  if (r.exitCode !== 0) {
    const notFound = /NotFound|not found/.test(out) && !looksTransient(out);
    throw failure({
      type: notFound ? ErrorTypes.CommandFailed : ErrorTypes.Transient,
      message: notFound
        ? `node ${name} is not in the cluster: ${lastLine(out)}`
        : `cannot read node ${name}: ${lastLine(out)}`,
      node: name,
      step,
      result: r,
      nonRetryable: notFound,
    });
  }
  return nodesFromJson(r.stdout)[0];
}

/** Sections shared by getClusterState, preflight and verify. */
export const clusterSections = {
  nodes: { name: 'nodes', command: kubectl('get', 'nodes', '-o', 'json') },
  apiserver: {
    name: 'apiserver',
    command: kubectl('-n', 'kube-system', 'get', 'pods', '-l', 'component=kube-apiserver', '-o', 'json'),
  },
  kubeadmConfig: {
    name: 'kubeadm-config',
    command: kubectl('-n', 'kube-system', 'get', 'configmap', 'kubeadm-config', '-o', 'json'),
  },
  version: { name: 'version', command: kubectl('version', '-o', 'json') },
  kubeSystemPods: {
    name: 'kube-system',
    command: kubectl('-n', 'kube-system', 'get', 'pods', '-o', 'json'),
  },
} as const satisfies Record<string, Section>;

export interface ParsedClusterSections {
  nodes?: NodeInfo[];
  /** tags of the kube-apiserver pods, by node when known */
  apiServerVersions: string[];
  kubeadmConfigVersion?: string;
  kubeadmConfigPresent: boolean;
  errors: string[];
}

export function parseClusterSections(sections: Map<string, SectionResult>): ParsedClusterSections {
  const res: ParsedClusterSections = { apiServerVersions: [], kubeadmConfigPresent: false, errors: [] };
  const nodes = sections.get('nodes');
  if (nodes?.exitCode === 0) {
    try {
      res.nodes = nodesFromJson(nodes.output);
    } catch (e) {
      res.errors.push(`kubectl get nodes: ${(e as Error).message}`);
    }
  } else res.errors.push(`kubectl get nodes: ${lastLine(nodes?.output ?? 'no output')}`);
  const api = sections.get('apiserver');
  if (api?.exitCode === 0) {
    try {
      for (const p of parsePodsJson(api.output)) {
        // The label selector should have done it; filter again by label or static-pod name.
        const isApiServer =
          p.metadata?.labels?.component === 'kube-apiserver' ||
          (p.metadata?.name ?? '').startsWith('kube-apiserver-');
        if (!isApiServer) continue;
        const tag = imageTag(p.spec?.containers?.[0]?.image ?? '');
        if (/^v?\d+\.\d+\.\d+$/.test(tag)) res.apiServerVersions.push(withV(tag));
      }
    } catch {
      // fall back to kubectl version below
    }
  }
  if (res.apiServerVersions.length === 0) {
    const v = sections.get('version');
    if (v?.exitCode === 0) {
      try {
        const server = parseServerVersion(v.output);
        if (server) res.apiServerVersions.push(server);
      } catch {
        // reported below
      }
    }
  }
  if (res.apiServerVersions.length === 0) res.errors.push('could not read the kube-apiserver version');
  const cm = sections.get('kubeadm-config');
  if (cm?.exitCode === 0) {
    try {
      res.kubeadmConfigVersion = parseKubeadmConfigMap(cm.output).kubernetesVersion;
      res.kubeadmConfigPresent = true;
    } catch {
      res.kubeadmConfigPresent = false;
    }
  }
  return res;
}
