/**
 * The objects a real-API lab holds, derived from the lab's model: Nodes (what a kubelet registers),
 * the workloads behind the model's pods (DaemonSets, Deployments, PDBs, bare pods), the mirror pods
 * of each control plane's static manifests, and kubeadm's ConfigMaps. Pure functions: the node
 * agent and the seeding at `up` send them.
 */
import * as crypto from 'node:crypto';
import type { ClusterState, NodeState, Pdb, Pod } from '../model/state';
import { withV } from '../model/versions';
import { kubeletConfig } from '../model/manifests';
import { kubeadmConfigYaml } from '../tools/kubectl';
import type { K8sObject } from './client';
import { LAB_PACKAGE_MANAGERS } from '../model/package-managers';

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function nodeLabels(n: NodeState): Record<string, string> {
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': n.name,
    'kubernetes.io/os': 'linux',
  };
  if (n.role === 'control-plane') {
    labels['node-role.kubernetes.io/control-plane'] = '';
    labels['node.kubernetes.io/exclude-from-external-load-balancers'] = '';
  }
  return labels;
}

export function nodeObject(st: ClusterState, n: NodeState): K8sObject {
  const i = st.order.indexOf(n.name);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      labels: nodeLabels(n),
      annotations: {
        'kubeadm.alpha.kubernetes.io/cri-socket':
          st.criSocket ?? 'unix:///var/run/containerd/containerd.sock',
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: {
      podCIDR: `10.244.${i % 256}.0/24`,
      podCIDRs: [`10.244.${i % 256}.0/24`],
      ...(n.role === 'control-plane'
        ? { taints: [{ effect: 'NoSchedule', key: 'node-role.kubernetes.io/control-plane' }] }
        : {}),
      ...(n.unschedulable ? { unschedulable: true } : {}),
    },
  };
}

/** What a kubelet reports in node status: Ready from the model, its version, its capacity. */
export function nodeStatus(st: ClusterState, n: NodeState, now: number): Record<string, unknown> {
  const ready = n.down
    ? { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' }
    : n.ready
      ? { status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : {
          status: 'False',
          reason: 'KubeletNotReady',
          message: 'container runtime status check may not have completed yet',
        };
  const cond = (type: string, reason: string, message: string) => ({
    type,
    status: 'False',
    reason,
    message,
    lastHeartbeatTime: iso(now),
    lastTransitionTime: iso(n.createdAt),
  });
  const capacity = { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' };
  const os = LAB_PACKAGE_MANAGERS[st.packages].os;
  return {
    addresses: [
      { address: n.address, type: 'InternalIP' },
      { address: n.name, type: 'Hostname' },
    ],
    capacity,
    allocatable: capacity,
    conditions: [
      cond('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      cond('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      { type: 'Ready', ...ready, lastHeartbeatTime: iso(now), lastTransitionTime: iso(now) },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      architecture: 'amd64',
      bootID: hashId(`${n.name}/boot`),
      containerRuntimeVersion: 'containerd://1.7.13',
      kernelVersion: os.kernel,
      kubeProxyVersion: withV(n.kubelet),
      kubeletVersion: withV(n.kubelet),
      machineID: hashId(`${n.name}/machine`).replace(/-/g, ''),
      operatingSystem: 'linux',
      osImage: os.image,
      systemUUID: hashId(`${n.name}/system`),
    },
  };
}

function hashId(s: string): string {
  const h = crypto.createHash('sha256').update(s).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The container image of an app, with the versions the cluster runs. */
export function appImage(st: ClusterState, app: string, cp?: NodeState['cp']): string {
  const repo = st.imageRepository;
  switch (app) {
    case 'kube-apiserver':
      return `${repo}/${app}:${withV(cp?.apiserver ?? st.kubernetesVersion)}`;
    case 'kube-controller-manager':
      return `${repo}/${app}:${withV(cp?.controllerManager ?? st.kubernetesVersion)}`;
    case 'kube-scheduler':
      return `${repo}/${app}:${withV(cp?.scheduler ?? st.kubernetesVersion)}`;
    case 'etcd':
      return `${repo}/etcd:${cp?.etcd ?? ''}`;
    case 'kube-proxy':
      return `${repo}/kube-proxy:${withV(st.kubeProxy)}`;
    case 'coredns':
      return repo === 'registry.k8s.io'
        ? `${repo}/coredns/coredns:${st.coredns}`
        : `${repo}/coredns:${st.coredns}`;
    case 'calico-node':
    case 'calico-kube-controllers':
      return `docker.io/calico/${app.replace('calico-', '')}:v3.27.3`;
    default:
      return `registry.example.com/${app || 'debug'}:1.0`;
  }
}

/** The selector labels of an app, as the usual manifests set them. */
export function appLabels(app: string): Record<string, string> {
  if (app === 'coredns') return { 'k8s-app': 'kube-dns' };
  if (app === 'kube-proxy' || app === 'calico-node' || app === 'calico-kube-controllers')
    return { 'k8s-app': app };
  return { app };
}

/** The model's app name of a pod's labels (the inverse of appLabels, plus static pods' component). */
export function appOf(labels: Record<string, string> | undefined): string {
  const l = labels ?? {};
  if (l['k8s-app'] === 'kube-dns') return 'coredns';
  return l['k8s-app'] ?? l.app ?? l.component ?? '';
}

const TOLERATE_ALL = [{ operator: 'Exists' }];
const TOLERATE_CP = [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }];

function template(
  st: ClusterState,
  app: string,
  tolerations: unknown[],
  emptyDir: boolean,
): Record<string, unknown> {
  return {
    metadata: { labels: appLabels(app) },
    spec: {
      containers: [{ name: app, image: appImage(st, app) }],
      tolerations,
      terminationGracePeriodSeconds: 30,
      ...(emptyDir ? { volumes: [{ name: 'cache', emptyDir: {} }] } : {}),
    },
  };
}

export interface Workloads {
  namespaces: string[];
  daemonSets: K8sObject[];
  deployments: K8sObject[];
  pdbs: K8sObject[];
  barePods: K8sObject[];
}

/** The workloads behind the model's initial pods: one controller per (namespace, app). */
export function workloads(st: ClusterState): Workloads {
  const groups = new Map<
    string,
    { ns: string; app: string; owner: Pod['owner']; n: number; tolerateCP: boolean; emptyDir: boolean }
  >();
  const barePods: K8sObject[] = [];
  for (const p of st.pods) {
    if (p.owner === 'Node' || p.failed) continue;
    if (p.owner === 'none') {
      barePods.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: p.name, namespace: p.ns, labels: { run: p.name } },
        spec: {
          nodeName: p.node,
          containers: [{ name: 'debug', image: appImage(st, '') }],
          terminationGracePeriodSeconds: 30,
        },
      });
      continue;
    }
    const k = `${p.ns}/${p.app}`;
    const g = groups.get(k) ?? {
      ns: p.ns,
      app: p.app,
      owner: p.owner,
      n: 0,
      tolerateCP: p.tolerateCP,
      emptyDir: p.emptyDir,
    };
    g.n++;
    groups.set(k, g);
  }
  const daemonSets: K8sObject[] = [];
  const deployments: K8sObject[] = [];
  for (const g of groups.values()) {
    const meta = { name: g.app, namespace: g.ns, labels: appLabels(g.app) };
    if (g.owner === 'DaemonSet') {
      daemonSets.push({
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: meta,
        spec: {
          selector: { matchLabels: appLabels(g.app) },
          template: template(st, g.app, TOLERATE_ALL, false),
        },
      });
    } else {
      deployments.push({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: meta,
        spec: {
          replicas: g.n,
          selector: { matchLabels: appLabels(g.app) },
          template: template(st, g.app, g.tolerateCP ? TOLERATE_CP : [], g.emptyDir),
        },
      });
    }
  }
  const pdbs = st.pdbs.map((b) => pdbObject(b));
  const namespaces = [
    ...new Set([...groups.values()].map((g) => g.ns).concat(barePods.map((p) => p.metadata.namespace!))),
  ].filter((n) => n !== 'default' && n !== 'kube-system');
  return { namespaces, daemonSets, deployments, pdbs, barePods };
}

export function pdbObject(b: Pdb): K8sObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: b.name, namespace: b.ns },
    spec: {
      ...(b.minAvailable !== null ? { minAvailable: b.minAvailable } : {}),
      ...(b.maxUnavailable !== null ? { maxUnavailable: b.maxUnavailable } : {}),
      selector: { matchLabels: appLabels(b.app) },
    },
  };
}

export const STATIC_PODS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

/** The mirror pod the kubelet posts for a static manifest; its config hash follows the image. */
export function mirrorPod(st: ClusterState, n: NodeState, component: string, nodeUid: string): K8sObject {
  const image = appImage(st, component, n.cp);
  const hash = crypto
    .createHash('sha256')
    .update(`${n.name}/${component}/${image}`)
    .digest('hex')
    .slice(0, 32);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${component}-${n.name}`,
      namespace: 'kube-system',
      labels: { component, tier: 'control-plane' },
      annotations: {
        'kubernetes.io/config.hash': hash,
        'kubernetes.io/config.mirror': hash,
        'kubernetes.io/config.source': 'file',
        'kubernetes.io/config.seen': iso(Date.now()),
      },
      ownerReferences: [
        { kind: 'Node', name: n.name, uid: nodeUid, controller: true, apiVersion: 'v1' } as never,
      ],
    },
    spec: {
      nodeName: n.name,
      hostNetwork: true,
      priorityClassName: 'system-node-critical',
      priority: 2000001000,
      containers: [{ name: component, image }],
      tolerations: [{ operator: 'Exists', effect: 'NoExecute' }],
    },
  };
}

export function kubeadmConfigMap(st: ClusterState, endpoint: string): K8sObject {
  const o = kubeadmConfigYaml({
    kubernetesVersion: st.kubernetesVersion,
    configApiVersion: st.configApiVersion,
    imageRepository: st.imageRepository,
    endpoint,
    createdAt: st.createdAt,
  }).obj as { data: Record<string, string> };
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kubeadm-config', namespace: 'kube-system' },
    data: o.data,
  };
}

export function kubeletConfigMap(st: ClusterState, swap: boolean): K8sObject {
  const data = kubeletConfig(st.kubernetesVersion, swap ? { swapBehavior: 'LimitedSwap' } : undefined)
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kubelet-config', namespace: 'kube-system' },
    data: { kubelet: data },
  };
}

/** A running pod's status as the kubelet posts it. */
export function runningStatus(
  pod: K8sObject,
  hostIP: string,
  ready: boolean,
  now: number,
): Record<string, unknown> {
  const c = (pod.spec?.containers ?? []) as { name: string; image: string }[];
  const t = iso(now);
  const start = pod.status?.startTime ?? t;
  return {
    phase: 'Running',
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP: pod.spec?.hostNetwork ? hostIP : podIp(pod.metadata.uid ?? pod.metadata.name),
    startTime: start,
    conditions: [
      { type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: start },
      { type: 'Initialized', status: 'True', lastTransitionTime: start },
      { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: t },
      { type: 'ContainersReady', status: ready ? 'True' : 'False', lastTransitionTime: t },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: start },
    ],
    containerStatuses: c.map((x) => ({
      name: x.name,
      image: x.image,
      imageID: '',
      ready,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: start } },
    })),
  };
}

function podIp(s: string): string {
  const h = crypto.createHash('sha256').update(s).digest();
  return `10.244.${h[0]!}.${(h[1]! % 250) + 2}`;
}

/** The model's view of an API pod (what `state` events count and `kubectl exec` finds). */
export function toModelPod(o: K8sObject, unconfirmed: number, notReady: number): Pod {
  const ref = o.metadata.ownerReferences?.find((r) => r.controller) ?? o.metadata.ownerReferences?.[0];
  const kind = ref?.kind;
  const owner: Pod['owner'] =
    kind === 'DaemonSet' || kind === 'ReplicaSet' || kind === 'StatefulSet' || kind === 'Node'
      ? kind
      : 'none';
  const ready = ((o.status?.conditions ?? []) as { type: string; status: string }[]).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );
  const phase = o.status?.phase as string | undefined;
  const created = Date.parse(o.metadata.creationTimestamp ?? '') || 0;
  return {
    ns: o.metadata.namespace ?? 'default',
    name: o.metadata.name,
    owner,
    app: appOf(o.metadata.labels),
    emptyDir: ((o.spec?.volumes ?? []) as { emptyDir?: unknown }[]).some((v) => v.emptyDir !== undefined),
    tolerateCP: false,
    node: (o.spec?.nodeName as string | undefined) ?? null,
    createdAt: created,
    readyAt: ready ? created : notReady,
    terminatingUntil: o.metadata.deletionTimestamp ? unconfirmed : null,
    ip: (o.status?.podIP as string | undefined) ?? '',
    ...(phase === 'Failed' || phase === 'Succeeded'
      ? {
          failed: {
            reason: (o.status?.reason as string) ?? '',
            message: (o.status?.message as string) ?? '',
            at: created,
          },
        }
      : {}),
  };
}
