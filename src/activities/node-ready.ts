/**
 * waitNodeReady: read-only, until the node is Ready at the hop's version; its deadline survives
 * retries (kept in the heartbeat).
 *
 * It does not poll but runs `kubectl wait` on the API node (kubelet version, then condition
 * Ready), which returns as soon as the API server has the change (at once when it has it already):
 * polling every 5 s cost a node 2.5 s on average after its kubelet restart, and a session per poll.
 * A wait lasts at most WAIT_SLICE_S; when it runs out the node is read (the heartbeat says what was
 * seen) and the wait starts again. A kubectl without `wait` for these conditions (before 1.23) or
 * a failing API falls back to reading every `pollIntervalMs`. The Ready wait prints the Node as it
 * turned Ready (`-o json`): in a step group, the uncordon after it decides on that (no read).
 */
import { cmd, sh, type ShellCommand } from '../ssh/command';
import type { NodeHopInput, NodeReadyResult } from '../shared/activities';
import { sameVersion, withV } from '../shared/versions';
import { ErrorTypes, failure, outputOf } from './failure';
import { nextIs, type GroupContext } from './group-context';
import { kubectl, nodesFromJson, readNode, type NodeInfo } from './kubectl';
import type { Runner } from './runner';
import { cancellationSignal, heartbeat, priorHeartbeat } from './runtime';
import { batch, beforeSections, parseBatch, targetOf, type SectionResult } from './script';

export function createNodeReadyActivities(run: Runner) {
  async function waitNodeReady(
    input: NodeHopInput & { timeoutMs?: number },
    ctx?: GroupContext,
  ): Promise<NodeReadyResult> {
    const { cluster, node, hop } = input;
    const step = 'wait-ready';
    const want = withV(hop.version);
    const timeoutMs = input.timeoutMs ?? run.readyTimeoutMs;
    // A retried attempt keeps the first attempt's deadline.
    const prior = priorHeartbeat() as { startedAt?: number } | undefined;
    const startedAt = typeof prior?.startedAt === 'number' ? prior.startedAt : run.now().getTime();
    const deadline = startedAt + timeoutMs;
    let last: NodeInfo | undefined;
    let lastError = '';
    let canWait = true;
    for (;;) {
      // the wait first: a node already Ready at the version answers at once, and met is done
      let poll = !canWait;
      const left = deadline - run.now().getTime();
      if (canWait && left > 0) {
        const thenUncordon = nextIs(ctx, 'uncordon');
        const { outcome, seen, uncordon } = await waitOnce(cluster, node.name, want, left, {
          startedAt,
          step,
          thenUncordon,
        });
        if (outcome === 'met') {
          if (ctx) ctx.node = seen;
          if (ctx && uncordon) ctx.uncordonRun = uncordon;
          return { ready: true, kubeletVersion: want };
        }
        if (outcome === 'unsupported') canWait = false;
        // timed out: read, then wait again; anything else: read, then poll
        poll = outcome !== 'timed-out';
      }
      try {
        last = await readNode(run, cluster, node.name, step);
        if (last.ready && sameVersion(last.kubeletVersion, want)) {
          if (ctx) ctx.node = last;
          return { ready: true, kubeletVersion: want };
        }
      } catch (e) {
        // The API server may be briefly away (a control plane restarting): keep polling.
        if ((e as { nonRetryable?: boolean }).nonRetryable) throw e;
        lastError = (e as Error).message;
      }
      heartbeat({
        startedAt,
        node: node.name,
        step,
        ready: last?.ready,
        kubeletVersion: last?.kubeletVersion,
      });
      if (run.now().getTime() >= deadline) break;
      if (poll) await run.sleep(run.pollIntervalMs, cancellationSignal());
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
   * One `kubectl wait` slice on the API node: what it said, 'failed' for anything else; when met,
   * the Node it printed (undefined if that output cannot be read: the caller reads the node then).
   */
  async function waitOnce(
    cluster: NodeHopInput['cluster'],
    name: string,
    want: string,
    leftMs: number,
    o: { startedAt: number; step: string; thenUncordon: boolean },
  ): Promise<{
    outcome: 'met' | 'timed-out' | 'unsupported' | 'failed';
    seen?: NodeInfo;
    uncordon?: SectionResult;
  }> {
    const seconds = Math.max(1, Math.min(WAIT_SLICE_S, Math.ceil(leftMs / 1000)));
    const command = o.thenUncordon
      ? waitThenUncordonCommand(name, want, seconds)
      : waitCommand(name, want, seconds);
    const r = await run
      .exec(targetOf(cluster.inventory, cluster.apiNode), command, {
        step: o.step,
        progress: true,
        heartbeatDetails: { startedAt: o.startedAt },
        // two waits of `seconds` each, and the session around them
        timeoutMs: 2 * seconds * 1000 + 30_000,
      })
      .catch((e: unknown) => {
        // as for a read: a cancellation or a refused host key ends the wait, a transport error polls
        if (cancellationSignal()?.aborted || (e as { nonRetryable?: boolean }).nonRetryable) throw e;
        return undefined;
      });
    if (!r) return { outcome: 'failed' };
    if (r.exitCode === 0) {
      const uncordon = o.thenUncordon ? parseBatch(r.stdout).get('uncordon') : undefined;
      return {
        outcome: 'met',
        seen: printedNode(beforeSections(r.stdout), name, want),
        ...(uncordon ? { uncordon } : {}),
      };
    }
    const out = outputOf(r);
    if (/timed out waiting for the condition/.test(out)) return { outcome: 'timed-out' };
    if (r.exitCode === 127 || UNSUPPORTED_RE.test(out)) return { outcome: 'unsupported' };
    return { outcome: 'failed' };
  }
  return { waitNodeReady };
}

/** The longest single `kubectl wait`, in seconds: the node is re-read at least this often. */
const WAIT_SLICE_S = 60;

/** What a kubectl says that cannot wait for these conditions (older than 1.23, or no `wait`). */
const UNSUPPORTED_RE = /unknown command "wait"|unrecognized condition|jsonpath wait format|unknown flag/;

/**
 * `kubectl wait` until the node's kubelet reports `want`, then until it is Ready, each for at most
 * `seconds`. The version comes first: a kubelet restarted quickly may never leave Ready, and a
 * Ready node at the old version is not done.
 */
function waitCommand(name: string, want: string, seconds: number): ShellCommand {
  const [version, ready] = waits(name, want, seconds);
  return sh`${version} && ${ready}`;
}

/** The two waits of waitCommand: the kubelet version, then Ready printing the Node. */
function waits(name: string, want: string, seconds: number): [ShellCommand, ShellCommand] {
  const w = (cond: string, ...flags: string[]) =>
    kubectl('wait', `--for=${cond}`, `--timeout=${seconds}s`, ...flags, '--', `node/${name}`);
  return [w(`jsonpath={.status.nodeInfo.kubeletVersion}=${want}`), w('condition=Ready', '-o', 'json')];
}

/**
 * waitCommand, then in the same session `kubectl uncordon` when the Node the Ready wait printed is
 * cordoned (`"unschedulable": true`, as kubectl's JSON printer writes it), as a batch section after
 * the printed Node. The command's exit code is the waits'. A Node printed in another layout runs
 * no uncordon here: the uncordon step then decides on the parsed Node, in a session of its own.
 */
function waitThenUncordonCommand(name: string, want: string, seconds: number): ShellCommand {
  const [version, ready] = waits(name, want, seconds);
  const uncordon = batch([{ name: 'uncordon', command: kubectl('uncordon', '--', name) }]);
  return sh`${version} || exit; out=$(${ready}) || { s=$?; printf '%s' "$out"; exit $s; }; printf '%s\\n' "$out"; case $out in *'"unschedulable": true'*) ${uncordon} ;; esac`;
}

/**
 * The Node the Ready wait printed after the version wait's `condition met` line; undefined unless
 * it is that node, Ready, at `want` (anything else is not trusted: the caller reads the node).
 */
export function printedNode(stdout: string, name: string, want: string): NodeInfo | undefined {
  const start = stdout.search(/^\{/m);
  if (start < 0) return undefined;
  try {
    const [n] = nodesFromJson(stdout.slice(start));
    return n && n.name === name && n.ready && sameVersion(n.kubeletVersion, want) ? n : undefined;
  } catch {
    return undefined;
  }
}
