/** Checks of cluster.yaml that need the whole document rather than one field. */
import type { InventoryIssue } from './errors';
import { FIXES } from './fixes';
import { show, valueAt } from './issues';

/**
 * Checks that need the whole document (duplicates, at least one control plane, mirror URL). They read
 * the raw value defensively so they still report when other fields are malformed.
 */
export function crossChecks(raw: unknown): InventoryIssue[] {
  const out: InventoryIssue[] = [];
  const obj = (raw ?? {}) as Record<string, unknown>;
  const sshPort = valueAt(obj, ['ssh', 'port']);
  const defPort = typeof sshPort === 'number' ? sshPort : 22;
  const nodes = Array.isArray(obj.nodes) ? (obj.nodes as unknown[]) : [];
  const names = new Map<string, number>();
  const addrs = new Map<string, number>();
  let controlPlanes = 0;
  nodes.forEach((n, i) => {
    if (n === null || typeof n !== 'object') return;
    const node = n as Record<string, unknown>;
    if (typeof node.name === 'string') {
      const first = names.get(node.name);
      if (first !== undefined) {
        out.push({
          field: `nodes[${i}].name`,
          message: `duplicate node name "${node.name}" (also nodes[${first}])`,
          fix: 'give every node a unique name (its Kubernetes node name)',
        });
      } else names.set(node.name, i);
    }
    if (typeof node.address === 'string') {
      const p = typeof node.port === 'number' ? node.port : defPort;
      const key = `${node.address.toLowerCase()}:${p}`;
      const first = addrs.get(key);
      if (first !== undefined) {
        out.push({
          field: `nodes[${i}].address`,
          message: `duplicate address ${node.address} port ${p} (also nodes[${first}])`,
          fix: 'give every node its own address (or its own port when nodes share an address)',
        });
      } else addrs.set(key, i);
    }
    if (node.role === 'control-plane') controlPlanes++;
  });
  if (nodes.length > 0 && controlPlanes === 0) {
    out.push({
      field: 'nodes',
      message: 'no node has role control-plane',
      fix: 'mark the kubeadm control-plane nodes with role: control-plane (the first one runs `kubeadm upgrade apply`)',
    });
  }
  const repo = valueAt(obj, ['packages', 'repository']) as Record<string, unknown> | undefined;
  if (repo && typeof repo === 'object') {
    if (repo.mode === 'mirror' && repo.urlTemplate === undefined) {
      out.push({
        field: 'packages.repository.urlTemplate',
        message: 'mode mirror needs a urlTemplate',
        fix: FIXES['packages.repository.urlTemplate'] ?? '',
      });
    }
    const insecure = valueAt(obj, ['packages', 'allowInsecureRepo']) === true;
    if (typeof repo.urlTemplate === 'string' && /^http:\/\//i.test(repo.urlTemplate) && !insecure) {
      out.push({
        field: 'packages.repository.urlTemplate',
        message: `${show(repo.urlTemplate)} is a plain http:// repository: packages and keys would be fetched without TLS`,
        fix: 'use the https:// URL of the mirror (e.g. https://mirrors.aliyun.com/kubernetes-new/core/stable/v{minor}/rpm/), or set packages.allowInsecureRepo: true to accept http knowingly',
      });
    }
    if (
      (repo.mode === 'unmanaged' || repo.mode === undefined || repo.mode === 'pkgs.k8s.io') &&
      repo.urlTemplate !== undefined
    ) {
      out.push({
        field: 'packages.repository.urlTemplate',
        message: `urlTemplate is only used with mode mirror (mode is ${String(repo.mode ?? 'pkgs.k8s.io')})`,
        fix: 'set mode: mirror, or remove urlTemplate',
      });
    }
  }
  const fps = valueAt(obj, ['ssh', 'hostKeyFingerprints']);
  if (fps && typeof fps === 'object' && !Array.isArray(fps)) {
    const jump = valueAt(obj, ['ssh', 'jumpHost', 'address']);
    for (const key of Object.keys(fps)) {
      if (!names.has(key) && key !== jump) {
        out.push({
          field: `ssh.hostKeyFingerprints.${key}`,
          message: `"${key}" is not a node name or the jump host address`,
          fix: `use node names as keys (${[...names.keys()].slice(0, 5).join(', ')}${names.size > 5 ? ', …' : ''})`,
        });
      }
    }
  }
  return out;
}
