/** Table tests on the kubectl, package, systemctl, swap and etcdctl samples of shared/reference/nodes.md. */
import {
  aptPackageSpec,
  newestPatch,
  packageVersionFor,
  parseAptMadison,
  parseAptMarkShowhold,
  parseDrainOutput,
  parseEtcdctlEndpointHealth,
  parseNodesJson,
  parsePdbsJson,
  parseSwaponShow,
  parseSystemctlIsActive,
  parseYumShowDuplicates,
  upstreamOf,
  yumPackageSpec,
  ParseError,
} from '../../src/parsers';

const NODES_JSON = JSON.stringify({
  apiVersion: 'v1',
  kind: 'List',
  items: [
    {
      metadata: {
        name: 'cp-1',
        labels: { 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/hostname': 'cp-1' },
      },
      spec: { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] },
      status: {
        conditions: [
          { type: 'MemoryPressure', status: 'False' },
          { type: 'Ready', status: 'True' },
        ],
        nodeInfo: { kubeletVersion: 'v1.30.4', containerRuntimeVersion: 'containerd://1.7.13' },
        addresses: [
          { type: 'InternalIP', address: '192.0.2.11' },
          { type: 'Hostname', address: 'cp-1' },
        ],
      },
    },
    {
      metadata: { name: 'worker-1', labels: { 'kubernetes.io/role': 'node' } },
      spec: {
        unschedulable: true,
        taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }],
      },
      status: { conditions: [{ type: 'Ready', status: 'False' }], nodeInfo: { kubeletVersion: 'v1.29.8' } },
    },
    { metadata: { name: 'worker-2' }, spec: {}, status: { nodeInfo: { kubeletVersion: 'v1.29.8' } } },
  ],
});

describe('nodes', () => {
  test('parseNodesJson: roles, Ready, cordon, version, taints, IP', () => {
    expect(parseNodesJson(NODES_JSON)).toEqual([
      {
        name: 'cp-1',
        roles: ['control-plane'],
        ready: true,
        readyStatus: 'True',
        unschedulable: false,
        kubeletVersion: 'v1.30.4',
        taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
        internalIP: '192.0.2.11',
      },
      {
        name: 'worker-1',
        roles: ['node'],
        ready: false,
        readyStatus: 'False',
        unschedulable: true,
        kubeletVersion: 'v1.29.8',
        taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }],
      },
      {
        name: 'worker-2',
        roles: [],
        ready: false,
        readyStatus: 'Unknown',
        unschedulable: false,
        kubeletVersion: 'v1.29.8',
        taints: [],
      },
    ]);
  });

  test('parseNodesJson: a single Node object; garbage throws', () => {
    const one = JSON.parse(NODES_JSON) as { items: unknown[] };
    expect(parseNodesJson(JSON.stringify({ kind: 'Node', ...(one.items[0] as object) }))[0]?.name).toBe(
      'cp-1',
    );
    expect(() => parseNodesJson('The connection to the server localhost:8080 was refused')).toThrow(
      ParseError,
    );
  });
});

describe('parseDrainOutput', () => {
  test('pods under two PDBs: refused outright (real kubectl v1.34.4 against a real apiserver)', () => {
    // captured from the real-API lab: web/api pods under web-pdb and a second PDB, worker under one
    const r = parseDrainOutput(`node/w-2 cordoned
evicting pod prod/web-9fdb55bfd-rbnst
evicting pod prod/api-b57c9f9cb-j2ps6
evicting pod prod/worker-7cd9c49fbb-cb498
error when evicting pods/"web-9fdb55bfd-rbnst" -n "prod": This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.
error when evicting pods/"worker-7cd9c49fbb-cb498" -n "prod" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.
error: unable to drain node "w-2" due to error: [error when evicting pods/"web-9fdb55bfd-rbnst" -n "prod": This pod has more than one PodDisruptionBudget, which the eviction subresource does not support., error when evicting pods/"api-b57c9f9cb-j2ps6" -n "prod": This pod has more than one PodDisruptionBudget, which the eviction subresource does not support., error when evicting pods/"worker-7cd9c49fbb-cb498" -n "prod": global timeout reached: 8s], continuing command...
There are pending nodes to be drained:
 w-2
error when evicting pods/"web-9fdb55bfd-rbnst" -n "prod": This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.
error when evicting pods/"api-b57c9f9cb-j2ps6" -n "prod": This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.
error when evicting pods/"worker-7cd9c49fbb-cb498" -n "prod": global timeout reached: 8s
`);
    expect(r.multiPdb).toEqual([
      { namespace: 'prod', pod: 'web-9fdb55bfd-rbnst' },
      { namespace: 'prod', pod: 'api-b57c9f9cb-j2ps6' },
    ]);
    expect(r.pdbBlocked).toEqual([{ namespace: 'prod', pod: 'worker-7cd9c49fbb-cb498' }]);
    expect(r.timedOut).toBe(true);
    expect(r.drained).toBe(false);
  });

  test('success with a PDB retry', () => {
    const r = parseDrainOutput(`node/node-07 cordoned
Warning: ignoring DaemonSet-managed Pods: observability/node-exporter-4xk9d, kube-system/cilium-p2m7v
evicting pod prod/api-6c47d9f8b4-x9pql
evicting pod prod/api-6c47d9f8b4-tz84r
error when evicting pods/"api-6c47d9f8b4-tz84r" -n "prod" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.
evicting pod prod/api-6c47d9f8b4-tz84r
error when evicting pods/"api-6c47d9f8b4-tz84r" -n "prod" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.
pod/api-6c47d9f8b4-x9pql evicted
pod/api-6c47d9f8b4-tz84r evicted
node/node-07 drained
`);
    expect(r).toEqual({
      cordoned: true,
      drained: true,
      evicting: ['prod/api-6c47d9f8b4-x9pql', 'prod/api-6c47d9f8b4-tz84r'],
      evicted: ['api-6c47d9f8b4-x9pql', 'api-6c47d9f8b4-tz84r'],
      pdbBlocked: [{ namespace: 'prod', pod: 'api-6c47d9f8b4-tz84r' }],
      pdbRetries: 2,
      multiPdb: [],
      refusals: [],
      timedOut: false,
      timeoutPods: [],
      ignoredDaemonSetPods: ['observability/node-exporter-4xk9d', 'kube-system/cilium-p2m7v'],
    });
  });

  test('old PDB wording', () => {
    const r = parseDrainOutput(
      `error when evicting pod "web-1" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.\n`,
    );
    expect(r.pdbBlocked).toEqual([{ namespace: '', pod: 'web-1' }]);
  });

  test('refusal: DaemonSet pods without --ignore-daemonsets', () => {
    const r = parseDrainOutput(`node/worker-1 cordoned
error: unable to drain node "worker-1" due to error: cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/kube-proxy-hq5kl, continuing command...
There are pending nodes to be drained:
 worker-1
cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/kube-proxy-hq5kl
`);
    expect(r.drained).toBe(false);
    expect(r.error).toMatch(/^error: unable to drain node "worker-1"/);
    expect(r.refusals).toEqual([
      {
        reason: 'daemonset',
        message: 'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)',
        pods: ['kube-system/kube-proxy-hq5kl'],
      },
    ]);
  });

  test('several refusals (aggregate form)', () => {
    const r = parseDrainOutput(`node/w-2 cordoned
error: unable to drain node "w-2" due to error:[cannot delete Pods with local storage (use --delete-emptydir-data to override): app/cache-0, cannot delete cannot delete Pods that declare no controller (use --force to override): default/bare], continuing command...
There are pending nodes to be drained:
 w-2
cannot delete Pods with local storage (use --delete-emptydir-data to override): app/cache-0
cannot delete Pods that declare no controller (use --force to override): default/bare, default/bare-2
`);
    expect(r.refusals.map((x) => [x.reason, x.pods])).toEqual([
      ['local-storage', ['app/cache-0']],
      ['unmanaged', ['default/bare', 'default/bare-2']],
    ]);
  });

  test('global timeout while a PDB blocks', () => {
    const r = parseDrainOutput(`evicting pod payments/payments-api-7c9d4f6b8-r8pqz
There are pending pods in node "node-w07" when an error occurred: error when evicting pods/"payments-api-7c9d4f6b8-r8pqz" -n "payments": global timeout reached: 20m0s
pod/payments-api-7c9d4f6b8-r8pqz
error: unable to drain node "node-w07" due to error: error when evicting pods/"payments-api-7c9d4f6b8-r8pqz" -n "payments": global timeout reached: 20m0s, continuing command...
There are pending nodes to be drained:
 node-w07
error when evicting pods/"payments-api-7c9d4f6b8-r8pqz" -n "payments": global timeout reached: 20m0s
`);
    expect(r.timedOut).toBe(true);
    expect(r.drained).toBe(false);
    expect(r.timeoutPods).toEqual([{ namespace: 'payments', pod: 'payments-api-7c9d4f6b8-r8pqz' }]);
    expect(r.evicted).toEqual([]);
  });

  test('timeout waiting for termination', () => {
    const r = parseDrainOutput(
      'error when waiting for pod "db-0" in namespace "data" to terminate: global timeout reached: 2m0s\n',
    );
    expect(r.timeoutPods).toEqual([{ namespace: 'data', pod: 'db-0' }]);
  });
});

describe('parsePdbsJson', () => {
  test('limits, selectors and allowed disruptions (absent before the controller wrote a status)', () => {
    const text = JSON.stringify({
      items: [
        {
          metadata: { name: 'api', namespace: 'prod' },
          spec: { minAvailable: 2, selector: { matchLabels: { app: 'api' } } },
          status: { currentHealthy: 2, desiredHealthy: 2, expectedPods: 2, disruptionsAllowed: 0 },
        },
        {
          metadata: { name: 'web', namespace: 'prod' },
          spec: { maxUnavailable: '25%' },
          status: { currentHealthy: 4, desiredHealthy: 3, expectedPods: 4, disruptionsAllowed: 1 },
        },
        {
          metadata: { name: 'idle', namespace: 'x' },
          spec: { minAvailable: 1 },
          status: { disruptionsAllowed: 0, expectedPods: 0 },
        },
        { metadata: { name: 'new' }, spec: { minAvailable: 1 } },
      ],
    });
    const r = parsePdbsJson(text);
    expect(r.map((p) => [p.namespace, p.name, p.disruptionsAllowed])).toEqual([
      ['prod', 'api', 0],
      ['prod', 'web', 1],
      ['x', 'idle', 0],
      ['default', 'new', undefined],
    ]);
    expect(r[0]).toMatchObject({ minAvailable: 2, currentHealthy: 2, matchLabels: { app: 'api' } });
    expect(r[1]).toMatchObject({ maxUnavailable: '25%', disruptionsAllowed: 1 });
    expect(() => parsePdbsJson('error: the server doesn\'t have a resource type "pdb"')).toThrow(ParseError);
  });
});

describe('packages', () => {
  const YUM = `Last metadata expiration check: 0:11:20 ago on Monday 25 December 2023 04:30:00 PM.
Installed Packages
kubeadm.x86_64                           1.29.8-150500.1.1                   @kubernetes
Available Packages
kubeadm.x86_64                           1.29.8-150500.1.1                   kubernetes
kubeadm.x86_64                           1.30.0-150500.1.1                   kubernetes
kubeadm.x86_64                           1.30.4-150500.1.1                   kubernetes
kubeadm.x86_64                           1.30.4-150500.2.1                   kubernetes
kubernetes-cni.x86_64
                                         1.4.0-150500.1.1                    kubernetes
`;

  test('parseYumShowDuplicates: installed vs available, wrapped rows', () => {
    const r = parseYumShowDuplicates(YUM);
    expect(r.noMatch).toBe(false);
    expect(r.installed).toEqual([
      {
        name: 'kubeadm',
        arch: 'x86_64',
        version: '1.29.8-150500.1.1',
        upstream: '1.29.8',
        repo: '@kubernetes',
        installed: true,
      },
    ]);
    expect(r.available.map((p) => `${p.name} ${p.version}`)).toEqual([
      'kubeadm 1.29.8-150500.1.1',
      'kubeadm 1.30.0-150500.1.1',
      'kubeadm 1.30.4-150500.1.1',
      'kubeadm 1.30.4-150500.2.1',
      'kubernetes-cni 1.4.0-150500.1.1',
    ]);
  });

  test('parseYumShowDuplicates: legacy versions, dnf5 lower-case headers, excludes', () => {
    const r = parseYumShowDuplicates(
      'Installed packages\nkubelet.aarch64   1.26.9-0   @kubernetes\nAvailable packages\nkubelet.aarch64   1.27.1-0   kubernetes1.27\n',
    );
    expect(r.installed[0]).toMatchObject({ arch: 'aarch64', version: '1.26.9-0', upstream: '1.26.9' });
    expect(r.available[0]).toMatchObject({ version: '1.27.1-0', repo: 'kubernetes1.27', installed: false });
    expect(parseYumShowDuplicates('Error: No matching Packages to list\n')).toEqual({
      installed: [],
      available: [],
      noMatch: true,
    });
  });

  test('parseAptMadison: pkgs.k8s.io and legacy rows', () => {
    const r = parseAptMadison(`   kubeadm | 1.30.4-1.1 | https://pkgs.k8s.io/core:/stable:/v1.30/deb  Packages
   kubeadm | 1.30.3-1.1 | https://pkgs.k8s.io/core:/stable:/v1.30/deb  Packages
   kubeadm | 1.22.3-00 | https://apt.kubernetes.io kubernetes-xenial/main amd64 Packages
`);
    expect(r).toEqual([
      {
        name: 'kubeadm',
        version: '1.30.4-1.1',
        upstream: '1.30.4',
        repo: 'https://pkgs.k8s.io/core:/stable:/v1.30/deb',
        installed: false,
      },
      {
        name: 'kubeadm',
        version: '1.30.3-1.1',
        upstream: '1.30.3',
        repo: 'https://pkgs.k8s.io/core:/stable:/v1.30/deb',
        installed: false,
      },
      {
        name: 'kubeadm',
        version: '1.22.3-00',
        upstream: '1.22.3',
        repo: 'https://apt.kubernetes.io kubernetes-xenial/main amd64',
        installed: false,
      },
    ]);
    expect(parseAptMadison('N: Unable to locate package kubeadm\n')).toEqual([]);
  });

  test('parseAptMarkShowhold', () => {
    expect(parseAptMarkShowhold('kubeadm\nkubectl\nkubelet\n')).toEqual(['kubeadm', 'kubectl', 'kubelet']);
    expect(parseAptMarkShowhold('')).toEqual([]);
  });

  test.each([
    ['1.30.4-150500.1.1', '1.30.4'],
    ['1.30.4-1.1', '1.30.4'],
    ['1.22.3-0', '1.22.3'],
    ['1.22.3-00', '1.22.3'],
    ['0:1.30.4-150500.1.1', '1.30.4'],
    ['1.31.0~rc.1-1.1', '1.31.0~rc.1'],
  ])('upstreamOf(%s) = %s', (v, want) => expect(upstreamOf(v)).toBe(want));

  test('packageVersionFor: exact version → package version string', () => {
    const yum = parseYumShowDuplicates(YUM).available;
    expect(packageVersionFor('1.30.4', yum)).toBe('1.30.4-150500.2.1');
    expect(packageVersionFor('v1.30.0', yum)).toBe('1.30.0-150500.1.1');
    expect(packageVersionFor('1.30.9', yum)).toBeUndefined();
    expect(packageVersionFor('1.30.4', ['1.30.3-1.1', '1.30.4-1.1'])).toBe('1.30.4-1.1');
    expect(packageVersionFor('1.22.3', ['1.22.3-0'])).toBe('1.22.3-0');
    expect(packageVersionFor('1.22.3', ['1.22.3-00', '1.22.2-00'])).toBe('1.22.3-00');
  });

  test('newestPatch: numeric patch order, pre-releases ignored', () => {
    const versions = ['1.30.10-1.1', '1.30.9-1.1', '1.31.0~rc.1-1.1', '1.31.0-1.1', '1.3.99-00'];
    expect(newestPatch('1.30', versions)).toEqual({ upstream: '1.30.10', version: '1.30.10-1.1' });
    expect(newestPatch('1.31', versions)).toEqual({ upstream: '1.31.0', version: '1.31.0-1.1' });
    expect(newestPatch('1.3', versions)).toEqual({ upstream: '1.3.99', version: '1.3.99-00' });
    expect(newestPatch('1.32', versions)).toBeUndefined();
    expect(newestPatch('v1.30', parseYumShowDuplicates(YUM).available)).toEqual({
      upstream: '1.30.4',
      version: '1.30.4-150500.2.1',
    });
  });

  test('install specs', () => {
    expect(yumPackageSpec('kubeadm', '1.30.4-150500.1.1')).toBe('kubeadm-1.30.4-150500.1.1');
    expect(aptPackageSpec('kubeadm', '1.30.4-1.1')).toBe('kubeadm=1.30.4-1.1');
  });
});

describe('node services and etcd', () => {
  test.each([
    ['active\n', 0, 'active', true],
    ['inactive\n', 3, 'inactive', false],
    ['activating\n', 3, 'activating', false],
    ['failed\n', 3, 'failed', false],
    ['', 4, 'unknown', false],
  ] as const)('systemctl is-active %j (exit %d)', (out, code, state, active) => {
    expect(parseSystemctlIsActive(out, code)).toEqual({ state, active });
  });

  test('swapon --show', () => {
    expect(parseSwaponShow('')).toEqual({ enabled: false, devices: [] });
    expect(
      parseSwaponShow(
        'NAME      TYPE      SIZE USED PRIO\n/dev/dm-1 partition   3G   0B   -2\n/swap.img file        2G   1M   -3\n',
      ),
    ).toEqual({
      enabled: true,
      devices: [
        { name: '/dev/dm-1', type: 'partition', size: '3G', used: '0B', prio: -2 },
        { name: '/swap.img', type: 'file', size: '2G', used: '1M', prio: -3 },
      ],
    });
  });

  test('etcdctl endpoint health: healthy, unhealthy, log noise', () => {
    expect(
      parseEtcdctlEndpointHealth(
        'https://127.0.0.1:2379 is healthy: successfully committed proposal: took = 14.891442ms\n',
      ),
    ).toEqual([{ endpoint: 'https://127.0.0.1:2379', healthy: true, took: '14.891442ms' }]);
    expect(
      parseEtcdctlEndpointHealth(
        '{"level":"warn","ts":"2024-01-01T00:00:00Z","msg":"retrying of unary invoker failed"}\nhttps://127.0.0.1:2379 is unhealthy: failed to commit proposal: context deadline exceeded\nError: unhealthy cluster\n',
      ),
    ).toEqual([
      {
        endpoint: 'https://127.0.0.1:2379',
        healthy: false,
        error: 'failed to commit proposal: context deadline exceeded',
      },
    ]);
  });
});
