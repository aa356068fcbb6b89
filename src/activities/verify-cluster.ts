/**
 * verifyCluster: read-only, bounded: polls until nothing is left but problems waiting cannot fix
 * (returned at once) or everything is fine; kube-system still settling (a pod Ready seconds after
 * the last node) is waited for up to the settle timeout (the deadline survives retries, in the
 * heartbeat). What counts as a problem is verify.ts.
 */
import type { VerifyInput, VerifyReport } from '../shared/activities';
import { clusterContext } from '../shared/inventory';
import { withV } from '../shared/versions';
import { ErrorTypes, failure, lastLine, outputOf } from './failure';
import { CLUSTER_READ_MAX_BYTES, clusterSections, nodesFromJson, observed } from './kubectl';
import type { Runner } from './runner';
import { cancellationSignal, heartbeat, logger, priorHeartbeat } from './runtime';
import { batch, parseBatch, targetOf } from './script';
import { verifyFindings, type VerifyScope } from './verify';

export function createVerifyActivities(run: Runner) {
  async function verifyCluster(input: VerifyInput): Promise<VerifyReport> {
    const cluster = clusterContext(input.inventory);
    const api = targetOf(cluster.inventory, cluster.apiNode);
    const want = withV(input.version);
    const timeoutMs = input.settleTimeoutMs ?? run.verifyTimeoutMs;
    const prior = priorHeartbeat() as { startedAt?: number } | undefined;
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
      const r = await run.exec(api, batch([clusterSections.nodes, clusterSections.kubeSystemPods]), {
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
        return { ok: problems.length === 0, nodes: observed(nodes), problems, waitedMs: waited };
      }
      heartbeat({ startedAt, step: 'verify', settling: found.settling.length });
      logger().info('waiting for the cluster to settle', { settling: found.settling.slice(0, 5) });
      await run.sleep(run.pollIntervalMs, cancellationSignal());
    }
  }
  return { verifyCluster };
}
