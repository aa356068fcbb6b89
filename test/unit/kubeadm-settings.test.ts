/** What kubeadm must be told (kubeadm-config, kubeadm-flags.env, refusals) and the rehearsal's output tail. */
import { upgradeFlags } from '../../src/activities/kubeadm-settings';
import { rehearsalTail } from '../../src/activities/kubeadm-plan';
import { manualConversionIn } from '../../src/parsers/kubeadm';
import { criSocketIn, imageRepositoryIn } from '../../src/parsers/kubeadm-config';
import { manualUpgradeHints } from '../../src/shared/manual-upgrade';

describe('imageRepositoryIn (ClusterConfiguration)', () => {
  test.each([
    ['imageRepository: registry.k8s.io\nkind: ClusterConfiguration\n', 'registry.k8s.io'],
    [
      'etcd:\n  local:\n    dataDir: /var/lib/etcd\nimageRepository: registry.cn-hangzhou.aliyuncs.com/google_containers\n',
      'registry.cn-hangzhou.aliyuncs.com/google_containers',
    ],
    ['imageRepository: "harbor.local:5000/k8s" # mirror\n', 'harbor.local:5000/k8s'],
    ['kind: ClusterConfiguration\n', undefined],
    // an indented key belongs to another mapping (e.g. dns.imageRepository)
    ['dns:\n  imageRepository: other.io/coredns\n', undefined],
  ])('%j', (text, want) => {
    expect(imageRepositoryIn(text)).toBe(want);
  });
});

describe('criSocketIn (kubeadm-flags.env)', () => {
  test.each([
    [
      'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.9"\n',
      'unix:///var/run/containerd/containerd.sock',
    ],
    [
      'KUBELET_KUBEADM_ARGS="--network-plugin=cni --container-runtime-endpoint=unix:///var/run/cri-dockerd.sock"',
      'unix:///var/run/cri-dockerd.sock',
    ],
    // pre-1.24 form without the scheme
    [
      'KUBELET_KUBEADM_ARGS="--container-runtime=remote --container-runtime-endpoint=/run/crio/crio.sock"',
      'unix:///run/crio/crio.sock',
    ],
    ['KUBELET_KUBEADM_ARGS="--pod-infra-container-image=registry.k8s.io/pause:3.9"', undefined],
  ])('%s', (text, want) => {
    expect(criSocketIn(text)).toBe(want);
  });
});

describe('manualConversionIn (apply/node refusals)', () => {
  test('1.32+ apply', () => {
    expect(
      manualConversionIn(
        '[upgrade] FATAL: unsupported apiVersion "kubelet.config.k8s.io/v1alpha1", you may have to do manual conversion to "kubelet.config.k8s.io/v1beta1" and run kubeadm again\nTo see the stack trace of this error execute with --v=5 or higher\n',
      ),
    ).toEqual([
      {
        group: 'kubelet.config.k8s.io',
        from: 'kubelet.config.k8s.io/v1alpha1',
        to: 'kubelet.config.k8s.io/v1beta1',
      },
    ]);
  });
  test('older wording, two groups, each once', () => {
    const out =
      'multiple unsupported config version errors encountered:\n\t- unexpected apiVersion "kubeproxy.config.k8s.io/v1alpha0", you may have to do manual conversion to "kubeproxy.config.k8s.io/v1alpha1" and execute kubeadm again\n' +
      '\t- unsupported apiVersion "kubelet.config.k8s.io/v1alpha1", you may have to do manual conversion to "kubelet.config.k8s.io/v1beta1" and run kubeadm again\n' +
      'unsupported apiVersion "kubelet.config.k8s.io/v1alpha1", you may have to do manual conversion to "kubelet.config.k8s.io/v1beta1" and run kubeadm again\n';
    expect(manualConversionIn(out).map((m) => m.group)).toEqual([
      'kubeproxy.config.k8s.io',
      'kubelet.config.k8s.io',
    ]);
  });
  test('other failures', () => {
    expect(manualConversionIn('[upgrade/health] FATAL: [preflight] Some fatal errors occurred:')).toEqual([]);
  });
  test('hints name the kind, the version, the inventory field and the runbook commands', () => {
    const h = manualUpgradeHints([
      { group: 'kubelet.config.k8s.io', to: 'kubelet.config.k8s.io/v1beta1' },
    ]).join('\n');
    expect(h).toContain('KubeletConfiguration (apiVersion kubelet.config.k8s.io/v1beta1)');
    expect(h).toContain('kubeadm.configFile');
    expect(h).toContain('kubeadm upgrade apply --config <file> --dry-run');
  });
});

describe('upgradeFlags', () => {
  const s = { configFile: '/root/up.yaml', patchesDir: '/etc/kubernetes/patches' };
  test.each([
    ['plan', ['--config', '/root/up.yaml']],
    ['diff', ['--config', '/root/up.yaml']],
    ['apply', ['--config', '/root/up.yaml', '--patches', '/etc/kubernetes/patches']],
    ['node', ['--patches', '/etc/kubernetes/patches']],
  ] as const)('%s', (what, want) => {
    expect(upgradeFlags(s, what)).toEqual(want);
  });
  test('nothing known: no flags', () => {
    expect(upgradeFlags({}, 'apply')).toEqual([]);
  });
});

describe('rehearsalTail', () => {
  test('the diff, then the last kubeadm log lines of the dry run; no key material', () => {
    const diff =
      '--- /etc/kubernetes/manifests/kube-apiserver.yaml\n+++ new manifest\n@@ -1,3 +1,3 @@\n-    image: registry.k8s.io/kube-apiserver:v1.31.2\n+    image: registry.k8s.io/kube-apiserver:v1.32.10\n';
    const dry =
      '[upgrade/preflight] Running preflight checks\n[dryrun] Would write file "/etc/kubernetes/admin.conf" with content:\n    client-key-data: TFMwdExTMUNSVWRKVGlC\n[upgrade/successful] Finished dryrunning successfully!\n';
    const t = rehearsalTail(diff, dry);
    expect(t).toContain('+    image: registry.k8s.io/kube-apiserver:v1.32.10');
    expect(t).toContain('[upgrade/successful] Finished dryrunning successfully!');
    expect(t).not.toContain('client-key-data');
    expect(t).not.toContain('TFMwdExTMUNSVWRKVGlC');
  });
  test('no change', () => {
    expect(rehearsalTail('', '[upgrade/successful] Finished dryrunning successfully!\n')).toMatch(
      /^\(no manifest would change\)/,
    );
  });
});
