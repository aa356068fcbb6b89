/**
 * The lab's yum/dnf/apt as they are: the versionlock plugin (a plugin exclude that
 * --disableexcludes does not lift, --disableplugin and `versionlock delete` do), unreachable
 * third-party repositories (skip_if_unavailable), yum 3's layout (`--os el7`), and dpkg left
 * interrupted by a killed apt-get install. Shims run without SSH; the controller in-process.
 */
import * as fs from 'node:fs';
import { injectFault } from '../../lab/src/lab';
import { downInProcess, type InProcessLab, upInProcess } from '../helpers/lab';
import { nodeFile, run } from './helpers';

jest.setTimeout(60_000);

const DEAD = '[epel]\nname=Extra Packages\nbaseurl=http://mirror.example.invalid/epel/8/x86_64/\nenabled=1\n';

describe('dnf with versionlock', () => {
  let lab: InProcessLab;
  const on = (tool: string, ...args: string[]) => run(lab.dir, 'w-1', tool, args);
  beforeAll(async () => {
    lab = await upInProcess({
      controlPlanes: 1,
      workers: 1,
      version: '1.29.6',
      packages: 'dnf',
      speed: 1000,
      versionlock: true,
    });
  });
  afterAll(() => downInProcess(lab));

  test('locks hold against --disableexcludes, not against --disableplugin; list ignores them', async () => {
    const lock = fs.readFileSync(nodeFile(lab.dir, 'w-1', 'etc/dnf/plugins/versionlock.list'), 'utf8');
    expect(lock).toContain('kubelet-0:1.29.6-150500.1.1.*\n');
    const blocked = await on(
      'dnf',
      'install',
      '-y',
      'kubelet-1.29.15-150500.1.1',
      '--disableexcludes=kubernetes',
    );
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toBe(
      'All matches were filtered out by exclude filtering for argument: kubelet-1.29.15-150500.1.1\nError: Unable to find a match: kubelet-1.29.15-150500.1.1\n',
    );
    const list = await on('dnf', 'list', '--showduplicates', 'kubelet', '--disableexcludes=kubernetes');
    expect(list.stdout).toContain('1.29.15-150500.1.1');
    const lifted = await on(
      'dnf',
      '--disableplugin=versionlock',
      'install',
      '-y',
      'kubectl-1.29.15-150500.1.1',
      '--disableexcludes=kubernetes',
    );
    expect(lifted.code).toBe(0);
    expect(await on('dnf', 'versionlock', 'list')).toMatchObject({ code: 0 });
    const del = await on('dnf', 'versionlock', 'delete', 'kubelet');
    expect(del.stdout).toContain('Deleting versionlock for: kubelet-0:1.29.6-150500.1.1.*\n');
    expect(
      (await on('dnf', 'install', '-y', 'kubelet-1.29.15-150500.1.1', '--disableexcludes=kubernetes')).code,
    ).toBe(0);
    const add = await on('dnf', 'versionlock', 'add', 'kubelet');
    expect(add.stdout).toContain('Adding versionlock on: kubelet-0:1.29.15-150500.1.1.*\n');
  });

  test('an unreachable repository fails every command unless skipped or disabled', async () => {
    fs.writeFileSync(nodeFile(lab.dir, 'w-1', 'etc/yum.repos.d/epel.repo'), DEAD);
    const r = await on('dnf', 'list', '--showduplicates', 'kubeadm', '--disableexcludes=kubernetes');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "Errors during downloading metadata for repository 'epel':\n  - Curl error (6): Couldn't resolve host name for http://mirror.example.invalid/epel/8/x86_64/repodata/repomd.xml [Could not resolve host: mirror.example.invalid]\n",
    );
    expect(r.stderr).toContain(
      "Error: Failed to download metadata for repo 'epel': Cannot download repomd.xml: Curl error (6)",
    );
    const only = await on(
      'dnf',
      '--disablerepo=*',
      '--enablerepo=kubernetes',
      'list',
      '--showduplicates',
      'kubeadm',
      '--disableexcludes=kubernetes',
    );
    expect(only.code).toBe(0);
    const skipped = await on(
      'dnf',
      '--setopt=skip_if_unavailable=True',
      'list',
      '--showduplicates',
      'kubeadm',
      '--disableexcludes=kubernetes',
    );
    expect(skipped.code).toBe(0);
    expect(skipped.stderr).toContain('Ignoring repositories: epel\n');
    fs.rmSync(nodeFile(lab.dir, 'w-1', 'etc/yum.repos.d/epel.repo'));
  });
});

describe('EL7 yum 3', () => {
  let lab: InProcessLab;
  const on = (tool: string, ...args: string[]) => run(lab.dir, 'w-1', tool, args);
  beforeAll(async () => {
    lab = await upInProcess({
      controlPlanes: 1,
      workers: 1,
      version: '1.29.6',
      packages: 'yum',
      os: 'el7',
      speed: 1000,
    });
  });
  afterAll(() => downInProcess(lab));

  test('list columns fill 80 characters; install output; no downgrade by install; missing names', async () => {
    // widest values: kubeadm.x86_64 (14), 1.29.10-150500.1.1 (18), @kubernetes (11): 80 - 2 - 43 = 35
    // spare columns, 17 to the name, 18 to the version
    const l = await on('yum', 'list', '--showduplicates', 'kubeadm', '--disableexcludes=kubernetes');
    const repoFile = fs.readFileSync(nodeFile(lab.dir, 'w-1', 'etc/yum.repos.d/kubernetes.repo'), 'utf8');
    const rows = l.stdout.split('\n');
    expect(rows.slice(0, 3)).toEqual([
      'Loaded plugins: fastestmirror',
      'Loading mirror speeds from cached hostfile',
      'Installed Packages',
    ]);
    expect(rows[3]).toBe(`${'kubeadm.x86_64'.padEnd(31)} ${'1.29.6-150500.1.1'.padEnd(36)} @kubernetes`);
    expect(rows[4]).toBe('Available Packages');
    expect(rows[5]).toBe(`${'kubeadm.x86_64'.padEnd(31)} ${'1.29.0-150500.1.1'.padEnd(36)} kubernetes `);
    // a repository id too long for 80 columns: the 18-character versions (1.30.10+) overflow, the
    // repo id goes below
    const longId = 'kubernetes-aliyun-new-core-stable-v1.30-rpm-x86';
    fs.writeFileSync(
      nodeFile(lab.dir, 'w-1', 'etc/yum.repos.d/kubernetes.repo'),
      `[${longId}]\nname=Kubernetes\nbaseurl=https://pkgs.k8s.io/core:/stable:/v1.30/rpm/\nenabled=1\n`,
    );
    const wrapped = await on('yum', 'list', '--showduplicates', 'kubelet');
    expect(wrapped.stdout).toContain(
      `kubelet.x86_64 1.30.9-150500.1.1 ${longId}\nkubelet.x86_64 1.30.10-150500.1.1\n${' '.repeat(33)}${longId}\n`,
    );
    fs.writeFileSync(nodeFile(lab.dir, 'w-1', 'etc/yum.repos.d/kubernetes.repo'), repoFile);
    const miss = await on(
      'yum',
      'install',
      '-y',
      'kubeadm-1.29.99-150500.1.1',
      '--disableexcludes=kubernetes',
    );
    expect(miss).toMatchObject({ code: 1, stderr: 'Error: Nothing to do\n' });
    expect(miss.stdout).toContain('No package kubeadm-1.29.99-150500.1.1 available.\n');
    const up = await on('yum', 'install', '-y', 'kubeadm-1.29.15-150500.1.1', '--disableexcludes=kubernetes');
    expect(up.code).toBe(0);
    expect(up.stdout).toContain('Updated:\n  kubeadm.x86_64 0:1.29.15-150500.1.1\n\nComplete!\n');
    const down = await on(
      'yum',
      'install',
      '-y',
      'kubeadm-1.29.6-150500.1.1',
      '--disableexcludes=kubernetes',
    );
    expect(down.stdout).toContain(
      'Package matching kubeadm-1.29.6-150500.1.1.x86_64 already installed. Checking for update.\nNothing to do\n',
    );
  });
});

describe('apt: dpkg interrupted', () => {
  let lab: InProcessLab;
  const on = (tool: string, ...args: string[]) => run(lab.dir, 'w-1', tool, args);
  beforeAll(async () => {
    lab = await upInProcess({
      controlPlanes: 1,
      workers: 1,
      version: '1.29.6',
      packages: 'apt',
      speed: 1000,
    });
  });
  afterAll(() => downInProcess(lab));

  test('a killed install leaves packages unpacked; apt refuses until dpkg --configure -a', async () => {
    await injectFault(lab.dir, { kind: 'dpkg-interrupt', node: 'w-1' });
    await on('apt-mark', 'unhold', 'kubelet');
    const killed = await on('apt-get', 'install', '-y', 'kubelet=1.29.15-1.1');
    expect(killed.code).not.toBe(0);
    expect(
      (await on('dpkg-query', '-W', '-f=${Package} ${Version} ${db:Status-Abbrev}\\n', 'kubelet')).stdout,
    ).toBe('kubelet 1.29.15-1.1 iU \n');
    expect(await on('apt-get', 'install', '-y', 'kubelet=1.29.15-1.1')).toMatchObject({
      code: 100,
      stdout: '',
      stderr:
        "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem. \n",
    });
    expect((await on('apt-get', 'update')).code).toBe(0);
    expect(await on('dpkg', '--configure', '-a')).toMatchObject({
      code: 0,
      stdout: 'Setting up kubelet (1.29.15-1.1) ...\n',
    });
    expect(await on('dpkg', '--audit')).toMatchObject({ code: 0, stdout: '' });
    expect((await on('apt-get', 'install', '-y', 'kubelet=1.29.15-1.1')).stdout).toContain(
      'kubelet is already the newest version (1.29.15-1.1).',
    );
  });
});
