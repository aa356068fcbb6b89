/**
 * Cordon and drain before a node's packages and kubelet change, uncordon after.
 *
 * Check-first rules:
 * - ensureDrained: node unschedulable and no pod left that drain would evict → nothing run.
 * - ensureUncordoned: node already schedulable → nothing run.
 */
import { parseDrainOutput } from '../parsers/kubectl';
import { parsePodsJson, podRef } from '../parsers/pods';
import type { DrainResult, NodeInput, StepResult } from '../shared/activities';
import { sh } from '../ssh/command';
import type { RunResult } from '../ssh/types';
import type { InventorySettings } from '../shared/inventory';
import { ErrorTypes, failure, lastLine, looksTransient, outputOf, tail } from './failure';
import { takeRead, type GroupContext } from './group-context';
import { kubectl, nodesFromJson, readNode } from './kubectl';
import type { Runner } from './runner';
import { heartbeat, logger, priorHeartbeat } from './runtime';
import { batch, keptSection, parseBatch, sectionRun, targetOf, unlessSaid } from './script';

/**
 * Pods `kubectl drain` would still have to remove from the node: not mirror/static pods, not
 * finished pods, not DaemonSet pods when DaemonSets are ignored. `ns/name` each.
 */
function podsLeftToEvict(text: string, ignoreDaemonSets: boolean): string[] {
  const out: string[] = [];
  for (const p of parsePodsJson(text)) {
    const owners = p.metadata?.ownerReferences ?? [];
    if (p.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined) continue;
    if (owners.some((r) => r.kind === 'Node')) continue;
    if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    if (ignoreDaemonSets && owners.some((r) => r.kind === 'DaemonSet')) continue;
    out.push(podRef(p, 'default'));
  }
  return out;
}

/** What kubectl's JSON printer writes for a cordoned Node (a schedulable one has no such field). */
const UNSCHEDULABLE_JSON = '"unschedulable": true';

/** `kubectl drain` with the inventory's drain settings; the node name after `--`, never read as a flag. */
function drainArgs(d: InventorySettings['drain'], node: string): string[] {
  const args = ['drain'];
  if (d.ignoreDaemonSets) args.push('--ignore-daemonsets');
  if (d.deleteEmptyDirData) args.push('--delete-emptydir-data');
  if (d.force) args.push('--force');
  if (d.gracePeriodSeconds !== undefined) args.push(`--grace-period=${d.gracePeriodSeconds}`);
  args.push(`--timeout=${d.timeoutSeconds}s`, '--', node);
  return args;
}

/** Why a failed drain failed, from its output: the failure type, message and the hints to add. */
function drainVerdict(
  out: string,
  exitCode: number,
  timeoutSeconds: number,
): { type: string; message: string; hints: string[]; nonRetryable: boolean } {
  const parsed = parseDrainOutput(out);
  const hints: string[] = [];
  // checked before the timeout: these pods are never evictable, however long the drain waits
  if (parsed.multiPdb.length > 0) {
    const pods = parsed.multiPdb.map((p) => `${p.namespace}/${p.pod}`);
    hints.push(
      `pods the eviction API refuses because more than one PodDisruptionBudget selects them: ${pods.join(', ')}`,
      'Keep one PodDisruptionBudget per pod (compare the selectors in `kubectl get pdb -A -o wide`), then retry.',
    );
    return {
      type: ErrorTypes.PolicyRefused,
      message: 'drain refused: pods covered by more than one PodDisruptionBudget cannot be evicted',
      hints,
      nonRetryable: true,
    };
  }
  if (parsed.timedOut || parsed.pdbBlocked.length > 0) {
    const blocked = [...parsed.timeoutPods, ...parsed.pdbBlocked].map((p) => `${p.namespace}/${p.pod}`);
    if (blocked.length) hints.push(`pods still blocking the drain: ${[...new Set(blocked)].join(', ')}`);
    if (parsed.pdbBlocked.length) {
      hints.push('A PodDisruptionBudget refused the eviction: see `kubectl get pdb -A`.');
    }
    return {
      type: ErrorTypes.DrainTimeout,
      message: `drain did not finish within ${timeoutSeconds}s`,
      hints,
      nonRetryable: true,
    };
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
    return {
      type: ErrorTypes.PolicyRefused,
      message: `drain refused: ${parsed.refusals[0].message}`,
      hints,
      nonRetryable: true,
    };
  }
  if (looksTransient(out)) {
    return {
      type: ErrorTypes.Transient,
      message: `drain failed: ${lastLine(out)}`,
      hints,
      nonRetryable: false,
    };
  }
  return {
    type: ErrorTypes.CommandFailed,
    message: `drain failed (exit ${exitCode}): ${lastLine(out)}`,
    hints,
    nonRetryable: true,
  };
}

export function createDrainActivities(run: Runner) {
  async function ensureDrained(input: NodeInput): Promise<DrainResult> {
    const { cluster, node } = input;
    const d = cluster.inventory.drain;
    const api = targetOf(cluster.inventory, cluster.apiNode);
    const step = 'drain';
    // A retry of this activity (a worker lost mid-drain) finds the cordon its first attempt made:
    // what the first attempt saw is kept in the heartbeat.
    const prior = priorHeartbeat() as { wasCordoned?: unknown } | undefined;
    const firstSaw = typeof prior?.wasCordoned === 'boolean' ? prior.wasCordoned : undefined;
    const command = kubectl(...drainArgs(d, node.name));
    // What the drain's heartbeats carry, once known: the node's cordon before this drain.
    const beats: { wasCordoned?: boolean } = firstSaw === undefined ? {} : { wasCordoned: firstSaw };
    let said = '';
    let read = false;
    // The Node's section arrives before the drain in the same session cordons it: the first
    // heartbeat already says what the node was (no heartbeat goes out before that).
    const onStdout = (text: string): void => {
      if (read) return;
      said += text;
      const sec = parseBatch(said).get('node');
      if (!sec) return;
      read = true;
      if (sec.exitCode !== 0 || 'wasCordoned' in beats) return;
      try {
        const n = nodesFromJson(sec.output)[0];
        if (n) beats.wasCordoned = n.unschedulable;
      } catch {
        // not a Node: no drain runs in this session (below)
      }
    };
    // One session: the Node, its pods, then the drain, which runs here only when the Node is
    // schedulable (kubectl's JSON has no `"unschedulable": true`). A node already cordoned (an
    // operator's cordon, or this run's found by a retry) is drained in a session of its own, and
    // only when pods are left to evict.
    const check = await run.exec(
      api,
      sh`${keptSection({ name: 'node', command: kubectl('get', 'node', node.name, '-o', 'json') }, 'n')}; ${batch(
        [
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
        ],
      )}; ${unlessSaid('n', UNSCHEDULABLE_JSON, batch([{ name: 'drain', command }]))}`,
      {
        step,
        progress: () => 'wasCordoned' in beats,
        heartbeatDetails: beats,
        onStdout,
        // kubectl stops itself at --timeout; the SSH limit only catches a hung session.
        timeoutMs: (d.timeoutSeconds + 120) * 1000,
      },
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
    const wasCordoned = firstSaw ?? before.unschedulable;
    let left: string[] | null = null;
    const podsSec = sections.get('pods');
    if (podsSec?.exitCode === 0) {
      try {
        left = podsLeftToEvict(podsSec.output, d.ignoreDaemonSets);
      } catch {
        left = null;
      }
    }
    const drained = sections.get('drain');
    let r: RunResult;
    if (drained) {
      r = sectionRun(drained);
    } else {
      if (before.unschedulable && left !== null && left.length === 0) {
        logger().info('node already cordoned and drained', { node: node.name });
        return { changed: false, wasCordoned, detail: `${node.name} already cordoned and drained` };
      }
      logger().info('draining node', { node: node.name, wasCordoned, podsLeft: left?.length });
      heartbeat({ node: node.name, step, wasCordoned });
      r = await run.exec(api, command, {
        step,
        progress: true,
        heartbeatDetails: { wasCordoned },
        timeoutMs: (d.timeoutSeconds + 120) * 1000,
      });
    }
    const out = outputOf(r);
    if (r.exitCode === 0) {
      return { changed: true, wasCordoned, detail: `${node.name} drained`, outputTail: tail(out) };
    }
    // kubectl cordons before it evicts: after a failure the node is cordoned.
    const cordonedByThisCall = !wasCordoned;
    const verdict = drainVerdict(out, r.exitCode, d.timeoutSeconds);
    // The workflow needs to know who cordoned the node even when the drain failed.
    throw failure({
      type: verdict.type,
      message: verdict.message,
      node: node.name,
      step,
      result: r,
      command,
      nonRetryable: verdict.nonRetryable,
      hints: [
        cordonedByThisCall
          ? `${node.name} was schedulable before this drain and is now cordoned (uncordon it when skipping or aborting).`
          : `${node.name} was already cordoned before this drain.`,
        ...verdict.hints,
      ],
      extra: { wasCordoned, cordonedByThisCall },
    });
  }

  async function ensureUncordoned(input: NodeInput, ctx?: GroupContext): Promise<StepResult> {
    const { cluster, node } = input;
    const step = 'uncordon';
    // in a group, the Ready wait just before ran the uncordon in its session when the Node it
    // printed was cordoned; a failed one is run again here, alone, for its classified failure
    const ran = takeRead(ctx, 'uncordonRun');
    if (ran?.exitCode === 0) {
      const already = /\balready uncordoned\b/.test(ran.output);
      if (!already) logger().info('node uncordoned', { node: node.name });
      return {
        changed: !already,
        detail: already ? `${node.name} already schedulable` : `${node.name} uncordoned`,
        outputTail: tail(ran.output),
      };
    }
    // in a group, the Ready wait just before has printed the Node as it turned Ready
    const before = ctx?.node ?? (await readNode(run, cluster, node.name, step));
    if (!before.unschedulable) {
      return { changed: false, detail: `${node.name} already schedulable` };
    }
    const api = targetOf(cluster.inventory, cluster.apiNode);
    const command = kubectl('uncordon', '--', node.name);
    const r = await run.must(api, command, { step });
    logger().info('node uncordoned', { node: node.name });
    return { changed: true, detail: `${node.name} uncordoned`, outputTail: tail(outputOf(r)) };
  }

  return { ensureDrained, ensureUncordoned };
}
