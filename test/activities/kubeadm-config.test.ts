/**
 * kubeadm and the cluster's own configuration, on a lab over SSH:
 * - the image pre-pull uses kubeadm-config's imageRepository and the node's CRI socket
 *   (the seed's cluster: registry.cn-hangzhou.aliyuncs.com/google_containers; a node with
 *   cri-dockerd next to containerd, where kubeadm cannot guess the socket);
 * - `kubeadm upgrade apply` keeps the node's patches (/etc/kubernetes/patches);
 * - the rehearsal (`kubeadm upgrade diff` + `kubeadm upgrade apply --dry-run`) changes nothing and
 *   shows the diff;
 * - a component config that needs a manual upgrade blocks with a classified error and hints, and
 *   the operator's config file (inventory kubeadm.configFile) gets the upgrade through.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createNodeActivities } from '../../src/activities';
import { loadInventory } from '../../src/inventory';
import type { Inventory } from '../../src/inventory/schema';
import { createSshPool } from '../../src/ssh/pool';
import { cmd } from '../../src/ssh/command';
import type { SshExecutor } from '../../src/ssh/types';
import { clusterContext } from '../../src/shared/inventory';
import { computeHops } from '../../src/shared/versions';
import type { NodeHopInput, ResolvedHop, StepResult } from '../../src/shared/activities';
import { poolConfigOf } from '../../src/ssh/router';
import type { ClusterState } from '../../lab/src/model/state';
import { isMutating, Lab } from '../helpers/lab';
import { detail, failureOf, inActivity } from '../helpers/activity';

jest.setTimeout(300_000);

const run = <T>(fn: () => Promise<T>) => inActivity(fn).then((r) => r.value);
const REPO = 'registry.cn-hangzhou.aliyuncs.com/google_containers';
const CRI = 'unix:///var/run/cri-dockerd.sock';

type Acts = ReturnType<typeof createNodeActivities>;
/** An activity looked up by name (the rehearsal is new: an old product has none). */
function activity(acts: Acts, name: string): (i: NodeHopInput) => Promise<StepResult> {
  const f = (acts as unknown as Record<string, ((i: NodeHopInput) => Promise<StepResult>) | undefined>)[name];
  if (!f) throw new Error(`no activity ${name}`);
  return f;
}

async function setupLab(extra: string[], controlPlanes = 1) {
  const lab = Lab.up({ controlPlanes, workers: 1, version: '1.31.2', packages: 'yum', speed: 200, extra });
  const inv: Inventory = loadInventory(lab.inventory);
  const ssh: SshExecutor = createSshPool(poolConfigOf(inv.ssh, {}));
  const acts = createNodeActivities({ ssh, pollIntervalMs: 200 });
  const cluster = clusterContext(inv);
  const state = await run(() => acts.getClusterState({ inventory: inv }));
  const hops: ResolvedHop[] = await run(() =>
    acts.resolveTarget({ cluster, hops: computeHops([state.apiServerVersion], '1.32') }),
  );
  const cp = inv.nodes.find((n) => n.role === 'control-plane')!;
  const cpIn: NodeHopInput = { cluster, node: cp, hop: hops[0]! };
  await run(() => acts.ensureRepoMinor(cpIn));
  await run(() => acts.ensureKubeadmPackage(cpIn));
  const file = (rel: string, node = cp.name) => path.join(lab.dir, 'nodes', node, rel);
  /** state.json once the controller has written it (it debounces its writes by 50 ms). */
  const labState = async (ready: (st: ClusterState) => boolean): Promise<ClusterState> => {
    for (let i = 0; ; i++) {
      const st = lab.state();
      if (ready(st) || i >= 50) return st;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** Writes a file on the node over SSH (its /root is an overlay of the node's namespace). */
  const writeOnNode = async (file: string, content: string) => {
    const r = await ssh.run(
      { name: cp.name, host: cp.address, port: cp.port, user: inv.ssh.user, sudo: false },
      cmd('sh', '-c', 'printf "%s" "$1" > "$2"', 'sh', content, file),
    );
    if (r.exitCode !== 0) throw new Error(`writing ${file} on ${cp.name}: ${r.stderr}`);
  };
  return { lab, inv, ssh, acts, cluster, cp, cpIn, hop: hops[0]!, file, labState, writeOnNode };
}

describe('the seed cluster: imageRepository, cri-dockerd, patches', () => {
  let s: Awaited<ReturnType<typeof setupLab>>;
  beforeAll(async () => {
    s = await setupLab(['--image-repository', REPO, '--cri-socket', CRI, '--patches'], 2);
  });
  afterAll(async () => {
    await s?.ssh.close();
    s?.lab.down();
  });

  test('the pre-pull takes imageRepository from kubeadm-config and the CRI socket from the node', async () => {
    expect(s.inv.kubeadm.imageRepository).toBeUndefined();
    const r = await run(() => s.acts.ensureImagesPulled(s.cpIn));
    expect(r.changed).toBe(true);
    const st = await s.labState((x) => (x.nodes[s.cp.name]?.images ?? []).length > 0);
    const images = st.nodes[s.cp.name]?.images ?? [];
    expect(images).toContain(`${REPO}/kube-apiserver:${s.hop.version}`);
    expect(images.filter((i) => !i.startsWith(`${REPO}/`))).toEqual([]);
    const cmd = s.lab
      .events()
      .filter((e) => e.type === 'exec' && e.cmd?.startsWith('kubeadm config images pull'))
      .map((e) => e.cmd)
      .pop();
    expect(cmd).toContain(`--image-repository ${REPO}`);
    expect(cmd).toContain(`--cri-socket ${CRI}`);
  });

  test('the rehearsal (upgrade diff, apply --dry-run) changes nothing and shows the diff', async () => {
    const manifest = readFileSync(s.file('etc/kubernetes/manifests/kube-apiserver.yaml'), 'utf8');
    const before = s.lab.events().filter((e) => e.type === 'exec' && e.cmd && isMutating(e.cmd)).length;
    const r = await run(() => activity(s.acts, 'kubeadmRehearsal')(s.cpIn));
    expect(r.changed).toBe(false);
    expect(r.outputTail).toContain('+++ new manifest');
    expect(r.outputTail).toContain(`image: ${REPO}/kube-apiserver:${s.hop.version}`);
    expect(r.outputTail).toContain('Finished dryrunning successfully');
    expect(r.detail).toMatch(/rehears/);
    const cmds = s.lab
      .events()
      .filter((e) => e.type === 'exec' && /^kubeadm upgrade (diff|apply)/.test(e.cmd ?? ''))
      .map((e) => e.cmd ?? '');
    expect(cmds.some((c) => c.startsWith('kubeadm upgrade diff'))).toBe(true);
    expect(cmds.some((c) => /--dry-run/.test(c) && c.includes('--patches /etc/kubernetes/patches'))).toBe(
      true,
    );
    expect(s.lab.events().filter((e) => e.type === 'exec' && e.cmd && isMutating(e.cmd)).length).toBe(before);
    expect(readFileSync(s.file('etc/kubernetes/manifests/kube-apiserver.yaml'), 'utf8')).toBe(manifest);
  });

  test("kubeadm upgrade apply keeps the node's patches", async () => {
    expect(readFileSync(s.file('etc/kubernetes/manifests/kube-apiserver.yaml'), 'utf8')).toContain(
      'cpu: 500m',
    );
    const r = await run(() => s.acts.ensureKubeadmApply(s.cpIn));
    expect(r.changed).toBe(true);
    const after = readFileSync(s.file('etc/kubernetes/manifests/kube-apiserver.yaml'), 'utf8');
    expect(after).toContain(`image: ${REPO}/kube-apiserver:${s.hop.version}`);
    expect(after).toContain('cpu: 500m');
    expect(after).toContain('memory: 512Mi');
  });

  test('kubeadm upgrade node on the other control plane keeps its patches too', async () => {
    const cp2 = s.inv.nodes.find((n) => n.name === 'cp-2')!;
    const in2: NodeHopInput = { ...s.cpIn, node: cp2 };
    await run(() => s.acts.ensureRepoMinor(in2));
    await run(() => s.acts.ensureKubeadmPackage(in2));
    const r = await run(() => s.acts.ensureKubeadmUpgradeNode(in2));
    expect(r.changed).toBe(true);
    const after = readFileSync(s.file('etc/kubernetes/manifests/kube-apiserver.yaml', 'cp-2'), 'utf8');
    expect(after).toContain(`image: ${REPO}/kube-apiserver:${s.hop.version}`);
    expect(after).toContain('cpu: 500m');
  });
});

describe('a component config that needs a manual upgrade', () => {
  let s: Awaited<ReturnType<typeof setupLab>>;
  beforeAll(async () => {
    s = await setupLab(['--old-kubelet-config']);
  });
  afterAll(async () => {
    await s?.ssh.close();
    s?.lab.down();
  });

  test('the plan names it; apply blocks with a classified error and what to do; the config file gets through', async () => {
    const plan = await run(() => s.acts.kubeadmUpgradePlan(s.cpIn));
    expect(plan.manualUpgradeRequired).toEqual(['kubelet.config.k8s.io']);
    const f = await failureOf(() => s.acts.ensureKubeadmApply(s.cpIn));
    expect(f.type).toBe('KubeadmFailed');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('manual upgrade of its component config kubelet.config.k8s.io');
    expect(detail(f).hints.join('\n')).toContain('kubeadm.configFile');
    expect(detail(f).hints.join('\n')).toContain('kubelet.config.k8s.io/v1beta1');
    // what the runbook says: a config file with the current KubeletConfiguration, passed as --config
    await s.writeOnNode(
      '/root/kubeadm-upgrade.yaml',
      'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n',
    );
    const kubeadm = { ...s.inv.kubeadm, configFile: '/root/kubeadm-upgrade.yaml' };
    const cluster = clusterContext({ ...s.inv, kubeadm } as Inventory);
    const withConfig = { ...s.cpIn, cluster };
    const again = await run(() => s.acts.kubeadmUpgradePlan(withConfig));
    expect(again.manualUpgradeRequired).toEqual([]);
    const r = await run(() => s.acts.ensureKubeadmApply(withConfig));
    expect(r.changed).toBe(true);
    const applied = s.lab
      .events()
      .filter((e) => e.type === 'exec' && e.cmd?.startsWith('kubeadm upgrade apply') && e.exit === 0)
      .map((e) => e.cmd);
    expect(applied.pop()).toContain('--config /root/kubeadm-upgrade.yaml');
  });
});
