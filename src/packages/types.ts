/**
 * What kupgrade needs from a package manager, as one interface: the kubernetes repository
 * definition (where, what, which URL it names), listing and probing the versions a repository
 * offers, installing exact versions, refreshing metadata, reading installed versions, and the
 * manager-specific trouble an install meets (a dead third-party repository, a lock, dpkg left
 * interrupted). Every command is built on demand: ShellCommand brands are kept in a bounded registry.
 */
import type { ShellCommand } from '../ssh/command';
import type { PackageVersion, VersionLock } from '../parsers/packages';
import type { PackageFormat, PackageManagerName } from './names';

export const K8S_PACKAGES = ['kubeadm', 'kubelet', 'kubectl'] as const;
export type K8sPackage = (typeof K8S_PACKAGES)[number];

/** An exact package to install: `{name: 'kubeadm', full: '1.30.4-150500.1.1'}`. */
export interface PackageSpec {
  name: K8sPackage;
  full: string;
}

/** Installed versions the package database (or the manager's own listing) shows. */
export type InstalledVersions = Partial<Record<K8sPackage, string>>;

export interface PackageManager {
  readonly name: PackageManagerName;
  readonly format: PackageFormat;
  /** kupgrade's own kubernetes repository file (written when no other file defines the repository) */
  readonly repoFile: string;
  /** Prints the first file, other than a probe's, that defines the kubernetes repository (or nothing). */
  findRepoFileCommand(): ShellCommand;
  /** The URL a repository file configures for kubernetes. */
  configuredUrl(text: string): string | undefined;
  /** Repositories other than kubernetes that a repository file defines. */
  otherRepositories(text: string): string[];
  /** The repository file for `url`; `current` is the file's content today (null: no file). */
  repoFileFor(url: string, current: string | null, key: { gpgkey?: string }): string;
  /** Where the repository publishes its signing key. */
  keyUrl(url: string): string;
  /**
   * Set when the key is trusted through a keyring that the repository definition names (apt's
   * signed-by): the key is installed there before the switch and a probe needs a keyring of its
   * own. Unset: the repository file's gpgkey= is imported by the manager itself.
   */
  keyringOf?(current: string | null): string;
  /** Lists the versions of `packages` the configured repositories offer; `options` go before the verb. */
  listCommand(packages: readonly string[], options?: readonly string[]): ShellCommand;
  /** Lists what `url` offers without touching the node's configuration (temporary folder). */
  probeCommand(url: string, packages: readonly string[], keySource?: ShellCommand): ShellCommand;
  /** Fallback probe: a separate definition under /etc with its own id, removed in the same command. */
  probeFileCommand(url: string, keySource?: ShellCommand): ShellCommand;
  /** The rows of a listing (listCommand, probeCommand, probeFileCommand output). */
  parseListing(text: string): PackageVersion[];
  /** Installs exact versions; `options` (yum-style managers) go before the verb. */
  installCommand(pkgs: readonly PackageSpec[], options?: readonly string[]): ShellCommand;
  /** The install the package steps run (apt refreshes its lists first). */
  stepInstallCommand(pkgs: readonly PackageSpec[], options: readonly string[]): ShellCommand;
  /** Refreshes metadata after the repository file changed. */
  refreshCommand(): ShellCommand;
  /** Read-only: prints `NAME VERSION-RELEASE[ STATUS]` lines from the package database. */
  installedQueryCommand(): ShellCommand;
  /** A second source of installed versions (where the database query shows nothing). */
  installedFallback(): { name: string; command: ShellCommand };
  /** Installed versions from the fallback section; `unfinished` packages are not installed. */
  parseInstalledFallback(text: string, unfinished: ReadonlySet<string>): InstalledVersions;
  /** Output meaning the version is not in the repository (semantic, not worth a retry). */
  readonly versionMissing: RegExp;
  /** Output meaning another held package blocks the install, and the fix. */
  readonly heldBlocks?: { pattern: RegExp; hint: string };
  /**
   * A third-party repository whose metadata cannot be downloaded fails every command
   * (skip_if_unavailable=False): kupgrade's own command runs again with only kubernetes enabled.
   */
  readonly repoOnly?: {
    repoId: string;
    options: readonly string[];
    unreachable(output: string): string[];
    /** the command that disables a repository for good (for the hint) */
    disableCommand: string;
  };
  /** A plugin lock kupgrade does not lift (yum/dnf versionlock). */
  readonly locks?: {
    readCommand(): ShellCommand;
    parse(text: string): VersionLock[];
    /** install arguments the manager refused because they are excluded */
    blocked(output: string): boolean;
  };
  /** An install killed half-way that the package database must finish first (dpkg). */
  readonly interrupted?: {
    detect(output: string): boolean;
    finishCommand(): ShellCommand;
    /** the packages the finish command set up, in order */
    setUp(stdout: string): string[];
    /** restores what kupgrade's install had lifted for its duration (apt holds) */
    restoreCommand(names: readonly string[]): ShellCommand;
  };
}
