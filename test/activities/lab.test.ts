/**
 * The real activities over the real SSH pool against a lab (1 control plane + 1 worker, yum,
 * v1.29.6 → the newest 1.30 patch, speed 200): every step in the runbook's order, then every step
 * again, which must change nothing and run no mutating command (the lab's exec log is the judge),
 * and the lab's invariant check passes.
 */
import { existsSync } from 'node:fs';
import { createNodeActivities } from '../../src/activities';
import { loadInventory } from '../../src/inventory';
import type { Inventory } from '../../src/inventory/schema';
import { createSshPool } from '../../src/ssh/pool';
import { cmd } from '../../src/ssh/command';
import type { SshExecutor } from '../../src/ssh/types';
import { clusterContext } from '../../src/shared/inventory';
import { computeHops } from '../../src/shared/versions';
import type { ResolvedHop, StepResult } from '../../src/shared/activities';
import { poolConfigOf } from '../../src/ssh/router';
import { isMutating, Lab, LAB_CLI, repeatedMutations } from '../helpers/lab';
import { inActivity } from '../helpers/activity';

jest.setTimeout(300_000);

const run = <T>(fn: () => Promise<T>) => inActivity(fn).then((r) => r.value);

describe('activities on a lab over SSH', () => {
  let lab: Lab;
  let inv: Inventory;
  let ssh: SshExecutor;

  beforeAll(() => {
    if (!existsSync(LAB_CLI)) throw new Error(`${LAB_CLI} is missing: run 'npm run build' first`);
    lab = Lab.up({ controlPlanes: 1, workers: 1, version: '1.29.6', packages: 'yum', speed: 200 });
    inv = loadInventory(lab.inventory);
    ssh = createSshPool(poolConfigOf(inv.ssh, {}));
  });

  afterAll(async () => {
    await ssh?.close();
    lab?.down();
  });

  test('one hop for cp-1 and w-1; every step run twice, the second time changing nothing', async () => {
    const acts = createNodeActivities({ ssh, pollIntervalMs: 200 });
    const cluster = clusterContext(inv);
    const state = await run(() => acts.getClusterState({ inventory: inv }));
    expect(state.apiServerVersion).toBe('v1.29.6');
    const requests = computeHops(
      [state.apiServerVersion, ...state.nodes.map((n) => n.kubeletVersion)],
      '1.30',
    );
    const hops: ResolvedHop[] = await run(() => acts.resolveTarget({ cluster, hops: requests }));
    expect(hops).toHaveLength(1);
    expect(hops[0].version).toMatch(/^v1\.30\.\d+$/);
    const hop = hops[0];
    const mutatingBefore = lab.events().filter((e) => e.type === 'exec' && e.cmd && isMutating(e.cmd)).length;
    const report = await run(() => acts.preflight({ inventory: inv, hops }));
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(report.ok).toBe(true);
    expect(lab.events().filter((e) => e.type === 'exec' && e.cmd && isMutating(e.cmd)).length).toBe(
      mutatingBefore,
    );

    const cp = inv.nodes.find((n) => n.role === 'control-plane')!;
    const w = inv.nodes.find((n) => n.role === 'worker')!;
    const backup = await run(() => acts.backupControlPlane({ cluster, node: cp, label: 'lab-test' }));
    expect(backup.kubernetesCopy).toBe('/var/lib/kupgrade/backups/lab-test/etc-kubernetes');

    const mutating = () => lab.events().filter((e) => e.type === 'exec' && e.cmd && isMutating(e.cmd)).length;
    const firstRuns: Record<string, boolean> = {};
    /** Each step twice in a row, as a retry after a crash would: the second changes nothing. */
    const twice = async (name: string, fn: () => Promise<StepResult>) => {
      firstRuns[name] = (await run(fn)).changed;
      const before = mutating();
      const again = await run(fn);
      expect([name, again.changed]).toEqual([name, false]);
      expect([name, mutating()]).toEqual([name, before]);
    };
    const cpIn = { cluster, node: cp, hop };
    const wIn = { cluster, node: w, hop };
    await twice('cp repo', () => acts.ensureRepoMinor(cpIn));
    await twice('cp kubeadm', () => acts.ensureKubeadmPackage(cpIn));
    const plan = await run(() => acts.kubeadmUpgradePlan(cpIn));
    expect(plan.ok).toBe(true);
    await twice('cp images', () => acts.ensureImagesPulled(cpIn));
    await twice('cp apply', () => acts.ensureKubeadmApply(cpIn));
    await twice('cp drain', () => acts.ensureDrained({ cluster, node: cp }));
    await twice('cp kubelet', () => acts.ensureKubeletPackages(cpIn));
    await twice('cp restart', () => acts.ensureKubeletRestarted(cpIn));
    expect(await run(() => acts.waitNodeReady(cpIn))).toEqual({ ready: true, kubeletVersion: hop.version });
    await twice('cp uncordon', () => acts.ensureUncordoned({ cluster, node: cp }));
    // The worker's steps before the drain as the workflow runs them, in one group: the kubeadm
    // check and upgrade-node's check ride in the repo check's session, and `kubeadm upgrade node`
    // runs in the kubeadm install's transaction once the new kubeadm says the hop's version: 3
    // sessions on the worker (the checks, the repo switch, the install) where there were 7 (repo
    // check, repo switch, kubeadm check, install, verify, upgrade-node check, kubeadm upgrade
    // node). Twice, as a retry would: 1 session (3 before), nothing changed.
    const onW1 = () => lab.events().filter((e) => e.type === 'ssh' && e.node === 'w-1').length;
    const prepare = ['repo', 'kubeadm-package', 'upgrade-node'] as const;
    let mark = onW1();
    const prepared = await run(() => acts.ensureNodePrepared({ ...wIn, steps: [...prepare] }));
    expect(prepared.steps.map((r) => [r.step, r.changed])).toEqual([
      ['repo', true],
      ['kubeadm-package', true],
      ['upgrade-node', true],
    ]);
    expect(prepared.steps.find((r) => r.step === 'upgrade-node')?.detail).toMatch(/in the kubeadm install/);
    expect(onW1() - mark).toBe(3);
    mark = onW1();
    const mutatingBeforePrepare = mutating();
    const preparedAgain = await run(() => acts.ensureNodePrepared({ ...wIn, steps: [...prepare] }));
    expect(preparedAgain.steps.filter((r) => r.changed)).toEqual([]);
    expect(mutating()).toBe(mutatingBeforePrepare);
    expect(onW1() - mark).toBe(1);
    // the Node read, the pods read and the drain in one session on the API node; the retry: one
    const onApi = () => lab.events().filter((e) => e.type === 'ssh' && e.node === 'cp-1').length;
    const drainSessions = onApi();
    await twice('w drain', () => acts.ensureDrained({ cluster, node: w }));
    expect(onApi() - drainSessions).toBe(2);
    // The worker's steps after the drain as the workflow runs them: one group, whose sub-steps hand
    // the Node object on (group-context.ts) — one read where each used to read its own (3), the
    // uncordon deciding on what the Ready wait printed. Run twice, as a retry would.
    const nodeReads = () =>
      lab.events().filter((e) => e.type === 'exec' && /^kubectl .*\bget node w-1\b/.test(e.cmd ?? '')).length;
    // and the restart's own check rides in the package check's session, the restart itself in the
    // package install's transaction: 2 sessions on the worker (the check, the install and restart)
    // where there were 4. On the API node the Node read runs beside the package check, and the
    // uncordon in the Ready wait's session: 2 sessions where there were 3.
    const onCp1 = () => lab.events().filter((e) => e.type === 'ssh' && e.node === 'cp-1').length;
    const uncordons = () =>
      lab.events().filter((e) => e.type === 'exec' && /^kubectl .*\buncordon -- w-1$/.test(e.cmd ?? ''))
        .length;
    const after = ['kubelet-packages', 'kubelet-restart', 'wait-ready', 'uncordon'] as const;
    let reads = nodeReads();
    let sessions = onW1();
    let apiSessions = onCp1();
    let uncordonRuns = uncordons();
    const group = await run(() => acts.ensureKubeletUpgraded({ ...wIn, steps: [...after] }));
    expect(group.steps.map((r) => [r.step, r.changed])).toEqual([
      ['kubelet-packages', true],
      ['kubelet-restart', true],
      ['wait-ready', false],
      ['uncordon', true],
    ]);
    expect(group.steps.find((r) => r.step === 'kubelet-restart')?.detail).toMatch(/in the package install/);
    expect(nodeReads() - reads).toBe(1);
    expect(onW1() - sessions).toBe(2);
    expect(onCp1() - apiSessions).toBe(2);
    expect(uncordons() - uncordonRuns).toBe(1);
    reads = nodeReads();
    sessions = onW1();
    apiSessions = onCp1();
    uncordonRuns = uncordons();
    const before = mutating();
    const again = await run(() => acts.ensureKubeletUpgraded({ ...wIn, steps: [...after] }));
    expect(again.steps.filter((r) => r.changed)).toEqual([]);
    expect(mutating()).toBe(before);
    expect(nodeReads() - reads).toBe(1);
    expect(onW1() - sessions).toBe(1);
    // the node is schedulable: the Ready wait's session runs no uncordon
    expect(onCp1() - apiSessions).toBe(2);
    expect(uncordons() - uncordonRuns).toBe(0);
    // the model, as the controller last saved it (50 ms after a change): uncordoned at the hop
    expect(lab.nodes()['w-1']).toMatchObject({
      unschedulable: false,
      kubelet: hop.version.replace(/^v/, ''),
    });
    // Every step had something to do the first time (the images step is allowed to be a no-op).
    expect(Object.entries(firstRuns).filter(([n, changed]) => !changed && n !== 'cp images')).toEqual([]);
    expect(repeatedMutations(lab.events())).toEqual([]);

    const verify = await run(() => acts.verifyCluster({ inventory: inv, version: hop.version, exclude: [] }));
    expect(verify.problems).toEqual([]);
    const check = lab.check(hop.version);
    expect(check.stderr + check.stdout).not.toMatch(/FAIL|violat/i);
    expect(check.status).toBe(0);
  });

  test('apt, two minors away: both hops resolved before any change; the first hop on cp-1 step by step, twice', async () => {
    const apt = Lab.up({ controlPlanes: 1, workers: 1, version: '1.28.9', packages: 'apt', speed: 200 });
    const aptInv = loadInventory(apt.inventory);
    const aptSsh = createSshPool(poolConfigOf(aptInv.ssh, {}));
    try {
      const acts = createNodeActivities({ ssh: aptSsh, pollIntervalMs: 200 });
      const cluster = clusterContext(aptInv);
      const cp = aptInv.nodes.find((n) => n.role === 'control-plane')!;
      const listBefore = await aptSsh.run(
        { name: cp.name, host: cp.address, port: cp.port, user: aptInv.ssh.user, sudo: false },
        cmd('cat', '/etc/apt/sources.list.d/kubernetes.list'),
      );
      const hops = await run(() =>
        acts.resolveTarget({
          cluster,
          hops: computeHops(['v1.28.9'], '1.30'),
        }),
      );
      expect(hops.map((h) => h.minor)).toEqual(['1.29', '1.30']);
      expect(hops[1].packages.kubeadm).toMatch(/^1\.30\.\d+-1\.1$/);
      const listAfter = await aptSsh.run(
        { name: cp.name, host: cp.address, port: cp.port, user: aptInv.ssh.user, sudo: false },
        cmd('sh', '-c', 'cat /etc/apt/sources.list.d/kubernetes.list; ls /etc/apt/sources.list.d'),
      );
      // The node's repository is untouched and no probe definition is left behind.
      expect(listAfter.stdout.startsWith(listBefore.stdout)).toBe(true);
      expect(listAfter.stdout).not.toContain('kupgrade-probe');
      const report = await run(() => acts.preflight({ inventory: aptInv, hops }));
      expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);

      const mutating = () =>
        apt.events().filter((e) => e.type === 'exec' && e.cmd && isMutating(e.cmd)).length;
      const hop = hops[0];
      const cpIn = { cluster, node: cp, hop };
      const twice = async (name: string, fn: () => Promise<StepResult>) => {
        expect([name, (await run(fn)).changed]).toEqual([name, true]);
        const before = mutating();
        expect([name, (await run(fn)).changed]).toEqual([name, false]);
        expect([name, mutating()]).toEqual([name, before]);
      };
      await twice('repo', () => acts.ensureRepoMinor(cpIn));
      await twice('kubeadm', () => acts.ensureKubeadmPackage(cpIn));
      await twice('apply', () => acts.ensureKubeadmApply(cpIn));
      await twice('drain', () => acts.ensureDrained({ cluster, node: cp }));
      await twice('kubelet', () => acts.ensureKubeletPackages(cpIn));
      await twice('restart', () => acts.ensureKubeletRestarted(cpIn));
      expect(await run(() => acts.waitNodeReady(cpIn))).toEqual({ ready: true, kubeletVersion: hop.version });
      await twice('uncordon', () => acts.ensureUncordoned({ cluster, node: cp }));
      // apt packages stay held after the installs.
      const holds = await aptSsh.run(
        { name: cp.name, host: cp.address, port: cp.port, user: aptInv.ssh.user, sudo: false },
        cmd('apt-mark', 'showhold'),
      );
      expect(holds.stdout.split('\n').filter(Boolean).sort()).toEqual(['kubeadm', 'kubectl', 'kubelet']);
      expect(repeatedMutations(apt.events())).toEqual([]);
    } finally {
      await aptSsh.close();
      apt.down();
    }
  });
});
