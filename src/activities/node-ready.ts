/**
 * waitNodeReady: read-only polling until the node is Ready at the hop's version; its deadline
 * survives retries (kept in the heartbeat).
 */
import { cmd } from '../ssh/command';
import type { NodeHopInput, NodeReadyResult } from '../shared/activities';
import { sameVersion, withV } from '../shared/versions';
import { ErrorTypes, failure } from './failure';
import { readNode, type NodeInfo } from './kubectl';
import type { Runner } from './runner';
import { cancellationSignal, heartbeat, priorHeartbeat } from './runtime';
import { targetOf } from './script';

export function createNodeReadyActivities(run: Runner) {
  async function waitNodeReady(input: NodeHopInput & { timeoutMs?: number }): Promise<NodeReadyResult> {
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
    for (;;) {
      try {
        last = await readNode(run, cluster, node.name, step);
        if (last.ready && sameVersion(last.kubeletVersion, want)) {
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
      await run.sleep(run.pollIntervalMs, cancellationSignal());
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
  return { waitNodeReady };
}
