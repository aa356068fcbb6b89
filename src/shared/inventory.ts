/**
 * The inventory as workflows and activity inputs carry it. The schema and its validation live in
 * src/inventory (the source of truth); this file only names the shape that crosses the workflow
 * boundary. It is plain JSON with key *paths*, never key material.
 *
 * TEMPORARY: a structural view of the fields workflows read, until src/inventory exports its type;
 * then `Inventory` here becomes `import type { Inventory } from '../inventory'`.
 */

export type NodeRole = 'control-plane' | 'worker';

export interface InventoryNode {
  name: string;
  address: string;
  port: number;
  role: NodeRole;
}

export interface Inventory {
  metadata: { name: string };
  packages: { manager: 'yum' | 'dnf' | 'apt'; repository: { mode: string; urlTemplate?: string } };
  kubeadm: {
    imageRepository?: string;
    certificateRenewal?: boolean;
    etcdUpgrade?: boolean;
    etcdBackup?: boolean;
    prePullImages?: boolean;
  };
  drain: {
    timeoutSeconds: number;
    ignoreDaemonSets?: boolean;
    deleteEmptyDirData?: boolean;
    force?: boolean;
  };
  rollout: { maxUnavailable: number | `${number}%`; gates: string[] };
  nodes: InventoryNode[];
}

/** Everything but the node list: what a per-node activity needs to know about the cluster. */
export type InventorySettings = Omit<Inventory, 'nodes'>;

/** The cluster as seen by a per-node activity: settings plus the node where kubectl runs (admin.conf). */
export interface ClusterContext {
  inventory: InventorySettings;
  /** The first control plane: has /etc/kubernetes/admin.conf; kubectl drain/uncordon/get run there. */
  apiNode: InventoryNode;
}

export function clusterContext(inventory: Inventory): ClusterContext {
  const { nodes, ...settings } = inventory;
  const apiNode = nodes.find((n) => n.role === 'control-plane');
  if (!apiNode) throw new Error('the inventory has no control-plane node');
  return { inventory: settings, apiNode };
}

export function controlPlanes(inventory: Inventory): InventoryNode[] {
  return inventory.nodes.filter((n) => n.role === 'control-plane');
}

export function workers(inventory: Inventory): InventoryNode[] {
  return inventory.nodes.filter((n) => n.role === 'worker');
}
