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
 * Pure parsers plus the batch sections; the activities in kubeadm.ts run them.
 */
import { cmd } from '../ssh/command';
import type { InventorySettings } from '../shared/inventory';
import { kubectl } from './kubectl';
import { jsonIn, type Section, type SectionResult } from './script';

export const DEFAULT_PATCHES_DIR = '/etc/kubernetes/patches';
const FLAGS_ENV = '/var/lib/kubelet/kubeadm-flags.env';

/** `imageRepository: R` of a ClusterConfiguration document. */
export function imageRepositoryIn(clusterConfiguration: string): string | undefined {
  const m = /^imageRepository:\s*["']?([^"'\s#]+)["']?\s*(#.*)?$/m.exec(clusterConfiguration);
  return m?.[1];
}

/** `--container-runtime-endpoint=unix:///…` (or the pre-1.24 `--cri-socket`/remote form) of kubeadm-flags.env. */
export function criSocketIn(flagsEnv: string): string | undefined {
  const m = /--container-runtime-endpoint[= ]["']?((?:unix|npipe|tcp):\/\/[^\s"']+|\/[^\s"']+)/.exec(
    flagsEnv,
  );
  if (!m) return undefined;
  return m[1]!.startsWith('/') ? `unix://${m[1]}` : m[1];
}

/** kubeadm's refusal to read an old component config: group, the old and the wanted apiVersion. */
export function manualConversionIn(output: string): { group: string; from: string; to: string }[] {
  const out: { group: string; from: string; to: string }[] = [];
  const re =
    /(?:unsupported|unexpected) apiVersion "([^"]+)", you may have to do manual conversion to "([^"]+)"/g;
  for (let m = re.exec(output); m; m = re.exec(output)) {
    const from = m[1]!;
    if (out.some((x) => x.from === from)) continue;
    out.push({ group: from.split('/')[0]!, from, to: m[2]! });
  }
  return out;
}

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
    s.push({
      name: 'kubeadm-config',
      command: kubectl('-n', 'kube-system', 'get', 'configmap', 'kubeadm-config', '-o', 'json'),
    });
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
        const cc = (jsonIn(cm.output) as { data?: { ClusterConfiguration?: string } }).data
          ?.ClusterConfiguration;
        const r = cc ? imageRepositoryIn(cc) : undefined;
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
