/** Pure parts of the lab: renderers, parsers, the version policy, the plan and the time model. */
import {
  goDuration,
  humanDuration,
  parseGoDuration,
  shellJoin,
  tabwrite,
  kubectlTable,
} from '../../lab/src/model/format';
import {
  availableVersions,
  classifyUrl,
  globToRegExp,
  isExcluded,
  parseAptList,
  parseYumRepoFile,
  yumSpecMatches,
} from '../../lab/src/model/packages';
import { aptListFile, manifest, manifestImageTag, retag, yumRepoFile } from '../../lab/src/model/manifests';
import {
  TIME,
  applyMs,
  hopBoundMs,
  nodeUpgradeMs,
  scaled,
  pdbLoadsOf,
  workerPrepareMs,
} from '../../lab/src/model/time-model';
import { buildInitialState, type LabSpec } from '../../lab/src/model/state';
import { planUpgrades, renderKubeadmVersion, unifiedDiff, versionPolicy } from '../../lab/src/tools/kubeadm';
import { parseFlags } from '../../lab/src/tools/argv';
import { parseYumArgs } from '../../lab/src/tools/packages';

describe('format', () => {
  test("tabwriter(10, 4, 3) reproduces kubeadm's plan table", () => {
    expect(
      tabwrite([
        ['COMPONENT', 'NODE', 'CURRENT', 'TARGET'],
        ['kube-controller-manager', 'master1', 'v1.32.5', 'v1.33.1'],
        ['kube-proxy', '', '1.32.5', 'v1.33.1'],
        ['etcd', 'master1', '3.5.16-0', '3.5.21-0'],
      ]),
    ).toBe(
      'COMPONENT                 NODE      CURRENT    TARGET\n' +
        'kube-controller-manager   master1   v1.32.5    v1.33.1\n' +
        'kube-proxy                          1.32.5     v1.33.1\n' +
        'etcd                      master1   3.5.16-0   3.5.21-0\n',
    );
    expect(
      tabwrite([
        ['COMPONENT', 'NODE', 'CURRENT', 'TARGET'],
        ['kubelet', 'master1', 'v1.32.5', 'v1.33.1'],
      ]),
    ).toBe('COMPONENT   NODE      CURRENT   TARGET\nkubelet     master1   v1.32.5   v1.33.1\n');
  });

  test('kubectl table: gap of 3, no minimum width', () => {
    expect(
      kubectlTable([
        ['NAME', 'STATUS'],
        ['cp-1', 'Ready,SchedulingDisabled'],
      ]),
    ).toBe('NAME   STATUS\ncp-1   Ready,SchedulingDisabled\n');
  });

  test.each([
    [0, '0s'],
    [30_000, '30s'],
    [120_000, '2m0s'],
    [300_000, '5m0s'],
    [1_200_000, '20m0s'],
    [3_600_000, '1h0m0s'],
    [1_500, '1.5s'],
  ])('goDuration(%d) = %s', (ms, s) => expect(goDuration(ms)).toBe(s));

  test.each([
    ['5m', 300_000],
    ['300s', 300_000],
    ['1h30m', 5_400_000],
    ['0', 0],
    ['2m0s', 120_000],
    ['5x', null],
    ['', null],
  ])('parseGoDuration(%s)', (s, ms) => expect(parseGoDuration(s)).toBe(ms));

  test.each([
    [5_000, '5s'],
    [119_000, '119s'],
    [5 * 60_000 + 7_000, '5m7s'],
    [40 * 86_400_000, '40d'],
    [3 * 86_400_000 + 5 * 3_600_000, '3d5h'],
  ])('humanDuration(%d) = %s', (ms, s) => expect(humanDuration(ms)).toBe(s));

  test('shellJoin quotes only where needed', () => {
    expect(shellJoin(['yum', 'install', '-y', 'kubeadm-1.30.4-*', '--disableexcludes=kubernetes'])).toBe(
      "yum install -y 'kubeadm-1.30.4-*' --disableexcludes=kubernetes",
    );
    expect(shellJoin(['echo', "it's"])).toBe("echo 'it'\\''s'");
  });
});

describe('packages', () => {
  test('the repo file up writes parses back to its minor and excludes', () => {
    const [r] = parseYumRepoFile(yumRepoFile('pkgs.k8s.io', 30));
    expect(r).toMatchObject({
      id: 'kubernetes',
      name: 'Kubernetes',
      enabled: true,
      source: { kind: 'pkgs', minor: 30 },
    });
    expect(r!.exclude).toEqual(['kubelet', 'kubeadm', 'kubectl', 'cri-tools', 'kubernetes-cni']);
    const [m] = parseYumRepoFile(yumRepoFile('mirror', 31));
    expect(m!.baseurl).toBe('https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.31/rpm/');
    expect(m!.source).toMatchObject({ kind: 'pkgs', minor: 31 });
  });

  test("the seed's legacy aliyun repo is the frozen legacy catalog (1.x.y-0)", () => {
    const src = classifyUrl('http://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64', 'rpm');
    expect(src).toMatchObject({ kind: 'legacy' });
    const v = availableVersions(src!, 'rpm');
    expect(v.find((x) => x.version === '1.22.3')).toBeUndefined(); // the lab starts at 1.24
    expect(v.map((x) => x.full)).toContain('1.27.4-0');
    expect(v[v.length - 1]!.full).toBe('1.28.2-0');
    expect(availableVersions(src!, 'deb')[0]!.full).toBe('1.24.0-00');
  });

  test('apt lists: pkgs.k8s.io and legacy lines, madison origins', () => {
    const [s] = parseAptList(aptListFile('pkgs.k8s.io', 30));
    expect(s!.madisonOrigin).toBe('https://pkgs.k8s.io/core:/stable:/v1.30/deb  Packages');
    expect(s!.updateName).toBe(
      'https://prod-cdn.packages.k8s.io/repositories/isv:/kubernetes:/core:/stable:/v1.30/deb  InRelease',
    );
    const [l] = parseAptList(
      'deb [signed-by=/usr/share/keyrings/kubernetes-archive-keyring.gpg] https://apt.kubernetes.io/ kubernetes-xenial main\n',
    );
    expect(l!.madisonOrigin).toBe('https://apt.kubernetes.io kubernetes-xenial/main amd64 Packages');
    expect(parseAptList('# nothing\ndeb http://deb.debian.org/debian bookworm main\n')).toEqual([]);
  });

  test.each([
    ['kubeadm', true],
    ['kubeadm-1.30.4', true],
    ['kubeadm-1.30.4-*', true],
    ['kubeadm-1.30.*', true],
    ['kubeadm-1.30.4-150500.1.1', true],
    ['kubeadm-1.30.4-150500.1.1.x86_64', true],
    ['kubeadm-1.30.5-*', false],
    ['kubelet-1.30.4-*', false],
  ])('yum spec %s matches kubeadm 1.30.4-150500.1.1: %s', (spec, want) => {
    expect(yumSpecMatches(spec, 'kubeadm', '1.30.4-150500.1.1')).toBe(want);
  });

  test('globs and excludes', () => {
    expect(globToRegExp('1.30.4-*').test('1.30.4-1.1')).toBe(true);
    expect(globToRegExp('1.30.4-*').test('1.30.40-1.1')).toBe(false);
    expect(isExcluded('kubelet', ['kube*'])).toBe(true);
    expect(isExcluded('cri-tools', ['kubelet', 'kubeadm'])).toBe(false);
  });

  test('yum/dnf options', () => {
    expect(parseYumArgs(['install', '-y', 'kubeadm-1.30.4-*', '--disableexcludes=kubernetes'])).toMatchObject(
      {
        yes: true,
        disableExcludes: ['kubernetes'],
        positionals: ['install', 'kubeadm-1.30.4-*'],
        error: null,
      },
    );
    expect(parseYumArgs(['list', '--setopt=disable_excludes=kubernetes']).disableExcludes).toEqual([
      'kubernetes',
    ]);
    expect(parseYumArgs(['list', '--bogus']).error).toBe('unrecognized arguments: --bogus');
  });
});

describe('manifests', () => {
  test('retag changes only the image line', () => {
    const m = manifest('kube-apiserver', '10.0.0.1', 'registry.k8s.io/kube-apiserver:v1.29.6');
    const n = retag(m, 'kube-apiserver', 'registry.k8s.io', 'v1.30.4');
    expect(manifestImageTag(n)).toBe('v1.30.4');
    expect(n.replace('v1.30.4', 'v1.29.6')).toBe(m);
    const d = unifiedDiff(m, n, '/etc/kubernetes/manifests/kube-apiserver.yaml', 'new manifest');
    expect(d).toMatch(
      /^--- \/etc\/kubernetes\/manifests\/kube-apiserver\.yaml\n\+\+\+ new manifest\n@@ -\d+,7 \+\d+,7 @@\n/,
    );
    expect(d).toContain(
      '\n-    image: registry.k8s.io/kube-apiserver:v1.29.6\n+    image: registry.k8s.io/kube-apiserver:v1.30.4\n',
    );
    expect(unifiedDiff(m, m, 'a', 'b')).toBe('');
  });
});

describe('kubeadm', () => {
  test.each([
    ['1.29.6', '1.30.4', '1.30.4', [], []],
    [
      '1.29.6',
      '1.30.4',
      '1.31.0',
      ['too high', 'at least one minor release higher than the kubeadm minor release (31 > 30)'],
      [],
    ],
    ['1.29.6', '1.30.4', '1.30.9', [], ['is higher than the kubeadm version "v1.30.4"']],
    [
      '1.30.4',
      '1.31.2',
      '1.30.9',
      [],
      ['Kubeadm version v1.31.2 can only be used to upgrade to Kubernetes version 1.31'],
    ],
    [
      '1.30.4',
      '1.30.4',
      '1.28.0',
      [
        'too low; kubeadm can downgrade only 1 minor version at a time',
        'is equal to or lower than the minimum supported version "v1.30.4"',
      ],
      ['Kubeadm version v1.30.4 can only be used to upgrade to Kubernetes version 1.30'],
    ],
  ])('policy cluster %s kubeadm %s -> %s', (c, k, t, mand, skip) => {
    const r = versionPolicy(c, k, t, [c]);
    expect(r.mandatory).toHaveLength(mand.length);
    mand.forEach((m, i) => expect(r.mandatory[i]).toContain(m));
    expect(r.skippable).toHaveLength(skip.length);
    skip.forEach((m, i) => expect(r.skippable[i]).toContain(m));
  });

  test('too old kubelets are a skippable error (skew 3 from 1.29)', () => {
    expect(versionPolicy('1.29.6', '1.30.4', '1.30.4', ['1.26.0']).skippable).toEqual([
      'There are kubelets in this cluster that are too old that have these versions [v1.26.0]',
    ]);
  });

  test('plan: series block and stable block', () => {
    const input = {
      kubeadmVersion: '1.30.4',
      clusterVersion: '1.29.6',
      target: '1.30.4',
      nodes: [],
      kubeProxy: '1.29.6',
      coredns: 'v1.11.1',
    };
    expect(planUpgrades(input)).toEqual([
      { description: 'version in the v1.29 series', newVersion: '1.29.15' },
      { description: 'stable version', newVersion: '1.30.4' },
    ]);
    expect(planUpgrades({ ...input, clusterVersion: '1.30.4' })).toEqual([]);
  });

  test('version -o yaml sorts keys like sigs.k8s.io/yaml', () => {
    expect(renderKubeadmVersion('1.30.4', 'yaml')).toMatch(
      /^clientVersion:\n {2}buildDate: .*\n {2}compiler: gc\n {2}gitCommit: /,
    );
    expect(renderKubeadmVersion('1.30.4', 'xml')).toBeNull();
  });
});

describe('argv (pflag)', () => {
  const defs = [
    { name: 'yes', short: 'y', type: 'bool' as const },
    { name: 'output', short: 'o', type: 'string' as const },
  ];
  test.each([
    [['-y', 'v1.30.4'], { flags: { yes: true }, args: ['v1.30.4'], error: null }],
    [['-ojson'], { flags: { output: 'json' }, args: [], error: null }],
    [['--output=yaml', '--yes=false'], { flags: { output: 'yaml', yes: false }, args: [], error: null }],
    [['--foo'], { error: 'unknown flag: --foo' }],
    [['-x'], { error: "unknown shorthand flag: 'x' in -x" }],
    [['--output'], { error: 'flag needs an argument: --output' }],
  ])('%j', (argv, want) => expect(parseFlags(argv, defs)).toMatchObject(want));
});

describe('time model', () => {
  test('scaled by speed', () => {
    expect(scaled(TIME.kubeletReadyMs, 100)).toBe(TIME.kubeletReadyMs / 100);
    expect(applyMs()).toBeGreaterThan(120_000); // apply takes minutes
    expect(applyMs(false)).toBeLessThan(applyMs(true));
  });

  test('critical-path bound: first CP > other CP > worker; waves of maxUnavailable', () => {
    const first = nodeUpgradeMs({ role: 'control-plane', first: true, pods: 1 });
    const other = nodeUpgradeMs({ role: 'control-plane', first: false, pods: 1 });
    const worker = nodeUpgradeMs({ role: 'worker', first: false, pods: 3 });
    expect(first).toBeGreaterThan(other);
    expect(other).toBeGreaterThan(worker);
    expect(hopBoundMs({ controlPlanes: 1, workers: 10, maxUnavailable: 5, podsPerWorker: 3 })).toBe(
      first + 2 * worker,
    );
    expect(hopBoundMs({ controlPlanes: 3, workers: 10, maxUnavailable: 1, podsPerWorker: 3 })).toBe(
      first + 2 * other + 10 * worker,
    );
  });

  test.each([
    // [workers, maxUnavailable, pdbs, workers' part of the bound]
    ['prepared ahead: only the first preparation is on the path', 10, 5, [], 2],
    ['a PDB of one disruption serialises 10 evictions behind pod starts', 10, 5, [[10, 1]], 'pdb10'],
    ['two at a time: half the rounds', 10, 5, [[10, 2]], 'pdb5'],
    ['a PDB that lets the window through changes nothing', 10, 5, [[10, 10]], 2],
  ] as const)('bound with prepareAhead: %s', (_, workers, mu, pdbs, want) => {
    const first = nodeUpgradeMs({ role: 'control-plane', first: true, pods: 1 });
    const worker = nodeUpgradeMs({ role: 'worker', first: false, pods: 3 });
    const prep = workerPrepareMs();
    const bound = hopBoundMs({
      controlPlanes: 1,
      workers,
      maxUnavailable: mu,
      podsPerWorker: 3,
      prepareAhead: true,
      pdbs: pdbs.map(([evictions, disruptionsAllowed]) => ({ evictions, disruptionsAllowed })),
    });
    const waves = prep + 2 * (worker - prep);
    const expected =
      want === 'pdb10'
        ? worker + 9 * TIME.podStartMs
        : want === 'pdb5'
          ? Math.max(waves, worker + 4 * TIME.podStartMs)
          : waves;
    expect(bound).toBe(first + expected);
    // never above the bound of running each wave whole
    if (pdbs.length === 0) expect(bound).toBeLessThan(first + 2 * worker);
  });

  test('the PDB loads of a fresh lab: web and api, one pod per worker each, one disruption at a time', () => {
    const spec: LabSpec = {
      name: 'pdb',
      version: '1.29.6',
      packages: 'yum',
      repo: 'pkgs.k8s.io',
      speed: 1,
      seed: 'pdb',
      createdAt: '2026-12-02T00:00:00Z',
      nodes: [
        { name: 'cp-1', role: 'control-plane', address: '127.0.0.2', port: 22 },
        ...[1, 2, 3, 4].map((i) => ({
          name: `w-${i}`,
          role: 'worker' as const,
          address: `127.0.0.${2 + i}`,
          port: 22,
        })),
      ],
      controller: null,
      ssh: null,
      options: { cordoned: [], podsPerWorker: 3, emptyDirPods: 0, unmanagedPods: 0 },
    };
    expect(pdbLoadsOf(buildInitialState(spec, Date.UTC(2026, 11, 2)))).toEqual([
      { evictions: 4, disruptionsAllowed: 1 },
      { evictions: 4, disruptionsAllowed: 1 },
    ]);
  });
});
