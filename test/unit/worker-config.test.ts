/**
 * The worker config (src/worker-config.ts) and the checks it drives (src/worker-trust.ts), without a
 * server: what the activity boundary admits, which SSH settings it hands the pool, what it refuses.
 */
import { ApplicationFailure } from '@temporalio/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseInventory, type Inventory } from '../../src/inventory';
import { clusterContext } from '../../src/shared/inventory';
import { loadWorkerConfig, parseWorkerConfig, WorkerConfigError } from '../../src/worker-config';
import { WorkerTrust } from '../../src/worker-trust';

const INVENTORY = `apiVersion: kupgrade/v1
kind: Cluster
metadata: {name: prod-bj}
ssh: {user: ops, privateKeyPath: /etc/kupgrade/keys/prod-bj, knownHostsPath: /etc/kupgrade/known_hosts}
packages: {manager: yum}
rollout: {cni: {command: "kubectl apply -f /etc/kupgrade/calico.yaml"}}
nodes:
  - {name: cp-1, address: 192.0.2.11, role: control-plane}
  - {name: w-1, address: 192.0.2.21, role: worker}
`;
const inv = (): Inventory => parseInventory(INVENTORY, { baseDir: '/srv', homeDir: '/home/ops' });

function config(extra: Record<string, unknown> = {}) {
  return parseWorkerConfig(
    {
      apiVersion: 'kupgrade/v1',
      kind: 'WorkerConfig',
      clusters: {
        'prod-bj': {
          ssh: { user: 'ops', privateKeyPath: 'keys/prod-bj', knownHostsPath: 'known_hosts' },
          allow: { cniCommands: ['kubectl apply -f /etc/kupgrade/calico.yaml'] },
          ...extra,
        },
      },
    },
    '/etc/kupgrade/worker.yaml',
    '/etc/kupgrade',
  );
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ApplicationFailure);
    expect((e as ApplicationFailure).type).toBe('InputRefused');
    expect((e as ApplicationFailure).nonRetryable).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('worker config', () => {
  test('paths are resolved against the config file; defaults filled', () => {
    const g = config().clusters.get('prod-bj')!;
    expect(g.ssh).toEqual({
      user: 'ops',
      privateKeyPath: '/etc/kupgrade/keys/prod-bj',
      knownHostsPath: '/etc/kupgrade/known_hosts',
      hostKeyPolicy: 'strict',
      hostKeyFingerprints: {},
    });
    expect(g.approvals).toBeUndefined();
  });

  test('a bad file names the field and the docs', () => {
    expect(() =>
      parseWorkerConfig(
        { apiVersion: 'kupgrade/v1', kind: 'WorkerConfig', clusters: { Bad_Name: {} } },
        'w.yaml',
        '/',
      ),
    ).toThrow(WorkerConfigError);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-wc-'));
    fs.writeFileSync(
      path.join(dir, 'w.yaml'),
      'apiVersion: kupgrade/v1\nkind: WorkerConfig\nclusters:\n  a: {ssh: {privateKeyPath: k}}\n',
    );
    expect(() => loadWorkerConfig(path.join(dir, 'w.yaml'))).toThrow(
      /clusters\.a\.ssh\.knownHostsPath.*docs\/operations\.md/s,
    );
    fs.rmSync(dir, { recursive: true });
  });
});

describe('the activity boundary', () => {
  const trust = new WorkerTrust(config());

  test('admits the granted inventory, whole or per node, with the grant’s credentials', () => {
    const s = trust.admit({ inventory: inv() })!;
    expect(s.privateKeyPath).toBe('/etc/kupgrade/keys/prod-bj');
    const ctx = clusterContext(inv());
    expect(trust.admit({ cluster: ctx, node: inv().nodes[1] })?.knownHostsPath).toBe(
      '/etc/kupgrade/known_hosts',
    );
    expect(trust.admit({ nothing: 1 })).toBeUndefined();
  });

  test.each<[string, (i: Inventory) => void, RegExp]>([
    [
      'another key',
      (i) => (i.ssh.privateKeyPath = '/root/.ssh/other'),
      /ssh\.privateKeyPath .*clusters\.prod-bj\.ssh\.privateKeyPath/,
    ],
    ['another user', (i) => (i.ssh.user = 'root'), /ssh\.user "root"/],
    ['accept-new', (i) => (i.ssh.hostKeyPolicy = 'accept-new'), /ssh\.hostKeyPolicy "accept-new"/],
    [
      'a CNI command not allowed',
      (i) => (i.rollout.cni = { command: 'curl x | sh' }),
      /not an allowed CNI command/,
    ],
    [
      'an unknown cluster',
      (i) => (i.metadata.name = 'other'),
      /cluster "other" is not in this worker's config \/etc\/kupgrade\/worker\.yaml/,
    ],
    ['a node name that is a flag', (i) => (i.nodes[1].name = '--all'), /nodes\[1\]\.name/],
  ])('refuses %s', (_what, edit, says) => {
    const i = inv();
    edit(i);
    expect(refusal(() => trust.admit({ inventory: i }))).toMatch(says);
    // the per-node view of the same inventory is held to the same rules
    expect(refusal(() => trust.admit({ cluster: clusterContext(i), node: i.nodes[1] }))).toMatch(
      /refuses|not in this worker/,
    );
  });

  test('without a config every cluster is refused with the fix', () => {
    expect(refusal(() => new WorkerTrust(undefined).admit({ inventory: inv() }))).toMatch(
      /no worker config.*kupgrade worker --config worker\.yaml.*KUPGRADE_WORKER_CONFIG/,
    );
  });

  test('an approved inventory file pins every field', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-wc-'));
    fs.writeFileSync(path.join(dir, 'prod-bj.yaml'), INVENTORY);
    const pinned = new WorkerTrust(
      config({
        allow: {
          cniCommands: ['kubectl apply -f /etc/kupgrade/calico.yaml'],
          inventoryFile: path.join(dir, 'prod-bj.yaml'),
        },
      }),
    );
    expect(pinned.admit({ inventory: inv() })).toBeDefined();
    const moved = inv();
    moved.nodes[1].address = '198.51.100.7';
    expect(refusal(() => pinned.admit({ inventory: moved }))).toMatch(/not the approved one/);
    expect(refusal(() => pinned.admit({ cluster: clusterContext(moved), node: moved.nodes[1] }))).toMatch(
      /not the approved one/,
    );
    fs.rmSync(dir, { recursive: true });
  });
});

describe('checkUpgradeInput', () => {
  const approvals = { approvers: ['alice', 'bob'], requireComment: true, distinctFromStarter: true };

  test('returns the approval policy of the cluster', () => {
    const t = new WorkerTrust(config({ approvals }));
    expect(
      t.checkUpgradeInput({ inventory: inv(), target: '1.30', options: { startedBy: 'carol' } }),
    ).toEqual({
      approvals: { ...approvals, allowAutoApprove: false },
    });
    expect(new WorkerTrust(config()).checkUpgradeInput({ inventory: inv(), target: '1.30' })).toEqual({});
  });

  test('refuses auto-approve, dropped gates and an anonymous starter where approvals are required', () => {
    const t = new WorkerTrust(config({ approvals }));
    expect(
      refusal(() =>
        t.checkUpgradeInput({ inventory: inv(), options: { startedBy: 'c', autoApprove: true } }),
      ),
    ).toMatch(/auto-approve is not allowed.*allowAutoApprove/);
    expect(
      refusal(() =>
        t.checkUpgradeInput({ inventory: inv(), options: { startedBy: 'c', gates: ['preflight'] } }),
      ),
    ).toMatch(/requires the gate\(s\) control-plane, workers/);
    expect(refusal(() => t.checkUpgradeInput({ inventory: inv(), options: {} }))).toMatch(/--by NAME/);
  });
});
