/**
 * The node activities: `createNodeActivities({ ssh })` returns every activity of the
 * UpgradeActivities contract (src/shared/activities.ts), each an "ensure state X" that checks the
 * node first and acts only when needed. Dependencies are injected (the worker passes its SSH
 * router; tests pass a scripted fake), nothing is mocked by module.
 */
import type { UpgradeActivities } from '../shared/activities';
import { createBackupActivities } from './backup';
import { createClusterStateActivities } from './cluster-state';
import { createCniActivities } from './cni';
import { createDrainActivities } from './drain';
import { createKubeadmActivities } from './kubeadm';
import { createKubeadmPlanActivities } from './kubeadm-plan';
import { createKubeletActivities } from './kubelet';
import { createNodeReadyActivities } from './node-ready';
import { createPackageActivities } from './packages';
import { createPreflightActivities } from './preflight';
import { Runner, type ActivityDeps } from './runner';
import { createStepGroupActivities } from './step-group';
import { createTargetActivities } from './target';
import { createVerifyActivities } from './verify-cluster';

export type { ActivityDeps } from './runner';
export { ErrorTypes, RECOVERY_HINTS } from './failure';

/** UpgradeActivities as an object type (assignable to Record<string, fn>, as the worker's wrapper wants). */
export type NodeActivities = { [K in keyof UpgradeActivities]: UpgradeActivities[K] };

export function createNodeActivities(deps: ActivityDeps): NodeActivities {
  const run = new Runner(deps);
  const steps: Omit<NodeActivities, keyof ReturnType<typeof createStepGroupActivities>> = {
    ...createClusterStateActivities(run),
    ...createTargetActivities(run),
    ...createPreflightActivities(run, deps.concurrency),
    ...createBackupActivities(run, deps.backupRoot),
    ...createPackageActivities(run),
    ...createKubeadmPlanActivities(run),
    ...createKubeadmActivities(run),
    ...createCniActivities(run),
    ...createDrainActivities(run),
    ...createKubeletActivities(run),
    ...createNodeReadyActivities(run),
    ...createVerifyActivities(run),
    checkUpgradeInput: async (req) => {
      if (!deps.trust) throw new Error('this worker was created without its config check (deps.trust)');
      return deps.trust.checkUpgradeInput(req);
    },
  };
  // the groups call the same ensure-activities, inside the group's own activity context
  const groups = createStepGroupActivities(steps, {
    heartbeatIntervalMs: deps.heartbeatIntervalMs,
    now: run.now,
  });
  const activities: NodeActivities = { ...steps, ...groups };
  return activities;
}
