/**
 * kubeadm plan/apply/node/images/CNI: check-first (markers, manifests + kubeadm-config), failure
 * classification (policy refusal, rollback with backup folders and the runbook's recovery text,
 * retryable health checks).
 */
import { createNodeActivities } from '../../src/activities';
import { planFindings } from '../../src/activities/kubeadm-plan';
import { manifestImageTags } from '../../src/parsers/kubeadm-config';
import { RECOVERY_HINTS } from '../../src/activities/failure';
import { detail, failureOf, inActivity } from '../helpers/activity';
import { ctxOf, FakeSsh, hop130, nodeOf } from './fake-ssh';
import { buildInventory, type InventoryOverrides } from '../helpers/inventory';
import {
  APPLY_POLICY_REFUSAL,
  APPLY_ROLLBACK,
  APPLY_SUCCESS_131,
  HEALTH_FAILURE,
  kubeadmConfigJson,
  manifestGrep,
  PLAN_MANUAL,
} from './samples';

function setup(nodeName = 'cp-1', over: InventoryOverrides = {}) {
  const ssh = new FakeSsh();
  const inv = buildInventory({}, over);
  const acts = createNodeActivities({ ssh });
  const input = { cluster: ctxOf(inv), node: nodeOf(inv, nodeName), hop: hop130() };
  return { ssh, acts, input };
}

/** A node whose apply marker, manifests and kubeadm-config follow what the fake kubeadm did. */
function applyNode(ssh: FakeSsh, applyReply: { exitCode?: number; stdout?: string; stderr?: string }) {
  const state = { marker: '', tag: 'v1.29.6', config: 'v1.29.6' };
  ssh.on(/^if \[ -f \/etc\/kubernetes\/tmp\/kupgrade\/upgrade-apply \]/, () => ({ stdout: state.marker }));
  ssh.on(/^grep -H image:/, () => ({ stdout: manifestGrep(state.tag) }));
  ssh.on(/get configmap kubeadm-config/, () => ({ stdout: kubeadmConfigJson(state.config) }));
  ssh.on(/^kubeadm upgrade apply/, () => {
    if (!applyReply.exitCode) {
      state.tag = 'v1.30.4';
      state.config = 'v1.30.4';
      state.marker = 'v1.30.4\n';
    }
    return applyReply;
  });
  return state;
}

describe('ensureKubeadmApply', () => {
  test('runs apply once with -y and the inventory flags, writes the marker, and a retry runs nothing', async () => {
    const { ssh, acts, input } = setup('cp-1', {
      kubeadm: { certificateRenewal: false, etcdUpgrade: true, etcdBackup: true, prePullImages: true },
    });
    applyNode(ssh, { stdout: APPLY_SUCCESS_131 });
    const first = await inActivity(() => acts.ensureKubeadmApply(input));
    expect(first.value).toMatchObject({ changed: true, version: 'v1.30.4' });
    expect(ssh.mutating()).toEqual([
      "kubeadm upgrade apply v1.30.4 --yes --certificate-renewal=false && mkdir -p /etc/kubernetes/tmp/kupgrade && printf '%s\\n' v1.30.4 > /etc/kubernetes/tmp/kupgrade/upgrade-apply",
    ]);
    expect(first.heartbeats.length).toBeGreaterThan(0);
    // a transaction: run detached on the node as step upgrade-apply-v1.30.4 (src/ssh/detached.ts)
    expect(ssh.detached).toEqual([{ node: 'cp-1', id: 'upgrade-apply-v1.30.4' }]);
    ssh.reset();
    const second = await inActivity(() => acts.ensureKubeadmApply(input));
    expect(second.value.changed).toBe(false);
    expect(ssh.mutating()).toEqual([]);
  });

  test('skips when the manifests and kubeadm-config already carry the version (applied by hand, no marker)', async () => {
    const { ssh, acts, input } = setup();
    const state = applyNode(ssh, { stdout: APPLY_SUCCESS_131 });
    state.tag = 'v1.30.4';
    state.config = 'v1.30.4';
    const r = await inActivity(() => acts.ensureKubeadmApply(input));
    expect(r.value.changed).toBe(false);
    expect(ssh.mutating()).toEqual([]);
  });

  test('half-done (apiserver upgraded, config not yet) runs apply again', async () => {
    const { ssh, acts, input } = setup();
    const state = applyNode(ssh, { stdout: APPLY_SUCCESS_131 });
    state.tag = 'v1.30.4';
    const r = await inActivity(() => acts.ensureKubeadmApply(input));
    expect(r.value.changed).toBe(true);
  });

  test("a version-policy refusal is a non-retryable KubeadmFailed naming kubeadm's reason", async () => {
    const { ssh, acts, input } = setup();
    applyNode(ssh, { exitCode: 1, stderr: APPLY_POLICY_REFUSAL });
    const f = await failureOf(() => acts.ensureKubeadmApply(input));
    expect(f.type).toBe('KubeadmFailed');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('is too high; kubeadm can upgrade only 1 minor version at a time');
    expect(detail(f).outputTail).toContain('Can be bypassed if you pass the --force flag');
  });

  test('a rolled-back apply blocks with the backup folders and the runbook recovery hints', async () => {
    const { ssh, acts, input } = setup();
    applyNode(ssh, { exitCode: 1, stderr: APPLY_ROLLBACK });
    const f = await failureOf(() => acts.ensureKubeadmApply(input));
    expect(f.type).toBe('KubeadmFailed');
    expect(f.nonRetryable).toBe(true);
    const d = detail(f);
    expect(d.backupDirs).toEqual(['/etc/kubernetes/tmp/kubeadm-backup-manifests-2025-05-29-18-04-05']);
    expect(d.hints).toContain(
      'kubeadm backup folder on cp-1: /etc/kubernetes/tmp/kubeadm-backup-manifests-2025-05-29-18-04-05',
    );
    for (const h of RECOVERY_HINTS) expect(d.hints).toContain(h);
    expect(d.command).toMatch(/^kubeadm upgrade apply v1.30.4 --yes/);
  });

  test('a failed health check is retried (not a policy failure)', async () => {
    const { ssh, acts, input } = setup();
    applyNode(ssh, { exitCode: 1, stderr: HEALTH_FAILURE });
    const f = await failureOf(() => acts.ensureKubeadmApply(input));
    expect(f.nonRetryable).toBe(false);
  });

  test('output tails are capped to ~4 KB, keeping the end', async () => {
    const { ssh, acts, input } = setup();
    applyNode(ssh, { exitCode: 1, stdout: 'x'.repeat(20_000) + '\n', stderr: 'final error line\n' });
    const f = await failureOf(() => acts.ensureKubeadmApply(input));
    const t = detail(f).outputTail;
    expect(t.length).toBeLessThanOrEqual(4096);
    expect(t).toContain('final error line');
  });
});

describe('ensureKubeadmUpgradeNode', () => {
  test('worker: runs `kubeadm upgrade node` once; the marker makes the retry a no-op', async () => {
    const { ssh, acts, input } = setup('w-1');
    let marker = '';
    ssh.on(/kupgrade\/upgrade-node \]/, () => ({ stdout: marker }));
    ssh.on(/^kubeadm upgrade node/, () => {
      marker = 'v1.30.4\n';
      return { stdout: '[upgrade] The configuration for this node was successfully updated!\n' };
    });
    expect((await inActivity(() => acts.ensureKubeadmUpgradeNode(input))).value.changed).toBe(true);
    expect(ssh.mutating('w-1')[0]).toMatch(/^kubeadm upgrade node && mkdir -p/);
    ssh.reset();
    expect((await inActivity(() => acts.ensureKubeadmUpgradeNode(input))).value.changed).toBe(false);
    expect(ssh.mutating()).toEqual([]);
  });
});

describe('kubeadmUpgradePlan', () => {
  test('reports components that need a manual config upgrade', async () => {
    const { ssh, acts, input } = setup();
    ssh.on(/^kubeadm upgrade plan v1.30.4$/, { stdout: PLAN_MANUAL });
    const r = await inActivity(() => acts.kubeadmUpgradePlan(input));
    expect(r.value).toMatchObject({ ok: true, manualUpgradeRequired: ['kubeproxy.config.k8s.io'] });
    expect(ssh.mutating()).toEqual([]);
  });

  test('a refusal is returned as ok: false with the tail', async () => {
    const { ssh, acts, input } = setup();
    ssh.on(/^kubeadm upgrade plan/, { exitCode: 1, stderr: APPLY_POLICY_REFUSAL });
    const r = await inActivity(() => acts.kubeadmUpgradePlan(input));
    expect(r.value.ok).toBe(false);
    expect(r.value.outputTail).toContain('too high');
  });

  test('parses the JSON form too', () => {
    const json = `[upgrade] Running cluster health checks\n${JSON.stringify({
      kind: 'UpgradePlan',
      apiVersion: 'output.kubeadm.k8s.io/v1alpha3',
      configVersions: [
        { group: 'kubeproxy.config.k8s.io', manualUpgradeRequired: false },
        { group: 'kubelet.config.k8s.io', manualUpgradeRequired: true },
      ],
    })}`;
    expect(planFindings(json)).toEqual({
      manualUpgradeRequired: ['kubelet.config.k8s.io'],
      kubeadmTooOld: false,
    });
  });
});

describe('images and CNI', () => {
  test('pre-pull uses the inventory image repository and is skipped once done', async () => {
    const { ssh, acts, input } = setup('cp-1', {
      kubeadm: {
        imageRepository: 'registry.cn-hangzhou.aliyuncs.com/google_containers',
        certificateRenewal: true,
        etcdUpgrade: true,
        etcdBackup: true,
        prePullImages: true,
      },
    });
    let marker = '';
    ssh.on(/kupgrade\/images \]/, () => ({ stdout: marker }));
    ssh.on(/^kubeadm config images pull/, () => {
      marker = 'v1.30.4\n';
      return {
        stdout:
          '[config/images] Pulled registry.cn-hangzhou.aliyuncs.com/google_containers/kube-apiserver:v1.30.4\n',
      };
    });
    await inActivity(() => acts.ensureImagesPulled(input));
    expect(ssh.mutating()[0]).toMatch(
      /^kubeadm config images pull --kubernetes-version v1.30.4 --image-repository registry.cn-hangzhou.aliyuncs.com\/google_containers && /,
    );
    ssh.reset();
    expect((await inActivity(() => acts.ensureImagesPulled(input))).value.changed).toBe(false);
    expect(ssh.mutating()).toEqual([]);
  });

  test('no CNI command: nothing runs', async () => {
    const { ssh, acts, input } = setup();
    expect((await inActivity(() => acts.runCniStep(input))).value.changed).toBe(false);
    expect(ssh.calls).toHaveLength(0);
  });

  test('the CNI command runs as written, once', async () => {
    const { ssh, acts, input } = setup('cp-1', {
      rollout: {
        maxUnavailable: 1,
        gates: ['preflight'],
        cni: { command: 'kubectl apply -f /root/calico-v3.28.yaml' },
      },
    });
    let marker = '';
    ssh.on(/kupgrade\/cni \]/, () => ({ stdout: marker }));
    ssh.on(/^\( kubectl apply/, () => {
      marker = 'v1.30.4\n';
      return { stdout: 'daemonset.apps/calico-node configured\n' };
    });
    expect((await inActivity(() => acts.runCniStep(input))).value.changed).toBe(true);
    expect(
      ssh.commands().filter((c) => c.startsWith('( kubectl apply -f /root/calico-v3.28.yaml )')),
    ).toHaveLength(1);
    expect((await inActivity(() => acts.runCniStep(input))).value.changed).toBe(false);
    expect(ssh.commands().filter((c) => c.startsWith('( kubectl apply'))).toHaveLength(1);
  });
});

test('manifestImageTags reads the image tags of grep -H output', () => {
  expect(manifestImageTags(manifestGrep('v1.30.4'))).toEqual({
    'kube-apiserver': 'v1.30.4',
    'kube-controller-manager': 'v1.30.4',
    'kube-scheduler': 'v1.30.4',
  });
});
