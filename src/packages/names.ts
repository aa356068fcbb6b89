/**
 * The package managers kupgrade drives, by name, with the package format their repositories
 * serve (the pkgs.k8s.io path segment). No I/O and no imports: the inventory schema (workflow-safe)
 * reads its `packages.manager` enum from here, and src/packages/index.ts must implement every name.
 */
export const PACKAGE_FORMATS = {
  yum: 'rpm',
  dnf: 'rpm',
  apt: 'deb',
  zypper: 'rpm',
} as const;

export type PackageManagerName = keyof typeof PACKAGE_FORMATS;
export type PackageFormat = (typeof PACKAGE_FORMATS)[PackageManagerName];

export const PACKAGE_MANAGER_NAMES = Object.keys(PACKAGE_FORMATS) as [
  PackageManagerName,
  ...PackageManagerName[],
];
