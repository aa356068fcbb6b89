/**
 * The package managers by name. A name in names.ts without an entry here does not compile; a
 * manager is one file implementing PackageManager (types.ts) plus its entry.
 */
import type { PackageManagerName } from './names';
import type { PackageManager } from './types';
import { apt } from './apt';
import { dnf } from './dnf';
import { yum } from './yum';
import { zypper } from './zypper';

export const PACKAGE_MANAGERS: Record<PackageManagerName, PackageManager> = { yum, dnf, apt, zypper };

export { PACKAGE_FORMATS, PACKAGE_MANAGER_NAMES, type PackageManagerName } from './names';
export { K8S_PACKAGES, type K8sPackage, type PackageManager, type PackageSpec } from './types';
