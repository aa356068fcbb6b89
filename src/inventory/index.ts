/**
 * Inventory module: cluster.yaml → typed plain-JSON `Inventory` (docs/inventory.md).
 * Workflow code must import './schema' (pure) rather than this index, which pulls in node:fs via load.ts.
 */
export { InventoryError, type InventoryIssue } from './errors';
export {
  HOST_KEY_POLICIES,
  REPOSITORY_MODES,
  ROLES,
  defaultUrlTemplate,
  parseTargetVersion,
  resolveMaxUnavailable,
  validateInventory,
  type HostKeyPolicy,
  type Inventory,
  type InventoryNode,
  type MaxUnavailable,
  type NodeRole,
  type RepositoryMode,
  type TargetVersion,
} from './schema';
export { InventorySchema } from './sections';
export { checkKeyFiles, loadInventory, parseInventory, type ParseOptions } from './load';
export {
  isAddress,
  isIPv4,
  isIPv6,
  isHostname,
  isImageRepository,
  isUrlTemplate,
  parseDuration,
} from './patterns';
