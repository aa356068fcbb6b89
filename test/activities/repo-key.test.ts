/**
 * Repository keys on apt, real activities over real SSH against a
 * lab whose apt refuses a repository whose key is not in the signed-by keyring (NO_PUBKEY):
 * - a pinned fingerprint that does not match the fetched key is refused by preflight and by the
 *   repo step, and nothing changes on the node (list and keyring byte for byte);
 * - the matching fingerprint: the v1.30 key lands in the keyring the list already names (a custom
 *   path, kept), apt-get update accepts the repository and kubeadm installs;
 * - an inline key (air-gapped mirror) is used without fetching anything (no curl on the node).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createNodeActivities } from '../../src/activities';
import { loadInventory } from '../../src/inventory';
import type { Inventory } from '../../src/inventory/schema';
import { createSshPool } from '../../src/ssh/pool';
import type { SshExecutor } from '../../src/ssh/types';
import { clusterContext } from '../../src/shared/inventory';
import { computeHops } from '../../src/shared/versions';
import type { ResolvedHop } from '../../src/shared/activities';
import { poolConfigOf } from '../../src/ssh/router';
import { Lab, LAB_CLI } from '../helpers/lab';
import { inActivity } from '../helpers/activity';
import { armoredKey } from '../../lab/src/model/packages';

jest.setTimeout(300_000);

const run = <T>(fn: () => Promise<T>) => inActivity(fn).then((r) => r.value);
const KEY_130 = 'DE15B14486CD377B9E876E1A234654DA9A29641E';
const CUSTOM_KEYRING = '/etc/apt/trusted.gpg.d/k8s-ops.gpg';

describe('apt repository keys on a lab over SSH', () => {
  let lab: Lab;
  let base: Inventory;
  let ssh: SshExecutor;
  const file = (node: string, p: string) => path.join(lab.dir, 'nodes', node, p);
  const list = (node: string) => readFileSync(file(node, 'etc/apt/sources.list.d/kubernetes.list'), 'utf8');

  beforeAll(() => {
    if (!existsSync(LAB_CLI)) throw new Error(`${LAB_CLI} is missing: run 'npm run build' first`);
    lab = Lab.up({ controlPlanes: 1, workers: 2, version: '1.29.6', packages: 'apt', speed: 200 });
    base = loadInventory(lab.inventory);
    ssh = createSshPool(poolConfigOf(base.ssh, {}));
    // w-1 keeps its keyring somewhere else: the repo step must keep that path
    const l = file('w-1', 'etc/apt/sources.list.d/kubernetes.list');
    writeFileSync(
      l,
      readFileSync(l, 'utf8').replace('/etc/apt/keyrings/kubernetes-apt-keyring.gpg', CUSTOM_KEYRING),
    );
    mkdirSync(path.dirname(file('w-1', CUSTOM_KEYRING.slice(1))), { recursive: true });
    writeFileSync(
      file('w-1', CUSTOM_KEYRING.slice(1)),
      readFileSync(file('w-1', 'etc/apt/keyrings/kubernetes-apt-keyring.gpg')),
    );
  });

  afterAll(async () => {
    await ssh?.close();
    lab?.down();
  });

  const withRepo = (repo: Record<string, unknown>): Inventory => ({
    ...base,
    packages: { ...base.packages, repository: { ...base.packages.repository, ...repo } },
  });

  async function hop130(inv: Inventory): Promise<ResolvedHop> {
    const acts = createNodeActivities({ ssh, pollIntervalMs: 200 });
    const state = await run(() => acts.getClusterState({ inventory: inv }));
    const requests = computeHops(
      [state.apiServerVersion, ...state.nodes.map((n) => n.kubeletVersion)],
      '1.30',
    );
    const hops = await run(() => acts.resolveTarget({ cluster: clusterContext(inv), hops: requests }));
    expect(hops[0].packages.kubeadm).toMatch(/^1\.30\.\d+-1\.1$/);
    return hops[0];
  }

  test('a pinned fingerprint that does not match: refused by preflight and the repo step, nothing changed', async () => {
    const inv = withRepo({ keyFingerprint: 'A362B822F6DEDC652817EA46B53DC80D13EDEF05' });
    const acts = createNodeActivities({ ssh, pollIntervalMs: 200 });
    const hop = await hop130(inv);
    const report = await run(() => acts.preflight({ inventory: inv, hops: [hop] }));
    const key = report.checks.find((c) => c.name === 'repository-key');
    expect(key).toMatchObject({ status: 'fail' });
    expect(key?.message).toContain(KEY_130);
    expect(report.ok).toBe(false);
    const listBefore = list('cp-1');
    const ringBefore = readFileSync(file('cp-1', 'etc/apt/keyrings/kubernetes-apt-keyring.gpg'), 'utf8');
    const node = inv.nodes.find((n) => n.name === 'cp-1')!;
    await expect(
      run(() => acts.ensureRepoMinor({ cluster: clusterContext(inv), node, hop })),
    ).rejects.toMatchObject({
      type: 'PolicyRefused',
      nonRetryable: true,
    });
    expect(list('cp-1')).toBe(listBefore);
    expect(readFileSync(file('cp-1', 'etc/apt/keyrings/kubernetes-apt-keyring.gpg'), 'utf8')).toBe(
      ringBefore,
    );
  });

  test('the matching fingerprint: the key goes into the keyring signed-by names, apt-get update accepts the repository', async () => {
    const inv = withRepo({ keyFingerprint: KEY_130 });
    const acts = createNodeActivities({ ssh, pollIntervalMs: 200 });
    const hop = await hop130(inv);
    const report = await run(() => acts.preflight({ inventory: inv, hops: [hop] }));
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    const cluster = clusterContext(inv);
    for (const name of ['cp-1', 'w-1']) {
      const node = inv.nodes.find((n) => n.name === name)!;
      const r = await run(() => acts.ensureRepoMinor({ cluster, node, hop }));
      expect(r.changed).toBe(true);
      expect(list(name)).toContain('https://pkgs.k8s.io/core:/stable:/v1.30/deb/ /');
      const k = await run(() => acts.ensureKubeadmPackage({ cluster, node, hop }));
      expect(k.changed).toBe(true);
    }
    expect(list('w-1')).toContain(`signed-by=${CUSTOM_KEYRING}`);
    expect(readFileSync(file('w-1', CUSTOM_KEYRING.slice(1)), 'utf8')).toContain(KEY_130);
    expect(readFileSync(file('cp-1', 'etc/apt/keyrings/kubernetes-apt-keyring.gpg'), 'utf8')).toContain(
      KEY_130,
    );
  });

  test('an inline key (air-gapped mirror) is used without fetching', async () => {
    const inv = withRepo({ key: armoredKey(KEY_130), keyFingerprint: KEY_130 });
    const acts = createNodeActivities({ ssh, pollIntervalMs: 200 });
    const hop = await hop130(inv);
    const before = lab.events().length;
    const node = inv.nodes.find((n) => n.name === 'w-2')!;
    const cluster = clusterContext(inv);
    expect((await run(() => acts.ensureRepoMinor({ cluster, node, hop }))).changed).toBe(true);
    expect((await run(() => acts.ensureKubeadmPackage({ cluster, node, hop }))).changed).toBe(true);
    const cmds = lab
      .events()
      .slice(before)
      .filter((e) => e.type === 'exec' && e.node === 'w-2')
      .map((e) => e.cmd ?? '');
    expect(cmds.some((c) => c.startsWith('gpg --dearmor'))).toBe(true);
    expect(cmds.filter((c) => c.startsWith('curl'))).toEqual([]);
  });
});

describe('yum repository keys on a lab over SSH', () => {
  let lab: Lab;
  let base: Inventory;
  let ssh: SshExecutor;
  const repoFile = () =>
    readFileSync(path.join(lab.dir, 'nodes', 'cp-1', 'etc/yum.repos.d/kubernetes.repo'), 'utf8');

  beforeAll(() => {
    lab = Lab.up({ controlPlanes: 1, workers: 0, version: '1.29.6', packages: 'yum', speed: 200 });
    base = loadInventory(lab.inventory);
    ssh = createSshPool(poolConfigOf(base.ssh, {}));
  });
  afterAll(async () => {
    await ssh?.close();
    lab?.down();
  });

  test('a pinned fingerprint is checked on repodata/repomd.xml.key before the .repo file changes; an inline key becomes gpgkey=file://', async () => {
    const acts = createNodeActivities({ ssh, pollIntervalMs: 200 });
    const withRepo = (repo: Record<string, unknown>): Inventory => ({
      ...base,
      packages: { ...base.packages, repository: { ...base.packages.repository, ...repo } },
    });
    const wrong = withRepo({ keyFingerprint: 'A362B822F6DEDC652817EA46B53DC80D13EDEF05' });
    const state = await run(() => acts.getClusterState({ inventory: wrong }));
    const requests = computeHops(
      [state.apiServerVersion, ...state.nodes.map((n) => n.kubeletVersion)],
      '1.30',
    );
    const [hop] = await run(() => acts.resolveTarget({ cluster: clusterContext(wrong), hops: requests }));
    const node = base.nodes[0];
    const before = repoFile();
    await expect(
      run(() => acts.ensureRepoMinor({ cluster: clusterContext(wrong), node, hop })),
    ).rejects.toMatchObject({ type: 'PolicyRefused', nonRetryable: true });
    expect(repoFile()).toBe(before);

    const inline = withRepo({ key: armoredKey(KEY_130), keyFingerprint: KEY_130 });
    const cluster = clusterContext(inline);
    expect((await run(() => acts.ensureRepoMinor({ cluster, node, hop }))).changed).toBe(true);
    expect(repoFile()).toContain('gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-kupgrade-kubernetes');
    expect(
      readFileSync(
        path.join(lab.dir, 'nodes', 'cp-1', 'etc/pki/rpm-gpg/RPM-GPG-KEY-kupgrade-kubernetes'),
        'utf8',
      ),
    ).toBe(armoredKey(KEY_130));
    expect((await run(() => acts.ensureKubeadmPackage({ cluster, node, hop }))).changed).toBe(true);
  });
});
