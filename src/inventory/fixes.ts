/** The fix an operator reads for each field of cluster.yaml, by normalized path (`nodes[].address`). */
import { GATES } from '../shared/gates';
import { PACKAGE_MANAGER_NAMES } from '../packages/names';

const BOOL_FIX = 'use true or false (no quotes)';
const PORT_FIX = 'use a TCP port from 1 to 65535, e.g. 22';
const DURATION_FIX = 'use a Go-style duration such as 30s, 5m or 1h30m';
const ADDRESS_FIX =
  'use an IPv4 address (192.0.2.11), an IPv6 address (2001:db8::11) or a DNS name (cp-1.example.com); no spaces, quotes or shell characters';
const USER_FIX = 'use a login name such as root or ops (lower-case letters, digits, "_" and "-")';

/** The fix for a field, by normalized path. */
export const FIXES: Record<string, string> = {
  apiVersion: 'set apiVersion: kupgrade/v1',
  kind: 'set kind: Cluster',
  metadata: 'add metadata: {name: <cluster name>}',
  'metadata.name': 'use a lower-case DNS label (a-z, 0-9, inner "-", at most 63 characters), e.g. prod-bj',
  ssh: 'make ssh a mapping (see docs/inventory.md)',
  'ssh.user': USER_FIX,
  'ssh.port': PORT_FIX,
  'ssh.privateKeyPath':
    'give the path of the SSH private key, e.g. ~/.ssh/id_ed25519 (relative to cluster.yaml)',
  'ssh.knownHostsPath': 'give the path of an OpenSSH known_hosts file, e.g. ~/.ssh/known_hosts',
  'ssh.hostKeyPolicy': 'use strict (the default) or accept-new',
  'ssh.hostKeyFingerprints':
    'map node names to fingerprints as `ssh-keygen -lf <host key>.pub` prints them, e.g. cp-1: SHA256:…',
  'ssh.sudo': BOOL_FIX,
  'ssh.jumpHost': 'give jumpHost: {address, port, user}',
  'ssh.jumpHost.address': ADDRESS_FIX,
  'ssh.jumpHost.port': PORT_FIX,
  'ssh.jumpHost.user': USER_FIX,
  'ssh.connectTimeout': DURATION_FIX,
  'ssh.commandTimeout': DURATION_FIX,
  packages: `add packages: {manager: ${PACKAGE_MANAGER_NAMES.join('|')}}`,
  'packages.manager': `use ${PACKAGE_MANAGER_NAMES.slice(0, -1).join(', ')} or ${PACKAGE_MANAGER_NAMES[PACKAGE_MANAGER_NAMES.length - 1]}`,
  'packages.repository': 'give repository: {mode: pkgs.k8s.io} (or mirror with urlTemplate, or unmanaged)',
  'packages.repository.mode': 'use pkgs.k8s.io, mirror or unmanaged',
  'packages.repository.urlTemplate':
    'use an http(s) URL with {minor} where the minor goes, e.g. https://mirrors.aliyun.com/kubernetes-new/core/stable/v{minor}/rpm/',
  'packages.repository.keyFingerprint':
    'give the signing key fingerprint as `gpg --show-keys <Release.key>` prints it (40 hex digits, spaces allowed)',
  'packages.repository.key':
    'paste the repository key as `curl -fsSL <repo>/Release.key` prints it (-----BEGIN PGP PUBLIC KEY BLOCK----- … END …)',
  'packages.allowInsecureRepo': BOOL_FIX,
  kubeadm: 'make kubeadm a mapping (see docs/inventory.md)',
  'kubeadm.imageRepository':
    'use a registry path such as registry.cn-hangzhou.aliyuncs.com/google_containers',
  'kubeadm.configFile':
    'give the absolute path of a kubeadm config file on the first control plane, e.g. /root/kubeadm-upgrade.yaml',
  'kubeadm.patchesDir': 'give the absolute path of the kubeadm patches folder, e.g. /etc/kubernetes/patches',
  'kubeadm.certificateRenewal': BOOL_FIX,
  'kubeadm.etcdUpgrade': BOOL_FIX,
  'kubeadm.etcdBackup': BOOL_FIX,
  'kubeadm.prePullImages': BOOL_FIX,
  drain: 'make drain a mapping (see docs/inventory.md)',
  'drain.timeout': DURATION_FIX,
  'drain.ignoreDaemonSets': BOOL_FIX,
  'drain.deleteEmptyDirData': BOOL_FIX,
  'drain.force': BOOL_FIX,
  'drain.gracePeriod': 'use a duration such as 30s (or a number of seconds ≥ 0)',
  rollout: 'make rollout a mapping (see docs/inventory.md)',
  'rollout.maxUnavailable':
    'use a whole number of workers ≥ 1 (e.g. 2) or a percentage from 1% to 100% (e.g. "25%")',
  'rollout.prepareAhead': 'use true (prepare the next workers while the window drains) or false',
  'rollout.gates': `use a list of gate names from: ${GATES.join(', ')}`,
  'rollout.gates[]': `use only these gate names: ${GATES.join(', ')}`,
  'rollout.cni': 'give cni: {command: "<command run on the first control plane>"}',
  'rollout.cni.command': 'give the CNI upgrade command as one string',
  nodes: 'list the nodes: [{name, address, role: control-plane|worker}], at least one control plane',
  'nodes[]': 'each node is {name, address, role, port?}',
  'nodes[].name':
    'use the Kubernetes node name: lower-case letters, digits, "-" and ".", starting and ending alphanumeric',
  'nodes[].address': ADDRESS_FIX,
  'nodes[].port': PORT_FIX,
  'nodes[].role': 'use control-plane or worker',
};

/** `['nodes', 2, 'address']` → `nodes[].address`. */
export function normalize(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? '[]' : String(p)))
    .join('.')
    .replace(/\.\[\]/g, '[]');
}

export function fixFor(path: readonly PropertyKey[]): string {
  // Record entries (ssh.hostKeyFingerprints.<node>) share their parent's fix.
  return (
    FIXES[normalize(path)] ?? FIXES[normalize(path.slice(0, -1))] ?? 'see docs/inventory.md for this field'
  );
}
