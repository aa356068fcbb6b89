/**
 * Pure readers of node facts for preflight: which node a host is (kubelet client certificate,
 * --hostname-override, hostname), the kubelet's swap settings, and cluster nodes the inventory
 * does not list.
 */
import { kubeletConfigMapSwap, kubeletSwapConfig } from '../../src/activities/kubelet-config';
import {
  certificateCommonName,
  identityVerdict,
  parseNodeIdentity,
} from '../../src/activities/node-identity';
import { labPki } from '../../lab/src/model/pki';
import { unlistedNodes } from '../../src/activities/preflight-cluster';
import { buildInventory } from '../helpers/inventory';

/** An openssl-made certificate that is not a node's (subject O=system:masters, CN=kube-apiserver-kubelet-client). */
const OTHER_CERT = `-----BEGIN CERTIFICATE-----
MIIB1zCCAX2gAwIBAgIUH/e0v/j4QimDkByYpjKuQ/6ZSbswCgYIKoZIzj0EAwIw
QTEXMBUGA1UECgwOc3lzdGVtOm1hc3RlcnMxJjAkBgNVBAMMHWt1YmUtYXBpc2Vy
dmVyLWt1YmVsZXQtY2xpZW50MB4XDTI2MTIwNDE1MzkyMFoXDTI2MTIwNTE1Mzky
MFowQTEXMBUGA1UECgwOc3lzdGVtOm1hc3RlcnMxJjAkBgNVBAMMHWt1YmUtYXBp
c2VydmVyLWt1YmVsZXQtY2xpZW50MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
zfrbDo06oFUkuG9F0mhr874Vydyh/P1eC5Ggks9jvT8iauOt6T660BYT+zkwq+8y
lDBRtr/vjx5HP26AzrI+oKNTMFEwHQYDVR0OBBYEFF6rLqYVqruDxClkxPAo1D/X
bDlVMB8GA1UdIwQYMBaAFF6rLqYVqruDxClkxPAo1D/XbDlVMA8GA1UdEwEB/wQF
MAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgT24fGVQk5vXOChKcYeblMdY0yDKdNVEs
Cg+ROU5XklcCIQC2nzM6Ckz8YOEdT24yDH1FBOOpwpGzMexujgj11QX57Q==
-----END CERTIFICATE-----
`;

describe('parseNodeIdentity', () => {
  const issued = new Date('2026-10-19T08:00:00Z');
  // the lab's real X.509 (cert, then the EC key: the sed in nodeIdentityCommand passes the cert only)
  const nodePem = labPki().kubeletClientPem('w-1', issued);
  const certOnly = nodePem.slice(0, nodePem.indexOf('-----END CERTIFICATE-----') + 26);
  test.each([
    ['node certificate', `cert:\n${certOnly}hostname: host-a\n`, { cert: 'w-1', hostname: 'host-a' }],
    [
      'another certificate',
      `cert:\n${OTHER_CERT}hostname: x\n`,
      { certSubject: 'kube-apiserver-kubelet-client', hostname: 'x' },
    ],
    [
      '--hostname-override (first one)',
      '--hostname-override=W-3\n--hostname-override=w-4\nhostname: x\n',
      { override: 'W-3', hostname: 'x' },
    ],
    [
      'a truncated certificate is ignored',
      'cert:\n-----BEGIN CERTIFICATE-----\nMIIB1zCCAX2g\n-----END CERTIFICATE-----\nhostname: h\n',
      { hostname: 'h' },
    ],
    ['nothing', '', {}],
  ])('%s', (_name, out, want) => {
    expect(parseNodeIdentity(out)).toEqual(want);
  });
  test('certificateCommonName', () => {
    expect(certificateCommonName(certOnly)).toBe('system:node:w-1');
    expect(certificateCommonName(OTHER_CERT)).toBe('kube-apiserver-kubelet-client');
    expect(certificateCommonName('no pem')).toBeNull();
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
  const inv = buildInventory(); // cp-1 and w-1
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
