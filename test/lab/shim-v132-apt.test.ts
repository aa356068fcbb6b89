/**
 * The lab's node commands on a v1.32 apt cluster upgraded to v1.33: the v1.30+ plan layout (NODE
 * column, Cluster version without v, v1alpha3 JSON), the v1.32+ apply phases, `upgrade node` on
 * the last control plane applying the addons, apt's lists cache and holds, and drain refusals for
 * emptyDir and unmanaged pods.
 */
import * as fs from 'node:fs';
import { downInProcess, type InProcessLab, readEvents, upInProcess } from '../helpers/lab';
import { editNodeFile, nodeFile, run, STACK } from './helpers';

jest.setTimeout(60_000);

let lab: InProcessLab;
let dir: string;
const on = (node: string, tool: string, ...args: string[]) => run(dir, node, tool, args);

beforeAll(async () => {
  lab = await upInProcess({
    controlPlanes: 2,
    workers: 1,
    version: '1.32.4',
    packages: 'apt',
    speed: 1000,
    emptyDirPods: 1,
    unmanagedPods: 1,
  });
  dir = lab.dir;
});
afterAll(async () => {
  await downInProcess(lab);
});

const KEYRING = '/etc/apt/keyrings/kubernetes-apt-keyring.gpg';

/** The v1.33 repository's Release.key into the keyring signed-by names (curl, then gpg --dearmor). */
async function key133(node: string): Promise<void> {
  const url = 'https://pkgs.k8s.io/core:/stable:/v1.33/deb/Release.key';
  expect(await on(node, 'curl', '-fsSL', url, '-o', '/tmp/Release.key')).toMatchObject({ code: 0 });
  const g = await on(node, 'gpg', '--dearmor', '--batch', '--yes', '-o', KEYRING, '/tmp/Release.key');
  expect(g).toMatchObject({ code: 0, stderr: '' });
}

/** The apt steps of the kubeadm docs for one node: repo to v1.33 with its key, update, unhold, install, hold. */
async function kubeadm133(node: string): Promise<void> {
  editNodeFile(dir, node, 'etc/apt/sources.list.d/kubernetes.list', (s) => s.replace('v1.32', 'v1.33'));
  await key133(node);
  expect((await on(node, 'apt-get', 'update')).code).toBe(0);
  expect((await on(node, 'apt-mark', 'unhold', 'kubeadm')).code).toBe(0);
  expect((await on(node, 'apt-get', 'install', '-y', 'kubeadm=1.33.13-*')).code).toBe(0);
  expect((await on(node, 'apt-mark', 'hold', 'kubeadm')).code).toBe(0);
}

describe('apt', () => {
  test('madison lists the current minor, newest first', async () => {
    const r = await on('cp-1', 'apt-cache', 'madison', 'kubeadm');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('   kubeadm | 1.32.10-1.1 | https://pkgs.k8s.io/core:/stable:/v1.32/deb  Packages');
    expect(lines[10]).toBe('   kubeadm | 1.32.0-1.1 | https://pkgs.k8s.io/core:/stable:/v1.32/deb  Packages');
    expect(r.stdout).not.toContain('1.33.');
  });

  test('a changed sources list is not seen before apt-get update', async () => {
    editNodeFile(dir, 'cp-1', 'etc/apt/sources.list.d/kubernetes.list', (s) => s.replace('v1.32', 'v1.33'));
    const r = await on('cp-1', 'apt-get', 'install', '-y', 'kubeadm=1.33.13-*');
    expect(r).toMatchObject({ code: 100, stderr: "E: Version '1.33.13-*' for 'kubeadm' was not found\n" });
    await key133('cp-1');
    const u = await on('cp-1', 'apt-get', 'update');
    expect(u.code).toBe(0);
    expect(u.stdout).toContain(
      'Get:2 https://prod-cdn.packages.k8s.io/repositories/isv:/kubernetes:/core:/stable:/v1.33/deb  InRelease [1186 B]\n',
    );
    expect(u.stdout.endsWith('Reading package lists...\n')).toBe(true);
    expect((await on('cp-1', 'apt-cache', 'madison', 'kubeadm')).stdout.split('\n')[0]).toBe(
      '   kubeadm | 1.33.13-1.1 | https://pkgs.k8s.io/core:/stable:/v1.33/deb  Packages',
    );
  });

  test('a minor repository whose key is not in the signed-by keyring is refused (NO_PUBKEY), its packages unavailable', async () => {
    const before = fs.readFileSync(nodeFile(dir, 'w-1', KEYRING.slice(1)), 'utf8');
    editNodeFile(dir, 'w-1', 'etc/apt/sources.list.d/kubernetes.list', (s) => s.replace('v1.32', 'v1.33'));
    const u = await on('w-1', 'apt-get', 'update');
    expect(u.code).toBe(100);
    const cdn =
      'https://prod-cdn.packages.k8s.io/repositories/isv:/kubernetes:/core:/stable:/v1.33/deb  InRelease';
    expect(u.stdout).toContain(
      `Err:2 ${cdn}\n  The following signatures couldn't be verified because the public key is not available: NO_PUBKEY 234654DA9A296421\n`,
    );
    expect(u.stderr).toContain(`W: GPG error: ${cdn}: The following signatures`);
    expect(u.stderr).toContain(
      "E: The repository 'https://pkgs.k8s.io/core:/stable:/v1.33/deb/  InRelease' is not signed.\n",
    );
    expect((await on('w-1', 'apt-cache', 'madison', 'kubeadm')).stderr).toBe(
      'N: Unable to locate package kubeadm\n',
    );
    // gpg --show-keys reads the fingerprint of the key curl fetched; the 404 of an unknown minor
    expect(
      (await on('w-1', 'curl', '-fsSL', 'https://pkgs.k8s.io/core:/stable:/v1.99/deb/Release.key')).stderr,
    ).toBe('curl: (22) The requested URL returned error: 404\n');
    await on(
      'w-1',
      'curl',
      '-fsSL',
      'https://pkgs.k8s.io/core:/stable:/v1.33/deb/Release.key',
      '-o',
      '/tmp/k.asc',
    );
    expect((await on('w-1', 'gpg', '--show-keys', '--with-colons', '/tmp/k.asc')).stdout).toContain(
      'fpr:::::::::DE15B14486CD377B9E876E1A234654DA9A296421:\n',
    );
    // a keyring is not overwritten without --yes (no TTY to ask on)
    expect((await on('w-1', 'gpg', '--dearmor', '--batch', '-o', KEYRING, '/tmp/k.asc')).code).toBe(2);
    expect(fs.readFileSync(nodeFile(dir, 'w-1', KEYRING.slice(1)), 'utf8')).toBe(before);
    editNodeFile(dir, 'w-1', 'etc/apt/sources.list.d/kubernetes.list', (s) => s.replace('v1.33', 'v1.32'));
    expect((await on('w-1', 'apt-get', 'update')).code).toBe(0);
  });

  test('held packages need --allow-change-held-packages or apt-mark unhold', async () => {
    const r = await on('cp-1', 'apt-get', 'install', '-y', 'kubeadm=1.33.13-*');
    expect(r.code).toBe(100);
    expect(r.stdout).toContain('The following held packages will be changed:\n  kubeadm\n');
    expect(r.stderr).toBe(
      'E: Held packages were changed and -y was used without --allow-change-held-packages.\n',
    );
    expect((await on('cp-1', 'apt-mark', 'unhold', 'kubeadm')).stdout).toBe('Canceled hold on kubeadm.\n');
    expect((await on('cp-1', 'apt-mark', 'unhold', 'kubeadm')).stdout).toBe(
      'kubeadm was already not on hold.\n',
    );
    const ok = await on('cp-1', 'apt-get', 'install', '-y', 'kubeadm=1.33.13-*');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Setting up kubeadm (1.33.13-1.1) ...\n');
    expect((await on('cp-1', 'apt-mark', 'hold', 'kubeadm')).stdout).toBe('kubeadm set on hold.\n');
    const again = await on('cp-1', 'apt-get', 'install', '-y', 'kubeadm=1.33.13-1.1');
    expect(again.stdout).toContain('kubeadm is already the newest version (1.33.13-1.1).\n');
    expect(await on('cp-1', 'apt-get', 'frobnicate')).toMatchObject({
      code: 100,
      stderr: 'E: Invalid operation frobnicate\n',
    });
  });
});

describe('kubeadm v1.33', () => {
  test('version carries the emulation fields', async () => {
    expect((await on('cp-1', 'kubeadm', 'version')).stdout).toMatch(
      /^kubeadm version: &version\.Info\{Major:"1", Minor:"33", EmulationMajor:"", EmulationMinor:"", MinCompatibilityMajor:"", MinCompatibilityMinor:"", GitVersion:"v1\.33\.13", /,
    );
    expect((await on('cp-2', 'kubeadm', 'version')).stdout).not.toContain('Emulation');
  });

  test('plan: NODE column, Cluster version without v', async () => {
    const r = await on('cp-1', 'kubeadm', 'upgrade', 'plan', 'v1.33.13');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '[preflight] Running pre-flight checks.\n[upgrade/config] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...\n' +
        "[upgrade/config] Use 'kubeadm init phase upload-config --config your-config-file' to re-upload it.\n[upgrade] Running cluster health checks\n",
    );
    expect(r.stdout).toContain(
      '[upgrade/versions] Cluster version: 1.32.4\n[upgrade/versions] kubeadm version: v1.33.13\n[upgrade/versions] Target version: v1.33.13\n',
    );
    expect(r.stdout).toContain(
      'Upgrade to the latest stable version:\n\nCOMPONENT                 NODE      CURRENT    TARGET\nkube-apiserver            cp-1      v1.32.4    v1.33.13\nkube-apiserver            cp-2      v1.32.4    v1.33.13\n',
    );
    expect(r.stdout).toContain(
      'kube-proxy                          1.32.4     v1.33.13\nCoreDNS                             v1.11.3    v1.12.0\netcd                      cp-1      3.5.16-0   3.5.21-0\n',
    );
    expect(r.stdout).toContain(
      'COMPONENT   NODE      CURRENT   TARGET\nkubelet     cp-1      v1.32.4   v1.33.13\n',
    );
  });

  test('plan -o json: v1alpha3 with the kubeadm component', async () => {
    const r = await on('cp-1', 'kubeadm', 'upgrade', 'plan', 'v1.33.13', '-o', 'json');
    const o = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as {
      apiVersion: string;
      availableUpgrades: {
        description: string;
        components: { name: string; nodeName?: string; newVersion: string }[];
      }[];
    };
    expect(o.apiVersion).toBe('output.kubeadm.k8s.io/v1alpha3');
    const stable = o.availableUpgrades.find((u) => u.description === 'stable version')!;
    expect(stable.components).toContainEqual({
      name: 'kubeadm',
      currentVersion: 'v1.33.13',
      newVersion: 'v1.33.13',
    });
    expect(stable.components).toContainEqual({
      name: 'kubelet',
      currentVersion: 'v1.32.4',
      newVersion: 'v1.33.13',
      nodeName: 'w-1',
    });
  });

  test('a skipped minor is refused with the v1.32+ wrapper', async () => {
    const r = await on('cp-1', 'kubeadm', 'upgrade', 'apply', 'v1.34.0', '-y');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error execution phase preflight: the version argument is invalid due to these fatal errors:\n\n' +
        '\t- Specified version to upgrade to "v1.34.0" is too high; kubeadm can upgrade only 1 minor version at a time\n' +
        '\t- Specified version to upgrade to "v1.34.0" is at least one minor release higher than the kubeadm minor release (34 > 33). Such an upgrade is not supported\n' +
        `\nPlease fix the misalignments highlighted above and try upgrading again\n${STACK}`,
    );
  });

  test('apply without -y and no answer on stdin aborts', async () => {
    const r = await on('cp-1', 'kubeadm', 'upgrade', 'apply', 'v1.33.13');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('[upgrade] Are you sure you want to proceed? [y/N]: ');
    expect(r.stderr).toBe(`won't proceed; the user didn't answer (Y|y) in order to continue\n${STACK}`);
  });

  test('apply: v1.32+ phases, addons skipped until the last control plane', async () => {
    const r = await on('cp-1', 'kubeadm', 'upgrade', 'apply', 'v1.33.13', '-y');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '[upgrade/preflight] You have chosen to upgrade the cluster version to "v1.33.13"\n[upgrade/versions] Cluster version: v1.32.4\n',
    );
    expect(r.stdout).toContain(
      '[upgrade/control-plane] Upgrading your static Pod-hosted control plane to version "v1.33.13" (timeout: 5m0s)...\n',
    );
    expect(r.stdout).toContain(
      '[upgrade/control-plane] The control plane instance for this node was successfully upgraded!\n',
    );
    const skip =
      '[upgrade/addon] Skipping upgrade of addons because control plane instances [cp-2] have not been upgraded\n';
    expect(r.stdout).toContain(skip + skip);
    expect(r.stdout).not.toContain('[addons] Applied essential addon');
    expect(
      r.stdout.endsWith(
        '\n[upgrade] SUCCESS! A control plane node of your cluster was upgraded to "v1.33.13".\n\n[upgrade] Now please proceed with upgrading the rest of the nodes by following the right order.\n',
      ),
    ).toBe(true);
    expect(r.stderr).toMatch(
      /^W\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ postupgrade\.go:117\] Using temporary directory \/etc\/kubernetes\/tmp\/kubeadm-kubelet-config\d+ for kubelet config\./,
    );
  });

  test('upgrade node on the other control plane: refused with an old kubeadm, then applies the addons', async () => {
    const old = await on('cp-2', 'kubeadm', 'upgrade', 'node');
    expect(old.code).toBe(1);
    expect(old.stderr).toContain('(33 > 32). Such an upgrade is not supported');
    await kubeadm133('cp-2');
    const r = await on('cp-2', 'kubeadm', 'upgrade', 'node');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '[upgrade/control-plane] Upgrading your static Pod-hosted control plane instance to version "v1.33.13"...\n',
    );
    expect(r.stdout).toContain(
      '[addons] Applied essential addon: CoreDNS\n[addons] Applied essential addon: kube-proxy\n',
    );
    const cm = await on('cp-1', 'kubectl', '-n', 'kube-system', 'get', 'cm', 'kubeadm-config', '-o', 'yaml');
    expect(cm.stdout).toContain('    apiVersion: kubeadm.k8s.io/v1beta4\n');
    expect(cm.stdout).toContain('    kubernetesVersion: v1.33.13\n');
  });

  test('upgrade node on a worker', async () => {
    await kubeadm133('w-1');
    const r = await on('w-1', 'kubeadm', 'upgrade', 'node');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '[upgrade/preflight] Running pre-flight checks\n[upgrade/preflight] Skipping prepull. Not a control plane node.\n[upgrade/control-plane] Skipping phase. Not a control plane node.\n[upgrade/kubeconfig] Skipping phase. Not a control plane node.\n',
    );
    expect(
      r.stdout.endsWith(
        '[upgrade/addon] Skipping the addon/coredns phase. Not a control plane node.\n[upgrade/addon] Skipping the addon/kube-proxy phase. Not a control plane node.\n',
      ),
    ).toBe(true);
  });
});

describe('drain with emptyDir and unmanaged pods', () => {
  test('refused without --delete-emptydir-data and --force', async () => {
    const r = await on('cp-1', 'kubectl', 'drain', 'w-1', '--ignore-daemonsets');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: unable to drain node "w-1" due to error:\[cannot delete Pods with local storage \(use --delete-emptydir-data to override\): prod\/cache-\w{10}-\w{5}, cannot delete Pods that declare no controller \(use --force to override\): default\/debug-\w{5}\], continuing command\.\.\.\nThere are pending nodes to be drained:\n w-1\ncannot delete Pods with local storage/,
    );
  });

  test('drained with both flags; evicted pods wait Pending when no node can take them', async () => {
    const r = await on(
      'cp-1',
      'kubectl',
      'drain',
      'w-1',
      '--ignore-daemonsets',
      '--delete-emptydir-data',
      '--force',
      '--timeout=2m',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /Warning: ignoring DaemonSet-managed Pods: .*; deleting Pods that declare no controller: default\/debug-\w{5}\n/,
    );
    expect(r.stdout.endsWith('node/w-1 drained\n')).toBe(true);
    const pods = await on('cp-1', 'kubectl', 'get', 'pods', '-n', 'prod');
    expect(pods.stdout).toMatch(/web-\w{10}-\w{5}\s+0\/1\s+Pending/);
    expect((await on('cp-1', 'kubectl', 'uncordon', 'w-1')).code).toBe(0);
    await new Promise((r2) => setTimeout(r2, 100));
    const after = await on('cp-1', 'kubectl', 'get', 'pods', '-n', 'prod', '-o', 'wide');
    expect(after.stdout).not.toContain('Pending');
    expect(
      readEvents<Record<string, unknown>>(dir)
        .filter((e) => e.node === 'w-1' && e.type === 'state')
        .pop(),
    ).toMatchObject({ unschedulable: false });
  });

  test('kubectl version of a 1.32 client against a 1.33 server', async () => {
    const v = await on('cp-1', 'kubectl', 'version');
    expect(v.stdout).toBe('Client Version: v1.32.4\nKustomize Version: v5.5.0\nServer Version: v1.33.13\n');
  });
});

describe("the commands kupgrade's activities use: dpkg-query, apt-cache policy, a probe with -o", () => {
  test('dpkg-query -W -f', async () => {
    const r = await on(
      'w-1',
      'dpkg-query',
      '-W',
      '-f=${Package} ${Version}\\n',
      'kubeadm',
      'kubelet',
      'kubectl',
    );
    expect(r).toMatchObject({
      code: 0,
      stdout: 'kubeadm 1.33.13-1.1\nkubelet 1.32.4-1.1\nkubectl 1.32.4-1.1\n',
    });
    expect(await on('w-1', 'dpkg-query', '-W', 'nginx')).toMatchObject({
      code: 1,
      stderr: 'dpkg-query: no packages found matching nginx\n',
    });
  });

  test('apt-cache policy', async () => {
    const r = await on('w-1', 'apt-cache', 'policy', 'kubelet');
    expect(r.stdout).toMatch(
      /^kubelet:\n {2}Installed: 1\.32\.4-1\.1\n {2}Candidate: 1\.33\.13-1\.1\n {2}Version table:\n {5}1\.33\.13-1\.1 500\n {8}500 https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.33\/deb {2}Packages\n/,
    );
    expect(r.stdout).toContain(' *** 1.32.4-1.1 100\n        100 /var/lib/dpkg/status\n');
  });

  test('a probe with its own sourcelist and lists dir leaves the node cache alone', async () => {
    const d = '/tmp/probe';
    fs.mkdirSync(nodeFile(dir, 'w-1', `${d}/lists`), { recursive: true });
    fs.writeFileSync(
      nodeFile(dir, 'w-1', `${d}/sources.list`),
      `deb [signed-by=${d}/keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.34/deb/ /\n`,
    );
    // the probe trusts the v1.34 key in its own keyring, never the node's
    const url = 'https://pkgs.k8s.io/core:/stable:/v1.34/deb/Release.key';
    expect((await on('w-1', 'curl', '-fsSL', url, '-o', `${d}/Release.key`)).code).toBe(0);
    expect((await on('w-1', 'gpg', '--dearmor', '-o', `${d}/keyring.gpg`, `${d}/Release.key`)).code).toBe(0);
    const o = [
      '-o',
      `Dir::Etc::sourcelist=${d}/sources.list`,
      '-o',
      'Dir::Etc::sourceparts=-',
      '-o',
      `Dir::State::Lists=${d}/lists`,
      '-o',
      `Dir::Cache=${d}/cache`,
    ];
    expect((await run(dir, 'w-1', 'apt-get', ['-q', ...o, 'update'])).code).toBe(0);
    const m = await run(dir, 'w-1', 'apt-cache', [...o, 'madison', 'kubeadm']);
    expect(m.stdout.split('\n')[0]).toBe(
      '   kubeadm | 1.34.4-1.1 | https://pkgs.k8s.io/core:/stable:/v1.34/deb  Packages',
    );
    expect((await on('w-1', 'apt-cache', 'madison', 'kubeadm')).stdout.split('\n')[0]).toBe(
      '   kubeadm | 1.33.13-1.1 | https://pkgs.k8s.io/core:/stable:/v1.33/deb  Packages',
    );
  });
});
