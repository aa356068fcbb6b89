/**
 * The one inventory the tests build: a valid cluster.yaml document parsed through the real schema
 * (so every default is the product's), then section overrides for what a test is about. Tests of
 * the schema itself keep their raw literals: they are the input under test.
 */
import { validateInventory, type Inventory } from '../../src/inventory/schema';
import type { PackageManagerName } from '../../src/packages/names';

export interface InventoryShape {
  /** metadata.name; default `lab`. */
  name?: string;
  /** cp-1…cp-N at 192.0.2.11…; default 1. */
  controlPlanes?: number;
  /** w-1…w-N at 192.0.2.21…; default 1. */
  workers?: number;
  /** packages.manager, with its pkgs.k8s.io repository; default `yum`. */
  manager?: PackageManagerName;
}

/** Per section: the given keys replace the parsed ones (one level deep); `nodes` replaces the list. */
export type InventoryOverrides = {
  [K in keyof Inventory]?: Inventory[K] extends unknown[] ? Inventory[K] : Partial<Inventory[K]>;
};

export function buildInventory(shape: InventoryShape = {}, overrides: InventoryOverrides = {}): Inventory {
  const { name = 'lab', controlPlanes = 1, workers = 1, manager = 'yum' } = shape;
  const nodes = [
    ...Array.from({ length: controlPlanes }, (_, i) => ({
      name: `cp-${i + 1}`,
      address: `192.0.2.${11 + i}`,
      role: 'control-plane',
    })),
    ...Array.from({ length: workers }, (_, i) => ({
      name: `w-${i + 1}`,
      address: `192.0.2.${21 + i}`,
      role: 'worker',
    })),
  ];
  const parsed = validateInventory(
    {
      apiVersion: 'kupgrade/v1',
      kind: 'Cluster',
      metadata: { name },
      ssh: { privateKeyPath: '/keys/id_ed25519', knownHostsPath: '/keys/known_hosts' },
      packages: { manager },
      nodes,
    },
    { baseDir: '/', homeDir: '/root' },
  );
  const merged: Record<string, unknown> = { ...parsed };
  for (const [key, value] of Object.entries(overrides)) {
    const base = merged[key];
    merged[key] =
      Array.isArray(value) || typeof value !== 'object' || value === null || typeof base !== 'object'
        ? value
        : { ...base, ...value };
  }
  return merged as unknown as Inventory;
}
