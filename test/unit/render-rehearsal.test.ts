/** The rehearsal in `kupgrade plan` (planText) and `kupgrade status` (watchScreen). */
import { planText, watchScreen } from '../../src/cli/render';
import type { UpgradePlan, UpgradeState } from '../../src/shared/types';
import { firstControlPlaneSteps } from '../../src/workflows/steps';

const hop = {
  index: 0,
  from: 'v1.31.2',
  minor: '1.32',
  version: 'v1.32.10',
  packages: { kubeadm: '1.32.10-0', kubelet: '1.32.10-0', kubectl: '1.32.10-0' },
};

test('plan lists the rehearsal on the first control plane and says what it runs', () => {
  const inv = {
    packages: { manager: 'yum' as const, repository: { mode: 'pkgs.k8s.io' as const } },
    kubeadm: { certificateRenewal: true, etcdUpgrade: true, etcdBackup: true, prePullImages: true },
    rollout: { maxUnavailable: 1, gates: [] },
  } as unknown as Parameters<typeof firstControlPlaneSteps>[0];
  const { before, after } = firstControlPlaneSteps(inv, { cordonedBefore: false });
  const plan: UpgradePlan = {
    cluster: 'seed',
    target: '1.32',
    resolvedTarget: 'v1.32.10',
    versions: [],
    hops: [
      {
        hop,
        window: 1,
        gates: [],
        nodes: [
          {
            name: 'cp-1',
            role: 'control-plane',
            kind: 'first-control-plane',
            version: 'v1.31.2',
            steps: [...before, ...after],
            upToDate: false,
          },
        ],
      },
    ],
  };
  const text = planText(plan);
  expect(text).toContain(
    'cp-1 (first-control-plane): repo → kubeadm-package → upgrade-plan → rehearsal → images',
  );
  expect(text).toMatch(
    /rehearsal: on cp-1, read-only, .*kubeadm upgrade diff <version> and kubeadm upgrade apply <version> --dry-run/,
  );
});

test('status shows the rehearsal result and its diff', () => {
  const state = {
    cluster: 'seed',
    target: 'v1.32.10',
    phase: 'control-plane',
    hops: [],
    window: 1,
    blocked: [],
    nodes: [],
    rehearsal: {
      node: 'cp-1',
      hop: 0,
      detail: 'rehearsed v1.32.10: 3 manifest(s) would change, apply --dry-run OK',
      outputTail: '+++ new manifest\n+    image: registry.k8s.io/kube-apiserver:v1.32.10',
    },
  } as unknown as UpgradeState;
  const screen = watchScreen(state);
  expect(screen).toContain(
    'Rehearsal on cp-1: rehearsed v1.32.10: 3 manifest(s) would change, apply --dry-run OK',
  );
  expect(screen).toContain('  | +    image: registry.k8s.io/kube-apiserver:v1.32.10');
});
