/**
 * Package listings and errors as yum 3 (EL7), dnf 4 and apt print them (issue 12 item 5).
 * yum 3's `list` layout follows its output.py: columns sized to fill 80 characters; a value wider
 * than its column is printed, then a newline and the indent of the next column (fmtColumns).
 */
import { parseYumShowDuplicates } from '../../src/parsers';

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
 * yum 3 when the widest values do not fit 80 columns (a long installed-from repo id): the version
 * overflows its column, the repository goes on the next line under its column; a name that
 * overflows puts the version and repository on the next line.
 */
const YUM3_WRAPPED = `Loaded plugins: fastestmirror
Installed Packages
kubelet.x86_64      1.29.6-150500.1.1
                                        @kubernetes-new-core-stable-v1.29-rpm-mirror-internal
Available Packages
kubelet.x86_64      1.30.14-150500.1.1
                                        kubernetes                                           
kubernetes-cni.x86_64
                    1.4.0-150500.1.1    kubernetes                                           
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

  test('rows wrapped after the version or after the name are joined back', () => {
    const r = parseYumShowDuplicates(YUM3_WRAPPED);
    expect(r.installed).toEqual([
      {
        name: 'kubelet',
        arch: 'x86_64',
        version: '1.29.6-150500.1.1',
        upstream: '1.29.6',
        repo: '@kubernetes-new-core-stable-v1.29-rpm-mirror-internal',
        installed: true,
      },
    ]);
    expect(r.available.map((p) => `${p.name} ${p.version} ${p.repo}`)).toEqual([
      'kubelet 1.30.14-150500.1.1 kubernetes',
      'kubernetes-cni 1.4.0-150500.1.1 kubernetes',
    ]);
  });
});
