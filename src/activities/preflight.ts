/**
 * Preflight: read-only checks over every node, batched so each node costs one SSH command (plus
 * one package listing per hop whose minor its repository does not serve yet), the first control
 * plane one more for the cluster-wide reads. Nothing here writes anything on any node.
 *
 * Checks (PreflightCheck.name): ssh, admin-conf, node-ready, control-plane-health, etcd-health,
 * swap, kubeadm-config, versions, packages, pdb, skew. Per-node passes are folded into one `pass`
 * line per check so a 1,000-node report stays small; every warning and failure is kept.
 */
import { cmd, sh } from '../ssh/command';
import type { PdbBlocker, PreflightCheck, PreflightReport, ResolvedHop } from '../shared/activities';
import type { Inventory, InventoryNode } from '../shared/inventory';
import { clusterContext } from '../shared/inventory';
import { isVersion, minorOf, normalizeVersion, parseVersion } from '../shared/versions';
import {
  ADMIN_CONF,
  CLUSTER_READ_MAX_BYTES,
  clusterSections,
  kubectl,
  parseClusterSections,
  type NodeInfo,
} from './kubectl';
import { locateRepoCommand, parseLocatedRepo, readVersionlocksCommand } from './repo';
import { ErrorTypes, heartbeat, logger, mapLimit, type Runner } from './runtime';
import { batch, jsonIn, parseBatch, targetOf, type SectionResult } from './script';
import { listMinor } from './target';
import { versionlockCheck } from './package-install';
import { ApplicationFailure } from '@temporalio/common';

/** `swapon --show` prints nothing at all when swap is off; a header and rows when on. */
export function swapDevices(output: string): string[] {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^NAME\s+TYPE/.test(l))
    .map((l) => l.split(/\s+/)[0]);
}

/** etcdctl endpoint health: `<ep> is healthy: ...` / `<ep> is unhealthy: ...`. */
export function etcdHealth(output: string): { healthy: string[]; unhealthy: string[] } {
  const healthy: string[] = [];
  const unhealthy: string[] = [];
  for (const line of output.split('\n')) {
    const m = /^(\S+) is (healthy|unhealthy)/.exec(line.trim());
    if (m) (m[2] === 'healthy' ? healthy : unhealthy).push(m[1]);
  }
  return { healthy, unhealthy };
}

interface K8sPdb {
  metadata?: { name?: string; namespace?: string };
  spec?: {
    minAvailable?: number | string;
    maxUnavailable?: number | string;
    selector?: { matchLabels?: Record<string, string> };
  };
  status?: {
    disruptionsAllowed?: number;
    currentHealthy?: number;
    desiredHealthy?: number;
    expectedPods?: number;
  };
}

interface K8sPodLite {
  metadata?: { namespace?: string; labels?: Record<string, string> };
  spec?: { nodeName?: string };
}

/** PDBs allowing no disruption now, with the nodes running the pods they select (matchLabels). */
export function pdbBlockers(pdbJson: string, podsJson: string | undefined): PdbBlocker[] {
  const pdbs = (jsonIn(pdbJson) as { items?: K8sPdb[] }).items ?? [];
  let pods: K8sPodLite[] = [];
  if (podsJson) {
    try {
      pods = (jsonIn(podsJson) as { items?: K8sPodLite[] }).items ?? [];
    } catch {
      pods = [];
    }
  }
  const out: PdbBlocker[] = [];
  for (const p of pdbs) {
    const allowed = p.status?.disruptionsAllowed;
    if (allowed === undefined || allowed > 0) continue;
    const ns = p.metadata?.namespace ?? 'default';
    const sel = p.spec?.selector?.matchLabels ?? {};
    const nodes = new Set<string>();
    for (const pod of pods) {
      if ((pod.metadata?.namespace ?? 'default') !== ns || !pod.spec?.nodeName) continue;
      const labels = pod.metadata?.labels ?? {};
      if (Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v))
        nodes.add(pod.spec.nodeName);
    }
    const limit =
      p.spec?.minAvailable !== undefined
        ? `minAvailable ${p.spec.minAvailable}`
        : `maxUnavailable ${p.spec?.maxUnavailable ?? '?'}`;
    out.push({
      namespace: ns,
      name: p.metadata?.name ?? '?',
      nodes: [...nodes].sort(),
      reason: `allowed disruptions 0 (${limit}, ${p.status?.currentHealthy ?? '?'} healthy)`,
    });
  }
  return out;
}

const CP_COMPONENTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'];

/** Control-plane static pods not Running and ready, per the kube-system pod list. */
export function controlPlaneProblems(kubeSystemJson: string, controlPlanes: string[]): string[] {
  const items =
    (
      jsonIn(kubeSystemJson) as {
        items?: {
          metadata?: { name?: string; labels?: Record<string, string> };
          spec?: { nodeName?: string };
          status?: { phase?: string; containerStatuses?: { ready?: boolean }[] };
        }[];
      }
    ).items ?? [];
  const problems: string[] = [];
  for (const node of controlPlanes) {
    for (const comp of CP_COMPONENTS) {
      // kubeadm's static pods carry `component: <name>` and are mirrored as `<name>-<node>`.
      const pod = items.find(
        (p) =>
          (p.metadata?.labels?.component === comp && p.spec?.nodeName === node) ||
          p.metadata?.name === `${comp}-${node}`,
      );
      if (!pod) {
        // etcd may be external; the other three must exist.
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

interface NodeFacts {
  node: InventoryNode;
  error?: { type: string; message: string };
  sections?: Map<string, SectionResult>;
  repo?: string | null;
  packages: { hop: ResolvedHop; status: 'pass' | 'warn' | 'fail'; message: string }[];
}

export function createPreflightActivities(run: Runner, concurrency = 32) {
  async function probeNode(
    inventory: Inventory,
    node: InventoryNode,
    hops: ResolvedHop[],
    first: boolean,
  ): Promise<NodeFacts> {
    const cluster = clusterContext(inventory);
    const target = targetOf(cluster.inventory, node);
    const manager = inventory.packages.manager;
    const sections = [
      { name: 'kubeadm', command: cmd('kubeadm', 'version', '-o', 'short') },
      { name: 'swap', command: cmd('swapon', '--show') },
      { name: 'kubelet', command: cmd('systemctl', 'is-active', 'kubelet') },
      { name: 'repo', command: locateRepoCommand(manager) },
      ...(manager === 'apt' ? [] : [{ name: 'versionlock', command: readVersionlocksCommand() }]),
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
          command: sh`if [ ! -f /etc/kubernetes/manifests/etcd.yaml ]; then echo 'external etcd'; elif command -v etcdctl >/dev/null 2>&1; then ${cmd(
            'env',
            'ETCDCTL_API=3',
            'etcdctl',
            '--endpoints=https://127.0.0.1:2379',
            '--cacert=/etc/kubernetes/pki/etcd/ca.crt',
            '--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt',
            '--key=/etc/kubernetes/pki/etcd/healthcheck-client.key',
            'endpoint',
            'health',
          )}; else echo 'no etcdctl'; fi`,
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
        const rows = listing.listed.filter((l) => l.version === normalizeVersion(hop.version).slice(1));
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
    } catch (err) {
      const f = err as { type?: string; name?: string; message?: string; nonRetryable?: boolean };
      // Transport trouble is retried by Temporal (the whole read-only preflight runs again).
      if (!(err instanceof ApplicationFailure) || !f.nonRetryable) throw err;
      facts.error = { type: f.type ?? 'Unknown', message: f.message ?? String(err) };
    }
    return facts;
  }

  async function preflight(input: { inventory: Inventory; hops: ResolvedHop[] }): Promise<PreflightReport> {
    const { inventory, hops } = input;
    const cluster = clusterContext(inventory);
    const api = cluster.apiNode;
    let done = 0;
    const facts = await mapLimit(inventory.nodes, concurrency, async (n) => {
      const f = await probeNode(inventory, n, hops, n.name === api.name);
      done++;
      heartbeat({ step: 'preflight', done, of: inventory.nodes.length });
      return f;
    });
    const checks: PreflightCheck[] = [];
    const passes = new Map<string, number>();
    const pass = (name: string) => passes.set(name, (passes.get(name) ?? 0) + 1);
    const add = (c: PreflightCheck) => checks.push(c);

    const hostKey = facts.filter((f) => f.error?.type === ErrorTypes.HostKeyMismatch);
    for (const f of facts) {
      if (f.error)
        add({
          name: f.error.type === ErrorTypes.HostKeyMismatch ? 'host-key' : 'ssh',
          node: f.node.name,
          status: 'fail',
          message: f.error.message,
        });
      else pass('ssh');
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
            checks,
          },
        ],
      });
    }

    // Cluster-wide reads on the first control plane.
    const apiFacts = facts.find((f) => f.node.name === api.name);
    const s = apiFacts?.sections;
    let nodes: NodeInfo[] = [];
    let pdbs: PdbBlocker[] = [];
    let apiServerVersion: string | undefined;
    if (s) {
      const admin = s.get('admin-conf')?.output.trim();
      if (admin === 'present') pass('admin-conf');
      else
        add({
          name: 'admin-conf',
          node: api.name,
          status: 'fail',
          message: `${ADMIN_CONF} not found on the first control plane`,
        });
      const parsed = parseClusterSections(s);
      nodes = parsed.nodes ?? [];
      apiServerVersion = parsed.apiServerVersions.sort()[0];
      if (!parsed.nodes)
        add({ name: 'node-ready', node: api.name, status: 'fail', message: parsed.errors.join('; ') });
      if (parsed.kubeadmConfigPresent) pass('kubeadm-config');
      else {
        add({
          name: 'kubeadm-config',
          node: api.name,
          status: 'fail',
          message: 'the kubeadm-config ConfigMap is missing in kube-system',
        });
      }
      const ks = s.get('kube-system');
      if (ks?.exitCode === 0) {
        const cps = inventory.nodes.filter((n) => n.role === 'control-plane').map((n) => n.name);
        const problems = controlPlaneProblems(ks.output, cps);
        if (problems.length)
          add({ name: 'control-plane-health', status: 'fail', message: problems.join('; ') });
        else pass('control-plane-health');
      } else
        add({
          name: 'control-plane-health',
          status: 'fail',
          message: `cannot list kube-system pods: ${ks?.output.split('\n').pop() ?? ''}`,
        });
      const etcd = s.get('etcd');
      const etcdOut = etcd?.output ?? '';
      if (/external etcd/.test(etcdOut))
        add({ name: 'etcd-health', status: 'pass', message: 'external etcd (not checked here)' });
      else if (/no etcdctl/.test(etcdOut)) {
        add({
          name: 'etcd-health',
          node: api.name,
          status: 'warn',
          message:
            'etcdctl is not installed on the first control plane; etcd health read from its pod status only',
        });
      } else {
        const h = etcdHealth(etcdOut);
        if (etcd?.exitCode === 0 && h.unhealthy.length === 0) pass('etcd-health');
        else
          add({
            name: 'etcd-health',
            node: api.name,
            status: 'fail',
            message: `etcd unhealthy: ${etcdOut.split('\n').filter(Boolean).slice(-2).join(' ')}`,
          });
      }
      const pdb = s.get('pdb');
      if (pdb?.exitCode === 0) {
        try {
          pdbs = pdbBlockers(pdb.output, s.get('pods')?.exitCode === 0 ? s.get('pods')?.output : undefined);
        } catch {
          pdbs = [];
        }
        for (const b of pdbs) {
          add({
            name: 'pdb',
            status: 'warn',
            message: `${b.namespace}/${b.name}: ${b.reason}; may block draining ${b.nodes.join(', ') || 'its nodes'}`,
          });
        }
        if (pdbs.length === 0) pass('pdb');
      } else add({ name: 'pdb', status: 'warn', message: 'cannot list PodDisruptionBudgets' });
    }

    // Per-node checks.
    const byName = new Map(nodes.map((n) => [n.name, n]));
    for (const f of facts) {
      const name = f.node.name;
      const seen = byName.get(name);
      if (s && !seen)
        add({
          name: 'node-ready',
          node: name,
          status: 'fail',
          message: 'not found in the cluster (kubectl get nodes)',
        });
      else if (seen && !seen.ready)
        add({ name: 'node-ready', node: name, status: 'fail', message: 'node is not Ready' });
      else if (seen) pass('node-ready');
      if (!f.sections) continue;
      const swap = f.sections.get('swap');
      const devices = swap ? swapDevices(swap.output) : [];
      if (swap && swap.exitCode === 0 && devices.length === 0) pass('swap');
      else if (devices.length)
        add({
          name: 'swap',
          node: name,
          status: 'fail',
          message: `swap is on (${devices.join(', ')}); run swapoff -a and remove it from /etc/fstab`,
        });
      else
        add({
          name: 'swap',
          node: name,
          status: 'warn',
          message: `cannot read swap state: ${swap?.output.trim() ?? 'no output'}`,
        });
      const kubeadm = f.sections.get('kubeadm')?.output.trim() ?? '';
      const kubelet = seen?.kubeletVersion ?? '?';
      if (isVersion(kubeadm)) pass('versions');
      else
        add({
          name: 'versions',
          node: name,
          status: 'warn',
          message: `kubeadm version unreadable (${kubeadm.split('\n').pop()}); kubelet ${kubelet}`,
        });
      if (apiServerVersion && seen && isVersion(seen.kubeletVersion)) {
        const kv = parseVersion(seen.kubeletVersion);
        const av = parseVersion(apiServerVersion);
        if (kv.minor > av.minor) {
          add({
            name: 'skew',
            node: name,
            status: 'fail',
            message: `kubelet ${seen.kubeletVersion} is newer than kube-apiserver ${apiServerVersion}`,
          });
        } else if (hops.length && parseVersion(minorOf(hops[hops.length - 1].version)).minor - kv.minor > 3) {
          add({
            name: 'skew',
            node: name,
            status: 'warn',
            message: `kubelet ${seen.kubeletVersion} will be more than 3 minors behind until upgraded`,
          });
        } else pass('skew');
      }
      const locks = versionlockCheck(inventory.packages.manager, f.sections.get('versionlock'));
      if (locks === 'pass') pass('versionlock');
      else if (locks) add({ name: 'versionlock', node: name, status: 'fail', message: locks });
      for (const p of f.packages) {
        if (p.status === 'pass') pass('packages');
        else add({ name: 'packages', node: name, status: p.status, message: p.message });
      }
    }
    for (const [name, count] of passes) {
      if (!checks.some((c) => c.name === name && c.status === 'fail')) {
        checks.push({ name, status: 'pass', message: `ok on ${count} ${count === 1 ? 'check' : 'checks'}` });
      }
    }
    const ok = !checks.some((c) => c.status === 'fail');
    logger().info('preflight done', { ok, failures: checks.filter((c) => c.status === 'fail').length });
    return { ok, checks, pdbs };
  }
  return { preflight };
}
