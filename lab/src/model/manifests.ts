/**
 * The node-local files `up` writes and kubeadm rewrites: static-pod manifests (image tags are what
 * `upgrade apply/node` change), kubeconfigs, the kubelet config, and the package repo files.
 */

export const CP_COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
export type CpComponent = (typeof CP_COMPONENTS)[number];

export function image(repo: string, component: string, tag: string): string {
  return `${repo}/${component}:${tag}`;
}

export function manifest(component: CpComponent, address: string, img: string): string {
  const cmd: Record<CpComponent, string[]> = {
    etcd: [
      'etcd',
      `--advertise-client-urls=https://${address}:2379`,
      '--cert-file=/etc/kubernetes/pki/etcd/server.crt',
      '--client-cert-auth=true',
      '--data-dir=/var/lib/etcd',
      `--initial-advertise-peer-urls=https://${address}:2380`,
      '--key-file=/etc/kubernetes/pki/etcd/server.key',
      `--listen-client-urls=https://127.0.0.1:2379,https://${address}:2379`,
      '--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt',
      '--peer-key-file=/etc/kubernetes/pki/etcd/peer.key',
      '--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt',
    ],
    'kube-apiserver': [
      'kube-apiserver',
      `--advertise-address=${address}`,
      '--allow-privileged=true',
      '--authorization-mode=Node,RBAC',
      '--client-ca-file=/etc/kubernetes/pki/ca.crt',
      '--enable-admission-plugins=NodeRestriction',
      '--etcd-servers=https://127.0.0.1:2379',
      '--secure-port=6443',
      '--service-cluster-ip-range=10.96.0.0/12',
      '--tls-cert-file=/etc/kubernetes/pki/apiserver.crt',
      '--tls-private-key-file=/etc/kubernetes/pki/apiserver.key',
    ],
    'kube-controller-manager': [
      'kube-controller-manager',
      '--allocate-node-cidrs=true',
      '--authentication-kubeconfig=/etc/kubernetes/controller-manager.conf',
      '--cluster-cidr=10.244.0.0/16',
      '--kubeconfig=/etc/kubernetes/controller-manager.conf',
      '--leader-elect=true',
      '--use-service-account-credentials=true',
    ],
    'kube-scheduler': [
      'kube-scheduler',
      '--authentication-kubeconfig=/etc/kubernetes/scheduler.conf',
      '--bind-address=127.0.0.1',
      '--kubeconfig=/etc/kubernetes/scheduler.conf',
      '--leader-elect=true',
    ],
  };
  return [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    '  creationTimestamp: null',
    '  labels:',
    `    component: ${component}`,
    '    tier: control-plane',
    `  name: ${component}`,
    '  namespace: kube-system',
    'spec:',
    '  containers:',
    '  - command:',
    ...cmd[component].map((c) => `    - ${c}`),
    `    image: ${img}`,
    '    imagePullPolicy: IfNotPresent',
    `    name: ${component}`,
    '    resources:',
    '      requests:',
    '        cpu: 250m',
    '  hostNetwork: true',
    '  priorityClassName: system-node-critical',
    'status: {}',
    '',
  ].join('\n');
}

/** Replaces the container image tag in a manifest, keeping everything else byte for byte. */
export function retag(text: string, component: string, repo: string, tag: string): string {
  return text.replace(/^(\s*image:\s*)\S+$/m, `$1${image(repo, component, tag)}`);
}

export function manifestImageTag(text: string): string | null {
  const m = /^\s*image:\s*\S+:(\S+)$/m.exec(text);
  return m ? m[1]! : null;
}

export function kubeconfig(user: string, server: string): string {
  return [
    'apiVersion: v1',
    'clusters:',
    '- cluster:',
    '    certificate-authority-data: TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2c9PQ==',
    `    server: ${server}`,
    '  name: kubernetes',
    'contexts:',
    '- context:',
    '    cluster: kubernetes',
    `    user: ${user}`,
    `  name: ${user}@kubernetes`,
    `current-context: ${user}@kubernetes`,
    'kind: Config',
    'preferences: {}',
    'users:',
    `- name: ${user}`,
    '  user:',
    '    client-certificate-data: TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2c9PQ==',
    '    client-key-data: TFMwdExTMUNSVWRKVGlCU1UwRWdVRkpKVmtGVVJTQkxSVmt0TFMwdExRbz0=',
    '',
  ].join('\n');
}

/**
 * /var/lib/kubelet/config.yaml. `swap`: the node runs with swap on, as KubeletConfiguration allows
 * since the NodeSwap feature (beta from 1.28): `failSwapOn: false` and `memorySwap.swapBehavior`.
 */
export function kubeletConfig(version: string, swap?: { swapBehavior: string }): string {
  return [
    'apiVersion: kubelet.config.k8s.io/v1beta1',
    'authentication:',
    '  anonymous:',
    '    enabled: false',
    'cgroupDriver: systemd',
    'clusterDNS:',
    '- 10.96.0.10',
    'clusterDomain: cluster.local',
    ...(swap ? ['failSwapOn: false'] : []),
    'kind: KubeletConfiguration',
    ...(swap ? ['memorySwap:', `  swapBehavior: ${swap.swapBehavior}`] : []),
    'rotateCertificates: true',
    'staticPodPath: /etc/kubernetes/manifests',
    `# written by kubeadm v${version.replace(/^v/, '')}`,
    '',
  ].join('\n');
}

export type LabRepoMode = 'pkgs.k8s.io' | 'mirror' | 'legacy';

/**
 * The legacy repositories frozen on 2023-09-13 (no `/vX.Y/`, every minor up to 1.28.2): the seed
 * runbook's aliyun el7 mirror for rpm, apt.kubernetes.io's `kubernetes-xenial` suite for deb.
 */
export const LEGACY_YUM_URL = 'http://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64';
export const LEGACY_APT_URL = 'https://apt.kubernetes.io/';
// the 2022-2023 docs' variant under /etc (the other one, /usr/share/keyrings, is outside the node's overlays)
export const LEGACY_APT_KEYRING = '/etc/apt/keyrings/kubernetes-archive-keyring.gpg';

export function repoUrl(mode: LabRepoMode, minor: number, format: 'rpm' | 'deb'): string {
  if (mode === 'legacy') return format === 'rpm' ? LEGACY_YUM_URL : LEGACY_APT_URL;
  return mode === 'mirror'
    ? `https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.${minor}/${format}/`
    : `https://pkgs.k8s.io/core:/stable:/v1.${minor}/${format}/`;
}

export function yumRepoFile(mode: LabRepoMode, minor: number): string {
  if (mode === 'legacy') {
    // the seed runbook's file, verbatim (/work/shared/seeds: 更新yum源)
    return [
      '[kubernetes]',
      'name=Kubernetes',
      `baseurl=${LEGACY_YUM_URL}`,
      'enabled=1',
      'gpgcheck=0',
      'repo_gpgcheck=0',
      'gpgkey=http://mirrors.aliyun.com/kubernetes/yum/doc/yum-key.gpg http://mirrors.aliyun.com/kubernetes/yum/doc/rpm-package-key.gpg',
      '',
    ].join('\n');
  }
  const url = repoUrl(mode, minor, 'rpm');
  return [
    '[kubernetes]',
    'name=Kubernetes',
    `baseurl=${url}`,
    'enabled=1',
    'gpgcheck=1',
    `gpgkey=${url}repodata/repomd.xml.key`,
    'exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni',
    '',
  ].join('\n');
}

/** The zypper repository file of a minor, as `zypper addrepo` writes one (rpm repositories). */
export function zypperRepoFile(mode: LabRepoMode, minor: number): string {
  const url = repoUrl(mode, minor, 'rpm');
  return [
    '[kubernetes]',
    'name=Kubernetes',
    'enabled=1',
    'autorefresh=1',
    `baseurl=${url}`,
    'type=rpm-md',
    'gpgcheck=1',
    `gpgkey=${url}repodata/repomd.xml.key`,
    '',
  ].join('\n');
}

export function aptListFile(mode: LabRepoMode, minor: number): string {
  // the pre-2023 install docs: one suite for every minor, Google's key in kubernetes-archive-keyring
  if (mode === 'legacy')
    return `deb [signed-by=${LEGACY_APT_KEYRING}] ${LEGACY_APT_URL} kubernetes-xenial main\n`;
  return `deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] ${repoUrl(mode, minor, 'deb')} /\n`;
}
