/**
 * Package listings and errors as yum 3 (EL7), dnf 4 and apt print them (issue 12 item 5).
 * yum 3's `list` layout follows its output.py: columns sized to fill 80 characters; a value wider
 * than its column is printed, then a newline and the indent of the next column (fmtColumns).
 */
import {
  dpkgWasInterrupted,
  filteredSpecs,
  packagesSetUp,
  parseVersionlockList,
  parseYumShowDuplicates,
  unreachableRepos,
} from '../../src/parsers';

/** yum 3 on EL7 (fastestmirror, versionlock), the legacy aliyun repo: the 80-column layout. */
const YUM3_LEGACY = `Loaded plugins: fastestmirror, versionlock
Loading mirror speeds from cached hostfile
 * base: mirrors.aliyun.com
 * extras: mirrors.aliyun.com
 * updates: mirrors.aliyun.com
Excluding 3 updates due to versionlock (use "yum versionlock status" to show them)
Installed Packages
kubeadm.x86_64                       1.28.2-0                        @kubernetes
kubectl.x86_64                       1.28.2-0                        @kubernetes
kubelet.x86_64                       1.28.2-0                        @kubernetes
Available Packages
kubeadm.x86_64                       1.27.6-0                        kubernetes 
kubeadm.x86_64                       1.28.0-0                        kubernetes 
kubeadm.x86_64                       1.28.1-0                        kubernetes 
`;

/**
 * yum 3 when the widest values do not fit 80 columns (an unmanaged repository with a long id): the
 * columns come out 14/18/47, so the one 18-character version overflows and the repository goes on
 * the next line under its column. Laid out by calcColumns/fmtColumns as yum 3 does (the lab's
 * yum3Rows), not copied from a terminal.
 */
const YUM3_WRAPPED_VERSION = `Loaded plugins: fastestmirror
Loading mirror speeds from cached hostfile
Installed Packages
kubelet.x86_64 1.29.6-150500.1.1 @kubernetes-aliyun-new-core-stable-v1.30-rpm-x86
Available Packages
kubelet.x86_64 1.30.0-150500.1.1 kubernetes-aliyun-new-core-stable-v1.30-rpm-x86
kubelet.x86_64 1.30.1-150500.1.1 kubernetes-aliyun-new-core-stable-v1.30-rpm-x86
kubelet.x86_64 1.30.14-150500.1.1
                                 kubernetes-aliyun-new-core-stable-v1.30-rpm-x86
`;

/** The name overflows its column (a longer name among short ones): version and repository go below. */
const YUM3_WRAPPED_NAME = `Available Packages
kubelet.x86_64   1.30.0-150500.1.1  kubernetes-aliyun-new-core-stable-v1.30-rpm 
kubelet.x86_64   1.30.14-150500.1.1 kubernetes-aliyun-new-core-stable-v1.30-rpm 
kubernetes-cni.x86_64
                 1.4.0-150500.1.1   kubernetes-aliyun-new-core-stable-v1.30-rpm 
`;

describe('parseYumShowDuplicates on yum 3 (EL7)', () => {
  test('the 80-column layout with plugin lines, mirror lines and the versionlock hint', () => {
    const r = parseYumShowDuplicates(YUM3_LEGACY);
    expect(r.installed.map((p) => `${p.name} ${p.version} ${p.repo}`)).toEqual([
      'kubeadm 1.28.2-0 @kubernetes',
      'kubectl 1.28.2-0 @kubernetes',
      'kubelet 1.28.2-0 @kubernetes',
    ]);
    expect(r.available.map((p) => `${p.name} ${p.version} ${p.repo}`)).toEqual([
      'kubeadm 1.27.6-0 kubernetes',
      'kubeadm 1.28.0-0 kubernetes',
      'kubeadm 1.28.1-0 kubernetes',
    ]);
  });

  test('a row wrapped after the version is joined back (the newest patch is not lost)', () => {
    const r = parseYumShowDuplicates(YUM3_WRAPPED_VERSION);
    expect(r.installed.map((p) => `${p.name} ${p.version} ${p.repo}`)).toEqual([
      'kubelet 1.29.6-150500.1.1 @kubernetes-aliyun-new-core-stable-v1.30-rpm-x86',
    ]);
    expect(r.available.map((p) => p.version)).toEqual([
      '1.30.0-150500.1.1',
      '1.30.1-150500.1.1',
      '1.30.14-150500.1.1',
    ]);
    expect(r.available[2]).toEqual({
      name: 'kubelet',
      arch: 'x86_64',
      version: '1.30.14-150500.1.1',
      upstream: '1.30.14',
      repo: 'kubernetes-aliyun-new-core-stable-v1.30-rpm-x86',
      installed: false,
    });
  });

  test('a row wrapped after the name is joined back', () => {
    expect(parseYumShowDuplicates(YUM3_WRAPPED_NAME).available.map((p) => `${p.name} ${p.version}`)).toEqual([
      'kubelet 1.30.0-150500.1.1',
      'kubelet 1.30.14-150500.1.1',
      'kubernetes-cni 1.4.0-150500.1.1',
    ]);
  });
});

describe('package manager errors', () => {
  test.each([
    [
      'dnf 4, one repository',
      "Errors during downloading metadata for repository 'docker-ce-stable':\n  - Curl error (6): Couldn't resolve host name for https://download.docker.com/linux/centos/8/x86_64/stable/repodata/repomd.xml [Could not resolve host: download.docker.com]\nError: Failed to download metadata for repo 'docker-ce-stable': Cannot download repomd.xml: Curl error (6): Couldn't resolve host name for https://download.docker.com/linux/centos/8/x86_64/stable/repodata/repomd.xml [Could not resolve host: download.docker.com]\n",
      ['docker-ce-stable'],
    ],
    [
      'dnf 4, the kubernetes repository (404)',
      "Errors during downloading metadata for repository 'kubernetes':\n  - Status code: 404 for https://pkgs.k8s.io/core:/stable:/v1.99/rpm/repodata/repomd.xml (IP: 127.0.0.1)\nError: Failed to download metadata for repo 'kubernetes': Cannot download repomd.xml: Cannot download repodata/repomd.xml: All mirrors were tried\n",
      ['kubernetes'],
    ],
    [
      'yum 3 (EL7)',
      'One of the configured repositories failed (Docker CE Stable - x86_64),\n and yum doesn\'t have enough cached data to continue.\n            yum --disablerepo=docker-ce-stable ...\n\nfailure: repodata/repomd.xml from docker-ce-stable: [Errno 256] No more mirrors to try.\nhttps://download.docker.com/linux/centos/7/x86_64/stable/repodata/repomd.xml: [Errno 14] curl#6 - "Could not resolve host: download.docker.com; Unknown error"\n',
      ['docker-ce-stable'],
    ],
    [
      'yum 3 (EL6 wording)',
      'Error: Cannot retrieve repository metadata (repomd.xml) for repository: epel. Please verify its path and try again\n',
      ['epel'],
    ],
    ['a timeout of a package download is not a repository', 'Curl error (28): Timeout was reached\n', []],
  ])('unreachableRepos: %s', (_name, text, ids) => {
    expect(unreachableRepos(text)).toEqual(ids);
  });

  test.each([
    ["E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem. \n", true],
    [
      "E: dpkg was interrupted, you must manually run 'sudo dpkg --configure -a' to correct the problem. \n",
      true,
    ],
    [
      'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (unattended-upgr)\n',
      false,
    ],
  ])('dpkgWasInterrupted(%j) = %s', (text, want) => {
    expect(dpkgWasInterrupted(text)).toBe(want);
  });

  test('packagesSetUp: the Setting up lines of dpkg --configure -a', () => {
    expect(
      packagesSetUp(
        'Setting up kubeadm (1.30.4-1.1) ...\nSetting up libc6:amd64 (2.36-9) ...\nProcessing triggers for man-db (2.11.2-2) ...\nSetting up kubelet (1.30.4-1.1) ...\n',
      ),
    ).toEqual(['kubeadm', 'libc6', 'kubelet']);
  });

  test.each([
    [
      'dnf 4 (a plugin or repository exclude)',
      'All matches were filtered out by exclude filtering for argument: kubelet-1.30.13\nAll matches were filtered out by exclude filtering for argument: kubeadm-1.30.13\nError: Unable to find a match: kubelet-1.30.13 kubeadm-1.30.13\n',
      ['kubelet-1.30.13', 'kubeadm-1.30.13'],
    ],
    [
      'yum 3',
      'Loaded plugins: fastestmirror, versionlock\nExcluding 3 updates due to versionlock (use "yum versionlock status" to show them)\nNo package kubeadm-1.28.3-0 available.\nError: Nothing to do\n',
      ['kubeadm-1.28.3-0'],
    ],
    [
      'dnf 4, a version that does not exist',
      'No match for argument: kubeadm-1.30.99\nError: Unable to find a match: kubeadm-1.30.99\n',
      [],
    ],
  ])('filteredSpecs: %s', (_name, text, specs) => {
    expect(filteredSpecs(text)).toEqual(specs);
  });

  test('parseVersionlockList: dnf and yum 3 entries, excludes, comments', () => {
    expect(
      parseVersionlockList(
        '\n# Added lock on Mon Jan  6 10:00:00 2025\nkubelet-0:1.29.6-150500.1.1.*\n0:kubeadm-1.28.2-0.*\n3:docker-ce-24.0.4-1.el7.*\n!kubectl-0:1.30.0-150500.1.1.*\nnot a lock\n',
      ),
    ).toEqual([
      { entry: 'kubelet-0:1.29.6-150500.1.1.*', name: 'kubelet', exclude: false },
      { entry: '0:kubeadm-1.28.2-0.*', name: 'kubeadm', exclude: false },
      { entry: '3:docker-ce-24.0.4-1.el7.*', name: 'docker-ce', exclude: false },
      { entry: '!kubectl-0:1.30.0-150500.1.1.*', name: 'kubectl', exclude: true },
    ]);
  });
});
