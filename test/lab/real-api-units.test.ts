/**
 * Pure parts of the real-API lab (issue 14): which real kubectl a node's package version gets, the
 * model's view of an API pod, the workloads derived from the model's pods, and `up --api real`
 * refusing a release without a real build before it touches anything.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kubectlRelease } from '../../lab/src/tools/kubectl-real';
import { appOf, toModelPod, workloads } from '../../lab/src/api/objects';
import { missingBinaries } from '../../lab/src/api/binaries';
import { buildInitialState, type LabSpec } from '../../lab/src/model/state';
import { up } from '../../lab/src/lab';

describe('kubectlRelease: the real kubectl for a node kubectl package', () => {
  const built = ['1.33.13', '1.34.4'];
  it.each([
    ['1.34.4', '1.34.4'],
    ['1.33.13', '1.33.13'],
    ['1.33.2', '1.33.13'], // same minor, another patch: the built one of that minor
    ['1.35.0', '1.34.4'], // no build of the minor: the nearest minor
    ['1.29.6', '1.33.13'],
  ])('%s -> %s', (pkg, want) => {
    expect(kubectlRelease(pkg, built)).toBe(want);
  });
  it('none built: null', () => {
    expect(kubectlRelease('1.34.4', [])).toBeNull();
  });
});

describe('toModelPod: an API pod as the lab model counts it', () => {
  const U = Number.MAX_SAFE_INTEGER;
  const base = {
    metadata: {
      name: 'web-5d8f-abcde',
      namespace: 'prod',
      uid: 'u1',
      creationTimestamp: '2026-12-04T10:00:00Z',
      labels: { app: 'web', 'pod-template-hash': '5d8f' },
      ownerReferences: [{ kind: 'ReplicaSet', name: 'web-5d8f', uid: 'rs', controller: true }],
    },
    spec: { nodeName: 'w-1', volumes: [{ name: 'cache', emptyDir: {} }] },
    status: { phase: 'Running', podIP: '10.244.1.5', conditions: [{ type: 'Ready', status: 'True' }] },
  };
  it('a Ready ReplicaSet pod with an emptyDir', () => {
    expect(toModelPod(base, U, U)).toMatchObject({
      ns: 'prod',
      name: 'web-5d8f-abcde',
      owner: 'ReplicaSet',
      app: 'web',
      emptyDir: true,
      node: 'w-1',
      readyAt: Date.parse('2026-12-04T10:00:00Z'),
      terminatingUntil: null,
      ip: '10.244.1.5',
    });
  });
  it('being deleted: terminating until a kubelet confirms; not Ready: never Ready by itself', () => {
    const p = toModelPod(
      {
        ...base,
        metadata: { ...base.metadata, deletionTimestamp: '2026-12-04T10:01:00Z' },
        status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] },
      },
      U,
      U,
    );
    expect(p.terminatingUntil).toBe(U);
    expect(p.readyAt).toBe(U);
  });
  it('a mirror pod is owned by its Node; a pod with no owner is bare; a Failed pod is finished', () => {
    const mirror = toModelPod(
      {
        metadata: {
          name: 'etcd-cp-1',
          namespace: 'kube-system',
          labels: { component: 'etcd', tier: 'control-plane' },
          ownerReferences: [{ kind: 'Node', name: 'cp-1', uid: 'n', controller: true }],
        },
        spec: { nodeName: 'cp-1' },
      },
      U,
      U,
    );
    expect(mirror).toMatchObject({ owner: 'Node', app: 'etcd' });
    const bare = toModelPod({ metadata: { name: 'debug', namespace: 'default' }, spec: {} }, U, U);
    expect(bare).toMatchObject({ owner: 'none', node: null });
    const failed = toModelPod(
      { ...base, status: { phase: 'Failed', reason: 'Evicted', message: 'low' } },
      U,
      U,
    );
    expect(failed.failed).toMatchObject({ reason: 'Evicted', message: 'low' });
  });
  it.each([
    [{ 'k8s-app': 'kube-dns' }, 'coredns'],
    [{ 'k8s-app': 'calico-node' }, 'calico-node'],
    [{ app: 'api' }, 'api'],
    [{ component: 'kube-apiserver', tier: 'control-plane' }, 'kube-apiserver'],
    [undefined, ''],
  ])('appOf(%j) = %s', (labels, app) => {
    expect(appOf(labels as Record<string, string> | undefined)).toBe(app);
  });
});

describe('workloads: the controllers behind the model initial pods', () => {
  const spec: LabSpec = {
    name: 'lab',
    version: '1.33.13',
    packages: 'apt',
    repo: 'pkgs.k8s.io',
    speed: 100,
    seed: 'kupgrade',
    createdAt: '2026-12-04T10:00:00Z',
    nodes: [
      { name: 'cp-1', role: 'control-plane', address: '127.0.0.2', port: 22 },
      { name: 'w-1', role: 'worker', address: '127.0.0.3', port: 22 },
      { name: 'w-2', role: 'worker', address: '127.0.0.4', port: 22 },
    ],
    controller: null,
    ssh: null,
    options: { cordoned: [], podsPerWorker: 3, emptyDirPods: 1, unmanagedPods: 1 },
  };
  const w = workloads(buildInitialState(spec, Date.parse('2026-12-04T10:00:00Z')));
  it('one DaemonSet per node agent, one Deployment per app with the model replica count', () => {
    expect(w.daemonSets.map((d) => d.metadata.name).sort()).toEqual(['calico-node', 'kube-proxy']);
    expect(
      w.deployments.map((d) => [`${d.metadata.namespace}/${d.metadata.name}`, d.spec.replicas]).sort(),
    ).toEqual([
      ['kube-system/calico-kube-controllers', 1],
      ['kube-system/coredns', 2],
      ['prod/api', 2],
      ['prod/cache', 1],
      ['prod/web', 2],
      ['prod/worker', 2],
    ]);
    expect(w.pdbs.map((b) => [b.metadata.name, b.spec])).toEqual([
      ['web-pdb', { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } }],
      ['api-pdb', { minAvailable: 1, selector: { matchLabels: { app: 'api' } } }],
    ]);
    expect(w.barePods).toHaveLength(1);
    expect(w.barePods[0]!.spec.nodeName).toMatch(/^w-/);
    expect(w.namespaces).toEqual(['prod']);
    // the control-plane taint: tolerated by the kube-system apps that run there, not by prod apps
    const tol = (name: string) =>
      w.deployments.find((d) => d.metadata.name === name)!.spec.template.spec.tolerations;
    expect(tol('coredns')).toEqual([{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
    expect(tol('web')).toEqual([]);
  });
});

describe('up --api real: bad input changes nothing', () => {
  it('a release with no real build is refused, naming the field and the fix, before any file is written', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-realapi-')), 'lab');
    await expect(
      up({ dir, controlPlanes: 1, workers: 1, version: '1.29.6', packages: 'apt', api: 'real' }),
    ).rejects.toThrow(
      /^--api real --version 1\.29\.6: no real Kubernetes build of v1\.29\.6 .*run bash scripts\/build-k8s\.sh/,
    );
    expect(fs.existsSync(dir)).toBe(false);
  });
  it('missingBinaries names each missing release and etcd', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-nobin-'));
    expect(missingBinaries(['1.33.13'], empty)).toMatch(
      /^no real Kubernetes build of v1\.33\.13, etcd under .* \(built releases: none\); run bash scripts\/build-k8s\.sh/,
    );
  });
});
