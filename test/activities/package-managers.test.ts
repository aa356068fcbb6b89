/**
 * Package managers as they are, over the real SSH pool against labs:
 * - a versionlock on kubeadm/kubelet/kubectl (dnf and yum 3): `--disableexcludes=kubernetes` does
 *   not lift it; kupgrade stops with a classified failure naming the lock and the commands;
 * - a dead third-party repository (skip_if_unavailable=False): kupgrade's yum/dnf commands are run
 *   again with only the kubernetes repository enabled;
 * - EL7's yum 3 output (resolution and installs on `--os el7`);
 * - `dpkg was interrupted` after a killed apt-get install: kupgrade runs `dpkg --configure -a`,
 *   restores the holds and installs.
 */
import { existsSync } from 'node:fs';
import { createNodeActivities } from '../../src/activities';
import { loadInventory } from '../../src/inventory';
import type { Inventory } from '../../src/inventory/schema';
import { createSshPool } from '../../src/ssh/pool';
import { cmd } from '../../src/ssh/command';
import type { SshExecutor } from '../../src/ssh/types';
import { clusterContext } from '../../src/shared/inventory';
import { computeHops } from '../../src/shared/versions';
import type { ResolvedHop } from '../../src/shared/activities';
import { poolConfigOf } from '../../src/ssh/router';
import { Lab, LAB_CLI } from '../helpers/lab';
import { detail, failureOf, inActivity } from '../helpers/activity';

jest.setTimeout(300_000);

const run = <T>(fn: () => Promise<T>) => inActivity(fn).then((r) => r.value);

const DEAD_REPO = [
  '[docker-ce-stable]',
  'name=Docker CE Stable - x86_64',
  'baseurl=https://download.docker.example.invalid/linux/centos/$releasever/$basearch/stable',
  'enabled=1',
  'gpgcheck=1',
  '',
].join('\n');

interface Setup {
  lab: Lab;
  inv: Inventory;
  ssh: SshExecutor;
  acts: ReturnType<typeof createNodeActivities>;
  on: (node: string, script: string) => Promise<{ stdout: string; stderr: string; exitCode: number }>;
  hop: () => Promise<ResolvedHop>;
}

function setup(extra: string[], packages: 'yum' | 'dnf' | 'apt', version = '1.29.6'): Setup {
  if (!existsSync(LAB_CLI)) throw new Error(`${LAB_CLI} is missing: run 'npm run build' first`);
  const lab = Lab.up({ controlPlanes: 1, workers: 1, version, packages, speed: 200, extra });
  const inv = loadInventory(lab.inventory);
  const ssh = createSshPool(poolConfigOf(inv.ssh, {}));
  const acts = createNodeActivities({ ssh, pollIntervalMs: 200 });
  const on = async (node: string, script: string) => {
    const n = inv.nodes.find((x) => x.name === node)!;
    const r = await ssh.run(
      { name: n.name, host: n.address, port: n.port, user: inv.ssh.user, sudo: false },
      cmd('sh', '-c', script),
      { timeoutMs: 60_000 },
    );
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
  };
  const hop = async () => {
    const cluster = clusterContext(inv);
    const hops = await run(() => acts.resolveTarget({ cluster, hops: computeHops([`v${version}`], '1.30') }));
    expect(hops).toHaveLength(1);
    return hops[0];
  };
  return { lab, inv, ssh, acts, on, hop };
}

async function teardown(s: Setup | undefined) {
  await s?.ssh.close();
  s?.lab.down();
}

const execs = (lab: Lab, node: string, re: RegExp) =>
  lab.events().filter((e) => e.type === 'exec' && e.node === node && e.cmd && re.test(e.cmd));

describe('dnf (EL8+): versionlock and a dead third-party repository', () => {
  let s: Setup;
  beforeAll(() => {
    s = setup(['--versionlock', '--cordoned', 'w-1'], 'dnf');
  });
  afterAll(() => teardown(s));

  test('preflight fails on the locked nodes before anything changes, naming the lock and the command', async () => {
    const hop = await s.hop();
    const report = await run(() => s.acts.preflight({ inventory: s.inv, hops: [hop] }));
    const locks = report.checks.filter((c) => c.name === 'versionlock');
    expect(locks.map((c) => [c.node, c.status])).toEqual([
      ['cp-1', 'fail'],
      ['w-1', 'fail'],
    ]);
    expect(locks[0].message).toContain('kubeadm-0:1.29.6-150500.1.1.*');
    expect(locks[0].message).toContain('dnf versionlock delete kubeadm kubelet kubectl');
    expect(report.ok).toBe(false);
  });

  test('a versionlock blocks the kubeadm install: a classified failure naming the lock and the commands', async () => {
    const hop = await s.hop();
    const cluster = clusterContext(s.inv);
    const cp = s.inv.nodes.find((n) => n.name === 'cp-1')!;
    await run(() => s.acts.ensureRepoMinor({ cluster, node: cp, hop }));
    const f = await failureOf(() => s.acts.ensureKubeadmPackage({ cluster, node: cp, hop }));
    expect(f.type).toBe('PackageFailed');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(/versionlock/);
    expect(f.message).toContain('kubeadm-0:1.29.6-150500.1.1.*');
    const hints = detail(f).hints.join('\n');
    expect(hints).toContain('dnf versionlock delete kubeadm kubelet kubectl');
    expect(hints).toContain('--disableplugin=versionlock');
    expect(hints).toContain('dnf versionlock add kubeadm kubelet kubectl');
    // the lab says what dnf says: --disableexcludes=kubernetes was passed and did not help
    expect(detail(f).outputTail).toContain('All matches were filtered out by exclude filtering');
    expect(detail(f).command).toContain('--disableexcludes=kubernetes');
    // as the hint says: delete the lock, and the same step goes through
    expect((await s.on('cp-1', 'dnf versionlock delete kubeadm kubelet kubectl')).exitCode).toBe(0);
    const ok = await run(() => s.acts.ensureKubeadmPackage({ cluster, node: cp, hop }));
    expect(ok.changed).toBe(true);
  });

  test('a dead third-party repository: the install runs again with only the kubernetes repository', async () => {
    const hop = await s.hop();
    const cluster = clusterContext(s.inv);
    const w = s.inv.nodes.find((n) => n.name === 'w-1')!;
    expect((await s.on('w-1', 'dnf versionlock clear')).exitCode).toBe(0);
    await run(() => s.acts.ensureRepoMinor({ cluster, node: w, hop }));
    expect(
      (await s.on('w-1', `printf '%s' '${DEAD_REPO}' > /etc/yum.repos.d/docker-ce.repo && dnf clean all`))
        .exitCode,
    ).toBe(0);
    // the node as it is: every dnf command fails on the dead repository
    const plain = await s.on('w-1', 'dnf list --showduplicates kubelet --disableexcludes=kubernetes');
    expect(plain.exitCode).toBe(1);
    expect(plain.stderr).toContain("Error: Failed to download metadata for repo 'docker-ce-stable'");

    const kubeadm = await run(() => s.acts.ensureKubeadmPackage({ cluster, node: w, hop }));
    expect(kubeadm.changed).toBe(true);
    const r = await run(() => s.acts.ensureKubeletPackages({ cluster, node: w, hop }));
    expect(r.changed).toBe(true);
    const isolated = execs(
      s.lab,
      'w-1',
      /^dnf '?--disablerepo=\*'? --enablerepo=kubernetes install -y kubelet-/,
    );
    expect(isolated.map((e) => e.exit)).toEqual([0]);
    // the node's configuration is left as it was
    expect((await s.on('w-1', 'cat /etc/yum.repos.d/docker-ce.repo')).stdout).toBe(DEAD_REPO);
  });
});

describe('EL7 (yum 3): listing, versionlock, dead repository', () => {
  let s: Setup;
  beforeAll(() => {
    s = setup(['--os', 'el7', '--versionlock', '--cordoned', 'w-1'], 'yum');
  });
  afterAll(() => teardown(s));

  test('yum 3 prints its own layout; the target resolves from it', async () => {
    const l = await s.on('cp-1', 'yum list --showduplicates kubeadm --disableexcludes=kubernetes');
    expect(l.stdout).toMatch(/^Loaded plugins: fastestmirror, versionlock\nLoading mirror speeds/);
    expect(l.stdout).toMatch(/\nkubeadm\.x86_64 {2,}1\.29\.6-150500\.1\.1 {2,}@kubernetes\n/);
    const hop = await s.hop();
    expect(hop.packages.kubeadm).toMatch(/^1\.30\.\d+-150500\.1\.1$/);
  });

  test('a versionlock blocks the install: classified with the yum commands', async () => {
    const hop = await s.hop();
    const cluster = clusterContext(s.inv);
    const cp = s.inv.nodes.find((n) => n.name === 'cp-1')!;
    await run(() => s.acts.ensureRepoMinor({ cluster, node: cp, hop }));
    const f = await failureOf(() => s.acts.ensureKubeadmPackage({ cluster, node: cp, hop }));
    expect(f.type).toBe('PackageFailed');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('0:kubeadm-1.29.6-150500.1.1.*');
    expect(detail(f).outputTail).toMatch(/No package kubeadm-1\.30\.\d+-150500\.1\.1 available\./);
    expect(detail(f).hints.join('\n')).toContain('yum versionlock delete kubeadm kubelet kubectl');
  });

  test('a dead third-party repository: yum 3 text, the install runs with only the kubernetes repository', async () => {
    const hop = await s.hop();
    const cluster = clusterContext(s.inv);
    const w = s.inv.nodes.find((n) => n.name === 'w-1')!;
    expect((await s.on('w-1', 'yum versionlock clear')).exitCode).toBe(0);
    await run(() => s.acts.ensureRepoMinor({ cluster, node: w, hop }));
    expect((await s.on('w-1', `printf '%s' '${DEAD_REPO}' > /etc/yum.repos.d/docker-ce.repo`)).exitCode).toBe(
      0,
    );
    const plain = await s.on('w-1', 'yum install -y kubelet --disableexcludes=kubernetes');
    expect(plain.exitCode).toBe(1);
    expect(plain.stderr).toContain(
      'failure: repodata/repomd.xml from docker-ce-stable: [Errno 256] No more mirrors to try.',
    );
    expect((await run(() => s.acts.ensureKubeadmPackage({ cluster, node: w, hop }))).changed).toBe(true);
    expect((await run(() => s.acts.ensureKubeletPackages({ cluster, node: w, hop }))).changed).toBe(true);
    const isolated = execs(
      s.lab,
      'w-1',
      /^yum '?--disablerepo=\*'? --enablerepo=kubernetes install -y kubelet-/,
    );
    expect(isolated.map((e) => e.exit)).toEqual([0]);
    const again = await run(() => s.acts.ensureKubeletPackages({ cluster, node: w, hop }));
    expect(again.changed).toBe(false);
  });
  test('an unmanaged repository with a long id: yum 3 wraps the newest patches, the target still finds them', async () => {
    const longId = 'kubernetes-aliyun-new-core-stable-v1.30-rpm-x86';
    const file = `[${longId}]\nname=Kubernetes\nbaseurl=https://pkgs.k8s.io/core:/stable:/v1.30/rpm/\nenabled=1\ngpgcheck=1\n`;
    expect((await s.on('cp-1', `printf '%s' '${file}' > /etc/yum.repos.d/kubernetes.repo`)).exitCode).toBe(0);
    const listing = await s.on('cp-1', 'yum list --showduplicates kubeadm --disableplugin=versionlock');
    expect(listing.stdout).toContain(`kubeadm.x86_64 1.30.14-150500.1.1\n${' '.repeat(33)}${longId}\n`);
    const inv: Inventory = { ...s.inv, packages: { ...s.inv.packages, repository: { mode: 'unmanaged' } } };
    const hops = await run(() =>
      s.acts.resolveTarget({ cluster: clusterContext(inv), hops: computeHops(['v1.29.6'], '1.30') }),
    );
    expect(hops.map((h) => h.version)).toEqual(['v1.30.14']);
    expect(hops[0].packages.kubelet).toBe('1.30.14-150500.1.1');
  });
});

describe('apt: dpkg was interrupted', () => {
  let s: Setup;
  beforeAll(() => {
    s = setup(['--cordoned', 'w-1'], 'apt');
  });
  afterAll(() => teardown(s));

  test('a kubeadm install killed mid-way: the next install runs dpkg --configure -a, restores the holds and goes on', async () => {
    const hop = await s.hop();
    const cluster = clusterContext(s.inv);
    const w = s.inv.nodes.find((n) => n.name === 'w-1')!;
    await run(() => s.acts.ensureRepoMinor({ cluster, node: w, hop }));
    s.lab.fault(['dpkg-interrupt', '--node', 'w-1']);
    await expect(run(() => s.acts.ensureKubeadmPackage({ cluster, node: w, hop }))).rejects.toBeDefined();
    // the lab left what a killed dpkg leaves
    const audit = await s.on('w-1', 'dpkg --audit');
    expect(audit.stdout).toContain('kubeadm');
    const next = await s.on('w-1', 'apt-get install -y kubectl');
    expect(next.exitCode).toBe(100);
    expect(next.stderr).toContain(
      "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem.",
    );

    // the workflow's retry of the same step, then the kubelet step
    await run(() => s.acts.ensureKubeadmPackage({ cluster, node: w, hop }));
    const r = await run(() => s.acts.ensureKubeletPackages({ cluster, node: w, hop }));
    expect(r.changed).toBe(true);
    expect((await s.on('w-1', 'dpkg --audit')).exitCode).toBe(0);
    const holds = (await s.on('w-1', 'apt-mark showhold')).stdout.split('\n').filter(Boolean).sort();
    expect(holds).toEqual(['kubeadm', 'kubectl', 'kubelet']);
  });

  test('a kubelet install killed mid-way: the retry does not take unpacked packages for installed ones', async () => {
    const hop = await s.hop();
    const cluster = clusterContext(s.inv);
    const cp = s.inv.nodes.find((n) => n.name === 'cp-1')!;
    await run(() => s.acts.ensureRepoMinor({ cluster, node: cp, hop }));
    await run(() => s.acts.ensureKubeadmPackage({ cluster, node: cp, hop }));
    expect((await s.on('cp-1', 'kubectl cordon cp-1')).exitCode).toBe(0);
    s.lab.fault(['dpkg-interrupt', '--node', 'cp-1']);
    await expect(run(() => s.acts.ensureKubeletPackages({ cluster, node: cp, hop }))).rejects.toBeDefined();
    const r = await run(() => s.acts.ensureKubeletPackages({ cluster, node: cp, hop }));
    expect(r.changed).toBe(true);
    expect((await s.on('cp-1', 'dpkg --audit')).exitCode).toBe(0);
    const holds = (await s.on('cp-1', 'apt-mark showhold')).stdout.split('\n').filter(Boolean).sort();
    expect(holds).toEqual(['kubeadm', 'kubectl', 'kubelet']);
  });
});
