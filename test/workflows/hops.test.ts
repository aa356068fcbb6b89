/** Pure helpers shared by the workflows and the CLI: hop planning, window, step lists, summary. */
import { summaryFor } from '../../src/shared/names';
import { renderDetails } from '../../src/shared/render';
import type { UpgradeState } from '../../src/shared/types';
import {
  HopError,
  atLeast,
  compareVersions,
  computeHops,
  withV,
  windowSize,
} from '../../src/shared/versions';
import { firstControlPlaneSteps, nodeSteps, workerSteps } from '../../src/workflows/steps';
import { makeInventory } from './fake-cluster';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HopError);
    return (err as HopError).code;
  }
  throw new Error('expected a HopError');
}

describe('computeHops', () => {
  it('goes one minor at a time, the exact patch only on the last hop', () => {
    expect(computeHops('v1.28.15', '1.30.4')).toEqual([
      { index: 0, from: 'v1.28.15', minor: '1.29' },
      { index: 1, from: 'v1.29', minor: '1.30', patch: 4 },
    ]);
    expect(computeHops('1.29.6', 'v1.30')).toEqual([{ index: 0, from: 'v1.29.6', minor: '1.30' }]);
  });

  it('starts from the lowest version in the cluster (a lagging kubelet is not skipped over)', () => {
    expect(computeHops(['v1.29.6', 'v1.28.3', 'v1.29.6'], '1.30').map((h) => h.minor)).toEqual([
      '1.29',
      '1.30',
    ]);
  });

  it('plans a patch hop within a minor and nothing when already there', () => {
    expect(computeHops('v1.30.1', '1.30.4')).toEqual([
      { index: 0, from: 'v1.30.1', minor: '1.30', patch: 4 },
    ]);
    expect(computeHops('v1.30.4', '1.30.4')).toEqual([]);
  });

  it('refuses downgrades, major changes, missing minors, bad versions and very long plans', () => {
    expect(refusal(() => computeHops('v1.30.4', '1.29'))).toBe('Downgrade');
    expect(refusal(() => computeHops(['v1.29.6', 'v1.30.4'], '1.30.2'))).toBe('Downgrade');
    expect(refusal(() => computeHops('v1.30.4', '2.0'))).toBe('MajorChange');
    expect(refusal(() => computeHops('v1.28.1', '1.30', { availableMinors: ['1.28', '1.30'] }))).toBe(
      'MissingMinor',
    );
    expect(refusal(() => computeHops('v1.28.1', '1.30; rm -rf /'))).toBe('InvalidVersion');
    expect(refusal(() => computeHops('v1.10.0', '1.30'))).toBe('TooManyHops');
  });

  it('compares versions', () => {
    expect(compareVersions('v1.30.4', '1.30.10')).toBeLessThan(0);
    expect(atLeast('v1.30.4', '1.30')).toBe(true);
    expect(atLeast('v1.29.9', '1.30')).toBe(false);
    expect(withV('1.30.4')).toBe('v1.30.4');
  });
});

describe('windowSize', () => {
  it('resolves counts and percentages, at least 1, at most the workers', () => {
    expect(windowSize(2, 10)).toBe(2);
    expect(windowSize('25%', 10)).toBe(2);
    expect(windowSize('10%', 3)).toBe(1);
    expect(windowSize(50, 4)).toBe(4);
    expect(windowSize('100%', 0)).toBe(1);
    expect(() => windowSize('many', 3)).toThrow(/neither a count nor a percentage/);
  });
});

describe('step lists', () => {
  const inv = makeInventory('steps', 2, 1);
  it('follow the runbook: apply on the first control plane, upgrade node elsewhere, kubelet only after drain', () => {
    expect(firstControlPlaneSteps(inv, { cordonedBefore: false })).toEqual({
      before: ['repo', 'kubeadm-package', 'upgrade-plan', 'rehearsal', 'images', 'upgrade-apply'],
      after: ['drain', 'kubelet-packages', 'kubelet-restart', 'wait-ready', 'uncordon'],
    });
    // a run started before the rehearsal existed (patched('kubeadm-rehearsal') false on replay)
    expect(firstControlPlaneSteps(inv, { cordonedBefore: false, rehearsal: false }).before).toEqual([
      'repo',
      'kubeadm-package',
      'upgrade-plan',
      'images',
      'upgrade-apply',
    ]);
    expect(nodeSteps(inv, { role: 'worker' }, { cordonedBefore: false })).toEqual([
      'repo',
      'kubeadm-package',
      'upgrade-node',
      'drain',
      'kubelet-packages',
      'kubelet-restart',
      'wait-ready',
      'uncordon',
    ]);
  });
  it('never uncordon a node cordoned before the run; no repo step when unmanaged; CNI step when configured', () => {
    const unmanaged = {
      ...inv,
      packages: { manager: 'yum' as const, repository: { mode: 'unmanaged' as const } },
    };
    expect(nodeSteps(unmanaged, { role: 'control-plane' }, { cordonedBefore: true })).toEqual([
      'kubeadm-package',
      'images',
      'upgrade-node',
      'drain',
      'kubelet-packages',
      'kubelet-restart',
      'wait-ready',
    ]);
    const cni = { ...inv, rollout: { ...inv.rollout, cni: { command: 'kubectl apply -f calico.yaml' } } };
    expect(firstControlPlaneSteps(cni, { cordonedBefore: false }).after[0]).toBe('cni');
  });
  it('splits a worker at the drain for prepareAhead (what stays schedulable, then the rest)', () => {
    expect(workerSteps(inv, { cordonedBefore: false })).toEqual({
      prepare: ['repo', 'kubeadm-package', 'upgrade-node'],
      kubelet: ['drain', 'kubelet-packages', 'kubelet-restart', 'wait-ready', 'uncordon'],
    });
    const unmanaged = { ...inv, packages: { ...inv.packages, repository: { mode: 'unmanaged' as const } } };
    expect(workerSteps(unmanaged, { cordonedBefore: true })).toEqual({
      prepare: ['kubeadm-package', 'upgrade-node'],
      kubelet: ['drain', 'kubelet-packages', 'kubelet-restart', 'wait-ready'],
    });
  });
});

describe('summaryFor and renderDetails', () => {
  it('makes a one-line summary within 200 bytes', () => {
    const inventory = makeInventory('prod-bj', 3, 40);
    expect(summaryFor({ inventory, target: '1.30.4' }, 'v1.29.6')).toBe(
      'prod-bj: v1.29.6 → v1.30.4, 3 CP + 40 workers',
    );
    expect(summaryFor({ inventory, target: '1.30', options: { autoApprove: true } })).toBe(
      'prod-bj: → v1.30, 3 CP + 40 workers (auto-approve)',
    );
    const long = makeInventory('x'.repeat(63), 1, 1);
    expect(
      Buffer.byteLength(
        summaryFor({ inventory: { ...long, metadata: { name: 'é'.repeat(150) } }, target: '1.30' }),
      ),
    ).toBeLessThanOrEqual(200);
  });

  it('renders a Markdown table of nodes with the open gate and blocked nodes', () => {
    const s = {
      cluster: 'prod-bj',
      target: 'v1.30.4',
      phase: 'blocked',
      paused: false,
      hops: [],
      gate: undefined,
      blocked: [
        {
          node: 'w-1',
          step: 'drain',
          type: 'DrainTimeout',
          message: 'PDB | web',
          hints: [],
          at: '',
          attempt: 1,
        },
      ],
      nodes: [
        {
          name: 'cp-1',
          role: 'control-plane',
          status: 'done',
          step: 'uncordon',
          version: 'v1.30.4',
          attempts: 1,
          cordonedBefore: false,
          cordonedByRun: false,
        },
        {
          name: 'w-1',
          role: 'worker',
          status: 'blocked',
          step: 'drain',
          attempts: 1,
          cordonedBefore: false,
          cordonedByRun: true,
        },
      ],
    } as unknown as UpgradeState;
    const md = renderDetails(s);
    expect(md).toContain('| node | role | status | step | version | started | finished |');
    expect(md).toContain('| w-1 | worker | blocked | drain |');
    expect(md).toContain('PDB \\| web');
  });
});
