/**
 * Preflight (read-only, one batched command per node) and the control-plane backup.
 */
import { createNodeActivities } from '../../src/activities';
import { pdbBlockers } from '../../src/activities/preflight-cluster';
import { HostKeyMismatchError } from '../../src/ssh/errors';
import { failureOf, inActivity } from '../helpers/activity';
import { ctxOf, FakeSsh, hop130, nodeOf } from './fake-ssh';
import { buildInventory } from '../helpers/inventory';
import {
  apiserverPodsJson,
  ETCD_SNAPSHOT_OK,
  kubeadmConfigJson,
  nodeListJson,
  podListJson,
  YUM_LIST_130,
  YUM_REPO_129,
  located,
  YUM_REPO_PATH,
} from './samples';

const healthyKubeSystem = podListJson(
  ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'].map((c) => ({
    ns: 'kube-system',
    name: `${c}-cp-1`,
    owner: 'Node' as const,
    node: 'cp-1',
    labels: { component: c },
  })),
);

const PDBS = JSON.stringify({
  items: [
    {
      metadata: { name: 'api-pdb', namespace: 'prod' },
      spec: { minAvailable: 2, selector: { matchLabels: { app: 'api' } } },
      status: { disruptionsAllowed: 0, currentHealthy: 2 },
    },
    {
      metadata: { name: 'web-pdb', namespace: 'prod' },
      spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } },
      status: { disruptionsAllowed: 1, currentHealthy: 3 },
    },
  ],
});

const ALL_PODS = podListJson([
  { ns: 'prod', name: 'api-1', owner: 'ReplicaSet', node: 'w-1', labels: { app: 'api' } },
  { ns: 'prod', name: 'web-1', owner: 'ReplicaSet', node: 'w-1', labels: { app: 'web' } },
]);

function healthyCluster(ssh: FakeSsh) {
  ssh.on(/^kubeadm version -o short$/, { stdout: 'v1.29.6\n' });
  ssh.on(/^swapon --show$/, { stdout: '' });
  ssh.on(/^systemctl is-active kubelet$/, { stdout: 'active\n' });
  ssh.on(/^if \[ -f \/etc\/yum.repos.d\/kubernetes.repo/, { stdout: located(YUM_REPO_PATH, YUM_REPO_129) });
  ssh.on(/^if \[ -f \/etc\/kubernetes\/admin.conf/, { stdout: 'present\n' });
  ssh.on(/get nodes -o json/, {
    stdout: nodeListJson([
      { name: 'cp-1', controlPlane: true },
      { name: 'w-1', unschedulable: true },
    ]),
  });
  ssh.on(/component=kube-apiserver/, { stdout: apiserverPodsJson(['v1.29.6']) });
  ssh.on(/get configmap kubeadm-config/, { stdout: kubeadmConfigJson('v1.29.6') });
  ssh.on(/version -o json/, { stdout: '{}' });
  ssh.on(/-n kube-system get pods -o json/, { stdout: healthyKubeSystem });
  ssh.on(/get poddisruptionbudgets/, { stdout: PDBS });
  ssh.on(/get pods --all-namespaces -o json/, { stdout: ALL_PODS });
  ssh.on(/^if \[ ! -f \/etc\/kubernetes\/manifests\/etcd.yaml \]/, {
    stdout: 'https://127.0.0.1:2379 is healthy: successfully committed proposal: took = 14.891442ms\n',
  });
  ssh.on(/--setopt=reposdir=/, { stdout: YUM_LIST_130 });
}

describe('preflight', () => {
  test('a healthy cluster passes; one batched command per node plus one listing per hop; nothing mutating', async () => {
    const ssh = new FakeSsh();
    const inv = buildInventory();
    healthyCluster(ssh);
    const acts = createNodeActivities({ ssh });
    const r = await inActivity(() => acts.preflight({ inventory: inv, hops: [hop130()] }));
    expect(r.value.ok).toBe(true);
    expect(r.value.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(r.value.pdbs).toEqual([
      {
        namespace: 'prod',
        name: 'api-pdb',
        nodes: ['w-1'],
        reason: 'allowed disruptions 0 (minAvailable 2, 2 healthy)',
      },
    ]);
    expect(r.value.checks.find((c) => c.name === 'pdb')?.status).toBe('warn');
    expect(ssh.calls.filter((c) => c.node === 'w-1')).toHaveLength(2);
    expect(ssh.calls.filter((c) => c.node === 'cp-1')).toHaveLength(2);
    expect(ssh.mutating()).toEqual([]);
    expect(ssh.commands().some((c) => /> \/etc|kupgrade-probe\.(repo|list)/.test(c))).toBe(false);
    expect(r.heartbeats).toContainEqual({ step: 'preflight', done: 2, of: 2 });
  });

  test('swap on, a NotReady node, missing packages and a missing kubeadm-config fail the preflight', async () => {
    const ssh = new FakeSsh();
    const inv = buildInventory();
    healthyCluster(ssh);
    ssh.on(
      /^swapon --show$/,
      { stdout: 'NAME      TYPE      SIZE USED PRIO\n/dev/dm-1 partition   3G   0B   -2\n' },
      { node: 'w-1' },
    );
    ssh.on(/get nodes -o json/, {
      stdout: nodeListJson([
        { name: 'cp-1', controlPlane: true },
        { name: 'w-1', ready: false },
      ]),
    });
    ssh.on(/get configmap kubeadm-config/, {
      exitCode: 1,
      stderr: 'Error from server (NotFound): configmaps "kubeadm-config" not found\n',
    });
    ssh.on(
      /--setopt=reposdir=/,
      { stdout: YUM_LIST_130.replace(/kubelet.x86_64 +1\.30\.4.*\n/, '') },
      { node: 'w-1' },
    );
    const acts = createNodeActivities({ ssh });
    const r = await inActivity(() => acts.preflight({ inventory: inv, hops: [hop130()] }));
    expect(r.value.ok).toBe(false);
    const failed = r.value.checks.filter((c) => c.status === 'fail').map((c) => `${c.node ?? ''}:${c.name}`);
    expect(failed).toEqual(
      expect.arrayContaining(['cp-1:kubeadm-config', 'w-1:node-ready', 'w-1:swap', 'w-1:packages']),
    );
    expect(r.value.checks.find((c) => c.name === 'swap' && c.node === 'w-1')?.message).toContain('/dev/dm-1');
    expect(ssh.mutating()).toEqual([]);
  });

  test('a changed host key on any node stops the preflight with HostKeyMismatch', async () => {
    const ssh = new FakeSsh();
    healthyCluster(ssh);
    ssh.on(
      /./,
      new HostKeyMismatchError('host key changed, presented SHA256:Zm9vYmFy', {
        host: '192.0.2.21',
        port: 22,
        problem: 'changed',
        presentedFingerprint: 'SHA256:Zm9vYmFy',
        keyType: 'ssh-ed25519',
        expectedFingerprints: [],
      }),
      { node: 'w-1' },
    );
    const acts = createNodeActivities({ ssh });
    const f = await failureOf(() => acts.preflight({ inventory: buildInventory(), hops: [hop130()] }));
    expect(f.type).toBe('HostKeyMismatch');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('SHA256:Zm9vYmFy');
  });

  test('PDBs that allow no disruption now block a drain, on the nodes of the pods they select', () => {
    expect(pdbBlockers(PDBS, undefined).map((p) => p.name)).toEqual(['api-pdb']);
    expect(pdbBlockers(PDBS, ALL_PODS)).toEqual([
      {
        namespace: 'prod',
        name: 'api-pdb',
        nodes: ['w-1'],
        reason: 'allowed disruptions 0 (minAvailable 2, 2 healthy)',
      },
    ]);
    // no status yet (the disruption controller has not seen it): not reported
    const fresh = JSON.stringify({ items: [{ metadata: { name: 'new', namespace: 'prod' }, spec: {} }] });
    expect(pdbBlockers(fresh, ALL_PODS)).toEqual([]);
  });
});

describe('backupControlPlane', () => {
  test('snapshot + copy into <root>/<label>; a retry finds .complete and runs nothing', async () => {
    const ssh = new FakeSsh();
    const inv = buildInventory();
    let complete = '';
    ssh.on(/^if \[ -f \/var\/lib\/kupgrade\/backups\/kupgrade-lab-1\/.complete \]/, () => ({
      stdout: complete,
    }));
    ssh.on(/^mkdir -p \/var\/lib\/kupgrade\/backups\/kupgrade-lab-1/, () => {
      complete = '2026-11-28T09:00:00.000Z\nsnapshot\n';
      return { stdout: ETCD_SNAPSHOT_OK };
    });
    const acts = createNodeActivities({ ssh, now: () => new Date('2026-11-28T09:00:00Z') });
    const input = { cluster: ctxOf(inv), node: nodeOf(inv, 'cp-1'), label: 'kupgrade-lab/1' };
    const first = await inActivity(() => acts.backupControlPlane(input));
    expect(first.value).toEqual({
      node: 'cp-1',
      etcdSnapshot: '/var/lib/kupgrade/backups/kupgrade-lab-1/etcd-snapshot.db',
      kubernetesCopy: '/var/lib/kupgrade/backups/kupgrade-lab-1/etc-kubernetes',
      at: '2026-11-28T09:00:00.000Z',
    });
    expect(ssh.mutating()).toHaveLength(1);
    ssh.reset();
    const second = await inActivity(() => acts.backupControlPlane(input));
    expect(second.value).toEqual(first.value);
    expect(ssh.mutating()).toEqual([]);
  });

  test('a snapshot that times out is retried; a bad certificate is not', async () => {
    const ssh = new FakeSsh();
    const inv = buildInventory();
    ssh.on(/\.complete \]/, { stdout: '' });
    ssh.on(/^mkdir -p/, { exitCode: 5, stderr: 'Error: context deadline exceeded\n' });
    const acts = createNodeActivities({ ssh });
    const input = { cluster: ctxOf(inv), node: nodeOf(inv, 'cp-1'), label: 'run' };
    expect((await failureOf(() => acts.backupControlPlane(input))).nonRetryable).toBe(false);
    ssh.on(/^mkdir -p/, {
      exitCode: 1,
      stderr: 'Error: open /etc/kubernetes/pki/etcd/healthcheck-client.crt: no such file or directory\n',
    });
    const f = await failureOf(() => acts.backupControlPlane(input));
    expect(f.nonRetryable).toBe(true);
    expect(f.type).toBe('CommandFailed');
  });
});
