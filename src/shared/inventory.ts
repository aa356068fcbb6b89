/**
 * The inventory as workflows and activity inputs carry it. The schema, its validation and the
 * `Inventory` type live in src/inventory/schema.ts (the source of truth; imported as a type only,
 * so no zod reaches the workflow bundle). Plain JSON with key *paths*, never key material.
 */
import type { Inventory, InventoryNode } from '../inventory/schema';

export type { Inventory, InventoryNode, NodeRole, MaxUnavailable } from '../inventory/schema';

/** Everything but the node list: what a per-node activity needs to know about the cluster. */
export type InventorySettings = Omit<Inventory, 'nodes'>;

/** The cluster as seen by a per-node activity: settings plus the node where kubectl runs (admin.conf). */
export interface ClusterContext {
  inventory: InventorySettings;
  /**
   * A control plane (it has /etc/kubernetes/admin.conf) where kubectl drain/uncordon/get run: the
   * first one, except for a worker's own steps (see clusterContextFor).
   */
  apiNode: InventoryNode;
}

/** Throws when there is no control plane (the inventory schema already refuses that). */
export function clusterContext(inventory: Inventory): ClusterContext {
  const { nodes, ...settings } = inventory;
  const apiNode = nodes.find((n) => n.role === 'control-plane');
  if (!apiNode) throw new Error('the inventory has no control-plane node');
  return { inventory: settings, apiNode };
}

/**
 * The context of one node's steps. A worker's kubectl calls (drain, wait Ready, uncordon) go to
 * control plane k mod N for the k-th worker: with maxUnavailable 10% of 1,000 workers, a hundred
 * drains and Ready polls at once would otherwise queue for the channels of one SSH connection
 * (OpenSSH serves 10 sessions per connection by default). Stable for a node, so a retry runs on the
 * same control plane. Control planes use the first control plane, as the runbook does.
 */
export function clusterContextFor(inventory: Inventory, node: InventoryNode): ClusterContext {
  const ctx = clusterContext(inventory);
  if (node.role !== 'worker') return ctx;
  const cps = controlPlanes(inventory);
  const k = workerNodes(inventory).findIndex((w) => w.name === node.name);
  return k < 0 ? ctx : { ...ctx, apiNode: cps[k % cps.length] };
}

export function controlPlanes(inventory: Inventory): InventoryNode[] {
  return inventory.nodes.filter((n) => n.role === 'control-plane');
}

export function workerNodes(inventory: Inventory): InventoryNode[] {
  return inventory.nodes.filter((n) => n.role === 'worker');
}
