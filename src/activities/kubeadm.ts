/**
 * The kubeadm steps that change a node: image pre-pull, upgrade apply on the first control plane,
 * upgrade node on the others and the workers.
 *
 * Check-first rules:
 * - ensureKubeadmApply: the apply marker says the version, or the kube-apiserver,
 *   kube-controller-manager and kube-scheduler manifests on the node AND the kubeadm-config
 *   ConfigMap already carry the version → nothing run.
 * - ensureKubeadmUpgradeNode: the upgrade-node marker says the version → nothing run.
 * - ensureImagesPulled: prePullImages off, or the images marker says the version → nothing run.
 * Failures: see kubeadm-failure.ts; they carry the output tail, kubeadm's backup folders and the
 * runbook's recovery text.
 */
import { manifestImageTags, parseKubeadmConfigMap } from '../parsers/kubeadm-config';
import { CONTROL_PLANE_COMPONENTS } from '../parsers/pods';
import { cmd, type ShellCommand } from '../ssh/command';
import { stepId } from '../ssh/detached';
import type { NodeHopInput, StepResult } from '../shared/activities';
import { sameVersion, withV } from '../shared/versions';
import { ErrorTypes, failure, lastLine, looksTransient, outputOf, tail } from './failure';
import { takeRead, type GroupContext } from './group-context';
import { configFileMissing, kubeadmFailure } from './kubeadm-failure';
import {
  controlPlaneFlags,
  KUBEADM_TIMEOUT_MS,
  kubeadmStepFrom,
  readKubeadmStep,
  settingsFrom,
  settingsSections,
  upgradeFlags,
  UPGRADE_NODE_READ,
  type KubeadmSettings,
} from './kubeadm-settings';
import { clusterSections } from './kubectl';
import { markerKey, markerSays, readMarker, withMarker } from './markers';
import type { Runner } from './runner';
import { logger } from './runtime';
import { batch, parseBatch, sectionRun, targetOf } from './script';

function manifestPath(component: string): string {
  return `/etc/kubernetes/manifests/${component}.yaml`;
}

export function createKubeadmActivities(run: Runner) {
  async function ensureImagesPulled(input: NodeHopInput): Promise<StepResult> {
    const { cluster, node, hop } = input;
    const step = 'images';
    const want = withV(hop.version);
    if (!cluster.inventory.kubeadm.prePullImages)
      return { changed: false, detail: 'image pre-pull disabled' };
    const target = targetOf(cluster.inventory, node);
    const { done, settings } = await readKubeadmStep(run, input, step, want, {
      cluster: true,
      configFile: false,
      marker: 'images',
    });
    if (done) return { changed: false, detail: `images for ${want} already pulled` };
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
    const want = withV(hop.version);
    const target = targetOf(cluster.inventory, node);
    const check = await run.exec(
      target,
      batch([
        { name: 'marker', command: readMarker('upgrade-apply') },
        {
          name: 'manifests',
          command: cmd('grep', '-H', 'image:', ...CONTROL_PLANE_COMPONENTS.map(manifestPath)),
        },
        clusterSections.kubeadmConfig,
        ...settingsSections(cluster.inventory, { cluster: false, configFile: true }),
      ]),
      { step },
    );
    const s = parseBatch(check.stdout);
    const settings = settingsFrom(cluster.inventory, s);
    if (markerSays(s.get('marker')?.output, markerKey(input, want))) {
      return { changed: false, detail: `kubeadm upgrade apply ${want} already done`, version: want };
    }
    const tags = manifestImageTags(s.get('manifests')?.output ?? '');
    let configVersion: string | undefined;
    const cfg = s.get('kubeadm-config');
    if (cfg?.exitCode === 0) {
      try {
        configVersion = parseKubeadmConfigMap(cfg.output).kubernetesVersion;
      } catch {
        configVersion = undefined;
      }
    }
    const manifestsAtWant = CONTROL_PLANE_COMPONENTS.every((c) => tags[c] && sameVersion(tags[c], want));
    if (manifestsAtWant && configVersion === want) {
      return { changed: false, detail: `control plane already at ${want}`, version: want };
    }
    if (settings.configFileMissing) throw configFileMissing(node.name, step, settings.configFileMissing);
    const args = [
      'kubeadm',
      'upgrade',
      'apply',
      want,
      '--yes',
      ...upgradeFlags(settings, 'apply'),
      ...controlPlaneFlags(cluster.inventory),
    ];
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

  async function ensureKubeadmUpgradeNode(input: NodeHopInput, ctx?: GroupContext): Promise<StepResult> {
    const { cluster, node, hop } = input;
    const step = 'upgrade-node';
    const want = withV(hop.version);
    const target = targetOf(cluster.inventory, node);
    // in a group, the kubeadm install that had to run ran upgrade-node in its transaction
    const ran = takeRead(ctx, 'upgradeNodeRun');
    const read = takeRead(ctx, 'upgradeNodeCheck');
    if (ran) {
      const r = sectionRun(ran);
      const settings = read ? kubeadmStepFrom(input, want, read).settings : {};
      if (r.exitCode !== 0)
        throw kubeadmFailure(node.name, step, r, upgradeNodeCommand(input, settings), 'kubeadm upgrade node');
      return {
        changed: true,
        detail: `kubeadm upgrade node (${want}), in the kubeadm install's transaction`,
        version: want,
        outputTail: tail(ran.output),
      };
    }
    // in a group, read in an earlier step's session
    const { done, settings } = await readKubeadmStep(run, input, step, want, UPGRADE_NODE_READ, read);
    if (done)
      return { changed: false, detail: `kubeadm upgrade node already done for ${want}`, version: want };
    const command = upgradeNodeCommand(input, settings);
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

  return { ensureImagesPulled, ensureKubeadmApply, ensureKubeadmUpgradeNode };
}

/** `kubeadm upgrade node` with the node's settings, and its marker for this run and hop. */
export function upgradeNodeCommand(input: NodeHopInput, settings: KubeadmSettings): ShellCommand {
  const args = [
    'kubeadm',
    'upgrade',
    'node',
    ...upgradeFlags(settings, 'node'),
    ...(input.node.role === 'control-plane' ? controlPlaneFlags(input.cluster.inventory) : []),
  ];
  return withMarker(cmd(...args), 'upgrade-node', markerKey(input, withV(input.hop.version)));
}
