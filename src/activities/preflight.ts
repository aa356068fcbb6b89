/**
 * Preflight: read-only checks over every node, batched so each node costs one SSH command (plus
 * one package listing per hop whose minor its repository does not serve yet), the first control
 * plane one more for the cluster-wide reads. Nothing here writes anything on any node.
 *
 * Checks (PreflightCheck.name): ssh, admin-conf, node-ready, unlisted-nodes, node-identity,
 * control-plane-health, etcd-health, swap, kubeadm-config, versions, packages, pdb, skew,
 * repository. Per-node passes are folded into one `pass` line per check (preflight-checks.ts).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { PreflightReport, ResolvedHop } from '../shared/activities';
import type { Inventory } from '../shared/inventory';
import { clusterContext } from '../shared/inventory';
import { ErrorTypes } from './failure';
import { kubeletConfigMapSwap, type KubeletSwapConfig } from './kubelet-config';
import { kubectl } from './kubectl';
import { CheckList } from './preflight-checks';
import { clusterChecks, type ClusterFacts } from './preflight-cluster';
import { nodeChecks, swapAllowedOnNode } from './preflight-node';
import { probeNode } from './preflight-probe';
import { repositoryChecks } from './preflight-repository';
import type { Runner } from './runner';
import { heartbeat, logger, mapLimit } from './runtime';
import { targetOf } from './script';

export function createPreflightActivities(run: Runner, concurrency = 32) {
  async function preflight(input: {
    inventory: Inventory;
    hops: ResolvedHop[];
    allowUnlisted?: boolean;
  }): Promise<PreflightReport> {
    const { inventory, hops } = input;
    // exactly `true`: the worker does not take a truthy string from a workflow input for a yes
    const allowUnlisted = input.allowUnlisted === true;
    const cluster = clusterContext(inventory);
    const api = cluster.apiNode;
    let done = 0;
    const facts = await mapLimit(inventory.nodes, concurrency, async (n) => {
      const f = await probeNode(run, inventory, n, hops, n.name === api.name);
      done++;
      heartbeat({ step: 'preflight', done, of: inventory.nodes.length });
      return f;
    });
    const list = new CheckList();

    const hostKey = facts.filter((f) => f.error?.type === ErrorTypes.HostKeyMismatch);
    for (const f of facts) {
      if (f.error)
        list.add({
          name: f.error.type === ErrorTypes.HostKeyMismatch ? 'host-key' : 'ssh',
          node: f.node.name,
          status: 'fail',
          message: f.error.message,
        });
      else list.pass('ssh');
    }
    if (hostKey.length > 0) {
      // Refused before any command: a changed or unknown host key is never worked around.
      throw ApplicationFailure.create({
        type: ErrorTypes.HostKeyMismatch,
        message: hostKey.map((f) => f.error?.message).join('; '),
        nonRetryable: true,
        details: [
          {
            node: hostKey[0].node.name,
            hints: ['Check the node was not replaced, then update known_hosts or ssh.hostKeyFingerprints.'],
            checks: list.checks,
          },
        ],
      });
    }

    const s = facts.find((f) => f.node.name === api.name)?.sections;
    let clusterKubelet: KubeletSwapConfig | null = null;
    if (s && facts.some((f) => swapAllowedOnNode(f.sections))) {
      // read only when a node runs with swap allowed: one more command on the first control plane
      const r = await run.exec(
        targetOf(cluster.inventory, api),
        kubectl('-n', 'kube-system', 'get', 'configmap', 'kubelet-config', '-o', 'json'),
        { step: 'preflight' },
      );
      if (r.exitCode === 0) clusterKubelet = kubeletConfigMapSwap(r.stdout);
    }
    const seen: ClusterFacts = s
      ? clusterChecks(list, s, inventory, api.name, allowUnlisted)
      : { nodes: [], pdbs: [] };

    const byName = new Map(seen.nodes.map((n) => [n.name, n]));
    for (const f of facts) {
      nodeChecks(list, f, {
        inventory,
        hops,
        clusterRead: s !== undefined,
        seen: byName.get(f.node.name),
        ...(seen.apiServerVersion ? { apiServerVersion: seen.apiServerVersion } : {}),
        clusterKubelet,
      });
    }
    const repos = facts
      .filter((f) => f.sections)
      .map((f) => ({ node: f.node.name, content: f.repo ?? null }));
    for (const c of repositoryChecks(inventory, hops, repos)) list.add(c);
    for (const f of facts) if (f.repoKey) list.add(f.repoKey);
    const checks = list.report();
    const ok = !checks.some((c) => c.status === 'fail');
    logger().info('preflight done', { ok, failures: checks.filter((c) => c.status === 'fail').length });
    return { ok, checks, pdbs: seen.pdbs };
  }
  return { preflight };
}
