/**
 * Pure readers of node facts for preflight: which node a host is (kubelet client certificate,
 * --hostname-override, hostname), the kubelet's swap settings, and cluster nodes the inventory
 * does not list.
 */
import { kubeletConfigMapSwap, kubeletSwapConfig } from '../../src/activities/kubelet-config';
import { identityVerdict, parseNodeIdentity } from '../../src/activities/node-identity';
import { unlistedNodes } from '../../src/activities/preflight';
import type { Inventory } from '../../src/shared/inventory';

describe('parseNodeIdentity', () => {
  test.each([
    [
      'OpenSSL 3',
      'cert: subject=O = system:nodes, CN = system:node:w-1\nhostname: host-a\n',
      { cert: 'w-1', hostname: 'host-a' },
    ],
    [
      'OpenSSL 1.0 (EL7)',
      'cert: subject= /O=system:nodes/CN=system:node:cp-2\nhostname: cp-2\n',
      { cert: 'cp-2', hostname: 'cp-2' },
    ],
    [
      'RFC 2253',
      'cert: subject=CN=system:node:node-7.example.com,O=system:nodes\n',
      { cert: 'node-7.example.com' },
    ],
    [
      'unreadable cert',
      'cert: Could not read certificate from /var/lib/kubelet/pki/kubelet-client-current.pem\noverride: W-3\nhostname: x\n',
      {
        certSubject: 'Could not read certificate from /var/lib/kubelet/pki/kubelet-client-current.pem',
        override: 'W-3',
        hostname: 'x',
      },
    ],
    ['nothing', '', {}],
  ])('%s', (_name, out, want) => {
    expect(parseNodeIdentity(out)).toEqual(want);
  });
});

describe('identityVerdict', () => {
  test.each([
    ['certificate matches', { cert: 'w-1', hostname: 'other' }, 'pass'],
    ['certificate names another node', { cert: 'w-2', hostname: 'w-1' }, 'fail'],
    ['override matches (case-insensitive)', { override: 'W-1' }, 'pass'],
    ['override names another node', { override: 'w-9' }, 'fail'],
    ['only a hostname, matching', { hostname: 'w-1' }, 'pass'],
    [
      'only a hostname, different: a warning (cloud providers rename nodes)',
      { hostname: 'ip-10-0-0-1' },
      'warn',
    ],
    ['nothing known', {}, 'warn'],
  ] as const)('%s', (_name, id, status) => {
    const v = identityVerdict('w-1', '192.0.2.21', id);
    expect(v.status).toBe(status);
    if (status === 'fail') expect(v.message).toMatch(/192\.0\.2\.21.*nodes\[\]\.address/);
  });
});

describe('kubeletSwapConfig', () => {
  const base =
    'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n';
  test.each([
    ['default: failSwapOn absent', base, { failSwapOn: true }],
    ['failSwapOn: true', `${base}failSwapOn: true\n`, { failSwapOn: true }],
    [
      'failSwapOn: false, LimitedSwap',
      `${base}failSwapOn: false\nmemorySwap:\n  swapBehavior: LimitedSwap\n`,
      { failSwapOn: false, swapBehavior: 'LimitedSwap' },
    ],
    ['failSwapOn: false, no memorySwap', `${base}failSwapOn: false\n`, { failSwapOn: false }],
    ['not a KubeletConfiguration', 'kind: Pod\n', null],
    ['not YAML', 'cat: /var/lib/kubelet/config.yaml: No such file or directory: [', null],
  ])('%s', (_name, text, want) => {
    expect(kubeletSwapConfig(text)).toEqual(want);
  });
});

describe('kubeletConfigMapSwap', () => {
  const cm = (kubelet: unknown) => JSON.stringify({ kind: 'ConfigMap', data: { kubelet } });
  test.each([
    [
      'swap allowed cluster-wide',
      cm('kind: KubeletConfiguration\nfailSwapOn: false\n'),
      { failSwapOn: false },
    ],
    ['the default', cm('kind: KubeletConfiguration\n'), { failSwapOn: true }],
    ['no data.kubelet', JSON.stringify({ data: {} }), null],
    ['not JSON', 'Error from server (NotFound): configmaps "kubelet-config" not found', null],
  ])('%s', (_name, text, want) => {
    expect(kubeletConfigMapSwap(text)).toEqual(want);
  });
});

describe('unlistedNodes', () => {
  const inv = { nodes: [{ name: 'cp-1' }, { name: 'w-1' }] } as unknown as Inventory;
  const n = (name: string, controlPlane = false) => ({
    name,
    controlPlane,
    ready: true,
    unschedulable: false,
    kubeletVersion: 'v1.29.6',
  });
  test('none missing', () => {
    expect(unlistedNodes(inv, [n('cp-1', true), n('w-1')])).toBeNull();
  });
  test('a worker and a control plane missing: named, with what it costs and the way out', () => {
    const r = unlistedNodes(inv, [n('cp-1', true), n('cp-2', true), n('w-1'), n('w-2')]);
    expect(r?.message).toMatch(/2 node\(s\).*cp-2 \(control plane\), w-2/);
    expect(r?.message).toMatch(/CoreDNS and kube-proxy are never upgraded/);
    expect(r?.message).toMatch(/--allow-unlisted/);
  });
});
