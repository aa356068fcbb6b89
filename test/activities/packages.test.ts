/**
 * Repository switch, kubeadm and kubelet/kubectl packages, target resolution: check first, act
 * only when needed (a second call runs no mutating command), errors classified.
 */
import { createNodeActivities } from '../../src/activities';
import { parseListing, pickVersion } from '../../src/activities/repo';
import { detail, failureOf, inActivity } from '../helpers/activity';
import { ctxOf, FakeSsh, hop130, nodeOf } from './fake-ssh';
import { buildInventory } from '../helpers/inventory';
import {
  APT_LIST_129,
  MADISON_130,
  nodeJson,
  YUM_LIST_129_ONLY,
  YUM_LIST_130,
  YUM_REPO_129,
  located,
  YUM_REPO_PATH,
  APT_LIST_PATH,
} from './samples';

function setup(manager: 'yum' | 'dnf' | 'apt' = 'yum') {
  const ssh = new FakeSsh();
  const inv = buildInventory({ manager });
  const acts = createNodeActivities({ ssh, pollIntervalMs: 1, sleep: async () => undefined });
  const input = { cluster: ctxOf(inv), node: nodeOf(inv, 'w-1'), hop: hop130(manager) };
  return { ssh, inv, acts, input };
}

describe('listings', () => {
  test('yum --showduplicates: installed and available rows, newest patch of a minor for all three packages', () => {
    const l = parseListing('yum', YUM_LIST_130);
    expect(l.filter((x) => x.installed).map((x) => x.full)).toEqual([
      '1.29.6-150500.1.1',
      '1.29.6-150500.1.1',
      '1.29.6-150500.1.1',
    ]);
    expect(pickVersion(l, '1.30')).toEqual({
      version: '1.30.4',
      packages: { kubeadm: '1.30.4-150500.1.1', kubelet: '1.30.4-150500.1.1', kubectl: '1.30.4-150500.1.1' },
    });
    expect(pickVersion(l, '1.30', 0)?.version).toBe('1.30.0');
    expect(pickVersion(l, '1.30', 9)).toBeUndefined();
    expect(pickVersion(l, '1.31')).toBeUndefined();
  });

  test('apt-cache madison rows', () => {
    expect(pickVersion(parseListing('apt', MADISON_130), '1.30')?.packages.kubelet).toBe('1.30.4-1.1');
  });
});

describe('ensureRepoMinor', () => {
  test('switches a yum repo from 1.29 to 1.30 (write, yum clean all), then a second call changes nothing', async () => {
    const { ssh, acts, input } = setup('yum');
    let file = YUM_REPO_129;
    ssh.on(/^if \[ -f \/etc\/yum.repos.d\/kubernetes.repo \]/, () => ({
      stdout: located(YUM_REPO_PATH, file),
    }));
    ssh.on(/printf '%s' [\s\S]*kubernetes.repo.kupgrade-tmp/, (c) => {
      file = /printf '%s' '([\s\S]*?)' > /.exec(c)?.[1] ?? '';
      return { stdout: '24 files removed\n' };
    });
    const first = await inActivity(() => acts.ensureRepoMinor(input));
    expect(first.value.changed).toBe(true);
    expect(file).toContain('baseurl=https://pkgs.k8s.io/core:/stable:/v1.30/rpm/');
    expect(file).toContain('exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni');
    expect(ssh.mutating('w-1').join('\n')).toMatch(
      /mv -f \/etc\/yum.repos.d\/kubernetes.repo.kupgrade-tmp \/etc\/yum.repos.d\/kubernetes.repo && yum clean all/,
    );
    ssh.reset();
    const second = await inActivity(() => acts.ensureRepoMinor(input));
    expect(second.value.changed).toBe(false);
    expect(ssh.mutating()).toEqual([]);
  });

  test('apt keeps the configured keyring and runs apt-get update', async () => {
    const { ssh, acts, input } = setup('apt');
    ssh.on(/^if \[ -f \/etc\/apt\/sources.list.d\/kubernetes.list \]/, {
      stdout: located(
        APT_LIST_PATH,
        APT_LIST_129.replace('/etc/apt/keyrings/kubernetes-apt-keyring.gpg', '/usr/share/keyrings/k8s.gpg'),
      ),
    });
    ssh.on(/Release\.key \| gpg --dearmor/, {
      stdout: 'fpr:::::::::DE15B14486CD377B9E876E1A234654DA9A296436:\n',
    });
    ssh.on(/kubernetes.list.kupgrade-tmp/, { stdout: 'Hit:1 ...\n' });
    const r = await inActivity(() => acts.ensureRepoMinor(input));
    expect(r.value.changed).toBe(true);
    const write = ssh.mutating().join('\n');
    // the v1.30 Release.key goes into the same keyring, before the list names v1.30
    const all = ssh.commands('w-1').join('\n');
    expect(all).toContain(
      'curl -fsSL https://pkgs.k8s.io/core:/stable:/v1.30/deb/Release.key | gpg --dearmor --batch --yes -o "$d/k.gpg"',
    );
    expect(all).toContain('mv -f /usr/share/keyrings/k8s.gpg.kupgrade-tmp /usr/share/keyrings/k8s.gpg');
    expect(all.indexOf('Release.key')).toBeLessThan(all.indexOf('kubernetes.list.kupgrade-tmp'));
    expect(write).toContain(
      "'deb [signed-by=/usr/share/keyrings/k8s.gpg] https://pkgs.k8s.io/core:/stable:/v1.30/deb/ /\n'",
    );
    expect(write).toMatch(/&& apt-get update$/);
  });

  test('a repo file that also defines other repositories is not rewritten', async () => {
    const { ssh, acts, input } = setup('yum');
    ssh.on(/^if \[ -f \/etc\/yum.repos.d\/kubernetes.repo \]/, {
      stdout: located('/etc/yum.repos.d/mirrors.repo', '[base]\nbaseurl=http://mirror/\n' + YUM_REPO_129),
    });
    const f = await failureOf(() => acts.ensureRepoMinor(input));
    expect(f.type).toBe('PackageFailed');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('/etc/yum.repos.d/mirrors.repo also defines base');
    expect(ssh.mutating()).toEqual([]);
  });

  test('unmanaged repositories are left alone without any command', async () => {
    const ssh = new FakeSsh();
    const inv = buildInventory({}, { packages: { manager: 'yum', repository: { mode: 'unmanaged' } } });
    const acts = createNodeActivities({ ssh });
    const r = await inActivity(() =>
      acts.ensureRepoMinor({ cluster: ctxOf(inv), node: nodeOf(inv, 'w-1'), hop: hop130() }),
    );
    expect(r.value.changed).toBe(false);
    expect(ssh.calls).toHaveLength(0);
  });

  test('a repository that cannot be fetched is a retryable Transient failure', async () => {
    const { ssh, acts, input } = setup('yum');
    ssh.on(/^if \[ -f/, { stdout: located(YUM_REPO_PATH, YUM_REPO_129) });
    ssh.on(/kupgrade-tmp/, {
      exitCode: 1,
      stderr:
        "Error: Failed to download metadata for repo 'kubernetes': Cannot download repomd.xml: Curl error (28): Timeout was reached\n",
    });
    const f = await failureOf(() => acts.ensureRepoMinor(input));
    expect(f.type).toBe('Transient');
    expect(f.nonRetryable).toBe(false);
  });
});

describe('ensureKubeadmPackage', () => {
  test('installs the exact version, verifies kubeadm version, and skips next time', async () => {
    const { ssh, acts, input } = setup('yum');
    let version = 'v1.29.6';
    ssh.on(/^kubeadm version -o short$/, () => ({ stdout: `${version}\n` }));
    ssh.on(/^yum install -y kubeadm-1.30.4-150500.1.1 --disableexcludes=kubernetes$/, () => {
      version = 'v1.30.4';
      return { stdout: 'Complete!\n' };
    });
    const first = await inActivity(() => acts.ensureKubeadmPackage(input));
    expect(first.value).toMatchObject({ changed: true, version: 'v1.30.4' });
    expect(ssh.detached).toEqual([{ node: 'w-1', id: 'kubeadm-package-1.30.4-150500.1.1' }]);
    ssh.reset();
    const second = await inActivity(() => acts.ensureKubeadmPackage(input));
    expect(second.value.changed).toBe(false);
    expect(ssh.commands()).toEqual(['kubeadm version -o short']);
  });

  test('apt: update, unhold, install, hold', async () => {
    const { ssh, acts, input } = setup('apt');
    ssh.on(/^kubeadm version -o short$/, { stdout: 'v1.30.4\n' });
    ssh.on(/^kubeadm version -o short$/, { stdout: 'v1.29.6\n' }, { times: 1 });
    ssh.on(/apt-get update/, { stdout: 'Setting up kubeadm (1.30.4-1.1) ...\n' });
    await inActivity(() => acts.ensureKubeadmPackage(input));
    expect(ssh.mutating()[0]).toBe(
      'apt-get update && apt-mark unhold kubeadm && { env DEBIAN_FRONTEND=noninteractive apt-get install -y kubeadm=1.30.4-1.1; rc=$?; apt-mark hold kubeadm; (exit $rc); }',
    );
  });

  test('a version missing from the repository is VersionNotFound, not retried', async () => {
    const { ssh, acts, input } = setup('dnf');
    ssh.on(/^kubeadm version/, { stdout: 'v1.29.6\n' });
    ssh.on(/^dnf install/, {
      exitCode: 1,
      stderr:
        'No match for argument: kubeadm-1.30.4-150500.1.1\nError: Unable to find a match: kubeadm-1.30.4-150500.1.1\n',
    });
    const f = await failureOf(() => acts.ensureKubeadmPackage(input));
    expect(f.type).toBe('VersionNotFound');
    expect(f.nonRetryable).toBe(true);
    expect(detail(f).outputTail).toContain('Unable to find a match');
    expect(detail(f).command).toBe('dnf install -y kubeadm-1.30.4-150500.1.1 --disableexcludes=kubernetes');
  });

  test('an unexplained install failure is retried (UnexpectedExit), since the step re-checks first', async () => {
    const { ssh, acts, input } = setup('yum');
    ssh.on(/^kubeadm version/, { stdout: 'v1.29.6\n' });
    ssh.on(/^yum install/, { exitCode: 1, stderr: 'Error: Transaction check error: something odd\n' });
    const f = await failureOf(() => acts.ensureKubeadmPackage(input));
    expect(f.type).toBe('UnexpectedExit');
    expect(f.nonRetryable).toBe(false);
  });
});

describe('ensureKubeletPackages', () => {
  test('refuses (PolicyRefused) on a node that is not cordoned, before installing anything', async () => {
    const { ssh, acts, input } = setup('yum');
    ssh.on(/^rpm -q/, {
      stdout: 'kubeadm 1.30.4-150500.1.1\nkubelet 1.29.6-150500.1.1\nkubectl 1.29.6-150500.1.1\n',
    });
    ssh.on(/list --showduplicates/, { stdout: YUM_LIST_130 });
    ssh.on(/get node w-1 -o json/, { stdout: nodeJson({ name: 'w-1', unschedulable: false }) });
    const f = await failureOf(() => acts.ensureKubeletPackages(input));
    expect(f.type).toBe('PolicyRefused');
    expect(f.nonRetryable).toBe(true);
    expect(ssh.mutating()).toEqual([]);
  });

  test('installs kubelet and kubectl on a cordoned node; skips once the rpm database shows them', async () => {
    const { ssh, acts, input } = setup('yum');
    let installed = '1.29.6-150500.1.1';
    ssh.on(/^rpm -q/, () => ({
      stdout: `kubeadm 1.30.4-150500.1.1\nkubelet ${installed}\nkubectl ${installed}\n`,
    }));
    ssh.on(/list --showduplicates/, { stdout: YUM_LIST_130 });
    ssh.on(/get node w-1 -o json/, { stdout: nodeJson({ name: 'w-1', unschedulable: true }) });
    ssh.on(
      /^yum install -y kubelet-1.30.4-150500.1.1 kubectl-1.30.4-150500.1.1 --disableexcludes=kubernetes && mkdir -p /,
      () => {
        installed = '1.30.4-150500.1.1';
        return { stdout: 'Complete!\n' };
      },
    );
    expect((await inActivity(() => acts.ensureKubeletPackages(input))).value.changed).toBe(true);
    ssh.reset();
    expect((await inActivity(() => acts.ensureKubeletPackages(input))).value.changed).toBe(false);
    expect(ssh.mutating()).toEqual([]);
  });

  test('apt without a readable package database: the marker written with the install prevents a second install', async () => {
    const { ssh, acts, input } = setup('apt');
    let marker = '';
    ssh.on(/^dpkg-query/, { exitCode: 127, stderr: 'sh: dpkg-query: not found\n' });
    ssh.on(/^apt-cache policy/, { exitCode: 100, stderr: 'E: not simulated\n' });
    ssh.on(/kupgrade\/kubelet-packages \]/, () => ({ stdout: marker }));
    ssh.on(/get node w-1 -o json/, { stdout: nodeJson({ name: 'w-1', unschedulable: true }) });
    ssh.on(/^apt-get update && apt-mark unhold kubelet kubectl/, (c) => {
      expect(c).toMatch(
        /&& mkdir -p \/etc\/kubernetes\/tmp\/kupgrade && printf '%s\\n' 1.30.4-1.1 > \/etc\/kubernetes\/tmp\/kupgrade\/kubelet-packages$/,
      );
      marker = '1.30.4-1.1\n';
      return { stdout: 'Setting up kubelet (1.30.4-1.1) ...\n' };
    });
    expect((await inActivity(() => acts.ensureKubeletPackages(input))).value.changed).toBe(true);
    ssh.reset();
    expect((await inActivity(() => acts.ensureKubeletPackages(input))).value.changed).toBe(false);
    expect(ssh.mutating()).toEqual([]);
  });

  test('apt-cache policy is read when dpkg-query is not available', async () => {
    const { ssh, acts, input } = setup('apt');
    ssh.on(/^dpkg-query/, { exitCode: 127, stderr: 'sh: dpkg-query: not found\n' });
    ssh.on(/^apt-cache policy/, {
      stdout:
        'kubeadm:\n  Installed: 1.30.4-1.1\n  Candidate: 1.30.4-1.1\nkubelet:\n  Installed: 1.30.4-1.1\n  Candidate: 1.30.4-1.1\nkubectl:\n  Installed: 1.30.4-1.1\n  Candidate: 1.30.4-1.1\n',
    });
    ssh.on(/kupgrade\/kubelet-packages \]/, { stdout: '' });
    expect((await inActivity(() => acts.ensureKubeletPackages(input))).value.changed).toBe(false);
  });

  test('falls back to the installed rows of the yum listing when rpm is not available', async () => {
    const { ssh, acts, input } = setup('yum');
    ssh.on(/^rpm -q/, { exitCode: 127, stderr: 'sh: rpm: not found\n' });
    ssh.on(/list --showduplicates/, { stdout: YUM_LIST_130.replace(/1\.29\.6/g, '1.30.4') });
    const r = await inActivity(() => acts.ensureKubeletPackages(input));
    expect(r.value.changed).toBe(false);
  });
});

describe('resolveTarget', () => {
  test('the configured minor is read in place; another minor through the isolated listing; the repo file is never written', async () => {
    const ssh = new FakeSsh();
    const inv = buildInventory();
    const acts = createNodeActivities({ ssh });
    ssh.on(/^if \[ -f \/etc\/yum.repos.d\/kubernetes.repo/, { stdout: located(YUM_REPO_PATH, YUM_REPO_129) });
    ssh.on(/^yum list --showduplicates/, { stdout: YUM_LIST_129_ONLY });
    ssh.on(/--setopt=reposdir=/, { stdout: YUM_LIST_130 });
    const r = await inActivity(() =>
      acts.resolveTarget({
        cluster: ctxOf(inv),
        hops: [
          { index: 0, from: 'v1.29.5', minor: '1.29' },
          { index: 1, from: 'v1.29', minor: '1.30' },
        ],
      }),
    );
    expect(r.value.map((h) => h.version)).toEqual(['v1.29.6', 'v1.30.4']);
    expect(r.value[1].packages.kubelet).toBe('1.30.4-150500.1.1');
    expect(ssh.commands().some((c) => /> \/etc|kupgrade-probe\.(repo|list)/.test(c))).toBe(false);
    expect(ssh.mutating()).toEqual([]);
  });

  test('falls back to a probe definition (own id, removed in the same command) when the isolated listing is ignored', async () => {
    const ssh = new FakeSsh();
    const inv = buildInventory();
    const acts = createNodeActivities({ ssh });
    ssh.on(/^if \[ -f/, { stdout: located(YUM_REPO_PATH, YUM_REPO_129) });
    ssh.on(/--setopt=reposdir=/, { stdout: YUM_LIST_129_ONLY }); // reposdir ignored: still the 1.29 repo
    ssh.on(/kupgrade-probe/, { stdout: YUM_LIST_129_ONLY + YUM_LIST_130 });
    const r = await inActivity(() =>
      acts.resolveTarget({ cluster: ctxOf(inv), hops: [{ index: 0, from: 'v1.29.6', minor: '1.30' }] }),
    );
    expect(r.value[0].version).toBe('v1.30.4');
    const probe = ssh.commands().find((c) => c.startsWith('trap')) ?? '';
    expect(probe).toMatch(/^trap 'rm -f \/etc\/yum.repos.d\/kupgrade-probe.repo' EXIT;/);
    expect(probe).toContain('--enablerepo=kupgrade-probe');
    expect(probe).not.toContain('/etc/yum.repos.d/kubernetes.repo');
  });

  test('an exact patch that is not listed is VersionNotFound with the versions that are', async () => {
    const ssh = new FakeSsh();
    const inv = buildInventory();
    const acts = createNodeActivities({ ssh });
    ssh.on(/^if \[ -f/, { stdout: located(YUM_REPO_PATH, YUM_REPO_129) });
    ssh.on(/--setopt=reposdir=/, { stdout: YUM_LIST_130 });
    const f = await failureOf(() =>
      acts.resolveTarget({
        cluster: ctxOf(inv),
        hops: [{ index: 0, from: 'v1.29.6', minor: '1.30', patch: 9 }],
      }),
    );
    expect(f.type).toBe('VersionNotFound');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('1.30.9');
    expect(f.message).toContain('1.30.4');
  });

  test('apt: madison through the isolated lists', async () => {
    const ssh = new FakeSsh();
    const inv = buildInventory({ manager: 'apt' });
    const acts = createNodeActivities({ ssh });
    ssh.on(/^if \[ -f/, { stdout: located(APT_LIST_PATH, APT_LIST_129) });
    ssh.on(/Dir::Etc::sourcelist/, { stdout: MADISON_130 });
    const r = await inActivity(() =>
      acts.resolveTarget({ cluster: ctxOf(inv), hops: [{ index: 0, from: 'v1.29.6', minor: '1.30' }] }),
    );
    expect(r.value[0].packages).toEqual({
      kubeadm: '1.30.4-1.1',
      kubelet: '1.30.4-1.1',
      kubectl: '1.30.4-1.1',
    });
  });
});
