/**
 * The gates a run stops at and the decisions a person can take on a blocked run: defined once here,
 * used by the inventory schema, the worker policy, the CLI and the workflow.
 */

/**
 * Gates, in the order a run meets them:
 * - `preflight`: once, after preflight and the plan, before anything changes (backup included).
 * - `control-plane`: every hop, before the first control plane's first change (repo switch).
 * - `cni`: every hop, after `kubeadm upgrade apply` on the first control plane, before the CNI step
 *   (inventory.rollout.cni.command, when set) and the node's drain. Without a command the operator
 *   upgrades the CNI by hand (the runbook: 手动升级你的 CNI 驱动插件), then approves. Off by default.
 * - `workers`: every hop, after every control plane finished the hop, before the first worker.
 * - `canary`: every hop, after the first worker finished, before the other workers.
 */
export const GATES = ['preflight', 'control-plane', 'cni', 'workers', 'canary'] as const;
export type GateName = (typeof GATES)[number];
export const DEFAULT_GATES: GateName[] = ['preflight', 'control-plane', 'workers'];

export function isGateName(s: string): s is GateName {
  return (GATES as readonly string[]).includes(s);
}

/**
 * What a person can decide on a blocked run. `accept`: only for a failed verify — a person takes
 * the cluster as it is (comment required); the run ends done.
 */
export const DECISION_ACTIONS = ['retry', 'skip', 'abort', 'accept'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

export function isDecisionAction(s: unknown): s is DecisionAction {
  return typeof s === 'string' && (DECISION_ACTIONS as readonly string[]).includes(s);
}
