/**
 * Inventory module: cluster.yaml → typed plain-JSON `Inventory` (docs/inventory.md).
 * Workflow code must import './schema' (pure) rather than this index, which pulls in node:fs via load.ts.
 */
export { InventoryError, type InventoryIssue } from './errors';
export {
  GATES,
  HOST_KEY_POLICIES,
  PACKAGE_MANAGERS,
  REPOSITORY_MODES,
  ROLES,
  InventorySchema,
  defaultUrlTemplate,
  parseTargetVersion,
  resolveMaxUnavailable,
  validateInventory,
  type Gate,
  type HostKeyPolicy,
  type Inventory,
  type InventoryNode,
  type MaxUnavailable,
  type NodeRole,
  type PackageManager,
  type RepositoryMode,
  type TargetVersion,
} from './schema';
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
