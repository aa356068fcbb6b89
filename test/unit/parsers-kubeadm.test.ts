/** Table tests on the kubeadm samples of shared/reference/kubeadm.md. */
import {
  findBackupDirs,
  parseApplyResult,
  parseKubeadmVersion,
  parseUpgradePlanJson,
  parseUpgradePlan,
  parseUpgradePlanText,
  ParseError,
} from '../../src/parsers';

describe('parseKubeadmVersion', () => {
  test.each([
    [
      'default 1.32',
      'kubeadm version: &version.Info{Major:"1", Minor:"32", GitVersion:"v1.32.4", GitCommit:"59526cd4", GitTreeState:"clean", BuildDate:"2025-04-22T16:02:27Z", GoVersion:"go1.23.6", Compiler:"gc", Platform:"linux/amd64"}\n',
      '1.32.4',
    ],
    [
      'default 1.33 with emulation fields',
      'kubeadm version: &version.Info{Major:"1", Minor:"33", EmulationMajor:"", EmulationMinor:"", MinCompatibilityMajor:"", MinCompatibilityMinor:"", GitVersion:"v1.33.1", GitCommit:"8adc0f04", GitTreeState:"clean", BuildDate:"2025-05-15T08:19:08Z", GoVersion:"go1.24.2", Compiler:"gc", Platform:"linux/amd64"}\n',
      '1.33.1',
    ],
    ['short', 'v1.33.1\n', '1.33.1'],
    [
      'json',
      '{\n  "clientVersion": {\n    "major": "1",\n    "minor": "30",\n    "gitVersion": "v1.30.4",\n    "gitCommit": "a51b3b71",\n    "gitTreeState": "clean",\n    "buildDate": "2024-08-14T19:02:46Z",\n    "goVersion": "go1.22.5",\n    "compiler": "gc",\n    "platform": "linux/amd64"\n  }\n}\n',
      '1.30.4',
    ],
    [
      'yaml',
      'clientVersion:\n  buildDate: "2024-08-14T19:02:46Z"\n  gitVersion: v1.29.8\n  major: "1"\n',
      '1.29.8',
    ],
    ['pre-release', 'v1.31.0-rc.1\n', '1.31.0-rc.1'],
  ])('%s', (_name, text, want) => {
    const v = parseKubeadmVersion(text);
    expect(v.text).toBe(want);
    expect(v.gitVersion).toBe(`v${want}`);
  });

  test('garbage is a ParseError', () => {
    expect(() => parseKubeadmVersion('bash: kubeadm: command not found')).toThrow(ParseError);
  });
});

const PLAN_133 = `[preflight] Running pre-flight checks.
[upgrade/config] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...
[upgrade/config] Use 'kubeadm init phase upload-config --config your-config-file' to re-upload it.
[upgrade] Running cluster health checks
[upgrade] Fetching available versions to upgrade to
[upgrade/versions] Cluster version: 1.32.5
[upgrade/versions] kubeadm version: v1.33.1
[upgrade/versions] Target version: v1.33.1
[upgrade/versions] Latest version in the v1.32 series: v1.32.5

Components that must be upgraded manually after you have upgraded the control plane with 'kubeadm upgrade apply':
COMPONENT   NODE      CURRENT   TARGET
kubelet     master1   v1.32.5   v1.33.1

Upgrade to the latest stable version:

COMPONENT                 NODE      CURRENT    TARGET
kube-apiserver            master1   v1.32.5    v1.33.1
kube-controller-manager   master1   v1.32.5    v1.33.1
kube-scheduler            master1   v1.32.5    v1.33.1
kube-proxy                          1.32.5     v1.33.1
CoreDNS                             v1.11.3    v1.12.0
etcd                      master1   3.5.16-0   3.5.21-0

You can now apply the upgrade by executing the following command:

\tkubeadm upgrade apply v1.33.1

_____________________________________________________________________


The table below shows the current state of component configs as understood by this version of kubeadm.
Configs that have a "yes" mark in the "MANUAL UPGRADE REQUIRED" column require manual config upgrade or
resetting to kubeadm defaults before a successful upgrade can be performed. The version to manually
upgrade to is denoted in the "PREFERRED VERSION" column.

API GROUP                 CURRENT VERSION   PREFERRED VERSION   MANUAL UPGRADE REQUIRED
kubeproxy.config.k8s.io   v1alpha1          v1alpha1            no
kubelet.config.k8s.io     v1beta1           v1beta1             no
_____________________________________________________________________

`;

const PLAN_126 = `[upgrade/config] Making sure the configuration is correct:
[upgrade/config] Reading configuration from the cluster...
[upgrade/config] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'
[preflight] Running pre-flight checks.
[upgrade] Running cluster health checks
[upgrade] Fetching available versions to upgrade to
[upgrade/versions] Cluster version: v1.26.0
[upgrade/versions] kubeadm version: v1.26.3
[upgrade/versions] Target version: v1.26.3
[upgrade/versions] Latest version in the v1.26 series: v1.26.3

Components that must be upgraded manually after you have upgraded the control plane with 'kubeadm upgrade apply':
COMPONENT   CURRENT       TARGET
kubelet     7 x v1.26.0   v1.26.3
            1 x v1.27.0   v1.26.3

Upgrade to the latest version in the v1.26 series:

COMPONENT                 CURRENT   TARGET
kube-apiserver            v1.26.0   v1.26.3
kube-controller-manager   v1.26.0   v1.26.3
kube-scheduler            v1.26.0   v1.26.3
kube-proxy                v1.26.0   v1.26.3
CoreDNS                   v1.9.3    v1.9.3
etcd                      3.5.6-0   3.5.6-0

You can now apply the upgrade by executing the following command:

\tkubeadm upgrade apply v1.26.3

Note: Before you can perform this upgrade, you have to update kubeadm to v1.26.3.

_____________________________________________________________________

`;

describe('parseUpgradePlanText', () => {
  test('1.30+ form: NODE column, cluster version without v, config table', () => {
    const p = parseUpgradePlanText(PLAN_133);
    expect(p).toMatchObject({
      clusterVersion: '1.32.5',
      kubeadmVersion: '1.33.1',
      targetVersion: '1.33.1',
      upToDate: false,
    });
    expect(p.availableUpgrades).toHaveLength(1);
    const u = p.availableUpgrades[0];
    expect(u?.description).toBe('stable version');
    expect(u?.applyVersion).toBe('1.33.1');
    expect(u?.components).toHaveLength(7);
    expect(u?.components[0]).toEqual({
      name: 'kubelet',
      nodeName: 'master1',
      currentVersion: 'v1.32.5',
      newVersion: 'v1.33.1',
    });
    expect(u?.components.find((c) => c.name === 'kube-proxy')).toEqual({
      name: 'kube-proxy',
      currentVersion: '1.32.5',
      newVersion: 'v1.33.1',
    });
    expect(u?.components.find((c) => c.name === 'etcd')).toMatchObject({
      nodeName: 'master1',
      newVersion: '3.5.21-0',
    });
    expect(p.configVersions).toEqual([
      {
        group: 'kubeproxy.config.k8s.io',
        currentVersion: 'v1alpha1',
        preferredVersion: 'v1alpha1',
        manualUpgradeRequired: false,
      },
      {
        group: 'kubelet.config.k8s.io',
        currentVersion: 'v1beta1',
        preferredVersion: 'v1beta1',
        manualUpgradeRequired: false,
      },
    ]);
  });

  test('pre-1.30 form: no NODE, "N x" kubelet rows with continuation, kubeadm update note', () => {
    const p = parseUpgradePlanText(PLAN_126);
    expect(p.clusterVersion).toBe('1.26.0');
    const u = p.availableUpgrades[0];
    expect(u?.description).toBe('version in the v1.26 series');
    expect(u?.kubeadmUpgradeRequiredTo).toBe('1.26.3');
    expect(u?.components.filter((c) => c.name === 'kubelet')).toEqual([
      { name: 'kubelet', currentVersion: '7 x v1.26.0', newVersion: 'v1.26.3' },
      { name: 'kubelet', currentVersion: '1 x v1.27.0', newVersion: 'v1.26.3' },
    ]);
    expect(u?.components.map((c) => c.name)).toEqual([
      'kubelet',
      'kubelet',
      'kube-apiserver',
      'kube-controller-manager',
      'kube-scheduler',
      'kube-proxy',
      'CoreDNS',
      'etcd',
    ]);
  });

  test('two blocks (patch in series, then stable)', () => {
    const block = PLAN_133.split('_____')[0] ?? '';
    const two = `${block.replace('latest stable version', 'latest version in the v1.32 series')}_____________________________________________________________________\n\n${PLAN_133.slice(PLAN_133.indexOf('Components that must'))}`;
    const p = parseUpgradePlanText(two);
    expect(p.availableUpgrades.map((u) => u.description)).toEqual([
      'version in the v1.32 series',
      'stable version',
    ]);
  });

  test.each([
    [
      'old up-to-date line',
      "[upgrade/versions] Target version: v1.18.2\nAwesome, you're up-to-date! Enjoy!\n",
    ],
    [
      'modern: no tables on stdout',
      '[upgrade/versions] Cluster version: 1.33.1\n[upgrade/versions] kubeadm version: v1.33.1\n',
    ],
  ])('up to date: %s', (_n, text) => {
    const p = parseUpgradePlanText(text);
    expect(p.upToDate).toBe(true);
    expect(p.availableUpgrades).toEqual([]);
  });
});

test('≤1.20 plan tables use AVAILABLE instead of TARGET', () => {
  const p =
    parseUpgradePlanText(`Components that must be upgraded manually after you have upgraded the control plane with 'kubeadm upgrade apply':
COMPONENT   CURRENT       AVAILABLE
kubelet     3 x v1.19.3   v1.20.0

Upgrade to the latest stable version:

COMPONENT                 CURRENT   AVAILABLE
kube-apiserver            v1.19.3   v1.20.0

You can now apply the upgrade by executing the following command:

\tkubeadm upgrade apply v1.20.0

_____________________________________________________________________
`);
  expect(p.availableUpgrades[0]?.components).toEqual([
    { name: 'kubelet', currentVersion: '3 x v1.19.3', newVersion: 'v1.20.0' },
    { name: 'kube-apiserver', currentVersion: 'v1.19.3', newVersion: 'v1.20.0' },
  ]);
});

describe('parseUpgradePlan (either form)', () => {
  const json = JSON.stringify({
    kind: 'UpgradePlan',
    apiVersion: 'output.kubeadm.k8s.io/v1alpha3',
    configVersions: [{ group: 'kubelet.config.k8s.io', manualUpgradeRequired: true }],
  });
  test('JSON after log lines', () => {
    const p = parseUpgradePlan(`[upgrade] Running cluster health checks\n${json}\n`);
    expect(p.configVersions.map((c) => [c.group, c.manualUpgradeRequired])).toEqual([
      ['kubelet.config.k8s.io', true],
    ]);
  });
  test('text tables, and a note that kubeadm must be updated first', () => {
    const p = parseUpgradePlan(`[upgrade/versions] Cluster version: 1.29.6
Upgrade to the latest stable version:

COMPONENT                 NODE      CURRENT    TARGET
kube-apiserver            cp-1      v1.29.6    v1.30.4

You can now apply the upgrade by executing the following command:

\tkubeadm upgrade apply v1.30.4

Note: Before you can perform this upgrade, you have to update kubeadm to v1.30.4.

_____________________________________________________________________

API GROUP                 CURRENT VERSION   PREFERRED VERSION   MANUAL UPGRADE REQUIRED
kubeproxy.config.k8s.io   v1alpha1          v1alpha2            yes
kubelet.config.k8s.io     v1beta1           v1beta1             no
_____________________________________________________________________
`);
    expect(p.availableUpgrades.map((u) => u.kubeadmUpgradeRequiredTo)).toEqual(['1.30.4']);
    expect(p.configVersions.filter((c) => c.manualUpgradeRequired).map((c) => c.group)).toEqual([
      'kubeproxy.config.k8s.io',
    ]);
  });
  test('a refusal is no plan: nothing to act on', () => {
    const p = parseUpgradePlan('[upgrade/version] FATAL: the --version argument is invalid\n');
    expect(p).toMatchObject({ upToDate: true, availableUpgrades: [], configVersions: [] });
  });
});

describe('parseUpgradePlanJson', () => {
  test('v1alpha3 after log lines', () => {
    const text = `[upgrade] Running cluster health checks
[upgrade] Fetching available versions to upgrade to
{
  "kind": "UpgradePlan",
  "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
  "availableUpgrades": [
    {
      "description": "stable version",
      "components": [
        {"name": "kubelet", "currentVersion": "v1.29.6", "newVersion": "v1.30.4", "nodeName": "cp-1"},
        {"name": "kube-apiserver", "currentVersion": "v1.29.6", "newVersion": "v1.30.4", "nodeName": "cp-1"},
        {"name": "kube-proxy", "currentVersion": "1.29.6", "newVersion": "v1.30.4"},
        {"name": "kubeadm", "currentVersion": "v1.30.4", "newVersion": "v1.30.4"}
      ]
    }
  ],
  "configVersions": [
    {"group": "kubelet.config.k8s.io", "currentVersion": "v1beta1", "preferredVersion": "v1beta1", "manualUpgradeRequired": false}
  ]
}
`;
    const p = parseUpgradePlanJson(text);
    expect(p.upToDate).toBe(false);
    expect(p.availableUpgrades[0]?.components).toHaveLength(4);
    expect(p.availableUpgrades[0]?.components[2]).toEqual({
      name: 'kube-proxy',
      currentVersion: '1.29.6',
      newVersion: 'v1.30.4',
    });
    expect(p.availableUpgrades[0]?.components.find((c) => c.name === 'kubeadm')).toBeDefined();
    expect(p.configVersions[0]?.manualUpgradeRequired).toBe(false);
  });

  test('v1alpha2 flat components', () => {
    const p = parseUpgradePlanJson(
      '{"apiVersion":"output.kubeadm.k8s.io/v1alpha2","kind":"UpgradePlan","components":[{"name":"kubelet","currentVersion":"1 x v1.28.0","newVersion":"v1.28.3"},{"name":"kube-apiserver","currentVersion":"v1.28.0","newVersion":"v1.28.3"}],"configVersions":[]}\n',
    );
    expect(p.availableUpgrades).toEqual([
      {
        description: '',
        components: [
          { name: 'kubelet', currentVersion: '1 x v1.28.0', newVersion: 'v1.28.3' },
          { name: 'kube-apiserver', currentVersion: 'v1.28.0', newVersion: 'v1.28.3' },
        ],
      },
    ]);
  });

  test('up to date: no availableUpgrades', () => {
    expect(
      parseUpgradePlanJson('{"kind":"UpgradePlan","apiVersion":"output.kubeadm.k8s.io/v1alpha3"}').upToDate,
    ).toBe(true);
  });

  test('no JSON at all is a ParseError', () => {
    expect(() => parseUpgradePlanJson('[upgrade/config] FATAL: something')).toThrow(ParseError);
  });
});

const APPLY_133 = `[upgrade] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...
[upgrade/preflight] Running preflight checks
[upgrade/preflight] You have chosen to upgrade the cluster version to "v1.33.1"
[upgrade/versions] Cluster version: v1.32.5
[upgrade/versions] kubeadm version: v1.33.1
[upgrade/control-plane] Upgrading your static Pod-hosted control plane to version "v1.33.1" (timeout: 5m0s)...
[upgrade/staticpods] Writing new Static Pod manifests to "/etc/kubernetes/tmp/kubeadm-upgraded-manifests2868894685"
[upgrade/staticpods] Preparing for "etcd" upgrade
[upgrade/staticpods] Moving new manifest to "/etc/kubernetes/manifests/etcd.yaml" and backing up old manifest to "/etc/kubernetes/tmp/kubeadm-backup-manifests-2025-05-29-18-04-05/etcd.yaml"
[upgrade/staticpods] Moving new manifest to "/etc/kubernetes/manifests/kube-apiserver.yaml" and backing up old manifest to "/etc/kubernetes/tmp/kubeadm-backup-manifests-2025-05-29-18-04-05/kube-apiserver.yaml"
[upgrade/control-plane] The control plane instance for this node was successfully upgraded!
W0529 18:07:26.782293    8899 postupgrade.go:117] Using temporary directory /etc/kubernetes/tmp/kubeadm-kubelet-config3501317304 for kubelet config.
[upgrade] Backing up kubelet config file to /etc/kubernetes/tmp/kubeadm-kubelet-config3501317304/config.yaml
[addons] Applied essential addon: CoreDNS
[addons] Applied essential addon: kube-proxy

[upgrade] SUCCESS! A control plane node of your cluster was upgraded to "v1.33.1".

[upgrade] Now please proceed with upgrading the rest of the nodes by following the right order.
`;

describe('parseApplyResult', () => {
  test('1.32+ success with addons and backups', () => {
    expect(parseApplyResult(APPLY_133)).toEqual({
      ok: true,
      version: '1.33.1',
      dryRun: false,
      addonsSkippedFor: [],
      addonsApplied: ['CoreDNS', 'kube-proxy'],
      backupDirs: [
        '/etc/kubernetes/tmp/kubeadm-backup-manifests-2025-05-29-18-04-05',
        '/etc/kubernetes/tmp/kubeadm-kubelet-config3501317304',
      ],
    });
  });

  test('≤1.31 success line', () => {
    const r = parseApplyResult(
      '[upgrade/version] You have chosen to change the cluster version to "v1.31.10"\n\n[upgrade/successful] SUCCESS! Your cluster was upgraded to "v1.31.10". Enjoy!\n\n[upgrade/kubelet] Now that your control plane is upgraded, please proceed with upgrading your kubelets if you haven\'t already done so.\n',
    );
    expect(r).toMatchObject({ ok: true, version: '1.31.10' });
  });

  test.each([
    [
      'new wording',
      '[upgrade/addon] Skipping upgrade of addons because control plane instances [cp2 cp3] have not been upgraded',
    ],
    [
      'source wording',
      '[upgrade/addons] skip upgrade addons because control plane instances [cp2 cp3] have not been upgraded',
    ],
  ])('HA: addons skipped (%s)', (_n, line) => {
    const r = parseApplyResult(APPLY_133.replace(/\[addons\] Applied essential addon: \S+\n/g, `${line}\n`));
    expect(r).toMatchObject({ ok: true, addonsSkippedFor: ['cp2', 'cp3'], addonsApplied: [] });
  });

  test('dry run', () => {
    const r = parseApplyResult(
      '[upgrade/preflight] You have chosen to upgrade the cluster version to "v1.30.4"\n[dryrun] Would pull the required images (like \'kubeadm config images pull\')\n[upgrade/successful] Finished dryrunning successfully!\n',
    );
    expect(r).toMatchObject({ ok: true, dryRun: true, version: '1.30.4' });
  });

  test('1.32+ policy: fatal (mandatory)', () => {
    const r = parseApplyResult(
      'error execution phase preflight: the version argument is invalid due to these fatal errors:\n\n\t- Specified version to upgrade to "v1.35.0" is too high; kubeadm can upgrade only 1 minor version at a time\n\nPlease fix the misalignments highlighted above and try upgrading again\nTo see the stack trace of this error execute with --v=5 or higher\n',
    );
    expect(r).toEqual({
      ok: false,
      backupDirs: [],
      error: {
        kind: 'policy',
        mandatory: true,
        errors: [
          'Specified version to upgrade to "v1.35.0" is too high; kubeadm can upgrade only 1 minor version at a time',
        ],
        message:
          'Specified version to upgrade to "v1.35.0" is too high; kubeadm can upgrade only 1 minor version at a time',
      },
    });
  });

  test('1.32+ policy: skippable with --force', () => {
    const r = parseApplyResult(
      'the version argument is invalid due to these errors:\n\n\t- Specified version to upgrade to "v1.33.2" is higher than the kubeadm version "v1.33.1". Upgrade kubeadm first using the tool you used to install kubeadm\n\nCan be bypassed if you pass the --force flag\n',
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatchObject({ kind: 'policy', mandatory: false });
  });

  test('≤1.31 policy wording', () => {
    const r = parseApplyResult(
      '[upgrade/version] FATAL: the --version argument is invalid due to these errors:\n\n\t- Specified version to upgrade to "v1.30.9" is higher than the kubeadm version "v1.30.4". Upgrade kubeadm first using the tool you used to install kubeadm\n\nCan be bypassed if you pass the --force flag\n',
    );
    expect(!r.ok && r.error).toMatchObject({
      kind: 'policy',
      mandatory: false,
      errors: [expect.stringContaining('higher than the kubeadm version')],
    });
  });

  test('kubeadm too new for the cluster', () => {
    const r = parseApplyResult(
      '[upgrade/config] FATAL: this version of kubeadm only supports deploying clusters with the control plane version >= 1.32.0. Current version: v1.31.1\n',
    );
    expect(!r.ok && r.error).toMatchObject({ kind: 'policy', mandatory: true });
  });

  test('health check failures', () => {
    const r = parseApplyResult(
      '[upgrade/health] FATAL: [preflight] Some fatal errors occurred:\n\t[ERROR CreateJob]: Job "upgrade-health-check-1771588625883" in the namespace "kube-system" did not complete in 15s: no condition of type Complete\n\t[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [cp1]\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\n',
    );
    expect(!r.ok && r.error).toMatchObject({
      kind: 'preflight',
      checks: [expect.stringMatching(/^CreateJob: /), expect.stringMatching(/^ControlPlaneNodesReady: /)],
    });
  });

  test('missing kubeadm-config', () => {
    const r = parseApplyResult(
      '[upgrade] In order to upgrade, a ConfigMap called "kubeadm-config" in the "kube-system" namespace must exist.\n[upgrade] FATAL: the ConfigMap "kubeadm-config" in the "kube-system" namespace was not found\n',
    );
    expect(!r.ok && r.error.kind).toBe('config');
  });

  test('rollback keeps the backup folders', () => {
    const r = parseApplyResult(
      '[upgrade/staticpods] Moving new manifest to "/etc/kubernetes/manifests/kube-apiserver.yaml" and backing up old manifest to "/etc/kubernetes/tmp/kubeadm-backup-manifests-2025-05-29-18-04-05/kube-apiserver.yaml"\n[upgrade/apply] FATAL: couldn\'t upgrade control plane. kubeadm has tried to recover everything into the earlier state. Errors faced: timed out waiting for the condition\n',
    );
    expect(r).toMatchObject({
      ok: false,
      error: { kind: 'rolled-back' },
      backupDirs: ['/etc/kubernetes/tmp/kubeadm-backup-manifests-2025-05-29-18-04-05'],
    });
  });

  test('anything else keeps the last lines', () => {
    const r = parseApplyResult(
      'line 1\nsomething odd happened\nTo see the stack trace of this error execute with --v=5 or higher\n',
    );
    expect(!r.ok && r.error).toEqual({ kind: 'unknown', message: 'line 1\nsomething odd happened' });
  });
});

describe('findBackupDirs', () => {
  test('manifests, etcd and kubelet-config backups, unique, in order', () => {
    const text = `backing up old manifest to "/etc/kubernetes/tmp/kubeadm-backup-manifests-2025-05-29-18-04-05/etcd.yaml"
backing up old manifest to "/etc/kubernetes/tmp/kubeadm-backup-manifests-2025-05-29-18-04-05/kube-apiserver.yaml"
etcd data backed up to /etc/kubernetes/tmp/kubeadm-backup-etcd-2025-05-29-18-04-05/etcd
[upgrade] Backing up kubelet config file to /etc/kubernetes/tmp/kubeadm-kubelet-config-2026-01-02-03-04-05/config.yaml
not a backup: /etc/kubernetes/tmp/kubeadm-upgraded-manifests2868894685`;
    expect(findBackupDirs(text)).toEqual([
      '/etc/kubernetes/tmp/kubeadm-backup-manifests-2025-05-29-18-04-05',
      '/etc/kubernetes/tmp/kubeadm-backup-etcd-2025-05-29-18-04-05',
      '/etc/kubernetes/tmp/kubeadm-kubelet-config-2026-01-02-03-04-05',
    ]);
    expect(findBackupDirs('nothing here')).toEqual([]);
  });
});
