/** verifyFindings: what verify counts, what it waits for, and what it leaves alone (table tests). */
import { failedPods, verifyFindings, type VerifyScope } from '../../src/activities/verify';

const T0 = '2026-12-04T10:00:00Z'; // the run started
const before = '2026-12-01T08:00:00Z';
const during = '2026-12-04T10:05:00Z';

function pod(o: {
  name: string;
  node?: string;
  phase?: string;
  ready?: boolean;
  image?: string;
  component?: string;
  reason?: string;
  failedAt?: string;
}) {
  return {
    metadata: {
      name: o.name,
      namespace: 'kube-system',
      creationTimestamp: '2026-10-01T00:00:00Z',
      ...(o.component ? { labels: { component: o.component } } : {}),
    },
    spec: { nodeName: o.node ?? 'w-1', containers: [{ image: o.image ?? 'registry.k8s.io/x:v1' }] },
    status:
      o.phase === 'Failed'
        ? {
            phase: 'Failed',
            reason: o.reason ?? 'Evicted',
            message: 'The node was low on resource: ephemeral-storage. ',
            containerStatuses: [{ ready: false, state: { terminated: { finishedAt: o.failedAt } } }],
          }
        : {
            phase: o.phase ?? 'Running',
            conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
            containerStatuses: [{ ready: o.ready !== false }],
          },
  };
}

const cp = (v: string, comp = 'kube-apiserver') =>
  pod({
    name: `${comp}-cp-1`,
    node: 'cp-1',
    component: comp,
    image: `registry.aliyuncs.com/google_containers/${comp}:${v}`,
  });
const cpAll = (v: string) =>
  ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((c) => cp(v, c));

const scope: VerifyScope = {
  want: 'v1.30.14',
  nodes: [
    { name: 'cp-1', role: 'control-plane' },
    { name: 'w-1', role: 'worker' },
  ],
  exclude: [],
  failedBefore: [],
  since: T0,
};
const nodes = [
  { name: 'cp-1', kubeletVersion: 'v1.30.14', ready: true },
  { name: 'w-1', kubeletVersion: 'v1.30.14', ready: true },
];
const list = (items: unknown[]) => JSON.stringify({ kind: 'List', items });

describe('verifyFindings', () => {
  test.each([
    ['a healthy cluster', nodes, [...cpAll('v1.30.14')], scope, [], []],
    [
      'a pod not Ready yet: settling',
      nodes,
      [...cpAll('v1.30.14'), pod({ name: 'calico-node-abcde', ready: false })],
      scope,
      [],
      ['kube-system/calico-node-abcde is Running (containers not ready)'],
    ],
    [
      'a node NotReady: settling',
      [nodes[0], { ...nodes[1], ready: false }],
      cpAll('v1.30.14'),
      scope,
      [],
      ['w-1 is not Ready'],
    ],
    [
      'evicted before the run (recorded at preflight): ignored',
      nodes,
      [...cpAll('v1.30.14'), pod({ name: 'metrics-server-1', phase: 'Failed', failedAt: during })],
      { ...scope, failedBefore: ['kube-system/metrics-server-1'] },
      [],
      [],
    ],
    [
      'evicted before the run (by its time): ignored',
      nodes,
      [...cpAll('v1.30.14'), pod({ name: 'metrics-server-2', phase: 'Failed', failedAt: before })],
      scope,
      [],
      [],
    ],
    [
      'evicted during the run: final',
      nodes,
      [...cpAll('v1.30.14'), pod({ name: 'metrics-server-3', phase: 'Failed', failedAt: during })],
      scope,
      [
        'kube-system/metrics-server-3 failed during the run (Evicted: The node was low on resource: ephemeral-storage.)',
      ],
      [],
    ],
    [
      'an apiserver rolled back: final',
      nodes,
      [cp('v1.29.6'), cp('v1.30.14', 'kube-controller-manager'), cp('v1.30.14', 'kube-scheduler')],
      scope,
      [
        'kube-system/kube-apiserver-cp-1 runs registry.aliyuncs.com/google_containers/kube-apiserver:v1.29.6, not v1.30.14',
      ],
      [],
    ],
    [
      'a mirror pod not listed yet: settling',
      nodes,
      [cp('v1.30.14'), cp('v1.30.14', 'kube-scheduler')],
      scope,
      [],
      ['no kube-controller-manager pod on cp-1 in kube-system'],
    ],
    [
      'a kubelet at the old version: final; an excluded node: not checked',
      [nodes[0], { ...nodes[1], kubeletVersion: 'v1.29.6' }],
      cpAll('v1.30.14'),
      scope,
      ['w-1 runs kubelet v1.29.6, not v1.30.14'],
      [],
    ],
    [
      'a skipped worker is left out',
      [nodes[0], { ...nodes[1], kubeletVersion: 'v1.29.6' }],
      cpAll('v1.30.14'),
      { ...scope, exclude: ['w-1'] },
      [],
      [],
    ],
  ])('%s', (_what, ns, pods, sc, final, settling) => {
    expect(verifyFindings(ns, list(pods), sc)).toEqual({ final, settling });
  });

  test('failedPods lists the Failed kube-system pods', () => {
    expect(
      failedPods(list([pod({ name: 'a', phase: 'Failed', failedAt: before }), pod({ name: 'b' })])),
    ).toEqual(['kube-system/a']);
  });
});
