/** Every workflow the kupgrade worker registers (workflowsPath points here). */
export { upgradeCluster } from './upgrade';
export { upgradeNode } from './node';
export { planUpgrade } from './plan';
