/**
 * The lab's package managers (lab/src/model/package-managers.ts): which options fit which
 * manager, and what a node starts with under each.
 */
import {
  isLabPackageManager,
  LAB_PACKAGE_MANAGERS,
  LAB_PACKAGE_MANAGER_NAMES,
  optionMismatch,
} from '../../lab/src/model/package-managers';
import { PACKAGE_MANAGER_NAMES } from '../../src/packages/names';

describe('lab package managers', () => {
  it('knows the same names as kupgrade, and nothing else', () => {
    expect([...LAB_PACKAGE_MANAGER_NAMES].sort()).toEqual([...PACKAGE_MANAGER_NAMES].sort());
    expect(LAB_PACKAGE_MANAGER_NAMES).toContain('zypper');
    expect(isLabPackageManager('zypper')).toBe(true);
    expect(isLabPackageManager('pacman')).toBe(false);
    expect(isLabPackageManager('toString')).toBe(false);
  });

  it.each([
    ['zypper', { repo: 'legacy' as const }, /--packages zypper has no legacy repository/],
    ['dnf', { os: 'el7' }, /--os el7 needs --packages yum/],
    ['apt', { os: 'el7' }, /--os el7 needs --packages yum/],
    ['apt', { versionlock: true }, /--versionlock is a yum\/dnf plugin; --packages apt has none/],
    ['zypper', { versionlock: true }, /--packages zypper has none/],
  ] as const)('%s refuses %j', (name, o, re) => {
    expect(optionMismatch(name, o)).toMatch(re);
  });

  it.each([
    ['yum', { os: 'el7', versionlock: true, repo: 'legacy' as const }],
    ['dnf', { versionlock: true, repo: 'mirror' as const }],
    ['apt', { repo: 'legacy' as const }],
    ['zypper', { repo: 'pkgs.k8s.io' as const }],
  ] as const)('%s accepts %j', (name, o) => {
    expect(optionMismatch(name, o)).toBeNull();
  });

  it('writes each manager its own repository definition, apt with the keyring its list names', () => {
    const paths = (n: keyof typeof LAB_PACKAGE_MANAGERS) =>
      LAB_PACKAGE_MANAGERS[n].repoFiles('pkgs.k8s.io', 30).map(([rel]) => rel);
    expect(paths('yum')).toEqual(['etc/yum.repos.d/kubernetes.repo']);
    expect(paths('zypper')).toEqual(['etc/zypp/repos.d/kubernetes.repo']);
    const [list, keyring] = LAB_PACKAGE_MANAGERS.apt.repoFiles('pkgs.k8s.io', 30);
    expect(list[0]).toBe('etc/apt/sources.list.d/kubernetes.list');
    expect(list[1]).toContain(`signed-by=/${keyring[0]}`);
    expect(list[1]).toContain('https://pkgs.k8s.io/core:/stable:/v1.30/deb/');
    expect(keyring[1].length).toBeGreaterThan(0);
    const [[, zypperRepo]] = LAB_PACKAGE_MANAGERS.zypper.repoFiles('mirror', 29);
    expect(zypperRepo).toContain('baseurl=https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.29/rpm/');
  });

  it('holds the packages after an apt install only', () => {
    expect(LAB_PACKAGE_MANAGERS.apt.heldAfterInstall).toEqual(['kubeadm', 'kubelet', 'kubectl']);
    for (const n of ['yum', 'dnf', 'zypper'] as const)
      expect(LAB_PACKAGE_MANAGERS[n].heldAfterInstall).toEqual([]);
  });
});
