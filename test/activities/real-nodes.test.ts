/**
 * Preflight and backup against labs that look like real clusters rather than like kupgrade's
 * assumptions, over the real SSH pool:
 * - a node in the cluster that cluster.yaml forgot (`kupgrade-lab up --unlisted`);
 * - a kubelet that runs with swap on and `failSwapOn: false` (`--swap-allowed`);
 * - an inventory whose two workers' addresses are swapped (each host's kubelet client
 *   certificate names the node it really is);
 * - control planes without etcdctl on the host (`--host-etcdctl none`: only the distroless etcd
 *   image has one) or with one off PATH (`--host-etcdctl /opt/etcd/bin/etcdctl`).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as YAML from 'yaml';
import { createNodeActivities } from '../../src/activities';
import { loadInventory } from '../../src/inventory';
import type { Inventory } from '../../src/inventory/schema';
import { createSshPool } from '../../src/ssh/pool';
import { cmd } from '../../src/ssh/command';
import type { SshExecutor } from '../../src/ssh/types';
import { clusterContext } from '../../src/shared/inventory';
import { poolConfigOf } from '../../src/ssh/router';
import { isMutating, Lab, LAB_CLI } from '../helpers/lab';
import { inActivity } from '../helpers/activity';

jest.setTimeout(300_000);

const run = <T>(fn: () => Promise<T>) => inActivity(fn).then((r) => r.value);

function withLab(extra: string[], workers = 2) {
  const ctx = {} as { lab: Lab; inv: Inventory; ssh: SshExecutor };
  beforeAll(() => {
    if (!existsSync(LAB_CLI)) throw new Error(`${LAB_CLI} is missing: run 'npm run build' first`);
    ctx.lab = Lab.up({ controlPlanes: 1, workers, version: '1.29.6', packages: 'yum', speed: 200, extra });
    ctx.inv = loadInventory(ctx.lab.inventory);
    ctx.ssh = createSshPool(poolConfigOf(ctx.inv.ssh, {}));
  });
  afterAll(async () => {
    await ctx.ssh?.close();
    ctx.lab?.down();
  });
  return ctx;
}

const mutating = (lab: Lab) =>
  lab.events().filter((e) => e.type === 'exec' && e.cmd && isMutating(e.cmd)).length;

describe('nodes the inventory forgot (12.6)', () => {
  const ctx = withLab(['--unlisted', 'w-2']);

  test('preflight lists the unlisted node and refuses; allowUnlisted proceeds with a warning', async () => {
    expect(ctx.inv.nodes.map((n) => n.name)).toEqual(['cp-1', 'w-1']);
    const acts = createNodeActivities({ ssh: ctx.ssh });
    const refused = await run(() => acts.preflight({ inventory: ctx.inv, hops: [] }));
    expect(refused.ok).toBe(false);
    expect(refused.checks.filter((c) => c.name === 'unlisted-nodes')).toEqual([
      expect.objectContaining({ status: 'fail', message: expect.stringContaining('w-2') }),
    ]);
    expect(refused.checks.find((c) => c.name === 'unlisted-nodes')?.message).toMatch(/--allow-unlisted/);
    const allowed = await run(() => acts.preflight({ inventory: ctx.inv, hops: [], allowUnlisted: true }));
    expect(allowed.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(allowed.checks.filter((c) => c.name === 'unlisted-nodes')).toEqual([
      expect.objectContaining({ status: 'warn', message: expect.stringContaining('w-2') }),
    ]);
    // only a real boolean true lets it through (the worker re-checks what the workflow passed)
    const truthy = await run(() =>
      acts.preflight({ inventory: ctx.inv, hops: [], allowUnlisted: 'yes' as unknown as boolean }),
    );
    expect(truthy.ok).toBe(false);
  });
});

describe('swap with failSwapOn: false (12.8)', () => {
  const ctx = withLab(['--swap-allowed', 'w-1']);

  test('swap on + failSwapOn false passes with an info line; swap on with the default still fails', async () => {
    const acts = createNodeActivities({ ssh: ctx.ssh });
    const r = await run(() => acts.preflight({ inventory: ctx.inv, hops: [] }));
    const w1 = r.checks.filter((c) => c.name === 'swap' && c.node === 'w-1');
    expect(w1).toEqual([
      expect.objectContaining({
        status: 'pass',
        message: expect.stringMatching(/failSwapOn: false.*LimitedSwap/),
      }),
    ]);
    expect(r.ok).toBe(true);
    ctx.lab.fault(['swap-on', '--node', 'w-2']);
    const r2 = await run(() => acts.preflight({ inventory: ctx.inv, hops: [] }));
    expect(r2.ok).toBe(false);
    expect(r2.checks.filter((c) => c.name === 'swap' && c.status === 'fail').map((c) => c.node)).toEqual([
      'w-2',
    ]);
  });
});

describe('swap allowed on the node only, not in the kubelet-config ConfigMap (12.8)', () => {
  const ctx = withLab([]);

  test('a warning: kubeadm upgrade rewrites config.yaml from the ConfigMap, without failSwapOn: false', async () => {
    ctx.lab.fault(['swap-on', '--node', 'w-1']);
    const f = path.join(ctx.lab.dir, 'nodes', 'w-1', 'var', 'lib', 'kubelet', 'config.yaml');
    writeFileSync(
      f,
      readFileSync(f, 'utf8').replace(
        'kind: KubeletConfiguration\n',
        'failSwapOn: false\nkind: KubeletConfiguration\n',
      ),
    );
    const acts = createNodeActivities({ ssh: ctx.ssh });
    const r = await run(() => acts.preflight({ inventory: ctx.inv, hops: [] }));
    expect(r.checks.filter((c) => c.name === 'swap' && c.node === 'w-1')).toEqual([
      expect.objectContaining({ status: 'warn', message: expect.stringMatching(/kubelet-config ConfigMap/) }),
    ]);
    expect(r.ok).toBe(true);
  });
});

describe('is this host the node it is named after? (13.4)', () => {
  const ctx = withLab([]);

  test('two workers with swapped addresses: preflight refuses both, nothing mutating runs', async () => {
    const doc = YAML.parse(readFileSync(ctx.lab.inventory, 'utf8'));
    const [w1, w2] = ['w-1', 'w-2'].map((n) => doc.nodes.find((x: { name: string }) => x.name === n));
    [w1.address, w2.address] = [w2.address, w1.address];
    [w1.port, w2.port] = [w2.port, w1.port];
    const file = path.join(ctx.lab.dir, 'swapped.yaml');
    writeFileSync(file, YAML.stringify(doc));
    const inv = loadInventory(file);
    const before = mutating(ctx.lab);
    const acts = createNodeActivities({ ssh: ctx.ssh });
    const r = await run(() => acts.preflight({ inventory: inv, hops: [] }));
    expect(r.ok).toBe(false);
    const identity = r.checks.filter((c) => c.name === 'node-identity' && c.status === 'fail');
    expect(identity.map((c) => c.node)).toEqual(['w-1', 'w-2']);
    expect(identity[0].message).toMatch(/system:node:w-2/);
    expect(mutating(ctx.lab)).toBe(before);
    // the real inventory passes the same check
    const ok = await run(() => acts.preflight({ inventory: ctx.inv, hops: [] }));
    expect(ok.checks.filter((c) => c.name === 'node-identity' && c.status !== 'pass')).toEqual([]);
    expect(ok.ok).toBe(true);
  });
});

describe('etcd backup on the real etcd image (12.3)', () => {
  const ctx = withLab(['--host-etcdctl', 'none'], 0);

  test('no host etcdctl: the snapshot is taken with the image etcdctl and lands in the backup folder', async () => {
    const acts = createNodeActivities({ ssh: ctx.ssh });
    const pre = await run(() => acts.preflight({ inventory: ctx.inv, hops: [] }));
    expect(pre.checks.filter((c) => c.name === 'etcd-health')).toEqual([
      expect.objectContaining({ status: 'pass' }),
    ]);
    const cluster = clusterContext(ctx.inv);
    const cp = ctx.inv.nodes[0];
    const b = await run(() => acts.backupControlPlane({ cluster, node: cp, label: 'distroless' }));
    expect(b.etcdSnapshot).toBe('/var/lib/kupgrade/backups/distroless/etcd-snapshot.db');
    const target = { name: cp.name, host: cp.address, port: cp.port, user: ctx.inv.ssh.user, sudo: false };
    const snap = await ctx.ssh.run(target, cmd('cat', b.etcdSnapshot!));
    expect(snap.stdout).toMatch(/^kupgrade-lab etcd snapshot: node=cp-1/);
    const left = await ctx.ssh.run(target, cmd('ls', '/var/lib/etcd'));
    expect(left.stdout.split('\n').filter(Boolean)).toEqual(['member']);
    // one snapshot, through the pod; a retry finds the folder complete and runs nothing
    const saves = () =>
      ctx.lab.events().filter((e) => e.type === 'exec' && /snapshot save/.test(e.cmd ?? ''));
    expect(saves().map((e) => [e.cmd?.split(' ')[0], isMutating(e.cmd ?? ''), e.exit])).toEqual([
      ['kubectl', true, 0],
    ]);
    const again = await run(() => acts.backupControlPlane({ cluster, node: cp, label: 'distroless' }));
    expect(again).toEqual(b);
    expect(saves()).toHaveLength(1);
  });
});

describe('etcd backup with a host etcdctl off PATH (12.3)', () => {
  const ctx = withLab(['--host-etcdctl', '/opt/etcd/bin/etcdctl'], 0);

  test('the host etcdctl in /opt/etcd/bin is found and used', async () => {
    const acts = createNodeActivities({ ssh: ctx.ssh });
    const cluster = clusterContext(ctx.inv);
    const cp = ctx.inv.nodes[0];
    const b = await run(() => acts.backupControlPlane({ cluster, node: cp, label: 'opt' }));
    expect(b.etcdSnapshot).toBe('/var/lib/kupgrade/backups/opt/etcd-snapshot.db');
    const saves = ctx.lab.events().filter((e) => e.type === 'exec' && /snapshot save/.test(e.cmd ?? ''));
    expect(saves.map((e) => e.cmd?.split(' ')[0])).toEqual(['etcdctl']);
  });
});
