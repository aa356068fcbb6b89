/**
 * `kupgrade plan`: a short read-only workflow (so the worker, not the CLI, holds the SSH keys):
 * current versions, hops, resolved target, preflight, and the ordered steps per node and hop.
 * Refusals (downgrade, skipped minor, unknown version, failed preflight) are reported in `refused`,
 * not thrown, so the CLI can print them.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { ResolvedHop, UpgradeActivities } from '../shared/activities';
import { ErrorType } from '../shared/errors';
import { clusterContext, controlPlanes } from '../shared/inventory';
import { DEFAULT_GATES } from '../shared/gates';
import { type PlanInput, type PlannedHop, type PlannedNode, type UpgradePlan } from '../shared/types';
import { HopError, atLeast, computeHops, isVersion, windowSize } from '../shared/versions';
import { describeActivityError } from './failures';
import { activityOptions } from './options';
import { firstControlPlaneSteps, nodeSteps } from './steps';

export async function planUpgrade(input: PlanInput): Promise<UpgradePlan> {
  const acts = proxyActivities<UpgradeActivities>(activityOptions('cluster-read'));
  const inv = input.inventory;
  const plan: UpgradePlan = { cluster: inv.metadata.name, target: input.target, versions: [], hops: [] };
  try {
    const state = await acts.getClusterState.executeWithOptions(
      { summary: `read versions of ${plan.cluster}` },
      [{ inventory: inv }],
    );
    plan.apiServerVersion = state.apiServerVersion;
    const observed = new Map(state.nodes.map((n) => [n.name, n]));
    plan.versions = inv.nodes.map((n) => {
      const o = observed.get(n.name);
      return {
        name: n.name,
        role: n.role,
        kubeletVersion: o?.kubeletVersion ?? 'unknown',
        ready: o?.ready ?? false,
        unschedulable: o?.unschedulable ?? false,
      };
    });
    const versions = [state.apiServerVersion, ...state.nodes.map((n) => n.kubeletVersion)].filter(isVersion);
    const requests = computeHops(versions, input.target);
    if (requests.length === 0) return plan;
    const hops: ResolvedHop[] = await acts.resolveTarget.executeWithOptions(
      { summary: `resolve ${requests.map((r) => r.minor).join(', ')}` },
      [{ cluster: clusterContext(inv), hops: requests }],
    );
    plan.resolvedTarget = hops[hops.length - 1].version;
    const window = windowSize(
      input.options?.maxUnavailable ?? inv.rollout.maxUnavailable,
      inv.nodes.filter((n) => n.role === 'worker').length,
    );
    const gates = input.options?.gates ?? inv.rollout.gates ?? DEFAULT_GATES;
    const firstCp = controlPlanes(inv)[0];
    plan.hops = hops.map((hop): PlannedHop => {
      const nodes = inv.nodes.map((n): PlannedNode => {
        const o = observed.get(n.name);
        const cordonedBefore = o?.unschedulable ?? false;
        const version = o?.kubeletVersion ?? 'unknown';
        const upToDate = isVersion(version) && atLeast(version, hop.version);
        if (n.name === firstCp.name) {
          const { before, after } = firstControlPlaneSteps(inv, { cordonedBefore });
          return {
            name: n.name,
            role: n.role,
            kind: 'first-control-plane',
            version,
            steps: [...before, ...after],
            upToDate,
          };
        }
        return {
          name: n.name,
          role: n.role,
          kind: n.role === 'control-plane' ? 'control-plane' : 'worker',
          version,
          steps: nodeSteps(inv, n, { cordonedBefore }),
          upToDate,
        };
      });
      return { hop, nodes, window, gates: [...gates] };
    });
    const report = await acts.preflight.executeWithOptions({ summary: `preflight ${plan.cluster}` }, [
      { inventory: inv, hops, ...(input.options?.allowUnlisted === true ? { allowUnlisted: true } : {}) },
    ]);
    plan.preflight = report;
    if (!report.ok) {
      const failed = report.checks.filter((c) => c.status === 'fail');
      plan.refused = {
        type: ErrorType.PreflightFailed,
        message: failed.map((c) => `${c.node ? `${c.node}: ` : ''}${c.name}: ${c.message}`).join('; '),
      };
    }
  } catch (err) {
    if (err instanceof HopError) plan.refused = { type: ErrorType.HopRefused, message: err.message };
    else {
      const d = describeActivityError(err);
      plan.refused = { type: d.type, message: d.message };
    }
  }
  return plan;
}
