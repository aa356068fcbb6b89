/** getClusterState: one batched read of the cluster on the first control plane (read-only). */
import type { ClusterState } from '../shared/activities';
import type { Inventory } from '../shared/inventory';
import { clusterContext } from '../shared/inventory';
import { lowestVersion } from '../shared/versions';
import { ErrorTypes, failure, outputOf, tail } from './failure';
import { CLUSTER_READ_MAX_BYTES, clusterSections, observed, parseClusterSections } from './kubectl';
import type { Runner } from './runner';
import { batch, parseBatch, targetOf, type SectionResult } from './script';
import { failedPods } from './verify';

/** The Failed kube-system pods of a cluster-state read (absent when the list could not be read). */
function failedBeforeIn(sec: SectionResult | undefined): { failedPods?: string[] } {
  if (sec?.exitCode !== 0) return {};
  try {
    return { failedPods: failedPods(sec.output) };
  } catch {
    return {};
  }
}

export function createClusterStateActivities(run: Runner) {
  async function getClusterState(input: { inventory: Inventory }): Promise<ClusterState> {
    const cluster = clusterContext(input.inventory);
    const api = targetOf(cluster.inventory, cluster.apiNode);
    const c = clusterSections;
    const r = await run.exec(
      api,
      batch([c.nodes, c.apiserver, c.kubeadmConfig, c.version, c.kubeSystemPods]),
      { step: 'cluster-state', maxOutputBytes: CLUSTER_READ_MAX_BYTES },
    );
    const sections = parseBatch(r.stdout);
    const parsed = parseClusterSections(sections);
    if (!parsed.nodes || parsed.apiServerVersions.length === 0) {
      const out = outputOf(r);
      throw failure({
        type: ErrorTypes.Transient,
        message: `cannot read the cluster state: ${parsed.errors.join('; ')}`,
        node: cluster.apiNode.name,
        step: 'cluster-state',
        result: { ...r, stdout: tail(out) },
        nonRetryable: false,
      });
    }
    return {
      apiServerVersion: lowestVersion(parsed.apiServerVersions),
      kubeadmConfigVersion: parsed.kubeadmConfigVersion,
      nodes: observed(parsed.nodes),
      ...failedBeforeIn(sections.get('kube-system')),
      observedAt: run.now().toISOString(),
    };
  }
  return { getClusterState };
}
