/**
 * Preflight's read of one node: one batched SSH command (plus one package listing per hop whose
 * minor its repository does not serve yet); the first control plane adds the cluster-wide reads
 * and, when the inventory pins one, the repository key check. Nothing here writes anything.
 */
import { ApplicationFailure } from '@temporalio/common';
import { cmd, sh } from '../ssh/command';
import type { PreflightCheck, ResolvedHop } from '../shared/activities';
import type { Inventory, InventoryNode } from '../shared/inventory';
import { clusterContext } from '../shared/inventory';
import { withoutV } from '../parsers/common';
import { ETCD_MANIFEST, ETCD_TLS, etcdctlAnywhere } from './etcdctl';
import { KUBELET_CONFIG } from './kubelet-config';
import { ADMIN_CONF, CLUSTER_READ_MAX_BYTES, clusterSections, kubectl } from './kubectl';
import { nodeIdentityCommand } from './node-identity';
import { PACKAGE_MANAGERS } from '../packages';
import { locateRepoCommand, parseLocatedRepo, repoUrlFor } from './repo';
import { ensureRepoKey } from './repo-key';
import type { Runner } from './runner';
import { batch, parseBatch, targetOf, type Section, type SectionResult } from './script';
import { listMinor } from './target';

export interface NodeFacts {
  node: InventoryNode;
  error?: { type: string; message: string };
  sections?: Map<string, SectionResult>;
  repo?: string | null;
  /** the pinned repository key, checked on the first control plane */
  repoKey?: PreflightCheck;
  packages: { hop: ResolvedHop; status: 'pass' | 'warn' | 'fail'; message: string }[];
}

export async function probeNode(
  run: Runner,
  inventory: Inventory,
  node: InventoryNode,
  hops: ResolvedHop[],
  first: boolean,
): Promise<NodeFacts> {
  const cluster = clusterContext(inventory);
  const target = targetOf(cluster.inventory, node);
  const manager = inventory.packages.manager;
  const locks = PACKAGE_MANAGERS[manager].locks;
  const sections: Section[] = [
    { name: 'kubeadm', command: cmd('kubeadm', 'version', '-o', 'short') },
    { name: 'swap', command: cmd('swapon', '--show') },
    { name: 'kubelet-config', command: cmd('cat', KUBELET_CONFIG) },
    { name: 'identity', command: nodeIdentityCommand() },
    { name: 'kubelet', command: cmd('systemctl', 'is-active', 'kubelet') },
    { name: 'repo', command: locateRepoCommand(manager) },
    ...(locks ? [{ name: 'versionlock', command: locks.readCommand() }] : []),
  ];
  if (first) {
    sections.push(
      {
        name: 'admin-conf',
        command: sh`if [ -f ${ADMIN_CONF} ]; then echo present; else echo missing; fi`,
      },
      clusterSections.nodes,
      clusterSections.apiserver,
      clusterSections.kubeadmConfig,
      clusterSections.version,
      { name: 'kube-system', command: kubectl('-n', 'kube-system', 'get', 'pods', '-o', 'json') },
      { name: 'pdb', command: kubectl('get', 'poddisruptionbudgets', '--all-namespaces', '-o', 'json') },
      { name: 'pods', command: kubectl('get', 'pods', '--all-namespaces', '-o', 'json') },
      {
        name: 'etcd',
        // the host's etcdctl, else the etcd pod's (etcdctl.ts)
        command: sh`if [ ! -f ${ETCD_MANIFEST} ]; then echo 'external etcd'; else ${etcdctlAnywhere(node.name, [...ETCD_TLS, 'endpoint', 'health'])}; fi`,
      },
    );
  }
  const facts: NodeFacts = { node, packages: [] };
  try {
    const r = await run.exec(target, batch(sections), {
      step: 'preflight',
      ...(first ? { maxOutputBytes: CLUSTER_READ_MAX_BYTES } : {}),
    });
    facts.sections = parseBatch(r.stdout);
    const repo = facts.sections.get('repo');
    facts.repo = repo?.exitCode === 0 ? parseLocatedRepo(manager, repo.output).content : null;
    for (const hop of hops) {
      const listing = await listMinor(run, cluster, target, hop.minor, 'preflight', {
        configured: facts.repo ?? null,
      });
      const rows = listing.listed.filter((l) => l.version === withoutV(hop.version));
      const names = new Set(rows.map((l) => l.name));
      if (['kubeadm', 'kubelet', 'kubectl'].every((n) => names.has(n))) {
        facts.packages.push({ hop, status: 'pass', message: `${hop.version} listed (${listing.how})` });
      } else if (
        listing.how === 'isolated' &&
        !listing.listed.some((l) => l.version.startsWith(`${hop.minor}.`))
      ) {
        // A per-minor repository listed nothing of its minor: the isolated listing was not
        // understood (or the repository is unreachable); never switch the repo to find out.
        facts.packages.push({
          hop,
          status: 'warn',
          message: `${hop.version} could not be listed without changing the repository configuration; resolved on ${cluster.apiNode.name}`,
        });
      } else {
        facts.packages.push({
          hop,
          status: 'fail',
          message: `${hop.version} (${hop.packages.kubeadm}) of kubeadm/kubelet/kubectl is not offered to this node`,
        });
      }
    }
    const pinned = inventory.packages.repository.keyFingerprint;
    const keyUrl = hops[0] && repoUrlFor(inventory, hops[0].minor);
    if (first && pinned && keyUrl) {
      try {
        const k = await ensureRepoKey(
          run,
          inventory,
          target,
          node.name,
          keyUrl,
          facts.repo ?? null,
          'preflight',
          false,
        );
        facts.repoKey = { name: 'repository-key', status: 'pass', message: `${keyUrl}: ${k.detail}` };
      } catch (err) {
        if (!(err instanceof ApplicationFailure) || !err.nonRetryable) throw err;
        facts.repoKey = { name: 'repository-key', node: node.name, status: 'fail', message: err.message };
      }
    }
  } catch (err) {
    const f = err as { type?: string; name?: string; message?: string; nonRetryable?: boolean };
    // Transport trouble is retried by Temporal (the whole read-only preflight runs again).
    if (!(err instanceof ApplicationFailure) || !f.nonRetryable) throw err;
    facts.error = { type: f.type ?? 'Unknown', message: f.message ?? String(err) };
  }
  return facts;
}
