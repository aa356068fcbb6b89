/**
 * The typed, plain-JSON `Inventory` that cluster.yaml validates into (schema.ts), and the value
 * sets of its enumerated fields. Pure: no Node built-ins (workflows import these types).
 */
import type { GateName } from '../shared/gates';
import type { PackageManagerName } from '../packages/names';

export const ROLES = ['control-plane', 'worker'] as const;
export type NodeRole = (typeof ROLES)[number];
export const REPOSITORY_MODES = ['pkgs.k8s.io', 'mirror', 'unmanaged'] as const;
export type RepositoryMode = (typeof REPOSITORY_MODES)[number];
export const HOST_KEY_POLICIES = ['strict', 'accept-new'] as const;
export type HostKeyPolicy = (typeof HOST_KEY_POLICIES)[number];

/** A count of workers (≥ 1) or a percentage of the workers ("25%"). */
export type MaxUnavailable = number | `${number}%`;

export interface InventoryNode {
  name: string;
  address: string;
  /** SSH port: the node's own `port`, else `ssh.port`. */
  port: number;
  role: NodeRole;
}

export interface Inventory {
  apiVersion: 'kupgrade/v1';
  kind: 'Cluster';
  metadata: { name: string };
  ssh: {
    user: string;
    port: number;
    /** Absolute path (resolved against the inventory's folder, `~` expanded). Never the key itself. */
    privateKeyPath: string;
    knownHostsPath: string;
    hostKeyPolicy: HostKeyPolicy;
    /** Pinned host keys, node name (or jump host address) → `SHA256:<base64>`. */
    hostKeyFingerprints: Record<string, string>;
    sudo: boolean;
    jumpHost?: { address: string; port: number; user: string };
    connectTimeoutSeconds: number;
    commandTimeoutSeconds: number;
  };
  packages: {
    manager: PackageManagerName;
    repository: {
      mode: RepositoryMode;
      /** With `{minor}` (e.g. `1.30`) to substitute; set for pkgs.k8s.io and mirror, absent for unmanaged. */
      urlTemplate?: string;
      /** Pinned signing key fingerprint (40 upper-case hex digits): a fetched key that differs is refused. */
      keyFingerprint?: string;
      /** The repository's ASCII-armored public key (air-gapped mirrors), used instead of fetching it. */
      key?: string;
    };
    /** Accept http:// repository URLs (no TLS); only present when true. */
    allowInsecureRepo?: boolean;
  };
  kubeadm: {
    imageRepository?: string;
    /** Operator's kubeadm config file on the first control plane, passed as `--config` (plan, diff, apply). */
    configFile?: string;
    /** Patches folder on the control planes, passed as `--patches` when it exists (default /etc/kubernetes/patches). */
    patchesDir?: string;
    certificateRenewal: boolean;
    etcdUpgrade: boolean;
    etcdBackup: boolean;
    prePullImages: boolean;
  };
  drain: {
    timeoutSeconds: number;
    ignoreDaemonSets: boolean;
    deleteEmptyDirData: boolean;
    force: boolean;
    gracePeriodSeconds?: number;
  };
  rollout: {
    maxUnavailable: MaxUnavailable;
    gates: GateName[];
    cni?: { command?: string };
    /**
     * Workers' steps that leave the node schedulable (repository, kubeadm package, `kubeadm upgrade
     * node`) run ahead of the window, for the next window's worth of workers. Default true.
     */
    prepareAhead?: boolean;
  };
  nodes: InventoryNode[];
}
