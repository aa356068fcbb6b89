/**
 * Every workflow the kupgrade worker registers (workflowsPath points here).
 *
 * - `upgradeCluster(UpgradeInput): UpgradeResult` — the upgrade of one cluster, workflow ID
 *   `kupgrade-<cluster>` (start with workflowIdConflictPolicy 'FAIL', staticSummary = summaryFor(input),
 *   typedSearchAttributes KupgradeCluster/KupgradeTarget). Phases: preflight → backup →
 *   control-plane → workers (per hop) → verify → done; `blocked`/`paused` interrupt; `aborted`/`failed` end.
 *   Gates (each on/off via options.gates or inventory.rollout.gates; options.autoApprove approves all):
 *     preflight      once, after preflight + plan, before any change (backup included)
 *     control-plane  each hop, before the first control plane's first change
 *     cni            each hop, after `kubeadm upgrade apply`, before the CNI step and the drain of the first CP
 *     workers        each hop, after every control plane finished the hop
 *     canary         each hop, after the first worker finished, before the others
 *   Messages (src/shared/messages.ts): Updates approve/decide/pause/resume, the same as Signals
 *   approveSignal/decideSignal/pauseSignal/resumeSignal, Query state.
 * - `upgradeNode(NodeUpgradeInput): NodeUpgradeResult` — child: one node, one hop, one attempt.
 * - `planUpgrade(PlanInput): UpgradePlan` — read-only plan for `kupgrade plan`.
 */
export { upgradeCluster } from './upgrade';
export { upgradeNode } from './node';
export { planUpgrade } from './plan';
