/**
 * kubectl on the first control plane (admin.conf): node states, cordon/drain/uncordon, waiting for
 * a node to be Ready at a version, and the final verification.
 *
 * Check-first rules:
 * - ensureDrained: node unschedulable and no pod left that drain would evict → nothing run.
 * - ensureUncordoned: node already schedulable → nothing run.
 * - waitNodeReady: read-only polling; its deadline survives retries (kept in the heartbeat).
 */
import { activityInfo } from '@temporalio/activity';
import { parseDrainOutput, parseNodesJson } from '../parsers/kubectl';
import { cmd, type ShellCommand } from '../ssh/command';
import type {
  ClusterState,
  DrainResult,
  NodeHopInput,
  NodeInput,
  NodeReadyResult,
  ObservedNode,
  StepResult,
  VerifyInput,
  VerifyReport,
} from '../shared/activities';
import type { ClusterContext, Inventory } from '../shared/inventory';
import { clusterContext } from '../shared/inventory';
import { compareVersions, normalizeVersion } from '../shared/versions';
import {
  currentContext,
  ErrorTypes,
  failure,
  heartbeat,
  lastLine,
  logger,
  looksTransient,
  outputOf,
  tail,
  type Runner,
} from './runtime';
import { batch, jsonIn, parseBatch, targetOf } from './script';
import { failedPods, imageTag, verifyFindings, type VerifyScope } from './verify';

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

/** `kubectl get node(s) -o json`: a List or a single Node (src/parsers). */
export function nodesFromJson(text: string): NodeInfo[] {
  return parseNodesJson(text).map((n) => ({
    name: n.name,
    kubeletVersion: n.kubeletVersion,
    ready: n.ready,
    unschedulable: n.unschedulable,
    controlPlane: n.roles.includes('control-plane') || n.roles.includes('master'),
  }));
}

interface K8sPod {
  metadata?: {
    name?: string;
    namespace?: string;
    annotations?: Record<string, string>;
    ownerReferences?: { kind?: string; controller?: boolean }[];
  };
  status?: { phase?: string };
}

/**
 * Pods `kubectl drain` would still have to remove from the node: not mirror/static pods, not
 * finished pods, not DaemonSet pods when DaemonSets are ignored. `ns/name` each.
 */
export function podsLeftToEvict(text: string, ignoreDaemonSets: boolean): string[] {
  const o = jsonIn(text) as { items?: K8sPod[] };
  const out: string[] = [];
  for (const p of o.items ?? []) {
    const owners = p.metadata?.ownerReferences ?? [];
    if (p.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined) continue;
    if (owners.some((r) => r.kind === 'Node')) continue;
    if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    if (ignoreDaemonSets && owners.some((r) => r.kind === 'DaemonSet')) continue;
    out.push(`${p.metadata?.namespace ?? 'default'}/${p.metadata?.name ?? '?'}`);
  }
  return out;
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

/** kubernetesVersion in a ClusterConfiguration (YAML) text. */
export function kubernetesVersionIn(clusterConfiguration: string): string | undefined {
  const m = /^\s*kubernetesVersion:\s*["']?(v?\d+\.\d+\.\d+)["']?\s*$/m.exec(clusterConfiguration);
  return m ? normalizeVersion(m[1]) : undefined;
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
} as const;

export interface ParsedClusterSections {
  nodes?: NodeInfo[];
  /** tags of the kube-apiserver pods, by node when known */
  apiServerVersions: string[];
  kubeadmConfigVersion?: string;
  kubeadmConfigPresent: boolean;
  errors: string[];
}

export function parseClusterSections(
  sections: Map<string, { exitCode: number; output: string }>,
): ParsedClusterSections {
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
      const pods = jsonIn(api.output) as {
        items?: {
          metadata?: { name?: string; labels?: Record<string, string> };
          spec?: { containers?: { image?: string }[] };
        }[];
      };
      for (const p of pods.items ?? []) {
        // The label selector should have done it; filter again by label or static-pod name.
        const isApiServer =
          p.metadata?.labels?.component === 'kube-apiserver' ||
          (p.metadata?.name ?? '').startsWith('kube-apiserver-');
        if (!isApiServer) continue;
        const tag = imageTag(p.spec?.containers?.[0]?.image ?? '');
        if (/^v?\d+\.\d+\.\d+$/.test(tag)) res.apiServerVersions.push(normalizeVersion(tag));
      }
    } catch {
      // fall back to kubectl version below
    }
  }
  if (res.apiServerVersions.length === 0) {
    const v = sections.get('version');
    if (v?.exitCode === 0) {
      try {
        const o = jsonIn(v.output) as { serverVersion?: { gitVersion?: string } };
        const g = o.serverVersion?.gitVersion ?? '';
        const m = /^v?\d+\.\d+\.\d+/.exec(g);
        if (m) res.apiServerVersions.push(normalizeVersion(m[0]));
      } catch {
        // reported below
      }
    }
  }
  if (res.apiServerVersions.length === 0) res.errors.push('could not read the kube-apiserver version');
  const cm = sections.get('kubeadm-config');
  if (cm?.exitCode === 0) {
    try {
      const o = jsonIn(cm.output) as { data?: { ClusterConfiguration?: string } };
      res.kubeadmConfigPresent = true;
      res.kubeadmConfigVersion = kubernetesVersionIn(o.data?.ClusterConfiguration ?? '');
    } catch {
      res.kubeadmConfigPresent = false;
    }
  }
  return res;
}

const kubeSystemPodsSection = {
  name: 'kube-system',
  command: kubectl('-n', 'kube-system', 'get', 'pods', '-o', 'json'),
};

/** The Failed kube-system pods of a cluster-state read (absent when the list could not be read). */
function failedBeforeIn(sec: { exitCode: number; output: string } | undefined): { failedPods?: string[] } {
  if (sec?.exitCode !== 0) return {};
  try {
    return { failedPods: failedPods(sec.output) };
  } catch {
    return {};
  }
}

function lowest(versions: string[]): string {
  return [...versions].sort(compareVersions)[0];
}

export function createKubectlActivities(run: Runner) {
  async function getClusterState(input: { inventory: Inventory }): Promise<ClusterState> {
    const cluster = clusterContext(input.inventory);
    const api = targetOf(cluster.inventory, cluster.apiNode);
    const c = clusterSections;
    const r = await run.exec(
      api,
      batch([c.nodes, c.apiserver, c.kubeadmConfig, c.version, kubeSystemPodsSection]),
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
      apiServerVersion: lowest(parsed.apiServerVersions),
      kubeadmConfigVersion: parsed.kubeadmConfigVersion,
      nodes: parsed.nodes.map(({ name, kubeletVersion, ready, unschedulable }) => ({
        name,
        kubeletVersion,
        ready,
        unschedulable,
      })),
      ...failedBeforeIn(sections.get('kube-system')),
      observedAt: run.now().toISOString(),
    };
  }

  async function ensureDrained(input: NodeInput): Promise<DrainResult> {
    const { cluster, node } = input;
    const d = cluster.inventory.drain;
    const api = targetOf(cluster.inventory, cluster.apiNode);
    const step = 'drain';
    const check = await run.exec(
      api,
      batch([
        { name: 'node', command: kubectl('get', 'node', node.name, '-o', 'json') },
        {
          name: 'pods',
          command: kubectl(
            'get',
            'pods',
            '--all-namespaces',
            '--field-selector',
            `spec.nodeName=${node.name}`,
            '-o',
            'json',
          ),
        },
      ]),
      { step },
    );
    const sections = parseBatch(check.stdout);
    const nodeSec = sections.get('node');
    if (!nodeSec || nodeSec.exitCode !== 0) {
      const out = nodeSec?.output ?? outputOf(check);
      const notFound = /NotFound/.test(out);
      throw failure({
        type: notFound ? ErrorTypes.CommandFailed : ErrorTypes.Transient,
        message: `cannot read node ${node.name}: ${lastLine(out)}`,
        node: node.name,
        step,
        result: check,
        nonRetryable: notFound,
      });
    }
    const before = nodesFromJson(nodeSec.output)[0];
    // A retry of this activity (a worker lost mid-drain) finds the cordon its first attempt made:
    // what the first attempt saw is kept in the heartbeat.
    const prior = safeHeartbeatDetails() as { wasCordoned?: unknown } | undefined;
    const wasCordoned = typeof prior?.wasCordoned === 'boolean' ? prior.wasCordoned : before.unschedulable;
    let left: string[] | null = null;
    const podsSec = sections.get('pods');
    if (podsSec?.exitCode === 0) {
      try {
        left = podsLeftToEvict(podsSec.output, d.ignoreDaemonSets);
      } catch {
        left = null;
      }
    }
    if (before.unschedulable && left !== null && left.length === 0) {
      logger().info('node already cordoned and drained', { node: node.name });
      return { changed: false, wasCordoned, detail: `${node.name} already cordoned and drained` };
    }

    // the node name after `--` (pflag ends the flags there): never read as a flag, whatever it is
    const args = ['drain'];
    if (d.ignoreDaemonSets) args.push('--ignore-daemonsets');
    if (d.deleteEmptyDirData) args.push('--delete-emptydir-data');
    if (d.force) args.push('--force');
    if (d.gracePeriodSeconds !== undefined) args.push(`--grace-period=${d.gracePeriodSeconds}`);
    args.push(`--timeout=${d.timeoutSeconds}s`, '--', node.name);
    const command = kubectl(...args);
    logger().info('draining node', { node: node.name, wasCordoned, podsLeft: left?.length });
    heartbeat({ node: node.name, step, wasCordoned });
    const r = await run.exec(api, command, {
      step,
      progress: true,
      heartbeatDetails: { wasCordoned },
      // kubectl stops itself at --timeout; the SSH limit only catches a hung session.
      timeoutMs: (d.timeoutSeconds + 120) * 1000,
    });
    const out = outputOf(r);
    if (r.exitCode === 0) {
      return { changed: true, wasCordoned, detail: `${node.name} drained`, outputTail: tail(out) };
    }
    // kubectl cordons before it evicts: after a failure the node is cordoned.
    const cordonedByThisCall = !wasCordoned;
    const parsed = parseDrainOutput(out);
    const hints = [
      cordonedByThisCall
        ? `${node.name} was schedulable before this drain and is now cordoned (uncordon it when skipping or aborting).`
        : `${node.name} was already cordoned before this drain.`,
    ];
    // checked before the timeout: these pods are never evictable, however long the drain waits
    if (parsed.multiPdb.length > 0) {
      const pods = parsed.multiPdb.map((p) => `${p.namespace}/${p.pod}`);
      hints.push(
        `pods the eviction API refuses because more than one PodDisruptionBudget selects them: ${pods.join(', ')}`,
      );
      hints.push(
        'Keep one PodDisruptionBudget per pod (compare the selectors in `kubectl get pdb -A -o wide`), then retry.',
      );
      throw drainFailure(
        ErrorTypes.PolicyRefused,
        'drain refused: pods covered by more than one PodDisruptionBudget cannot be evicted',
        hints,
      );
    }
    if (parsed.timedOut || parsed.pdbBlocked.length > 0) {
      const blocked = [...parsed.timeoutPods, ...parsed.pdbBlocked].map((p) => `${p.namespace}/${p.pod}`);
      if (blocked.length) hints.push(`pods still blocking the drain: ${[...new Set(blocked)].join(', ')}`);
      if (parsed.pdbBlocked.length) {
        hints.push('A PodDisruptionBudget refused the eviction: see `kubectl get pdb -A`.');
      }
      throw drainFailure(ErrorTypes.DrainTimeout, `drain did not finish within ${d.timeoutSeconds}s`, hints);
    }
    if (parsed.refusals.length > 0) {
      const fixes: Record<string, string> = {
        unmanaged:
          'Pods without a controller block the drain: delete them, or set drain.force: true in the inventory.',
        'local-storage': 'Pods with emptyDir data block the drain: set drain.deleteEmptyDirData: true.',
        daemonset: 'DaemonSet pods block the drain: set drain.ignoreDaemonSets: true.',
      };
      for (const r of parsed.refusals) {
        const fix = fixes[r.reason];
        if (fix && !hints.includes(fix)) hints.push(fix);
        if (r.pods.length) hints.push(`${r.message}: ${r.pods.join(', ')}`);
      }
      throw drainFailure(ErrorTypes.PolicyRefused, `drain refused: ${parsed.refusals[0].message}`, hints);
    }
    if (looksTransient(out)) {
      throw drainFailure(ErrorTypes.Transient, `drain failed: ${lastLine(out)}`, hints, false);
    }
    throw drainFailure(
      ErrorTypes.CommandFailed,
      `drain failed (exit ${r.exitCode}): ${lastLine(out)}`,
      hints,
    );

    function drainFailure(type: string, message: string, hints: string[], nonRetryable = true) {
      // The workflow needs to know who cordoned the node even when the drain failed.
      return failure({
        type,
        message,
        node: node.name,
        step,
        result: r,
        command,
        nonRetryable,
        hints,
        extra: { wasCordoned, cordonedByThisCall },
      });
    }
  }

  async function ensureUncordoned(input: NodeInput): Promise<StepResult> {
    const { cluster, node } = input;
    const step = 'uncordon';
    const before = await readNode(run, cluster, node.name, step);
    if (!before.unschedulable) {
      return { changed: false, detail: `${node.name} already schedulable` };
    }
    const api = targetOf(cluster.inventory, cluster.apiNode);
    const command = kubectl('uncordon', '--', node.name);
    const r = await run.must(api, command, { step });
    logger().info('node uncordoned', { node: node.name });
    return { changed: true, detail: `${node.name} uncordoned`, outputTail: tail(outputOf(r)) };
  }

  async function waitNodeReady(input: NodeHopInput & { timeoutMs?: number }): Promise<NodeReadyResult> {
    const { cluster, node, hop } = input;
    const step = 'wait-ready';
    const want = normalizeVersion(hop.version);
    const timeoutMs = input.timeoutMs ?? run.readyTimeoutMs;
    // A retried attempt keeps the first attempt's deadline.
    const prior = safeHeartbeatDetails() as { startedAt?: number } | undefined;
    const startedAt = typeof prior?.startedAt === 'number' ? prior.startedAt : run.now().getTime();
    const deadline = startedAt + timeoutMs;
    let last: NodeInfo | undefined;
    let lastError = '';
    for (;;) {
      try {
        last = await readNode(run, cluster, node.name, step);
        if (last.ready && last.kubeletVersion && normalizeVersion(last.kubeletVersion) === want) {
          return { ready: true, kubeletVersion: want };
        }
      } catch (e) {
        // The API server may be briefly away (a control plane restarting): keep polling.
        if ((e as { nonRetryable?: boolean }).nonRetryable) throw e;
        lastError = (e as Error).message;
      }
      heartbeat({ startedAt, node: node.name, ready: last?.ready, kubeletVersion: last?.kubeletVersion });
      if (run.now().getTime() >= deadline) break;
      await run.sleep(run.pollIntervalMs, currentSignal());
    }
    const seen = last
      ? `last seen ${last.ready ? 'Ready' : 'NotReady'} at ${last.kubeletVersion || 'unknown version'}`
      : `never read (${lastError})`;
    let kubeletState: string;
    try {
      const r = await run.exec(targetOf(cluster.inventory, node), cmd('systemctl', 'is-active', 'kubelet'), {
        step,
      });
      kubeletState = r.stdout.trim();
    } catch {
      kubeletState = 'unknown (node unreachable)';
    }
    throw failure({
      type: ErrorTypes.NodeNotReady,
      message: `not Ready at ${want} after ${Math.round(timeoutMs / 1000)}s; ${seen}; kubelet service ${kubeletState}`,
      node: node.name,
      step,
      nonRetryable: true,
      hints: [
        `Check the kubelet on ${node.name}: \`systemctl status kubelet\` and \`journalctl -xeu kubelet\`.`,
        'The kubelet config comes from `kubeadm upgrade node`; a kubelet newer than the API server is refused.',
      ],
    });
  }

  /**
   * Read-only, bounded: polls until nothing is left but problems waiting cannot fix (returned at
   * once) or everything is fine; kube-system still settling (a pod Ready seconds after the last
   * node) is waited for up to the settle timeout (the deadline survives retries, in the heartbeat).
   */
  async function verifyCluster(input: VerifyInput): Promise<VerifyReport> {
    const cluster = clusterContext(input.inventory);
    const api = targetOf(cluster.inventory, cluster.apiNode);
    const want = normalizeVersion(input.version);
    const timeoutMs = input.settleTimeoutMs ?? run.verifyTimeoutMs;
    const prior = safeHeartbeatDetails() as { startedAt?: number } | undefined;
    const startedAt = typeof prior?.startedAt === 'number' ? prior.startedAt : run.now().getTime();
    const deadline = startedAt + timeoutMs;
    const scope: VerifyScope = {
      want,
      nodes: input.inventory.nodes.map((n) => ({ name: n.name, role: n.role })),
      exclude: input.exclude,
      failedBefore: input.failedBefore ?? [],
      ...(input.since ? { since: input.since } : {}),
    };
    for (;;) {
      const r = await run.exec(api, batch([clusterSections.nodes, kubeSystemPodsSection]), {
        step: 'verify',
        maxOutputBytes: CLUSTER_READ_MAX_BYTES,
      });
      const sections = parseBatch(r.stdout);
      const nodesSec = sections.get('nodes');
      if (!nodesSec || nodesSec.exitCode !== 0) {
        throw failure({
          type: ErrorTypes.Transient,
          message: `cannot list nodes: ${lastLine(nodesSec?.output ?? outputOf(r))}`,
          node: cluster.apiNode.name,
          step: 'verify',
          result: r,
          nonRetryable: false,
        });
      }
      const nodes = nodesFromJson(nodesSec.output);
      const ks = sections.get('kube-system');
      const found =
        ks?.exitCode === 0
          ? verifyFindings(nodes, ks.output, scope)
          : {
              final: [],
              settling: [`cannot list kube-system pods: ${lastLine(ks?.output ?? '')}`],
            };
      const waited = run.now().getTime() - startedAt;
      const settled = found.settling.length === 0;
      if (
        (settled && found.final.length === 0) ||
        found.final.length > 0 ||
        run.now().getTime() >= deadline
      ) {
        const problems = [...found.final, ...found.settling];
        if (!settled && found.final.length === 0)
          problems.push(`kube-system did not settle within ${Math.round(timeoutMs / 1000)}s`);
        return {
          ok: problems.length === 0,
          nodes: nodes.map(({ name, kubeletVersion, ready, unschedulable }) => ({
            name,
            kubeletVersion,
            ready,
            unschedulable,
          })),
          problems,
          waitedMs: waited,
        };
      }
      heartbeat({ startedAt, step: 'verify', settling: found.settling.length });
      logger().info('waiting for the cluster to settle', { settling: found.settling.slice(0, 5) });
      await run.sleep(run.pollIntervalMs, currentSignal());
    }
  }

  return { getClusterState, ensureDrained, ensureUncordoned, waitNodeReady, verifyCluster };
}

function safeHeartbeatDetails(): unknown {
  try {
    return activityInfo().heartbeatDetails as unknown;
  } catch {
    return undefined;
  }
}

function currentSignal(): AbortSignal | undefined {
  return currentContext()?.cancellationSignal;
}
