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
import { readMarker, withMarker } from './markers';
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

export function createKubeadmActivities(run: Runner) {
  async function kubeadmUpgradePlan(input: NodeHopInput): Promise<UpgradePlanResult> {
    const { cluster, node, hop } = input;
    const step = 'upgrade-plan';
    const want = normalizeVersion(hop.version);
    const target = targetOf(cluster.inventory, node);
    const command = cmd('kubeadm', 'upgrade', 'plan', want);
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
    const marker = await run.exec(target, readMarker('images'), { step });
    if (marker.exitCode === 0 && marker.stdout.trim() === want) {
      return { changed: false, detail: `images for ${want} already pulled` };
    }
    const args = ['kubeadm', 'config', 'images', 'pull', '--kubernetes-version', want];
    const repo = cluster.inventory.kubeadm.imageRepository;
    if (repo) args.push('--image-repository', repo);
    const command = withMarker(cmd(...args), 'images', want);
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
        hints: repo ? [`Images come from ${repo} (kubeadm.imageRepository).`] : [],
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
      ]),
      { step },
    );
    const s = parseBatch(check.stdout);
    if (s.get('marker')?.output.trim() === want) {
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
    const args = ['kubeadm', 'upgrade', 'apply', want, '--yes'];
    if (!cluster.inventory.kubeadm.certificateRenewal) args.push('--certificate-renewal=false');
    if (!cluster.inventory.kubeadm.etcdUpgrade) args.push('--etcd-upgrade=false');
    const command = withMarker(cmd(...args), 'upgrade-apply', want);
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
    const marker = await run.exec(target, readMarker('upgrade-node'), { step });
    if (marker.exitCode === 0 && marker.stdout.trim() === want) {
      return { changed: false, detail: `kubeadm upgrade node already done for ${want}`, version: want };
    }
    const args = ['kubeadm', 'upgrade', 'node'];
    if (node.role === 'control-plane') {
      if (!cluster.inventory.kubeadm.certificateRenewal) args.push('--certificate-renewal=false');
      if (!cluster.inventory.kubeadm.etcdUpgrade) args.push('--etcd-upgrade=false');
    }
    const command = withMarker(cmd(...args), 'upgrade-node', want);
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
    if (marker.exitCode === 0 && marker.stdout.trim() === want) {
      return { changed: false, detail: `CNI step already done for ${want}` };
    }
    // The operator's own command (inventory rollout.cni.command), run as written in a subshell.
    const command = withMarker(sh`( ${raw(text)} )`, 'cni', want);
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

  return { kubeadmUpgradePlan, ensureImagesPulled, ensureKubeadmApply, ensureKubeadmUpgradeNode, runCniStep };
}

function normalizeSafe(v: string): string {
  try {
    return normalizeVersion(v);
  } catch {
    return v;
  }
}
