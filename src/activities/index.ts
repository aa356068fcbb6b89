/**
 * The node activities: `createNodeActivities({ ssh })` returns every activity of the
 * UpgradeActivities contract (src/shared/activities.ts), each an "ensure state X" that checks the
 * node first and acts only when needed. Dependencies are injected (the worker passes its SSH
 * router; tests pass a scripted fake), nothing is mocked by module.
 */
import type { UpgradeActivities } from '../shared/activities';
import { createBackupActivities } from './backup';
import { createKubeadmActivities } from './kubeadm';
import { createKubectlActivities } from './kubectl';
import { createKubeletActivities } from './kubelet';
import { createPackageActivities } from './packages';
import { createPreflightActivities } from './preflight';
import { Runner, type ActivityDeps } from './runtime';
import { createTargetActivities } from './target';

export type { ActivityDeps } from './runtime';
export { ErrorTypes, RECOVERY_HINTS } from './runtime';

/** UpgradeActivities as an object type (assignable to Record<string, fn>, as the worker's wrapper wants). */
export type NodeActivities = { [K in keyof UpgradeActivities]: UpgradeActivities[K] };

export function createNodeActivities(deps: ActivityDeps): NodeActivities {
  const run = new Runner(deps);
  const kubectl = createKubectlActivities(run);
  const activities: NodeActivities = {
    getClusterState: kubectl.getClusterState,
    ...createTargetActivities(run),
    ...createPreflightActivities(run, deps.concurrency),
    ...createBackupActivities(run, deps.backupRoot),
    ...createPackageActivities(run),
    ...createKubeadmActivities(run),
    ensureDrained: kubectl.ensureDrained,
    ...createKubeletActivities(run),
    waitNodeReady: kubectl.waitNodeReady,
    ensureUncordoned: kubectl.ensureUncordoned,
    verifyCluster: kubectl.verifyCluster,
    checkUpgradeInput: async (req) => {
      if (!deps.trust) throw new Error('this worker was created without its config check (deps.trust)');
      return deps.trust.checkUpgradeInput(req);
    },
  };
  return activities;
}
