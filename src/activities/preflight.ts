/**
 * Preflight: read-only checks over every node, batched so each node costs one SSH command (plus
 * one package listing per hop whose minor its repository does not serve yet), the first control
 * plane one more for the cluster-wide reads. Nothing here writes anything on any node.
 *
 * Checks (PreflightCheck.name): ssh, admin-conf, node-ready, unlisted-nodes, node-identity,
 * control-plane-health, etcd-health, swap, kubeadm-config, versions, packages, pdb, skew. Per-node
 * passes are folded into one `pass` line per check so a 1,000-node report stays small; every
 * warning and failure is kept.
 */
import { cmd, sh } from '../ssh/command';
import type { PdbBlocker, PreflightCheck, PreflightReport, ResolvedHop } from '../shared/activities';
import type { Inventory, InventoryNode } from '../shared/inventory';
import { clusterContext } from '../shared/inventory';
import { isVersion, minorOf, withV, parseVersion } from '../shared/versions';
import {
  ADMIN_CONF,
  CLUSTER_READ_MAX_BYTES,
  clusterSections,
  kubectl,
  parseClusterSections,
  type NodeInfo,
} from './kubectl';
import {
  configuredUrl,
  isInsecureUrl,
  isLegacyRepoUrl,
  locateRepoCommand,
  parseLocatedRepo,
  readVersionlocksCommand,
  repoKeyUrl,
  repoUrlFor,
} from './repo';
import { ensureRepoKey } from './repo-key';
import { ErrorTypes } from './failure';
import type { Runner } from './runner';
import { heartbeat, logger, mapLimit } from './runtime';
import { batch, jsonIn, parseBatch, targetOf, type SectionResult } from './script';
import { listMinor } from './target';
import { versionlockCheck } from './package-install';
import { ApplicationFailure } from '@temporalio/common';
import { ETCD_MANIFEST, ETCD_TLS, etcdctlAnywhere } from './etcdctl';
import {
  KUBELET_CONFIG,
  kubeletConfigMapSwap,
  kubeletSwapConfig,
  type KubeletSwapConfig,
} from './kubelet-config';
import { identityVerdict, nodeIdentityCommand, parseNodeIdentity } from './node-identity';

/** etcdctl could not be started at all (neither on the host nor in the etcd pod). */
const ETCDCTL_UNAVAILABLE =
  /OCI runtime exec failed|executable file not found|pods? "etcd-[^"]*" not found|NotFound|command not found|unable to upgrade connection|error dialing backend/;

/** Swap is on and the node's kubelet config has `failSwapOn: false`. */
function swapAllowedOnNode(sections: Map<string, SectionResult> | undefined): boolean {
  const swap = sections?.get('swap');
  const cfg = sections?.get('kubelet-config');
  if (!swap || !cfg || cfg.exitCode !== 0 || swapDevices(swap.output).length === 0) return false;
  return kubeletSwapConfig(cfg.output)?.failSwapOn === false;
}

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
  /** the pinned repository key, checked on the first control plane */
  repoKey?: PreflightCheck;
  packages: { hop: ResolvedHop; status: 'pass' | 'warn' | 'fail'; message: string }[];
}

function someNodes(nodes: string[]): string {
  return `${nodes.length === 1 ? 'node' : `${nodes.length} nodes:`} ${nodes.slice(0, 5).join(', ')}${nodes.length > 5 ? ', …' : ''}`;
}

/**
 * The `repository` check (issue 12 item 1, issue 13 item 7): a legacy repository (frozen since
 * 2023-09-13) is reported with what the repo step will do about it; a plain http:// repository that
 * kupgrade would keep using (unmanaged) is refused unless packages.allowInsecureRepo is true.
 */
export function repositoryChecks(
  inventory: Inventory,
  hops: ResolvedHop[],
  repos: { node: string; content: string | null }[],
): PreflightCheck[] {
  const manager = inventory.packages.manager;
  const hop = hops[0];
  const url = hop ? repoUrlFor(inventory, hop.minor) : undefined;
  const allowHttp = inventory.packages.allowInsecureRepo === true;
  const byUrl = new Map<string, string[]>();
  let plain = 0;
  for (const r of repos) {
    const u = r.content ? configuredUrl(manager, r.content) : undefined;
    if (u && (isLegacyRepoUrl(u) || isInsecureUrl(u))) byUrl.set(u, [...(byUrl.get(u) ?? []), r.node]);
    else plain++;
  }
  const out: PreflightCheck[] = [];
  const newest = hops.length ? parseVersion(hops[hops.length - 1].version) : undefined;
  for (const [u, nodes] of byUrl) {
    const legacy = isLegacyRepoUrl(u);
    const what = legacy
      ? `legacy repository ${u} on ${someNodes(nodes)} (no /vX.Y/, frozen since 2023-09-13: nothing newer than 1.28.2, -0/-00 releases)`
      : `plain http:// repository ${u} on ${someNodes(nodes)}`;
    if (url && hop) {
      out.push({
        name: 'repository',
        status: 'warn',
        message: `${what}; ${hop.version} is resolved from ${url}, and the repo step migrates the file to it (gpgcheck=1, key ${repoKeyUrl(manager, url)})`,
      });
    } else if (isInsecureUrl(u) && !allowHttp) {
      out.push({
        name: 'repository',
        status: 'fail',
        message: `${what} is kept (repository mode unmanaged) and would install packages without TLS; use an https:// repository or set packages.allowInsecureRepo: true to accept it knowingly`,
      });
    } else {
      const stuck = legacy && newest !== undefined && newest.minor > 28;
      out.push({
        name: 'repository',
        status: stuck ? 'fail' : 'warn',
        message: `${what} is kept (repository mode unmanaged)${stuck ? ` and cannot serve ${hops[hops.length - 1].version}` : ''}; set packages.repository.mode: pkgs.k8s.io (or mirror) and kupgrade migrates it`,
      });
    }
  }
  if (out.length === 0 && plain > 0)
    out.push({
      name: 'repository',
      status: 'pass',
      message: `ok on ${plain} ${plain === 1 ? 'check' : 'checks'}`,
    });
  return out;
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
      { name: 'kubelet-config', command: cmd('cat', KUBELET_CONFIG) },
      { name: 'identity', command: nodeIdentityCommand() },
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
        const rows = listing.listed.filter((l) => l.version === withV(hop.version).slice(1));
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
    /** the cluster-wide KubeletConfiguration kubeadm upgrade writes back to every node (null: unknown) */
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
      const unlisted = unlistedNodes(inventory, parsed.nodes ?? []);
      if (unlisted) add({ ...unlisted, status: allowUnlisted ? 'warn' : 'fail' });
      const etcd = s.get('etcd');
      const etcdOut = etcd?.output ?? '';
      const h = etcdHealth(etcdOut);
      if (/external etcd/.test(etcdOut))
        add({ name: 'etcd-health', status: 'pass', message: 'external etcd (not checked here)' });
      else if (h.healthy.length + h.unhealthy.length === 0 && ETCDCTL_UNAVAILABLE.test(etcdOut)) {
        add({
          name: 'etcd-health',
          node: api.name,
          status: 'warn',
          message: `cannot run etcdctl on the first control plane (no host etcdctl, and in the etcd pod: ${etcdOut.split('\n').filter(Boolean).pop() ?? ''}); etcd health read from its pod status only`,
        });
      } else {
        if (etcd?.exitCode === 0 && h.unhealthy.length === 0 && h.healthy.length > 0) pass('etcd-health');
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
      const identity = f.sections.get('identity');
      const who = identityVerdict(name, f.node.address, parseNodeIdentity(identity?.output ?? ''));
      if (who.status === 'pass') pass('node-identity');
      else add({ name: 'node-identity', node: name, ...who });
      const swap = f.sections.get('swap');
      const devices = swap ? swapDevices(swap.output) : [];
      const kcfg = f.sections.get('kubelet-config');
      const swapCfg = kcfg?.exitCode === 0 ? kubeletSwapConfig(kcfg.output) : null;
      if (swap && swap.exitCode === 0 && devices.length === 0) pass('swap');
      else if (devices.length && swapCfg && !swapCfg.failSwapOn) {
        const on = `swap is on (${devices.join(', ')}) and the kubelet runs with failSwapOn: false (memorySwap.swapBehavior: ${swapCfg.swapBehavior ?? 'NoSwap, the default'})`;
        if (clusterKubelet?.failSwapOn === true)
          add({
            name: 'swap',
            node: name,
            status: 'warn',
            message: `${on}, but the kubelet-config ConfigMap does not set failSwapOn: false: kubeadm upgrade apply|node rewrites ${KUBELET_CONFIG} from it, and the kubelet then refuses to start with swap on. Set failSwapOn: false (and memorySwap) in the ConfigMap (kubectl -n kube-system edit cm kubelet-config) or in a kubeletconfiguration patch, or swapoff -a, before upgrading`,
          });
        else
          add({
            name: 'swap',
            node: name,
            status: 'pass',
            message: `${on}, supported with NodeSwap since 1.28; ${clusterKubelet ? 'the kubelet-config ConfigMap, which kubeadm upgrade writes back, sets it too' : `kubeadm upgrade rewrites ${KUBELET_CONFIG} from the kubelet-config ConfigMap, so keep failSwapOn: false there (or in a kubeletconfiguration patch)`}`,
          });
      } else if (devices.length)
        add({
          name: 'swap',
          node: name,
          status: 'fail',
          message: `swap is on (${devices.join(', ')}) and the kubelet's ${KUBELET_CONFIG} ${swapCfg ? 'does not set failSwapOn: false' : 'could not be read'}: run swapoff -a and remove it from /etc/fstab, or run the kubelet with failSwapOn: false (NodeSwap, 1.28+)`,
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
    checks.push(
      ...repositoryChecks(
        inventory,
        hops,
        facts.filter((f) => f.sections).map((f) => ({ node: f.node.name, content: f.repo ?? null })),
      ),
    );
    for (const f of facts) if (f.repoKey) add(f.repoKey);
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
