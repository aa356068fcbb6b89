/**
 * Command outputs for the activity tests, taken from ../shared/reference/{kubeadm,nodes}.md
 * (the reference samples) and shaped like the real tools print them.
 */

export interface NodeSpec {
  name: string;
  version?: string;
  ready?: boolean;
  unschedulable?: boolean;
  controlPlane?: boolean;
}

export function nodeObject(n: NodeSpec): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      labels: n.controlPlane
        ? { 'node-role.kubernetes.io/control-plane': '' }
        : { 'kubernetes.io/hostname': n.name },
    },
    spec: n.unschedulable ? { unschedulable: true } : {},
    status: {
      conditions: [{ type: 'Ready', status: n.ready === false ? 'False' : 'True' }],
      nodeInfo: { kubeletVersion: n.version ?? 'v1.29.6', containerRuntimeVersion: 'containerd://1.7.13' },
    },
  };
}

export const nodeJson = (n: NodeSpec): string => JSON.stringify(nodeObject(n), null, 4) + '\n';
export const nodeListJson = (ns: NodeSpec[]): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'List', items: ns.map(nodeObject) }, null, 4) + '\n';

export interface PodSpec {
  ns: string;
  name: string;
  owner?: 'DaemonSet' | 'ReplicaSet' | 'Node' | 'none';
  node?: string;
  phase?: string;
  labels?: Record<string, string>;
}

export function podListJson(pods: PodSpec[]): string {
  return (
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: pods.map((p) => ({
        metadata: {
          name: p.name,
          namespace: p.ns,
          labels: p.labels ?? {},
          ...(p.owner === 'Node' ? { annotations: { 'kubernetes.io/config.mirror': 'abc' } } : {}),
          ownerReferences:
            p.owner && p.owner !== 'none' ? [{ kind: p.owner, name: 'x', controller: true }] : [],
        },
        spec: { nodeName: p.node ?? 'w-1' },
        status: { phase: p.phase ?? 'Running', containerStatuses: [{ ready: p.phase !== 'Pending' }] },
      })),
    }) + '\n'
  );
}

/** reference/nodes.md §2.1, with kubelet and kubectl rows added the same way. */
export const YUM_LIST_130 = `Last metadata expiration check: 0:11:20 ago on Monday 25 December 2023 04:30:00 PM.
Installed Packages
kubeadm.x86_64                           1.29.6-150500.1.1                   @kubernetes
kubectl.x86_64                           1.29.6-150500.1.1                   @kubernetes
kubelet.x86_64                           1.29.6-150500.1.1                   @kubernetes
Available Packages
kubeadm.x86_64                           1.30.0-150500.1.1                   kubernetes
kubeadm.x86_64                           1.30.4-150500.1.1                   kubernetes
kubectl.x86_64                           1.30.0-150500.1.1                   kubernetes
kubectl.x86_64                           1.30.4-150500.1.1                   kubernetes
kubelet.x86_64                           1.30.0-150500.1.1                   kubernetes
kubelet.x86_64                           1.30.4-150500.1.1                   kubernetes
`;

export const YUM_LIST_129_ONLY = `Last metadata expiration check: 0:01:02 ago on Sat 28 Nov 2026 08:00:00 AM UTC.
Installed Packages
kubeadm.x86_64                           1.29.6-150500.1.1                   @kubernetes
Available Packages
kubeadm.x86_64                           1.29.5-150500.1.1                   kubernetes
kubeadm.x86_64                           1.29.6-150500.1.1                   kubernetes
kubectl.x86_64                           1.29.6-150500.1.1                   kubernetes
kubelet.x86_64                           1.29.6-150500.1.1                   kubernetes
`;

/** reference/nodes.md §2.2 (newest first, two spaces before Packages). */
export const MADISON_130 = `   kubeadm | 1.30.4-1.1 | https://pkgs.k8s.io/core:/stable:/v1.30/deb  Packages
   kubeadm | 1.30.3-1.1 | https://pkgs.k8s.io/core:/stable:/v1.30/deb  Packages
   kubelet | 1.30.4-1.1 | https://pkgs.k8s.io/core:/stable:/v1.30/deb  Packages
   kubelet | 1.30.3-1.1 | https://pkgs.k8s.io/core:/stable:/v1.30/deb  Packages
   kubectl | 1.30.4-1.1 | https://pkgs.k8s.io/core:/stable:/v1.30/deb  Packages
   kubectl | 1.30.3-1.1 | https://pkgs.k8s.io/core:/stable:/v1.30/deb  Packages
`;

export const YUM_REPO_129 = `[kubernetes]
name=Kubernetes
baseurl=https://pkgs.k8s.io/core:/stable:/v1.29/rpm/
enabled=1
gpgcheck=1
gpgkey=https://pkgs.k8s.io/core:/stable:/v1.29/rpm/repodata/repomd.xml.key
exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni
`;

export const APT_LIST_129 =
  'deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.29/deb/ /\n';

/** reference/kubeadm.md §3.4 (≤1.31 wrapper). */
export const APPLY_POLICY_REFUSAL = `[upgrade/config] Reading configuration from the cluster...
[upgrade/version] You have chosen to change the cluster version to "v1.31.0"
[upgrade/versions] Cluster version: v1.29.6
[upgrade/versions] kubeadm version: v1.31.0
[upgrade/version] FATAL: the --version argument is invalid due to these errors:

	- Specified version to upgrade to "v1.31.0" is too high; kubeadm can upgrade only 1 minor version at a time

Can be bypassed if you pass the --force flag
To see the stack trace of this error execute with --v=5 or higher
`;

/** A rolled-back apply naming kubeadm's backup folders (kubeadm.md §3.2, §5). */
export const APPLY_ROLLBACK = `[upgrade/staticpods] Writing new Static Pod manifests to "/etc/kubernetes/tmp/kubeadm-upgraded-manifests2868894685"
[upgrade/staticpods] Preparing for "etcd" upgrade
[upgrade/staticpods] Moving new manifest to "/etc/kubernetes/manifests/etcd.yaml" and backing up old manifest to "/etc/kubernetes/tmp/kubeadm-backup-manifests-2025-05-29-18-04-05/etcd.yaml"
[upgrade/staticpods] Waiting for the kubelet to restart the component
[upgrade/staticpods] This can take up to 5m0s
[upgrade/etcd] Rolling back etcd data
[upgrade/staticpods] Moving new manifest to "/etc/kubernetes/manifests/kube-apiserver.yaml" and backing up old manifest to "/etc/kubernetes/tmp/kubeadm-backup-manifests-2025-05-29-18-04-05/kube-apiserver.yaml"
error execution phase control-plane: couldn't upgrade control plane. kubeadm has tried to recover everything into the earlier state. Errors faced: timed out waiting for the condition
To see the stack trace of this error execute with --v=5 or higher
`;

export const APPLY_SUCCESS_131 = `[upgrade/successful] SUCCESS! Your cluster was upgraded to "v1.30.4". Enjoy!

[upgrade/kubelet] Now that your control plane is upgraded, please proceed with upgrading your kubelets if you haven't already done so.
`;

export const HEALTH_FAILURE = `[upgrade/health] FATAL: [preflight] Some fatal errors occurred:
	[ERROR CreateJob]: Job "upgrade-health-check-1771588625883" in the namespace "kube-system" did not complete in 15s: no condition of type Complete
[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\`
To see the stack trace of this error execute with --v=5 or higher
`;

/** reference/nodes.md §1.4: a drain that times out on a PDB. */
export const DRAIN_PDB_TIMEOUT = `node/w-1 cordoned
evicting pod payments/payments-api-7c9d4f6b8-r8pqz
error when evicting pods/"payments-api-7c9d4f6b8-r8pqz" -n "payments" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.
There are pending pods in node "w-1" when an error occurred: error when evicting pods/"payments-api-7c9d4f6b8-r8pqz" -n "payments": global timeout reached: 5m0s
pod/payments-api-7c9d4f6b8-r8pqz
error: unable to drain node "w-1" due to error: error when evicting pods/"payments-api-7c9d4f6b8-r8pqz" -n "payments": global timeout reached: 5m0s, continuing command...
There are pending nodes to be drained:
 w-1
error when evicting pods/"payments-api-7c9d4f6b8-r8pqz" -n "payments": global timeout reached: 5m0s
`;

export const DRAIN_UNMANAGED = `node/w-1 cordoned
error: unable to drain node "w-1" due to error: cannot delete Pods that declare no controller (use --force to override): default/debug-x7k2p, continuing command...
There are pending nodes to be drained:
 w-1
cannot delete Pods that declare no controller (use --force to override): default/debug-x7k2p
`;

export const DRAIN_OK = `node/w-1 cordoned
Warning: ignoring DaemonSet-managed Pods: kube-system/kube-proxy-x, kube-system/calico-node-y
evicting pod prod/api-6c47d9f8b4-x9pql
pod/api-6c47d9f8b4-x9pql evicted
node/w-1 drained
`;

export const PLAN_MANUAL = `[upgrade/versions] Cluster version: 1.29.6
[upgrade/versions] kubeadm version: v1.30.4

API GROUP                 CURRENT VERSION   PREFERRED VERSION   MANUAL UPGRADE REQUIRED
kubeproxy.config.k8s.io   v1alpha1          v1alpha2            yes
kubelet.config.k8s.io     v1beta1           v1beta1             no
_____________________________________________________________________

`;

export const ETCD_SNAPSHOT_OK = `{"level":"info","ts":"2026-11-28T08:00:00Z","caller":"snapshot/v3_snapshot.go:65","msg":"created temporary db file","path":"/x.part"}
Snapshot saved at /var/lib/kupgrade/backups/run-1/etcd-snapshot.db
`;

export const manifestGrep = (tag: string): string =>
  ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']
    .map((c) => `/etc/kubernetes/manifests/${c}.yaml:    image: registry.k8s.io/${c}:${tag}`)
    .join('\n') + '\n';

export const kubeadmConfigJson = (version: string): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kubeadm-config', namespace: 'kube-system' },
    data: {
      ClusterConfiguration: `apiServer: {}\napiVersion: kubeadm.k8s.io/v1beta3\nimageRepository: registry.k8s.io\nkind: ClusterConfiguration\nkubernetesVersion: ${version}\n`,
    },
  }) + '\n';

export const apiserverPodsJson = (tags: string[]): string =>
  JSON.stringify({
    kind: 'List',
    items: tags.map((t, i) => ({
      metadata: { name: `kube-apiserver-cp-${i + 1}` },
      spec: { containers: [{ image: `registry.k8s.io/kube-apiserver:${t}` }] },
    })),
  }) + '\n';

/** What locateRepoCommand prints: the path, yes/no, then the content. */
export const located = (path: string, content: string | null): string =>
  content === null ? `${path}\nno\n` : `${path}\nyes\n${content}`;
export const YUM_REPO_PATH = '/etc/yum.repos.d/kubernetes.repo';
export const APT_LIST_PATH = '/etc/apt/sources.list.d/kubernetes.list';
