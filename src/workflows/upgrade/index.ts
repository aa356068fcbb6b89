/**
 * The upgrade of one cluster (workflow ID `kupgrade-<cluster>`):
 *
 *   preflight (read-only) ─ gate preflight ─ backup ─ per hop:
 *     gate control-plane ─ first CP (repo, kubeadm, plan, images, apply) ─ gate cni ─ (cni, drain,
 *     kubelet, restart, Ready, uncordon) ─ other CPs one at a time (upgrade node …) ─
 *     gate workers ─ first worker ─ gate canary ─ other workers in a sliding window of maxUnavailable
 *   ─ verify.
 *
 * Each node of each hop runs as a child workflow (src/workflows/node.ts), so this history stays
 * small; a failed child blocks the run (phase `blocked`) until an operator decides retry (from the
 * failed step), skip (workers) or abort. Abort cancels the running children and uncordons exactly
 * the nodes this run cordoned. Continue-as-new happens at a quiet point (no child running) when the
 * server suggests it, carrying the state.
 */
import { ErrorType } from '../../shared/errors';
import type { UpgradeInput, UpgradeResult } from '../../shared/types';
import { failure } from './errors';
import { execute } from './execute';
import { installHandlers } from './handlers';
import { inputProblem } from './input';
import { UpgradeRun } from './run';

export async function upgradeCluster(input: UpgradeInput): Promise<UpgradeResult> {
  const bad = inputProblem(input);
  if (bad) throw failure(ErrorType.InputRefused, bad);
  const run = new UpgradeRun(input);
  installHandlers(run);
  return execute(run);
}
