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
  /** The first control plane: has /etc/kubernetes/admin.conf; kubectl drain/uncordon/get run there. */
  apiNode: InventoryNode;
}

/** Throws when there is no control plane (the inventory schema already refuses that). */
export function clusterContext(inventory: Inventory): ClusterContext {
  const { nodes, ...settings } = inventory;
  const apiNode = nodes.find((n) => n.role === 'control-plane');
  if (!apiNode) throw new Error('the inventory has no control-plane node');
  return { inventory: settings, apiNode };
}

export function controlPlanes(inventory: Inventory): InventoryNode[] {
  return inventory.nodes.filter((n) => n.role === 'control-plane');
}

export function workerNodes(inventory: Inventory): InventoryNode[] {
  return inventory.nodes.filter((n) => n.role === 'worker');
}
