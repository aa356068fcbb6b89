/**
 * zypper as a package manager: its search table (the layout of zypper's FillSearchTableSolvable:
 * `S | Name | Type | Version | Arch | Repository`, S = i / i+ installed, v another version
 * installed, l locked; `(System Packages)` for an installed version no repository offers), and
 * the commands and repository file kupgrade builds for it.
 */
import { parseZypperSearch } from '../../src/parsers';
import { PACKAGE_MANAGERS, PACKAGE_MANAGER_NAMES, K8S_PACKAGES } from '../../src/packages';
import { parseListing, pickVersion } from '../../src/activities/repo';
import { renderZypperRepo } from '../../src/packages/zypper';

const HEAD = 'Loading repository data...\nReading installed packages...\n\n';

const cases: [string, string, { name: string; version: string; installed: boolean; repo: string }[]][] = [
  [
    'nothing installed, two repositories',
    `${HEAD}S | Name    | Type    | Version           | Arch   | Repository\n--+---------+---------+-------------------+--------+-----------\n  | kubeadm | package | 1.30.4-150500.1.1 | x86_64 | Kubernetes\n  | kubeadm | package | 1.30.3-150500.1.1 | x86_64 | Kubernetes\n  | kubeadm | package | 1.30.4-150500.1.1 | x86_64 | k8s mirror \n`,
    [
      { name: 'kubeadm', version: '1.30.4-150500.1.1', installed: false, repo: 'Kubernetes' },
      { name: 'kubeadm', version: '1.30.3-150500.1.1', installed: false, repo: 'Kubernetes' },
      { name: 'kubeadm', version: '1.30.4-150500.1.1', installed: false, repo: 'k8s mirror' },
    ],
  ],
  [
    'installed by the user (i+), another version of it (v), a locked one (il)',
    `${HEAD}S  | Name    | Type    | Version           | Arch   | Repository\n---+---------+---------+-------------------+--------+-----------\ni+ | kubelet | package | 1.29.6-150500.1.1 | x86_64 | Kubernetes\nv  | kubelet | package | 1.29.15-150500.1.1 | x86_64 | Kubernetes\nil | kubectl | package | 1.29.6-150500.1.1 | x86_64 | Kubernetes\n`,
    [
      { name: 'kubelet', version: '1.29.6-150500.1.1', installed: true, repo: 'Kubernetes' },
      { name: 'kubelet', version: '1.29.15-150500.1.1', installed: false, repo: 'Kubernetes' },
      { name: 'kubectl', version: '1.29.6-150500.1.1', installed: true, repo: 'Kubernetes' },
    ],
  ],
  [
    'an installed version no repository offers any more; a source package is skipped',
    `${HEAD}S | Name    | Type       | Version           | Arch   | Repository\n--+---------+------------+-------------------+--------+------------------\ni | kubeadm | package    | 1.28.2-150500.1.1 | x86_64 | (System Packages)\n  | kubeadm | srcpackage | 1.29.6-150500.1.1 | noarch | Kubernetes\n  | kubeadm | package    | 1:1.29.6-150500.1.1 | x86_64 | Kubernetes\n`,
    [
      { name: 'kubeadm', version: '1.28.2-150500.1.1', installed: true, repo: '(System Packages)' },
      { name: 'kubeadm', version: '1:1.29.6-150500.1.1', installed: false, repo: 'Kubernetes' },
    ],
  ],
  ['no match (exit 104)', `${HEAD}No matching items found.\n`, []],
  [
    'the summary table of a search without --details has no versions',
    `${HEAD}S | Name    | Summary                     | Type\n--+---------+-----------------------------+--------\n  | kubeadm | Command-line utility for... | package\n`,
    [],
  ],
];

describe('parseZypperSearch', () => {
  test.each(cases)('%s', (_n, text, want) => {
    expect(
      parseZypperSearch(text).map(({ name, version, installed, repo }) => ({
        name,
        version,
        installed,
        repo,
      })),
    ).toEqual(want);
  });

  test('upstream drops epoch and release', () => {
    expect(parseZypperSearch(cases[2][1]).map((r) => r.upstream)).toEqual(['1.28.2', '1.29.6']);
  });
});

describe('the zypper package manager', () => {
  const z = PACKAGE_MANAGERS.zypper;
  const url = 'https://pkgs.k8s.io/core:/stable:/v1.30/rpm/';

  test('is a manager name the inventory accepts', () => {
    expect(PACKAGE_MANAGER_NAMES).toContain('zypper');
  });

  test('repository file in /etc/zypp/repos.d with the keys zypper writes', () => {
    expect(z.repoFile).toBe('/etc/zypp/repos.d/kubernetes.repo');
    const text = z.repoFileFor(url, null, {});
    expect(text).toBe(
      '[kubernetes]\nname=Kubernetes\nenabled=1\nautorefresh=1\nbaseurl=https://pkgs.k8s.io/core:/stable:/v1.30/rpm/\ntype=rpm-md\ngpgcheck=1\ngpgkey=https://pkgs.k8s.io/core:/stable:/v1.30/rpm/repodata/repomd.xml.key\n',
    );
    expect(z.configuredUrl(text)).toBe(url);
    expect(z.otherRepositories(`${renderZypperRepo(url)}[repo-oss]\nbaseurl=http://x/\n`)).toEqual([
      'repo-oss',
    ]);
    expect(z.repoFileFor(url, null, { gpgkey: 'file:///etc/pki/rpm-gpg/K' })).toContain(
      'gpgkey=file:///etc/pki/rpm-gpg/K\n',
    );
  });

  test('commands', () => {
    expect(z.listCommand(K8S_PACKAGES)).toBe(
      'zypper --non-interactive search --details --match-exact kubeadm kubelet kubectl',
    );
    expect(z.installCommand([{ name: 'kubeadm', full: '1.30.4-150500.1.1' }])).toBe(
      'zypper --non-interactive install --oldpackage kubeadm=1.30.4-150500.1.1',
    );
    expect(z.refreshCommand()).toBe('zypper --non-interactive --gpg-auto-import-keys refresh');
    const probe = z.probeCommand(url, K8S_PACKAGES);
    expect(probe).toContain('--reposd-dir "$d" --cache-dir "$d/cache" search --details --match-exact');
    expect(probe).not.toMatch(/\/etc\/zypp/);
    expect(z.probeFileCommand(url)).toContain("trap 'rm -f /etc/zypp/repos.d/kupgrade-probe.repo' EXIT");
  });

  test('a listing picks the hop version; a missing version is recognised', () => {
    const rows = ['kubeadm', 'kubelet', 'kubectl']
      .flatMap((n) => [
        `  | ${n} | package | 1.30.3-150500.1.1 | x86_64 | Kubernetes`,
        `  | ${n} | package | 1.30.4-150500.1.1 | x86_64 | Kubernetes`,
      ])
      .join('\n');
    const listed = parseListing(
      'zypper',
      `${HEAD}S | Name | Type | Version | Arch | Repository\n--+--\n${rows}\n`,
    );
    expect(pickVersion(listed, '1.30')).toEqual({
      version: '1.30.4',
      packages: { kubeadm: '1.30.4-150500.1.1', kubelet: '1.30.4-150500.1.1', kubectl: '1.30.4-150500.1.1' },
    });
    expect(z.versionMissing.test("No provider of 'kubeadm=1.30.99-150500.1.1' found.")).toBe(true);
    expect(z.versionMissing.test('Nothing to do.')).toBe(false);
  });
});
