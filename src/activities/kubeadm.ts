/**
 * kubeadm activities: upgrade plan (read-only), image pre-pull, upgrade apply on the first control
 * plane, upgrade node on the others and the workers, and the optional CNI step.
 *
 * Check-first rules:
 * - ensureKubeadmApply: the apply marker says the version, or the kube-apiserver,
 *   kube-controller-manager and kube-scheduler manifests on the node AND the kubeadm-config
 *   ConfigMap already carry the version → nothing run.
 * - ensureKubeadmUpgradeNode: the upgrade-node marker says the version → nothing run.
 * - ensureImagesPulled: prePullImages off, or the images marker says the version → nothing run.
 * - runCniStep: no command configured, or the cni marker says the version → nothing run.
 * Failures: policy refusals, a rolled-back control plane and other kubeadm errors are non-retryable
 * KubeadmFailed with the output tail, kubeadm's backup folders and the runbook's recovery text;
 * network trouble and the health checks (a control plane momentarily NotReady) are retried.
 */
import { cmd, raw, sh } from '../ssh/command';
import { stepId } from '../ssh/detached';
import type { NodeHopInput, StepResult, UpgradePlanResult } from '../shared/activities';
import { parseApplyResult } from '../parsers/kubeadm';
import { normalizeVersion } from '../shared/versions';
import type { RunResult } from '../ssh/types';
import { kubectl, kubernetesVersionIn } from './kubectl';
import { markerKey, markerSays, readMarker, withMarker } from './markers';
import {
  ErrorTypes,
  failure,
  lastLine,
  logger,
  looksTransient,
  outputOf,
  tail,
  type Runner,
} from './runtime';
import { batch, jsonIn, parseBatch, targetOf } from './script';
import { manualUpgradeHints } from '../shared/manual-upgrade';
import {
  manualConversionIn,
  settingsFrom,
  settingsSections,
  upgradeFlags,
  type KubeadmSettings,
} from './kubeadm-settings';

const KUBEADM_TIMEOUT_MS = 30 * 60_000;
const CONTROL_PLANE = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

export function manifestPath(component: string): string {
  return `/etc/kubernetes/manifests/${component}.yaml`;
}

/** `image: registry/kube-apiserver:v1.30.4` tags per component, from `grep -H image: manifests`. */
export function manifestTags(grepOutput: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of grepOutput.split('\n')) {
    const m = /\/manifests\/([a-z-]+)\.yaml:\s*-?\s*image:\s*(\S+)/.exec(line);
    if (!m) continue;
    const image = m[2];
    const i = image.lastIndexOf(':');
    if (i > image.lastIndexOf('/')) out[m[1]] = image.slice(i + 1);
  }
  return out;
}

const HEALTH_RE = /\[upgrade\/health\] FATAL|\[ERROR ControlPlaneNodesReady\]|\[ERROR CreateJob\]/;

/**
 * Classifies a failed kubeadm upgrade command (apply/node/plan) into an ApplicationFailure, with
 * src/parsers' reading of kubeadm's output: a version-policy refusal, a missing kubeadm-config or a
 * rolled-back control plane block the node (non-retryable KubeadmFailed); the upgrade preflight's
 * health checks (a control plane or the health-check Job briefly not ready) and network trouble
 * are retried; anything else blocks.
 */
export function kubeadmFailure(node: string, step: string, r: RunResult, command: string, what: string) {
  const out = outputOf(r);
  const recovery = step === 'upgrade-apply' || step === 'upgrade-node';
  const base = { node, step, result: r, command, kubeadmRecovery: recovery };
  const manual = manualConversionIn(out);
  if (manual.length) {
    return failure({
      ...base,
      type: ErrorTypes.KubeadmFailed,
      message: `${what} refused: kubeadm needs a manual upgrade of its component config ${manual.map((m) => `${m.group} (${m.from} → ${m.to})`).join(', ')}`,
      nonRetryable: true,
      kubeadmRecovery: false,
      hints: manualUpgradeHints(manual.map((m) => ({ group: m.group, to: m.to }))),
    });
  }
  const res = parseApplyResult(out);
  const error = res.ok ? { kind: 'unknown' as const, message: lastLine(out) } : res.error;
  switch (error.kind) {
    case 'policy':
      return failure({
        ...base,
        type: ErrorTypes.KubeadmFailed,
        message: `${what} refused by kubeadm's version policy: ${error.message}`,
        nonRetryable: true,
        kubeadmRecovery: false,
        hints: [
          'kubeadm upgrades one minor at a time, with kubeadm itself at the target minor: check the hop and the kubeadm package.',
        ],
      });
    case 'config':
      return failure({
        ...base,
        type: ErrorTypes.KubeadmFailed,
        message: `${what}: ${error.message}`,
        nonRetryable: true,
        kubeadmRecovery: false,
        hints: ["Re-upload it with 'kubeadm init phase upload-config kubeadm --config <your config>'."],
      });
    case 'rolled-back':
      return failure({
        ...base,
        type: ErrorTypes.KubeadmFailed,
        message: `${what} failed and kubeadm rolled the control plane back: ${lastLine(out)}`,
        nonRetryable: true,
      });
    case 'preflight':
      if (HEALTH_RE.test(out)) {
        return failure({
          ...base,
          type: ErrorTypes.UnexpectedExit,
          message: `${what}: kubeadm's health checks failed, will retry: ${error.message}`,
          nonRetryable: false,
        });
      }
      return failure({
        ...base,
        type: ErrorTypes.KubeadmFailed,
        message: `${what}: kubeadm preflight failed: ${error.message}`,
        nonRetryable: true,
      });
    default:
      if (looksTransient(out)) {
        return failure({
          ...base,
          type: ErrorTypes.Transient,
          message: `${what} failed (exit ${r.exitCode}), will retry: ${lastLine(out)}`,
          nonRetryable: false,
        });
      }
      return failure({
        ...base,
        type: ErrorTypes.KubeadmFailed,
        message: `${what} failed (exit ${r.exitCode}): ${lastLine(out)}`,
        nonRetryable: true,
      });
  }
}

/** Components kubeadm says need a manual config upgrade (the MANUAL UPGRADE REQUIRED column = yes). */
export function manualUpgradesIn(planOutput: string): string[] {
  const json = planOutput.indexOf('{');
  if (json >= 0 && /"kind"\s*:\s*"UpgradePlan"/.test(planOutput)) {
    try {
      const o = jsonIn(planOutput) as {
        configVersions?: { group?: string; manualUpgradeRequired?: boolean }[];
      };
      return (o.configVersions ?? []).filter((c) => c.manualUpgradeRequired).map((c) => c.group ?? '?');
    } catch {
      // fall through to the text table
    }
  }
  const out: string[] = [];
  let inTable = false;
  for (const line of planOutput.split('\n')) {
    if (/MANUAL UPGRADE REQUIRED/.test(line)) {
      inTable = true;
      continue;
    }
    if (!inTable) continue;
    if (/^_{10,}/.test(line) || !line.trim()) {
      inTable = false;
      continue;
    }
    const cols = line.trim().split(/\s+/);
    if (cols[cols.length - 1] === 'yes') out.push(cols[0]);
  }
  return out;
}

function configFileMissing(node: string, step: string, file: string) {
  return failure({
    type: ErrorTypes.KubeadmFailed,
    message: `kubeadm.configFile: ${file} is not readable on ${node}`,
    node,
    step,
    nonRetryable: true,
    hints: [
      `Copy the kubeadm config file to ${file} on ${node} (the first control plane), or fix kubeadm.configFile in the inventory.`,
    ],
  });
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

export function createKubeadmActivities(run: Runner) {
  async function readSettings(
    input: NodeHopInput,
    step: string,
    opts: { cluster: boolean; configFile: boolean },
  ): Promise<KubeadmSettings> {
    const { cluster, node } = input;
    const r = await run.exec(
      targetOf(cluster.inventory, node),
      batch(settingsSections(cluster.inventory, opts)),
      {
        step,
      },
    );
    const s = settingsFrom(cluster.inventory, parseBatch(r.stdout));
    if (s.configFileMissing) throw configFileMissing(node.name, step, s.configFileMissing);
    return s;
  }

  /**
   * Read-only rehearsal on the first control plane: `kubeadm upgrade diff` (what the manifests
   * would become) and `kubeadm upgrade apply --dry-run` with the flags apply will get. Skipped
   * when apply is already done for the version. A refusal is classified like apply's.
   */
  async function kubeadmRehearsal(input: NodeHopInput): Promise<StepResult> {
    const { cluster, node, hop } = input;
    const step = 'rehearsal';
    const want = normalizeVersion(hop.version);
    const target = targetOf(cluster.inventory, node);
    const check = await run.exec(
      target,
      batch([
        { name: 'marker', command: readMarker('upgrade-apply') },
        ...settingsSections(cluster.inventory, { cluster: false, configFile: true }),
      ]),
      { step },
    );
    const got = parseBatch(check.stdout);
    const marker = got.get('marker');
    // apply's marker is keyed by run and hop (markers.ts): the same check apply itself makes
    if (marker?.exitCode === 0 && markerSays(marker.output, markerKey(input, want))) {
      return { changed: false, detail: `kubeadm upgrade apply ${want} already done: nothing to rehearse` };
    }
    const settings = settingsFrom(cluster.inventory, got);
    if (settings.configFileMissing) throw configFileMissing(node.name, step, settings.configFileMissing);
    const diffCmd = cmd('kubeadm', 'upgrade', 'diff', want, ...upgradeFlags(settings, 'diff'));
    const diff = await run.exec(target, diffCmd, { step, progress: true, timeoutMs: 10 * 60_000 });
    if (diff.exitCode !== 0)
      throw kubeadmFailure(node.name, step, diff, diffCmd, `kubeadm upgrade diff ${want}`);
    const args = ['kubeadm', 'upgrade', 'apply', want, '--dry-run', ...upgradeFlags(settings, 'apply')];
    if (!cluster.inventory.kubeadm.certificateRenewal) args.push('--certificate-renewal=false');
    if (!cluster.inventory.kubeadm.etcdUpgrade) args.push('--etcd-upgrade=false');
    const dryCmd = cmd(...args);
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
    const want = normalizeVersion(hop.version);
    const target = targetOf(cluster.inventory, node);
    const settings = await readSettings(input, step, { cluster: false, configFile: true });
    const command = cmd('kubeadm', 'upgrade', 'plan', want, ...upgradeFlags(settings, 'plan'));
    const r = await run.exec(target, command, { step, progress: true, timeoutMs: 10 * 60_000 });
    const out = outputOf(r);
    if (r.exitCode !== 0) {
      if (looksTransient(out) || HEALTH_RE.test(out)) {
        throw kubeadmFailure(node.name, step, r, command, `kubeadm upgrade plan ${want}`);
      }
      logger().warn('kubeadm upgrade plan refused the target', { node: node.name, version: want });
      return { ok: false, manualUpgradeRequired: manualUpgradesIn(out), outputTail: tail(out) };
    }
    const needsNewerKubeadm = /Before you can perform this upgrade, you have to update kubeadm/.test(out);
    return { ok: !needsNewerKubeadm, manualUpgradeRequired: manualUpgradesIn(out), outputTail: tail(out) };
  }

  async function ensureImagesPulled(input: NodeHopInput): Promise<StepResult> {
    const { cluster, node, hop } = input;
    const step = 'images';
    const want = normalizeVersion(hop.version);
    if (!cluster.inventory.kubeadm.prePullImages)
      return { changed: false, detail: 'image pre-pull disabled' };
    const target = targetOf(cluster.inventory, node);
    const check = await run.exec(
      target,
      batch([
        { name: 'marker', command: readMarker('images') },
        ...settingsSections(cluster.inventory, { cluster: true, configFile: false }),
      ]),
      { step },
    );
    const got = parseBatch(check.stdout);
    const marker = got.get('marker');
    if (marker?.exitCode === 0 && markerSays(marker.output, markerKey(input, want))) {
      return { changed: false, detail: `images for ${want} already pulled` };
    }
    const settings = settingsFrom(cluster.inventory, got);
    const args = ['kubeadm', 'config', 'images', 'pull', '--kubernetes-version', want];
    // kubeadm-config's imageRepository (or the inventory's): what apply will run
    const repo = settings.imageRepository;
    if (repo) args.push('--image-repository', repo);
    if (settings.criSocket) args.push('--cri-socket', settings.criSocket);
    const command = withMarker(cmd(...args), 'images', markerKey(input, want));
    const r = await run.exec(target, command, { step, progress: true, timeoutMs: KUBEADM_TIMEOUT_MS });
    if (r.exitCode !== 0) {
      const out = outputOf(r);
      throw failure({
        // A registry that cannot be reached is worth retrying; a missing image is not.
        type:
          /not found|manifest unknown/i.test(out) && !looksTransient(out)
            ? ErrorTypes.KubeadmFailed
            : ErrorTypes.Transient,
        message: `kubeadm config images pull ${want} failed: ${lastLine(out)}`,
        node: node.name,
        step,
        result: r,
        command,
        nonRetryable: /not found|manifest unknown/i.test(out) && !looksTransient(out),
        hints: repo
          ? [
              `Images come from ${repo} (${cluster.inventory.kubeadm.imageRepository ? 'kubeadm.imageRepository in the inventory' : "kubeadm-config's imageRepository"}).`,
            ]
          : [],
      });
    }
    return { changed: true, detail: `images for ${want} pulled`, outputTail: tail(outputOf(r)) };
  }

  async function ensureKubeadmApply(input: NodeHopInput): Promise<StepResult> {
    const { cluster, node, hop } = input;
    const step = 'upgrade-apply';
    const want = normalizeVersion(hop.version);
    const target = targetOf(cluster.inventory, node);
    const check = await run.exec(
      target,
      batch([
        { name: 'marker', command: readMarker('upgrade-apply') },
        { name: 'manifests', command: cmd('grep', '-H', 'image:', ...CONTROL_PLANE.map(manifestPath)) },
        {
          name: 'config',
          command: kubectl('-n', 'kube-system', 'get', 'configmap', 'kubeadm-config', '-o', 'json'),
        },
        ...settingsSections(cluster.inventory, { cluster: false, configFile: true }),
      ]),
      { step },
    );
    const s = parseBatch(check.stdout);
    const settings = settingsFrom(cluster.inventory, s);
    if (markerSays(s.get('marker')?.output, markerKey(input, want))) {
      return { changed: false, detail: `kubeadm upgrade apply ${want} already done`, version: want };
    }
    const tags = manifestTags(s.get('manifests')?.output ?? '');
    let configVersion: string | undefined;
    const cfg = s.get('config');
    if (cfg?.exitCode === 0) {
      try {
        configVersion = kubernetesVersionIn(
          (jsonIn(cfg.output) as { data?: { ClusterConfiguration?: string } }).data?.ClusterConfiguration ??
            '',
        );
      } catch {
        configVersion = undefined;
      }
    }
    const manifestsAtWant = CONTROL_PLANE.every((c) => tags[c] && normalizeSafe(tags[c]) === want);
    if (manifestsAtWant && configVersion === want) {
      return { changed: false, detail: `control plane already at ${want}`, version: want };
    }
    if (settings.configFileMissing) throw configFileMissing(node.name, step, settings.configFileMissing);
    const args = ['kubeadm', 'upgrade', 'apply', want, '--yes', ...upgradeFlags(settings, 'apply')];
    if (!cluster.inventory.kubeadm.certificateRenewal) args.push('--certificate-renewal=false');
    if (!cluster.inventory.kubeadm.etcdUpgrade) args.push('--etcd-upgrade=false');
    const command = withMarker(cmd(...args), 'upgrade-apply', markerKey(input, want));
    logger().info('kubeadm upgrade apply', {
      node: node.name,
      version: want,
      manifests: tags,
      configVersion,
    });
    const r = await run.transaction(target, stepId(step, want), command, {
      step,
      timeoutMs: KUBEADM_TIMEOUT_MS,
    });
    if (r.exitCode !== 0) throw kubeadmFailure(node.name, step, r, command, `kubeadm upgrade apply ${want}`);
    return {
      changed: true,
      detail: `kubeadm upgrade apply ${want}`,
      version: want,
      outputTail: tail(outputOf(r)),
    };
  }

  async function ensureKubeadmUpgradeNode(input: NodeHopInput): Promise<StepResult> {
    const { cluster, node, hop } = input;
    const step = 'upgrade-node';
    const want = normalizeVersion(hop.version);
    const target = targetOf(cluster.inventory, node);
    const check = await run.exec(
      target,
      batch([
        { name: 'marker', command: readMarker('upgrade-node') },
        ...settingsSections(cluster.inventory, { cluster: false, configFile: false }),
      ]),
      { step },
    );
    const got = parseBatch(check.stdout);
    const marker = got.get('marker');
    if (marker?.exitCode === 0 && markerSays(marker.output, markerKey(input, want))) {
      return { changed: false, detail: `kubeadm upgrade node already done for ${want}`, version: want };
    }
    const args = [
      'kubeadm',
      'upgrade',
      'node',
      ...upgradeFlags(settingsFrom(cluster.inventory, got), 'node'),
    ];
    if (node.role === 'control-plane') {
      if (!cluster.inventory.kubeadm.certificateRenewal) args.push('--certificate-renewal=false');
      if (!cluster.inventory.kubeadm.etcdUpgrade) args.push('--etcd-upgrade=false');
    }
    const command = withMarker(cmd(...args), 'upgrade-node', markerKey(input, want));
    logger().info('kubeadm upgrade node', { node: node.name, version: want });
    const r = await run.transaction(target, stepId(step, want), command, {
      step,
      timeoutMs: KUBEADM_TIMEOUT_MS,
    });
    if (r.exitCode !== 0) throw kubeadmFailure(node.name, step, r, command, 'kubeadm upgrade node');
    return {
      changed: true,
      detail: `kubeadm upgrade node (${want})`,
      version: want,
      outputTail: tail(outputOf(r)),
    };
  }

  async function runCniStep(input: NodeHopInput): Promise<StepResult> {
    const { cluster, node, hop } = input;
    const step = 'cni';
    const want = normalizeVersion(hop.version);
    const text = cluster.inventory.rollout.cni?.command;
    if (!text) return { changed: false, detail: 'no CNI command configured' };
    const target = targetOf(cluster.inventory, node);
    const marker = await run.exec(target, readMarker('cni'), { step });
    if (marker.exitCode === 0 && markerSays(marker.stdout, markerKey(input, want))) {
      return { changed: false, detail: `CNI step already done for ${want}` };
    }
    // The operator's own command (inventory rollout.cni.command), run as written in a subshell.
    const command = withMarker(sh`( ${raw(text)} )`, 'cni', markerKey(input, want));
    const r = await run.transaction(target, stepId(step, want), command, {
      step,
      timeoutMs: KUBEADM_TIMEOUT_MS,
    });
    if (r.exitCode !== 0) {
      const out = outputOf(r);
      throw failure({
        type: looksTransient(out) ? ErrorTypes.Transient : ErrorTypes.CommandFailed,
        message: `CNI command failed (exit ${r.exitCode}): ${lastLine(out)}`,
        node: node.name,
        step,
        result: r,
        command,
        nonRetryable: !looksTransient(out),
        hints: [
          'The CNI command comes from rollout.cni.command in the inventory; pod networking may be disrupted while it runs.',
        ],
      });
    }
    return { changed: true, detail: 'CNI step done', outputTail: tail(outputOf(r)) };
  }

  return {
    kubeadmUpgradePlan,
    kubeadmRehearsal,
    ensureImagesPulled,
    ensureKubeadmApply,
    ensureKubeadmUpgradeNode,
    runCniStep,
  };
}

function normalizeSafe(v: string): string {
  try {
    return normalizeVersion(v);
  } catch {
    return v;
  }
}
