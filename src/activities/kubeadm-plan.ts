/**
 * The read-only kubeadm steps on the first control plane before its apply: `kubeadm upgrade plan`
 * (does kubeadm accept the target, and which component configs need a manual upgrade) and the
 * rehearsal (`kubeadm upgrade diff` and `kubeadm upgrade apply --dry-run`).
 */
import { parseUpgradePlan } from '../parsers/kubeadm';
import { cmd } from '../ssh/command';
import type { NodeHopInput, StepResult, UpgradePlanResult } from '../shared/activities';
import { withV } from '../shared/versions';
import { looksTransient, outputOf, tail } from './failure';
import { configFileMissing, HEALTH_RE, kubeadmFailure } from './kubeadm-failure';
import { controlPlaneFlags, KUBEADM_TIMEOUT_MS, readKubeadmStep, upgradeFlags } from './kubeadm-settings';
import type { Runner } from './runner';
import { logger } from './runtime';
import { targetOf } from './script';

/**
 * What a `kubeadm upgrade plan` output asks of kupgrade: the component configs that need a manual
 * upgrade (MANUAL UPGRADE REQUIRED = yes), and whether kubeadm must be updated first.
 */
export function planFindings(planOutput: string): {
  manualUpgradeRequired: string[];
  kubeadmTooOld: boolean;
} {
  const plan = parseUpgradePlan(planOutput);
  return {
    manualUpgradeRequired: plan.configVersions.filter((c) => c.manualUpgradeRequired).map((c) => c.group),
    kubeadmTooOld: plan.availableUpgrades.some((u) => u.kubeadmUpgradeRequiredTo !== undefined),
  };
}

/** Lines of a rehearsal worth showing: the diff, then kubeadm's own log lines of the dry run (no file contents). */
export function rehearsalTail(diff: string, dryRun: string, max = 3000): string {
  const secret = /-data:|PRIVATE KEY|password|token:|secret/i;
  const keep = (t: string) =>
    t
      .split('\n')
      .filter((l) => !secret.test(l))
      .join('\n');
  const log = dryRun
    .split('\n')
    .filter((l) => /^\[[a-z/-]+\]/.test(l) && !secret.test(l))
    .slice(-12)
    .join('\n');
  const d = keep(diff).trim() || '(no manifest would change)';
  const head = d.length > max ? d.slice(0, max) + '\n…' : d;
  return `${head}\n---\n${log}`;
}

export function createKubeadmPlanActivities(run: Runner) {
  /**
   * Read-only rehearsal on the first control plane: `kubeadm upgrade diff` (what the manifests
   * would become) and `kubeadm upgrade apply --dry-run` with the flags apply will get. Skipped
   * when apply is already done for the version. A refusal is classified like apply's.
   */
  async function kubeadmRehearsal(input: NodeHopInput): Promise<StepResult> {
    const { cluster, node, hop } = input;
    const step = 'rehearsal';
    const want = withV(hop.version);
    const target = targetOf(cluster.inventory, node);
    // apply's marker is keyed by run and hop (markers.ts): the same check apply itself makes
    const { done, settings } = await readKubeadmStep(run, input, step, want, {
      cluster: false,
      configFile: true,
      marker: 'upgrade-apply',
    });
    if (done)
      return { changed: false, detail: `kubeadm upgrade apply ${want} already done: nothing to rehearse` };
    if (settings.configFileMissing) throw configFileMissing(node.name, step, settings.configFileMissing);
    const diffCmd = cmd('kubeadm', 'upgrade', 'diff', want, ...upgradeFlags(settings, 'diff'));
    const diff = await run.exec(target, diffCmd, { step, progress: true, timeoutMs: 10 * 60_000 });
    if (diff.exitCode !== 0)
      throw kubeadmFailure(node.name, step, diff, diffCmd, `kubeadm upgrade diff ${want}`);
    const dryCmd = cmd(
      'kubeadm',
      'upgrade',
      'apply',
      want,
      '--dry-run',
      ...upgradeFlags(settings, 'apply'),
      ...controlPlaneFlags(cluster.inventory),
    );
    const dry = await run.exec(target, dryCmd, { step, progress: true, timeoutMs: KUBEADM_TIMEOUT_MS });
    if (dry.exitCode !== 0)
      throw kubeadmFailure(node.name, step, dry, dryCmd, `kubeadm upgrade apply ${want} --dry-run`);
    const changes = (diff.stdout.match(/^\+\+\+ /gm) ?? []).length;
    return {
      changed: false,
      detail: `rehearsed ${want}: ${changes} manifest(s) would change, apply --dry-run OK${settings.patchesDir ? ` (patches ${settings.patchesDir})` : ''}${settings.configFile ? ` (config ${settings.configFile})` : ''}`,
      outputTail: rehearsalTail(diff.stdout, outputOf(dry)),
    };
  }

  async function kubeadmUpgradePlan(input: NodeHopInput): Promise<UpgradePlanResult> {
    const { cluster, node, hop } = input;
    const step = 'upgrade-plan';
    const want = withV(hop.version);
    const target = targetOf(cluster.inventory, node);
    const { settings } = await readKubeadmStep(run, input, step, want, { cluster: false, configFile: true });
    if (settings.configFileMissing) throw configFileMissing(node.name, step, settings.configFileMissing);
    const command = cmd('kubeadm', 'upgrade', 'plan', want, ...upgradeFlags(settings, 'plan'));
    const r = await run.exec(target, command, { step, progress: true, timeoutMs: 10 * 60_000 });
    const out = outputOf(r);
    if (r.exitCode !== 0) {
      if (looksTransient(out) || HEALTH_RE.test(out)) {
        throw kubeadmFailure(node.name, step, r, command, `kubeadm upgrade plan ${want}`);
      }
      logger().warn('kubeadm upgrade plan refused the target', { node: node.name, version: want });
      return {
        ok: false,
        manualUpgradeRequired: planFindings(out).manualUpgradeRequired,
        outputTail: tail(out),
      };
    }
    const found = planFindings(out);
    return {
      ok: !found.kubeadmTooOld,
      manualUpgradeRequired: found.manualUpgradeRequired,
      outputTail: tail(out),
    };
  }

  return { kubeadmUpgradePlan, kubeadmRehearsal };
}
