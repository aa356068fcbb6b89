/**
 * The cluster state the controller owns (persisted as DIR/state.json) and the lab spec the CLI
 * writes (DIR/lab.json). Versions inside are plain `1.29.6` strings.
 */
import type { K8sPackage, PackageManager } from './packages';
import { corednsFor, etcdFor } from './versions';
import { fullVersionFor } from './packages';
import { LAB_PACKAGE_MANAGERS } from './package-managers';

export type Role = 'control-plane' | 'worker';

export interface LabNodeSpec {
  name: string;
  role: Role;
  address: string;
  port: number;
}

export interface LabSpec {
  name: string;
  version: string;
  packages: PackageManager;
  /** legacy: the frozen pre-2023 repository (seed runbook's aliyun el7 / apt.kubernetes.io) */
  repo: 'pkgs.k8s.io' | 'mirror' | 'legacy';
  speed: number;
  seed: string;
  createdAt: string;
  nodes: LabNodeSpec[];
  controller: { host: string; port: number } | null;
  ssh: { user: string; clientKeyPath: string; knownHostsPath: string } | null;
  options: LabOptions;
}

export interface LabOptions {
  /** nodes cordoned "by someone else" before the upgrade */
  cordoned: string[];
  podsPerWorker: number;
  emptyDirPods: number;
  unmanagedPods: number;
  /** nodes in the cluster that `up` leaves out of cluster.yaml (`--unlisted`) */
  unlisted?: string[];
  /** nodes whose kubelet runs with swap on and `failSwapOn: false` (`--swap-allowed`) */
  swapAllowed?: string[];
  /** where control planes have a host etcdctl: a path, or 'none' (default: on PATH, /usr/local/bin) */
  hostEtcdctl?: string;
  /** `up --os el7`: the nodes' yum is yum 3 (CentOS/RHEL 7) instead of dnf 4 */
  os?: 'el7';
  /** `up --versionlock`: the versionlock plugin is installed and locks kubeadm/kubelet/kubectl */
  versionlock?: boolean;
  /** nodes holding a kube-system pod the kubelet evicted before the run (phase Failed, reason Evicted) */
  evictedPods?: string[];
  /** kubeadm-config imageRepository (default registry.k8s.io) */
  imageRepository?: string;
  /** the nodes' CRI socket; a non-default one means containerd's socket is there too (cri-dockerd) */
  criSocket?: string;
  /** control planes carry /etc/kubernetes/patches with a kube-apiserver patch (kubeadm init --patches) */
  patches?: boolean;
  /** the kubelet-config ConfigMap holds kubelet.config.k8s.io/v1alpha1: kubeadm asks for a manual upgrade */
  oldKubeletConfig?: boolean;
  /**
   * `up --api real`: the Kubernetes API is the real kube-apiserver (with etcd, controller-manager
   * and scheduler) built from Go modules, kubectl the real binary; default 'emulated'
   */
  api?: 'real' | 'emulated';
}

export interface InstalledPackage {
  version: string;
  full: string;
  repo: string;
}

export interface CpComponents {
  apiserver: string;
  controllerManager: string;
  scheduler: string;
  etcd: string;
}

export interface NodeState {
  name: string;
  role: Role;
  address: string;
  createdAt: number;
  packages: Record<K8sPackage, InstalledPackage>;
  /** version of the running kubelet (node VERSION); changes only on restart */
  kubelet: string;
  /** version of the kubelet config last written by kubeadm */
  kubeletConfig: string;
  ready: boolean;
  /** when a pending NotReady->Ready transition happens (epoch ms), if any */
  readyAt: number | null;
  /** when a pending Ready->NotReady transition happens (node powered off) */
  notReadyAt: number | null;
  unschedulable: boolean;
  cp: CpComponents | null;
  /** apt-mark holds */
  holds: K8sPackage[];
  /** apt: the sources seen at the last `apt-get update` (the lists cache) */
  aptLists: string | null;
  /** caches of other Dir::State::Lists folders (kupgrade's repo probe uses a temporary one) */
  aptListsAlt?: Record<string, string>;
  /** unit files changed by a package install; systemd warns until daemon-reload */
  needsDaemonReload: boolean;
  down: boolean;
  kubeletActive: 'active' | 'activating' | 'inactive';
  /** apt: packages dpkg unpacked but never configured (an install killed mid-way): dpkg was interrupted */
  dpkgUnpacked?: K8sPackage[];
  /** the container runtime's image store: images pulled by kubeadm (repository/name:tag) */
  images?: string[];
  /**
   * A package transaction killed mid-way (its SSH session closed): apt — the packages are unpacked
   * but not configured and dpkg refuses new work until `dpkg --configure -a`; rpm — the new
   * packages are in the database next to the old ones (`previous`), whose erase never ran.
   */
  interruptedInstall?: { manager: 'apt' | 'rpm'; packages: K8sPackage[]; previous: Record<string, string> };
}

export interface Pod {
  ns: string;
  name: string;
  owner: 'DaemonSet' | 'ReplicaSet' | 'StatefulSet' | 'Node' | 'none';
  /** controller name (deployment, daemonset) or '' */
  app: string;
  emptyDir: boolean;
  tolerateCP: boolean;
  node: string | null;
  createdAt: number;
  readyAt: number;
  /** evicted, terminating until then (epoch ms) */
  terminatingUntil: number | null;
  ip: string;
  /**
   * A finished pod (phase Failed): the kubelet evicted it (reason Evicted) or it failed. It stays
   * in the API, with its nodeName, until deleted (a drain of its node deletes finished pods; the
   * ReplicaSet has already replaced it and never deletes it).
   */
  failed?: { reason: string; message: string; at: number };
}

export interface Pdb {
  ns: string;
  name: string;
  app: string;
  minAvailable: number | null;
  maxUnavailable: number | null;
  replicas: number;
  createdAt: number;
}

/** The healthy pods of its app that a PDB insists on (minAvailable, or replicas − maxUnavailable). */
export function pdbDesiredHealthy(b: Pdb): number {
  return b.minAvailable !== null ? b.minAvailable : Math.max(0, b.replicas - (b.maxUnavailable ?? 0));
}

export type FaultSpec =
  | { kind: 'fail'; match: string; node?: string; times?: number; exit?: number; message?: string }
  | { kind: 'hang'; match: string; node?: string; times?: number; forMs?: number }
  | { kind: 'drop'; match: string; node?: string; times?: number; when?: 'before' | 'after' }
  | { kind: 'pdb-block'; node?: string; forMs?: number }
  | { kind: 'kubelet-not-ready'; node: string }
  | { kind: 'package-missing'; node: string; version: string; package?: K8sPackage }
  | { kind: 'swap'; node: string }
  /** the next apt-get install on the node is killed while dpkg runs (unpacked, not configured) */
  | { kind: 'dpkg-interrupt'; node: string }
  /**
   * After the node's next kubelet restart, its `app` pods (default calico-node) report Ready only
   * `forMs` after the node itself is Ready (a CNI agent waiting for its BGP peers).
   */
  | { kind: 'pod-slow-ready'; node: string; app?: string; forMs: number }
  /**
   * Once, right after a successful `kubeadm upgrade apply` on the node: an out-of-band tool
   * (config management) writes the kube-apiserver manifest back with the image tag it had before;
   * the kubelet restarts the old kube-apiserver.
   */
  | { kind: 'manifest-rollback'; node: string };

export type Fault = FaultSpec & { id: number; createdAt: number; hits: number; until?: number };

export interface ClusterState {
  name: string;
  createdAt: number;
  packages: PackageManager;
  speed: number;
  seed: string;
  /** kubeadm-config ClusterConfiguration.kubernetesVersion */
  kubernetesVersion: string;
  /** the apiVersion the kubeadm that last uploaded the config wrote */
  configApiVersion: string;
  imageRepository: string;
  /** apiVersion of the kubelet-config ConfigMap's KubeletConfiguration when it is not the current one */
  kubeletConfigApi?: string;
  /** CRI socket of every node when not containerd's default */
  criSocket?: string;
  coredns: string;
  kubeProxy: string;
  nodes: Record<string, NodeState>;
  order: string[];
  pods: Pod[];
  pdbs: Pdb[];
  faults: Fault[];
  nextFaultId: number;
  nameCounter: number;
}

const FORTY_DAYS = 40 * 86400_000;

/** Deterministic PRNG (mulberry32) seeded from a string, for pod names. */
export function rng(seed: string): () => number {
  let h = 1779033703 ^ seed.length;
  for (let i = 0; i < seed.length; i++) {
    h = Math.imul(h ^ seed.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Kubernetes' rand.String alphabet (no vowels, no confusable digits). */
const ALPHA = 'bcdfghjklmnpqrstvwxz2456789';
export function randSuffix(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHA[Math.floor(r() * ALPHA.length)];
  return s;
}

export function configApiVersionFor(version: string): string {
  const minor = Number(version.split('.')[1]);
  return minor >= 31 ? 'kubeadm.k8s.io/v1beta4' : 'kubeadm.k8s.io/v1beta3';
}

export function buildInitialState(spec: LabSpec, now: number): ClusterState {
  const r = rng(`${spec.seed}/${spec.name}`);
  const created = now - FORTY_DAYS;
  const manager = LAB_PACKAGE_MANAGERS[spec.packages];
  const fmt = manager.format;
  const pkg = (): InstalledPackage => ({
    version: spec.version,
    full: fullVersionFor(
      spec.version,
      { kind: spec.repo === 'legacy' ? 'legacy' : 'pkgs', minor: null, url: '' },
      fmt,
    ),
    repo: 'kubernetes',
  });
  const nodes: Record<string, NodeState> = {};
  const order: string[] = [];
  for (const n of spec.nodes) {
    order.push(n.name);
    nodes[n.name] = {
      name: n.name,
      role: n.role,
      address: n.address,
      createdAt: created,
      packages: { kubeadm: pkg(), kubelet: pkg(), kubectl: pkg() },
      kubelet: spec.version,
      kubeletConfig: spec.version,
      ready: true,
      readyAt: null,
      notReadyAt: null,
      unschedulable: spec.options.cordoned.includes(n.name),
      cp:
        n.role === 'control-plane'
          ? {
              apiserver: spec.version,
              controllerManager: spec.version,
              scheduler: spec.version,
              etcd: etcdFor(spec.version),
            }
          : null,
      holds: [...manager.heldAfterInstall],
      aptLists: manager.aptLists?.(spec.repo, Number(spec.version.split('.')[1])) ?? null,
      needsDaemonReload: false,
      down: false,
      kubeletActive: 'active',
    };
  }
  const pods: Pod[] = [];
  let ipN = 0;
  const ip = () => {
    ipN++;
    return `10.244.${Math.floor(ipN / 250)}.${(ipN % 250) + 2}`;
  };
  const cps = spec.nodes.filter((n) => n.role === 'control-plane');
  const workers = spec.nodes.filter((n) => n.role === 'worker');
  const add = (p: Omit<Pod, 'createdAt' | 'readyAt' | 'terminatingUntil' | 'ip'>) =>
    pods.push({ ...p, createdAt: created, readyAt: created, terminatingUntil: null, ip: ip() });
  for (const n of spec.nodes) {
    for (const ds of ['kube-proxy', 'calico-node']) {
      add({
        ns: 'kube-system',
        name: `${ds}-${randSuffix(r, 5)}`,
        owner: 'DaemonSet',
        app: ds,
        emptyDir: false,
        tolerateCP: true,
        node: n.name,
      });
    }
  }
  for (const n of cps) {
    for (const c of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      add({
        ns: 'kube-system',
        name: `${c}-${n.name}`,
        owner: 'Node',
        app: c,
        emptyDir: false,
        tolerateCP: true,
        node: n.name,
      });
    }
  }
  const deploy = (
    ns: string,
    app: string,
    replicas: number,
    hosts: LabNodeSpec[],
    opts: Partial<Pod> = {},
  ) => {
    const hash = randSuffix(r, 10);
    for (let i = 0; i < replicas; i++) {
      add({
        ns,
        name: `${app}-${hash}-${randSuffix(r, 5)}`,
        owner: 'ReplicaSet',
        app,
        emptyDir: false,
        tolerateCP: false,
        node: hosts.length ? hosts[i % hosts.length]!.name : null,
        ...opts,
      });
    }
  };
  deploy('kube-system', 'coredns', 2, cps, { tolerateCP: true });
  deploy('kube-system', 'calico-kube-controllers', 1, cps, { tolerateCP: true });
  const pdbs: Pdb[] = [];
  const W = workers.length;
  if (W > 0) {
    const apps = ['web', 'api', 'worker'];
    const per = Math.max(0, spec.options.podsPerWorker);
    for (let a = 0; a < apps.length; a++) {
      // spread: app a gets one replica per worker for each k with k % 3 == a
      const replicas = W * Math.floor(per / 3 + (a < per % 3 ? 1 : 0));
      if (replicas === 0) continue;
      deploy('prod', apps[a]!, replicas, workers);
      if (apps[a] === 'web') {
        pdbs.push({
          ns: 'prod',
          name: 'web-pdb',
          app: 'web',
          minAvailable: null,
          maxUnavailable: 1,
          replicas,
          createdAt: created,
        });
      }
      if (apps[a] === 'api' && replicas > 1) {
        pdbs.push({
          ns: 'prod',
          name: 'api-pdb',
          app: 'api',
          minAvailable: replicas - 1,
          maxUnavailable: null,
          replicas,
          createdAt: created,
        });
      }
    }
    if (spec.options.emptyDirPods > 0)
      deploy('prod', 'cache', spec.options.emptyDirPods, workers, { emptyDir: true });
    for (let i = 0; i < spec.options.unmanagedPods; i++) {
      add({
        ns: 'default',
        name: `debug-${randSuffix(r, 5)}`,
        owner: 'none',
        app: '',
        emptyDir: false,
        tolerateCP: false,
        node: workers[i % W]!.name,
      });
    }
  }
  for (const name of spec.options.evictedPods ?? []) {
    const at = now - 3 * 86400_000;
    pods.push({
      ns: 'kube-system',
      name: `metrics-server-${randSuffix(r, 10)}-${randSuffix(r, 5)}`,
      owner: 'ReplicaSet',
      app: 'metrics-server',
      emptyDir: true,
      tolerateCP: false,
      node: name,
      createdAt: created,
      readyAt: created,
      terminatingUntil: null,
      ip: ip(),
      failed: {
        reason: 'Evicted',
        message:
          'The node was low on resource: ephemeral-storage. Threshold quantity: 4281126156, available: 3954520Ki. Container metrics-server was using 1284Ki, request is 0, has larger consumption of ephemeral-storage. ',
        at,
      },
    });
  }
  return {
    name: spec.name,
    createdAt: created,
    packages: spec.packages,
    speed: spec.speed,
    seed: spec.seed,
    kubernetesVersion: spec.version,
    configApiVersion: configApiVersionFor(spec.version),
    imageRepository: spec.options.imageRepository ?? 'registry.k8s.io',
    ...(spec.options.oldKubeletConfig ? { kubeletConfigApi: 'kubelet.config.k8s.io/v1alpha1' } : {}),
    ...(spec.options.criSocket ? { criSocket: spec.options.criSocket } : {}),
    coredns: corednsFor(spec.version),
    kubeProxy: spec.version,
    nodes,
    order,
    pods,
    pdbs,
    faults: [],
    nextFaultId: 1,
    nameCounter: 0,
  };
}

/** Pods that `kubectl drain` would have to remove: not DaemonSet-managed, not mirror pods. */
export function isEvictable(p: Pod): boolean {
  // a finished pod is deleted by a drain too, but it runs nothing: not counted as still to drain
  return p.owner !== 'DaemonSet' && p.owner !== 'Node' && !p.failed;
}
