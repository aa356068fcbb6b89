/**
 * What kubeadm on a node must be told so that it acts on the cluster as it is, read in one batch:
 * - the image repository of kubeadm-config's ClusterConfiguration (a cluster set up from a
 *   mirror, e.g. registry.cn-hangzhou.aliyuncs.com/google_containers), unless the inventory
 *   names one (kubeadm.imageRepository);
 * - the node's CRI socket (kubeadm-flags.env `--container-runtime-endpoint`): kubeadm guesses it
 *   and fails when two runtimes are installed (cri-dockerd next to containerd);
 * - the patches folder (inventory kubeadm.patchesDir, default /etc/kubernetes/patches) when it
 *   exists on the node: kubeadm regenerates the static Pod manifests (and the kubelet config) and
 *   drops a patch it is not given again;
 * - the operator's config file (inventory kubeadm.configFile), passed as --config on the first
 *   control plane; its absence is a clear error.
 * The batch sections and what they say (parsed by src/parsers/kubeadm-config.ts); the kubeadm
 * activities run them.
 */
import { cmd } from '../ssh/command';
import type { InventorySettings } from '../shared/inventory';
import { criSocketIn, parseKubeadmConfigMap } from '../parsers/kubeadm-config';
import type { NodeHopInput } from '../shared/activities';
import { clusterSections } from './kubectl';
import { markerKey, markerSays, readMarker, type MarkerName } from './markers';
import type { Runner } from './runner';
import { batch, parseBatch, targetOf, type Section, type SectionResult } from './script';

/** How long kupgrade waits on kubeadm upgrade apply/node, the image pull and the CNI step. */
export const KUBEADM_TIMEOUT_MS = 30 * 60_000;

const DEFAULT_PATCHES_DIR = '/etc/kubernetes/patches';
const FLAGS_ENV = '/var/lib/kubelet/kubeadm-flags.env';

export interface KubeadmSettings {
  imageRepository?: string;
  criSocket?: string;
  /** Present only when the folder exists on the node. */
  patchesDir?: string;
  /** The inventory's config file; only for the first control plane. */
  configFile?: string;
  /** The inventory names a config file that is not readable on the node. */
  configFileMissing?: string;
}

/** Batch sections reading the settings; `cluster` adds the kubeadm-config ConfigMap (admin.conf needed). */
export function settingsSections(
  settings: Pick<InventorySettings, 'kubeadm'>,
  opts: { cluster: boolean; configFile: boolean },
): Section[] {
  const s: Section[] = [
    { name: 'flags-env', command: cmd('cat', FLAGS_ENV) },
    { name: 'patches', command: cmd('test', '-d', settings.kubeadm.patchesDir ?? DEFAULT_PATCHES_DIR) },
  ];
  if (opts.cluster && !settings.kubeadm.imageRepository) {
    s.push(clusterSections.kubeadmConfig);
  }
  if (opts.configFile && settings.kubeadm.configFile)
    s.push({ name: 'config-file', command: cmd('test', '-r', settings.kubeadm.configFile) });
  return s;
}

export function settingsFrom(
  settings: Pick<InventorySettings, 'kubeadm'>,
  got: Map<string, SectionResult>,
): KubeadmSettings {
  const out: KubeadmSettings = {};
  const repo = settings.kubeadm.imageRepository;
  if (repo) out.imageRepository = repo;
  else {
    const cm = got.get('kubeadm-config');
    if (cm?.exitCode === 0) {
      try {
        const r = parseKubeadmConfigMap(cm.output).imageRepository;
        if (r) out.imageRepository = r;
      } catch {
        // no ConfigMap JSON: kubeadm's own default applies
      }
    }
  }
  const env = got.get('flags-env');
  const sock = env?.exitCode === 0 ? criSocketIn(env.output) : undefined;
  if (sock) out.criSocket = sock;
  if (got.get('patches')?.exitCode === 0) out.patchesDir = settings.kubeadm.patchesDir ?? DEFAULT_PATCHES_DIR;
  const file = settings.kubeadm.configFile;
  const fileCheck = got.get('config-file');
  if (file && fileCheck) {
    if (fileCheck.exitCode === 0) out.configFile = file;
    else out.configFileMissing = file;
  }
  return out;
}

/** `--config F` and `--patches D` for kubeadm upgrade plan/diff/apply/node (plan and diff take no --patches). */
export function upgradeFlags(s: KubeadmSettings, what: 'plan' | 'diff' | 'apply' | 'node'): string[] {
  const out: string[] = [];
  if (s.configFile && what !== 'node') out.push('--config', s.configFile);
  if (s.patchesDir && (what === 'apply' || what === 'node')) out.push('--patches', s.patchesDir);
  return out;
}

/** The inventory's opt-outs of certificate renewal and the etcd upgrade (control planes only). */
export function controlPlaneFlags(settings: Pick<InventorySettings, 'kubeadm'>): string[] {
  const out: string[] = [];
  if (!settings.kubeadm.certificateRenewal) out.push('--certificate-renewal=false');
  if (!settings.kubeadm.etcdUpgrade) out.push('--etcd-upgrade=false');
  return out;
}

export interface KubeadmStepRead {
  cluster: boolean;
  configFile: boolean;
  marker?: MarkerName;
}

/** What the upgrade-node step reads before it acts. */
export const UPGRADE_NODE_READ: KubeadmStepRead = {
  cluster: false,
  configFile: false,
  marker: 'upgrade-node',
};

/** The sections readKubeadmStep reads: the marker (with `marker`) and the settings. */
export function kubeadmStepSections(input: Pick<NodeHopInput, 'cluster'>, opts: KubeadmStepRead): Section[] {
  const sections = settingsSections(input.cluster.inventory, opts);
  if (opts.marker) sections.unshift({ name: 'marker', command: readMarker(opts.marker) });
  return sections;
}

/**
 * One batch on the node: the settings and, with `marker`, whether this run and hop already did the
 * step at `version` (the marker's exact line).
 */
export async function readKubeadmStep(
  run: Runner,
  input: NodeHopInput,
  step: string,
  version: string,
  opts: KubeadmStepRead,
  /** the sections, already read in an earlier step's session (group-context.ts) */
  read?: Map<string, SectionResult>,
): Promise<KubeadmStepState> {
  const { cluster, node } = input;
  const got =
    read ??
    parseBatch(
      (await run.exec(targetOf(cluster.inventory, node), batch(kubeadmStepSections(input, opts)), { step }))
        .stdout,
    );
  return kubeadmStepFrom(input, version, got);
}

export interface KubeadmStepState {
  /** this run and hop already did the step at the version (its marker) */
  done: boolean;
  settings: KubeadmSettings;
}

/** What the sections of kubeadmStepSections say. */
export function kubeadmStepFrom(
  input: Pick<NodeHopInput, 'cluster' | 'hop' | 'run'>,
  version: string,
  got: Map<string, SectionResult>,
): KubeadmStepState {
  const marker = got.get('marker');
  return {
    done: marker?.exitCode === 0 && markerSays(marker.output, markerKey(input, version)),
    settings: settingsFrom(input.cluster.inventory, got),
  };
}
