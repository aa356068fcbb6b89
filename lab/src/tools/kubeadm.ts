/**
 * kubeadm: version, upgrade plan/apply/node/diff, config images pull/list. Texts follow
 * the real kubeadm (cmd/kubeadm in kubernetes/kubernetes); the installed kubeadm package's version decides the format
 * (v1.30: plan NODE column and Cluster version without v; v1.32: apply phases).
 */
import { parseAllDocuments } from 'yaml';
import * as YAML from 'yaml';
import type { NodeState } from '../model/state';
import { configApiVersionFor } from '../model/state';
import { applyMs, TIME, upgradeNodeCpMs } from '../model/time-model';
import {
  cmpVer,
  corednsFor,
  etcdFor,
  facts,
  gitCommit,
  buildDate,
  LAST_PATCH,
  latestPatch,
  minorOf,
  mustVer,
  noV,
  parseVer,
  withV,
} from '../model/versions';
import { tabwrite, goDuration } from '../model/format';
import {
  CP_COMPONENTS,
  image,
  manifest,
  manifestImageTag,
  kubeletConfig,
  type CpComponent,
} from '../model/manifests';
import { clusterSwap } from './kubelet-configmap';
import { applyPatches, type PatchFile } from '../model/patches';
import { parseFlags, str, bool, type FlagDef, type Parsed } from './argv';
import type { Effect, ExecResult, ToolCall } from './types';
import { ok, fail, killable, KILLED } from './types';

const STACK = 'To see the stack trace of this error execute with --v=5 or higher\n';
const SEP = '_'.repeat(69) + '\n\n';
const GLOBAL: FlagDef[] = [
  { name: 'v', short: 'v', type: 'string' },
  { name: 'rootfs', type: 'string' },
  { name: 'add-dir-header', type: 'bool' },
  { name: 'log-file', type: 'string' },
  { name: 'skip-headers', type: 'bool' },
  { name: 'help', short: 'h', type: 'bool' },
];

/** kubeadm's fatal error path (kubeadmutil.CheckErr): message, stack-trace hint, exit 1. */
function fatal(msg: string, stdout = ''): ExecResult {
  return fail(1, `${msg.endsWith('\n') ? msg : msg + '\n'}${STACK}`, stdout);
}

let klogPid = 0;
/** A klog line as kubeadm writes it to stderr: `W0529 18:07:26.782293    8899 file.go:N] msg`. */
export function klog(level: 'W' | 'I' | 'E', file: string, msg: string, d = new Date()): string {
  klogPid = klogPid || 1000 + Math.floor(Math.random() * 30000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const us = p(d.getMilliseconds(), 3) + '000';
  return `${level}${p(d.getMonth() + 1)}${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${us}${String(klogPid).padStart(8)} ${file}] ${msg}\n`;
}

function tmpDigits(): string {
  return String(1000000000 + Math.floor(Math.random() * 3000000000));
}

export function clusterVersion(cps: NodeState[]): string {
  return cps.map((n) => n.cp!.apiserver).reduce((a, b) => (cmpVer(a, b) >= 0 ? a : b));
}

function lowestApiserver(cps: NodeState[]): string {
  return cps.map((n) => n.cp!.apiserver).reduce((a, b) => (cmpVer(a, b) <= 0 ? a : b));
}

/** `this version of kubeadm only supports deploying clusters with the control plane version >= 1.32.0` */
function tooNewCheck(kubeadmV: string, clusterV: string, fmtMinor: number): string | null {
  const min = `1.${minorOf(kubeadmV) - 1}.0`;
  if (cmpVer(clusterV, min) >= 0) return null;
  const msg = `this version of kubeadm only supports deploying clusters with the control plane version >= ${min}. Current version: ${withV(clusterV)}`;
  return fmtMinor <= 31 ? `[upgrade/config] FATAL: ${msg}` : msg;
}

function configHeader(fmtMinor: number, mode: 'plan' | 'apply' | 'node'): string {
  if (fmtMinor >= 32 || (mode === 'plan' && fmtMinor >= 32)) {
    const hint =
      fmtMinor >= 34
        ? "Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it."
        : "Use 'kubeadm init phase upload-config --config your-config-file' to re-upload it.";
    return `[upgrade/config] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...\n[upgrade/config] ${hint}\n`.replace(
      /\[upgrade\/config\]/g,
      mode === 'plan' ? '[upgrade/config]' : '[upgrade]',
    );
  }
  return "[upgrade/config] Reading configuration from the cluster...\n[upgrade/config] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'\n";
}

/** Reads `--config` (UpgradeConfiguration v1beta4, or a ClusterConfiguration as older guides use). */
interface ConfigFile {
  version?: string;
  imageRepository?: string;
  /** apiVersion of a KubeletConfiguration document in the file */
  kubeletConfigApi?: string;
  error?: string;
}

function readConfig(c: ToolCall, p: Parsed): ConfigFile {
  const f = str(p, 'config');
  if (!f) return {};
  const text = c.ctx.files[f];
  if (text === undefined || text === null)
    return { error: `unable to read config from "${f}" : open ${f}: no such file or directory` };
  const out: ConfigFile = {};
  try {
    for (const d of parseAllDocuments(text)) {
      const o = d.toJSON() as Record<string, unknown> | null;
      if (!o || typeof o !== 'object') continue;
      if (o.kind === 'UpgradeConfiguration') {
        const apply = o.apply as Record<string, unknown> | undefined;
        if (apply && typeof apply.kubernetesVersion === 'string') out.version = apply.kubernetesVersion;
      } else if (o.kind === 'ClusterConfiguration') {
        if (typeof o.kubernetesVersion === 'string') out.version = o.kubernetesVersion;
        if (typeof o.imageRepository === 'string') out.imageRepository = o.imageRepository;
      } else if (o.kind === 'KubeletConfiguration' && typeof o.apiVersion === 'string') {
        out.kubeletConfigApi = o.apiVersion;
      }
    }
  } catch (e) {
    return { error: `error converting YAML to JSON: ${(e as Error).message.split('\n')[0]}` };
  }
  return out;
}

function kubeconfigPath(p: Parsed, dflt: string): string {
  return str(p, 'kubeconfig') ?? dflt;
}

function missingKubeconfig(path: string): ExecResult {
  // RECON: client creation failure wording
  return fatal(
    `couldn't create a Kubernetes client from file "${path}": failed to load admin kubeconfig: open ${path}: no such file or directory`,
  );
}

function missingManifests(c: ToolCall): string[] {
  return CP_COMPONENTS.map((m) => `/etc/kubernetes/manifests/${m}.yaml`).filter((f) => !c.ctx.files[f]);
}

const DEFAULT_CRI = 'unix:///var/run/containerd/containerd.sock';
const KUBELET_CONFIG_API = 'kubelet.config.k8s.io/v1beta1';

/**
 * The component config kubeadm cannot convert (the cluster's kubelet-config is of an old API
 * version): apply and node refuse until `--config` carries a current KubeletConfiguration.
 */
function manualConversion(c: ToolCall, cfg: ConfigFile, fmt: number): string | null {
  const old = c.cl.state.kubeletConfigApi;
  if (!old || cfg.kubeletConfigApi === KUBELET_CONFIG_API) return null;
  const msg = `unsupported apiVersion ${JSON.stringify(old)}, you may have to do manual conversion to ${JSON.stringify(KUBELET_CONFIG_API)} and run kubeadm again`;
  return fmt >= 32 ? `[upgrade] FATAL: ${msg}` : `[upgrade/config] FATAL: ${msg}`;
}

/** The patch files of `--patches DIR` (gathered by the shim), or kubeadm's error for a missing folder. */
function patchFiles(c: ToolCall, p: Parsed): { files: PatchFile[]; error?: string } {
  const dir = str(p, 'patches');
  if (!dir) return { files: [] };
  const d = dir.replace(/\/+$/, '');
  if (c.ctx.files[`${d}/`] === undefined)
    return {
      files: [],
      error: `could not list patch files for path ${JSON.stringify(d)}: open ${d}: no such file or directory`,
    };
  const files: PatchFile[] = [];
  for (const [f, content] of Object.entries(c.ctx.files)) {
    if (content === null || !f.startsWith(`${d}/`) || f === `${d}/`) continue;
    files.push({ name: f.slice(d.length + 1), content });
  }
  return { files };
}

/** The runtime's image store of this node: what kubeadm pulled. */
function recordImages(c: ToolCall, refs: string[]): void {
  const have = new Set(c.node.images ?? []);
  for (const r of refs) have.add(r);
  c.node.images = [...have].sort();
  c.cl.changed(c.node.name);
}

function imagesFor(repo: string, version: string): { name: string; ref: string }[] {
  const f = facts(version);
  const v = withV(version);
  const dns =
    repo === 'registry.k8s.io' ? `${repo}/coredns/coredns:${f.coredns}` : `${repo}/coredns:${f.coredns}`;
  return [
    { name: 'kube-apiserver', ref: `${repo}/kube-apiserver:${v}` },
    { name: 'kube-controller-manager', ref: `${repo}/kube-controller-manager:${v}` },
    { name: 'kube-scheduler', ref: `${repo}/kube-scheduler:${v}` },
    { name: 'kube-proxy', ref: `${repo}/kube-proxy:${v}` },
    { name: 'coredns', ref: dns },
    { name: 'pause', ref: `${repo}/pause:${f.pause}` },
    { name: 'etcd', ref: `${repo}/etcd:${f.etcd}` },
  ];
}

function releaseExists(v: string): boolean {
  const p = mustVer(v);
  const last = LAST_PATCH[p.minor];
  return last !== undefined && p.patch <= last;
}

function normalizeVersion(v: string): string | null {
  const p = parseVer(v);
  if (!p || !/^v?\d+\.\d+\.\d+$/.test(v)) return null;
  return `${p.major}.${p.minor}.${p.patch}`;
}

// ---------------------------------------------------------------------------------------------

export async function kubeadm(c: ToolCall): Promise<ExecResult> {
  const [a0, a1, a2] = c.argv;
  const rest = (n: number) => c.argv.slice(n);
  if (a0 === undefined || a0 === '-h' || a0 === '--help' || a0 === 'help') return ok(rootHelp());
  if (a0 === 'version') return version(c, rest(1));
  if (a0 === 'upgrade') {
    if (a1 === 'plan') return plan(c, rest(2));
    if (a1 === 'apply') return apply(c, rest(2));
    if (a1 === 'node') return upgradeNode(c, rest(2));
    if (a1 === 'diff') return diff(c, rest(2));
    // RECON: a non-runnable parent command prints its help (cobra), exit 0
    if (a1 === undefined || a1.startsWith('-')) return ok(upgradeHelp());
    return ok(upgradeHelp());
  }
  if (a0 === 'config' && a1 === 'images' && (a2 === 'pull' || a2 === 'list')) return images(c, a2, rest(3));
  if (a0.startsWith('-')) {
    const p = parseFlags([a0], GLOBAL);
    if (p.error) return fatal(p.error);
    return ok(rootHelp());
  }
  if (['init', 'join', 'reset', 'token', 'certs', 'kubeconfig', 'completion', 'config'].includes(a0)) {
    // RECON: outside the lab's scope; fail loudly rather than pretend
    return fatal(`kupgrade-lab: "kubeadm ${a0}${a1 ? ' ' + a1 : ''}" is not simulated by the lab`);
  }
  return fatal(`unknown command "${a0}" for "kubeadm"`);
}

function rootHelp(): string {
  return [
    '',
    '    ┌──────────────────────────────────────────────────────────┐',
    '    │ KUBEADM                                                  │',
    '    │ Easily bootstrap a secure Kubernetes cluster             │',
    '    └──────────────────────────────────────────────────────────┘',
    '',
    'Usage:',
    '  kubeadm [command]',
    '',
    'Available Commands:',
    '  config      Manage configuration for a kubeadm cluster persisted in a ConfigMap in the cluster',
    '  upgrade     Upgrade your cluster smoothly to a newer version with this command',
    '  version     Print the version of kubeadm',
    '',
  ].join('\n');
}

function upgradeHelp(): string {
  return [
    'Upgrade your cluster smoothly to a newer version with this command',
    '',
    'Usage:',
    '  kubeadm upgrade [flags]',
    '  kubeadm upgrade [command]',
    '',
    'Available Commands:',
    '  apply       Upgrade your Kubernetes cluster to the specified version',
    '  diff        Show what differences would be applied to existing static pod manifests. See also: kubeadm upgrade apply --dry-run',
    '  node        Upgrade commands for a node in the cluster',
    '  plan        Check which versions are available to upgrade to and validate whether your current cluster is upgradeable.',
    '',
  ].join('\n');
}

// ---- version --------------------------------------------------------------------------------

async function version(c: ToolCall, argv: string[]): Promise<ExecResult> {
  const p = parseFlags(argv, [...GLOBAL, { name: 'output', short: 'o', type: 'string' }]);
  if (p.error) return fatal(p.error);
  await c.cl.sleep(TIME.kubeadmLocalMs);
  const r = renderKubeadmVersion(c.node.packages.kubeadm.version, str(p, 'output') ?? '');
  return r === null ? fatal(`invalid output format: ${str(p, 'output')}`) : ok(r);
}

/** `kubeadm version` in its four output forms; null for an invalid -o. */
export function renderKubeadmVersion(v: string, output: string): string | null {
  const x = mustVer(v);
  const info = {
    major: String(x.major),
    minor: String(x.minor),
    gitVersion: withV(v),
    gitCommit: gitCommit(v),
    gitTreeState: 'clean',
    buildDate: buildDate(v),
    goVersion: facts(v).go,
    compiler: 'gc',
    platform: 'linux/amd64',
  };
  if (output === '') {
    const emu =
      x.minor >= 33
        ? ` EmulationMajor:"", EmulationMinor:"", MinCompatibilityMajor:"", MinCompatibilityMinor:"",`
        : '';
    return `kubeadm version: &version.Info{Major:"${info.major}", Minor:"${info.minor}",${emu} GitVersion:"${info.gitVersion}", GitCommit:"${info.gitCommit}", GitTreeState:"clean", BuildDate:"${info.buildDate}", GoVersion:"${info.goVersion}", Compiler:"gc", Platform:"linux/amd64"}\n`;
  }
  if (output === 'short') return `${info.gitVersion}\n`;
  if (output === 'json') return JSON.stringify({ clientVersion: info }, null, 2) + '\n';
  if (output === 'yaml') return YAML.stringify({ clientVersion: info }, { sortMapEntries: true });
  return null;
}

// ---- plan -----------------------------------------------------------------------------------

const PLAN_FLAGS: FlagDef[] = [
  ...GLOBAL,
  { name: 'config', type: 'string' },
  { name: 'kubeconfig', type: 'string' },
  { name: 'allow-experimental-upgrades', type: 'bool' },
  { name: 'allow-release-candidate-upgrades', type: 'bool' },
  { name: 'print-config', type: 'bool' },
  { name: 'ignore-preflight-errors', type: 'string' },
  { name: 'output', short: 'o', type: 'string' },
  { name: 'show-managed-fields', type: 'bool' },
  { name: 'feature-gates', type: 'string' },
];

export interface PlanInput {
  kubeadmVersion: string;
  clusterVersion: string;
  target: string;
  nodes: { name: string; kubelet: string; cp: { apiserver: string; etcd: string } | null }[];
  kubeProxy: string;
  coredns: string;
  /** the kubelet-config ConfigMap's old apiVersion, if any */
  kubeletConfigApi?: string;
}

interface Upgrade {
  description: string;
  newVersion: string;
}

export function planUpgrades(i: PlanInput): Upgrade[] {
  const out: Upgrade[] = [];
  const series = latestPatch(minorOf(i.clusterVersion));
  if (series && cmpVer(series, i.clusterVersion) > 0 && minorOf(i.target) !== minorOf(i.clusterVersion)) {
    out.push({ description: `version in the v1.${minorOf(i.clusterVersion)} series`, newVersion: series });
  }
  if (cmpVer(i.target, i.clusterVersion) > 0) {
    const inSeries =
      minorOf(i.target) === minorOf(i.clusterVersion) && series !== null && cmpVer(i.target, series) === 0;
    out.push({
      description: inSeries ? `version in the v1.${minorOf(i.clusterVersion)} series` : 'stable version',
      newVersion: i.target,
    });
  }
  return out;
}

interface Comp {
  name: string;
  currentVersion: string;
  newVersion: string;
  nodeName?: string;
}

function planComponents(i: PlanInput, newV: string, fmtMinor: number): Comp[] {
  const nv = withV(newV);
  const comps: Comp[] = [];
  const cps = i.nodes.filter((n) => n.cp);
  if (fmtMinor >= 30) {
    for (const n of i.nodes)
      comps.push({ name: 'kubelet', currentVersion: withV(n.kubelet), newVersion: nv, nodeName: n.name });
    for (const comp of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      for (const n of cps)
        comps.push({ name: comp, currentVersion: withV(n.cp!.apiserver), newVersion: nv, nodeName: n.name });
    }
    comps.push({ name: 'kube-proxy', currentVersion: noV(i.kubeProxy), newVersion: nv });
    comps.push({ name: 'CoreDNS', currentVersion: i.coredns, newVersion: corednsFor(newV) });
    comps.push({ name: 'kubeadm', currentVersion: withV(i.kubeadmVersion), newVersion: nv });
    for (const n of cps)
      comps.push({ name: 'etcd', currentVersion: n.cp!.etcd, newVersion: etcdFor(newV), nodeName: n.name });
    return comps;
  }
  const groups = new Map<string, number>();
  for (const n of i.nodes) groups.set(withV(n.kubelet), (groups.get(withV(n.kubelet)) ?? 0) + 1);
  const kubelet = [...groups].map(([v, k]) => `${k} x ${v}`).join(', ');
  comps.push({ name: 'kubelet', currentVersion: kubelet, newVersion: nv });
  const cv = withV(i.clusterVersion);
  for (const comp of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy']) {
    comps.push({ name: comp, currentVersion: cv, newVersion: nv });
  }
  comps.push({ name: 'CoreDNS', currentVersion: i.coredns, newVersion: corednsFor(newV) });
  comps.push({ name: 'kubeadm', currentVersion: withV(i.kubeadmVersion), newVersion: nv });
  comps.push({ name: 'etcd', currentVersion: cps[0]?.cp?.etcd ?? '', newVersion: etcdFor(newV) });
  return comps;
}

const CONFIG_STATES = [
  {
    group: 'kubeproxy.config.k8s.io',
    currentVersion: 'v1alpha1',
    preferredVersion: 'v1alpha1',
    manualUpgradeRequired: false,
  },
  {
    group: 'kubelet.config.k8s.io',
    currentVersion: 'v1beta1',
    preferredVersion: 'v1beta1',
    manualUpgradeRequired: false,
  },
];

/** The component-config rows: kubelet wants a manual upgrade when its ConfigMap is of an old version. */
function configStates(kubeletConfigApi?: string) {
  if (!kubeletConfigApi) return CONFIG_STATES;
  return CONFIG_STATES.map((s) =>
    s.group === 'kubelet.config.k8s.io'
      ? { ...s, currentVersion: kubeletConfigApi.split('/')[1] ?? '-', manualUpgradeRequired: true }
      : s,
  );
}

/** The plan's tables (text) — §2.2 of the reference, both the ≥1.30 and the older layout. */
export function renderPlanText(i: PlanInput, fmtMinor: number): string {
  const ups = planUpgrades(i);
  let out = '';
  for (const u of ups) {
    const comps = planComponents(i, u.newVersion, fmtMinor);
    const kubelets = comps.filter((x) => x.name === 'kubelet');
    const others = comps.filter((x) => x.name !== 'kubelet' && x.name !== 'kubeadm');
    out +=
      "Components that must be upgraded manually after you have upgraded the control plane with 'kubeadm upgrade apply':\n";
    if (fmtMinor >= 30) {
      out += tabwrite([
        ['COMPONENT', 'NODE', 'CURRENT', 'TARGET'],
        ...kubelets.map((k) => ['kubelet', k.nodeName ?? '', k.currentVersion, k.newVersion]),
      ]);
    } else {
      const parts = kubelets[0]!.currentVersion.split(', ');
      out += tabwrite([
        ['COMPONENT', 'CURRENT', 'TARGET'],
        ...parts.map((pt, idx) => [idx === 0 ? 'kubelet' : '', pt, kubelets[0]!.newVersion]),
      ]);
    }
    out += `\nUpgrade to the latest ${u.description}:\n\n`;
    if (fmtMinor >= 30) {
      out += tabwrite([
        ['COMPONENT', 'NODE', 'CURRENT', 'TARGET'],
        ...others.map((x) => [x.name, x.nodeName ?? '', x.currentVersion, x.newVersion]),
      ]);
    } else {
      out += tabwrite([
        ['COMPONENT', 'CURRENT', 'TARGET'],
        ...others.map((x) => [x.name, x.currentVersion, x.newVersion]),
      ]);
    }
    out += '\nYou can now apply the upgrade by executing the following command:\n\n';
    out += `\tkubeadm upgrade apply ${withV(u.newVersion)}\n\n`;
    if (cmpVer(u.newVersion, i.kubeadmVersion) > 0) {
      out += `Note: Before you can perform this upgrade, you have to update kubeadm to ${withV(u.newVersion)}.\n\n`;
    }
    out += SEP;
  }
  out +=
    '\nThe table below shows the current state of component configs as understood by this version of kubeadm.\n' +
    'Configs that have a "yes" mark in the "MANUAL UPGRADE REQUIRED" column require manual config upgrade or\n' +
    'resetting to kubeadm defaults before a successful upgrade can be performed. The version to manually\n' +
    'upgrade to is denoted in the "PREFERRED VERSION" column.\n\n';
  out += tabwrite([
    ['API GROUP', 'CURRENT VERSION', 'PREFERRED VERSION', 'MANUAL UPGRADE REQUIRED'],
    ...configStates(i.kubeletConfigApi).map((s) => [
      s.group,
      s.currentVersion,
      s.preferredVersion,
      s.manualUpgradeRequired ? 'yes' : 'no',
    ]),
  ]);
  out += SEP;
  return out;
}

/** `-o json|yaml`: v1alpha3 from 1.30 (availableUpgrades), v1alpha2 before (flat components). */
export function planObject(i: PlanInput, fmtMinor: number): Record<string, unknown> {
  const ups = planUpgrades(i);
  if (fmtMinor >= 30) {
    const o: Record<string, unknown> = { kind: 'UpgradePlan', apiVersion: 'output.kubeadm.k8s.io/v1alpha3' };
    if (ups.length) {
      o.availableUpgrades = ups.map((u) => ({
        description: u.description,
        components: planComponents(i, u.newVersion, fmtMinor),
      }));
    }
    o.configVersions = configStates(i.kubeletConfigApi);
    return o;
  }
  const last = ups[ups.length - 1];
  // RECON: v1alpha2 lists the components of the last (newest) available upgrade
  return {
    kind: 'UpgradePlan',
    apiVersion: 'output.kubeadm.k8s.io/v1alpha2',
    components: last ? planComponents(i, last.newVersion, fmtMinor) : [],
    configVersions: configStates(i.kubeletConfigApi),
  };
}

function resolveStable(kubeadmV: string, stderr: string[]): string {
  const km = minorOf(kubeadmV);
  const newest = latestPatch(Math.max(...Object.keys(LAST_PATCH).map(Number)))!;
  if (minorOf(newest) > km) {
    stderr.push(
      klog(
        'I',
        'version.go:261',
        `remote version is much newer: ${withV(newest)}; falling back to: stable-1.${km}`,
      ),
    );
  }
  return latestPatch(km) ?? kubeadmV;
}

async function plan(c: ToolCall, argv: string[]): Promise<ExecResult> {
  const p = parseFlags(argv, PLAN_FLAGS);
  if (p.error) return fatal(p.error);
  const kv = c.node.packages.kubeadm.version;
  const fmt = minorOf(kv);
  const output = str(p, 'output') ?? 'text';
  if (!['text', 'json', 'yaml'].includes(output)) return fatal(`invalid output format: ${output}`);
  const kcfg = kubeconfigPath(p, '/etc/kubernetes/admin.conf');
  if (!c.ctx.files[kcfg]) return missingKubeconfig(kcfg);
  const cfg = readConfig(c, p);
  if (cfg.error) return fatal(cfg.error);
  const cps = c.cl.controlPlanes();
  const cv = clusterVersion(cps);
  let stdout = '';
  const stderr: string[] = [];
  if (fmt >= 32) stdout += '[preflight] Running pre-flight checks.\n' + configHeader(fmt, 'plan');
  else stdout += configHeader(fmt, 'plan') + '[preflight] Running pre-flight checks.\n';
  const tooNew = tooNewCheck(kv, cv, fmt);
  if (tooNew) return fatal(tooNew, stdout);
  stdout += '[upgrade] Running cluster health checks\n';
  await c.cl.sleep(TIME.kubeadmPlanMs);
  const notReady = cps.filter((n) => !n.ready).map((n) => n.name);
  if (notReady.length && !(str(p, 'ignore-preflight-errors') ?? '').match(/all|ControlPlaneNodesReady/i)) {
    return healthFatal(stdout, notReady);
  }
  stdout += '[upgrade] Fetching available versions to upgrade to\n';
  const distinct = new Map<string, string[]>();
  for (const n of cps) distinct.set(n.cp!.apiserver, [...(distinct.get(n.cp!.apiserver) ?? []), n.name]);
  if (distinct.size > 1) {
    stderr.push(
      klog(
        'W',
        'compute.go:97',
        `Different API server versions in the cluster were discovered: ${[...distinct].map(([v, ns]) => `${withV(v)} on nodes [${ns.join(' ')}]`).join(', ')}. Please upgrade your control plane nodes to the same version of Kubernetes`,
      ),
    );
  }
  let target: string;
  const arg = p.args[0] ?? cfg.version;
  if (arg) {
    const t = normalizeVersion(arg);
    if (!t) return fatal(`could not parse "${arg}" as version`, stdout); // RECON
    target = t;
  } else target = resolveStable(kv, stderr);
  stdout += `[upgrade/versions] Cluster version: ${fmt >= 30 ? noV(cv) : withV(cv)}\n`;
  stdout += `[upgrade/versions] kubeadm version: ${withV(kv)}\n`;
  stdout += `[upgrade/versions] Target version: ${withV(target)}\n`;
  const series = latestPatch(minorOf(cv));
  if (series)
    stdout += `[upgrade/versions] Latest version in the v1.${minorOf(cv)} series: ${withV(series)}\n`;
  const input: PlanInput = {
    kubeadmVersion: kv,
    clusterVersion: cv,
    target,
    nodes: c.cl.nodes().map((n) => ({
      name: n.name,
      kubelet: n.kubelet,
      cp: n.cp ? { apiserver: n.cp.apiserver, etcd: n.cp.etcd } : null,
    })),
    kubeProxy: c.cl.state.kubeProxy,
    coredns: c.cl.state.coredns,
    ...(c.cl.state.kubeletConfigApi && cfg.kubeletConfigApi !== KUBELET_CONFIG_API
      ? { kubeletConfigApi: c.cl.state.kubeletConfigApi }
      : {}),
  };
  if (output === 'text') {
    const ups = planUpgrades(input);
    if (ups.length === 0 && fmt < 30) stdout += "\nAwesome, you're up-to-date! Enjoy!\n";
    else stdout += '\n' + renderPlanText(input, fmt);
  } else {
    const obj = planObject(input, fmt);
    stdout +=
      output === 'json' ? JSON.stringify(obj, null, 4) + '\n' : YAML.stringify(obj, { sortMapEntries: true });
  }
  return { stdout, stderr: stderr.join(''), exit: 0 };
}

function healthFatal(stdout: string, notReady: string[]): ExecResult {
  return fail(
    1,
    `[upgrade/health] FATAL: [preflight] Some fatal errors occurred:\n\t[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [${notReady.join(' ')}]\n` +
      '[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\n' +
      STACK,
    stdout,
  );
}

// ---- version policy -------------------------------------------------------------------------

export interface PolicyResult {
  mandatory: string[];
  skippable: string[];
}

/** cmd/kubeadm/app/phases/upgrade/policy.go, with its exact texts. */
export function versionPolicy(
  clusterV: string,
  kubeadmV: string,
  newV: string,
  kubelets: string[],
): PolicyResult {
  const r: PolicyResult = { mandatory: [], skippable: [] };
  const c = mustVer(clusterV);
  const k = mustVer(kubeadmV);
  const n = mustVer(newV);
  const q = JSON.stringify(withV(newV));
  if (n.minor > c.minor + 1)
    r.mandatory.push(
      `Specified version to upgrade to ${q} is too high; kubeadm can upgrade only 1 minor version at a time`,
    );
  if (n.minor < c.minor - 1)
    r.mandatory.push(
      `Specified version to downgrade to ${q} is too low; kubeadm can downgrade only 1 minor version at a time`,
    );
  if (k.minor < n.minor) {
    r.mandatory.push(
      `Specified version to upgrade to ${q} is at least one minor release higher than the kubeadm minor release (${n.minor} > ${k.minor}). Such an upgrade is not supported`,
    );
  } else if (k.minor === n.minor && k.patch < n.patch) {
    r.skippable.push(
      `Specified version to upgrade to ${q} is higher than the kubeadm version ${JSON.stringify(withV(kubeadmV))}. Upgrade kubeadm first using the tool you used to install kubeadm`,
    );
  } else if (k.minor > n.minor) {
    r.skippable.push(
      `Kubeadm version ${withV(kubeadmV)} can only be used to upgrade to Kubernetes version ${k.major}.${k.minor}`,
    );
  }
  // checked last in policy.go, after the minor checks (the reference lists it last too)
  const minCP = `1.${k.minor - 1}.0`;
  if (cmpVer(newV, minCP) < 0) {
    r.mandatory.push(
      `Specified version to upgrade to ${q} is equal to or lower than the minimum supported version ${JSON.stringify(withV(clusterV))}. Please specify a higher version to upgrade to`,
    );
  }
  const skew = n.minor <= 28 ? 1 : 3;
  const old = [...new Set(kubelets.filter((v) => minorOf(v) < n.minor - skew).map(withV))];
  if (old.length)
    r.skippable.push(
      `There are kubelets in this cluster that are too old that have these versions [${old.join(' ')}]`,
    );
  return r;
}

function policyText(r: PolicyResult, fmt: number, force: boolean): { fatal: string | null; note: string } {
  const items = (xs: string[]) => xs.map((x) => `\t- ${x}\n`).join('');
  if (r.mandatory.length) {
    const body = `the version argument is invalid due to these fatal errors:\n\n${items(r.mandatory)}\nPlease fix the misalignments highlighted above and try upgrading again`;
    return {
      fatal:
        fmt >= 32
          ? `error execution phase preflight: ${body}`
          : `[upgrade/version] FATAL: the --${body.slice(4)}`,
      note: '',
    };
  }
  if (r.skippable.length && !force) {
    const body = `the version argument is invalid due to these errors:\n\n${items(r.skippable)}\nCan be bypassed if you pass the --force flag`;
    return {
      fatal:
        fmt >= 32
          ? `error execution phase preflight: ${body}`
          : `[upgrade/version] FATAL: the --${body.slice(4)}`,
      note: '',
    };
  }
  if (r.skippable.length) {
    const prefix = fmt >= 32 ? '[upgrade/preflight]' : '[upgrade/version]';
    return {
      fatal: null,
      note: `${prefix} Found ${r.skippable.length} potential version compatibility errors but skipping since the --force flag is set: \n\n${items(r.skippable)}`,
    };
  }
  return { fatal: null, note: '' };
}

// ---- apply ----------------------------------------------------------------------------------

const APPLY_FLAGS: FlagDef[] = [
  ...GLOBAL,
  { name: 'yes', short: 'y', type: 'bool' },
  { name: 'force', short: 'f', type: 'bool' },
  { name: 'dry-run', type: 'bool' },
  { name: 'certificate-renewal', type: 'bool' },
  { name: 'etcd-upgrade', type: 'bool' },
  { name: 'patches', type: 'string' },
  { name: 'config', type: 'string' },
  { name: 'kubeconfig', type: 'string' },
  { name: 'allow-experimental-upgrades', type: 'bool' },
  { name: 'allow-release-candidate-upgrades', type: 'bool' },
  { name: 'print-config', type: 'bool' },
  { name: 'ignore-preflight-errors', type: 'string' },
  { name: 'feature-gates', type: 'string' },
];

function staticPodBlock(
  comp: string,
  fmt: number,
  backupDir: string,
  upgradedDir: string,
  renew: boolean,
  changed: boolean,
): string {
  if (!changed)
    return `[upgrade/staticpods] Current and new manifests of ${comp} are equal, skipping upgrade\n`;
  const certs: Record<string, string[]> = {
    etcd: ['etcd-server', 'etcd-peer', 'etcd-healthcheck-client'],
    'kube-apiserver': [
      'apiserver',
      'apiserver-kubelet-client',
      'front-proxy-client',
      'apiserver-etcd-client',
    ],
    'kube-controller-manager': ['controller-manager.conf'],
    'kube-scheduler': ['scheduler.conf'],
  };
  let s = `[upgrade/staticpods] Preparing for "${comp}" upgrade\n`;
  if (renew) for (const cert of certs[comp] ?? []) s += `[upgrade/staticpods] Renewing ${cert} certificate\n`;
  s += `[upgrade/staticpods] Moving new manifest to "/etc/kubernetes/manifests/${comp}.yaml" and backing up old manifest to "${backupDir}/${comp}.yaml"\n`;
  s += '[upgrade/staticpods] Waiting for the kubelet to restart the component\n';
  s += '[upgrade/staticpods] This can take up to 5m0s\n';
  s += `[apiclient] Found 1 Pods for label selector component=${comp}\n`;
  s += `[upgrade/staticpods] Component "${comp}" upgraded successfully!\n`;
  if (comp === 'etcd') s += '[upgrade/etcd] Waiting for etcd to become available\n';
  void upgradedDir;
  void fmt;
  return s;
}

interface CpUpgrade {
  text: string;
  effects: Effect[];
  changedEtcd: boolean;
  changedAny: boolean;
}

/** The static-pod part shared by apply and `upgrade node` on a control plane. */
function upgradeStaticPods(
  c: ToolCall,
  target: string,
  opts: { etcd: boolean; renew: boolean; fmt: number; patches: PatchFile[]; limit?: number },
): CpUpgrade {
  const repo = c.cl.state.imageRepository;
  const backup = `/etc/kubernetes/tmp/kubeadm-backup-manifests-${c.ctx.localTime}`;
  const etcdBackup = `/etc/kubernetes/tmp/kubeadm-backup-etcd-${c.ctx.localTime}`;
  const upgraded = `/etc/kubernetes/tmp/kubeadm-upgraded-manifests${tmpDigits()}`;
  let text = `[upgrade/staticpods] Writing new Static Pod manifests to "${upgraded}"\n`;
  // kubeadm writes every manifest from the ClusterConfiguration, then the patches: a manifest's own
  // edits (and an earlier patch not passed again) are gone
  const fresh: Record<string, string> = {};
  for (const comp of CP_COMPONENTS) {
    const tag = comp === 'etcd' ? etcdFor(target) : withV(target);
    const r = applyPatches(comp, manifest(comp, c.node.address, image(repo, comp, tag)), opts.patches);
    fresh[comp] = r.text;
    text += r.lines.join('');
  }
  const effects: Effect[] = [
    { op: 'mkdir', path: '/etc/kubernetes/tmp', mode: 0o700 },
    { op: 'mkdir', path: backup, mode: 0o700 },
    { op: 'mkdir', path: etcdBackup, mode: 0o700 },
  ];
  let changedEtcd = false;
  let changedAny = false;
  const targetEtcd = etcdFor(target);
  const cp = c.node.cp!;
  let done = 0;
  for (const comp of CP_COMPONENTS) {
    const file = `/etc/kubernetes/manifests/${comp}.yaml`;
    const cur = c.ctx.files[file] ?? '';
    if (comp === 'etcd') {
      if (!opts.etcd) continue;
      if (cmpEtcd(cp.etcd, targetEtcd) > 0) {
        text += `[upgrade/etcd] Non fatal issue encountered during upgrade: the desired etcd version "${targetEtcd}" is older than the currently installed "${cp.etcd}". Skipping etcd upgrade\n`;
        continue;
      }
    }
    // limit: a killed apply swapped only the first `limit` manifests it meant to change
    if (opts.limit !== undefined && done >= opts.limit) break;
    const changed = fresh[comp] !== cur;
    if (changed) done++;
    text += staticPodBlock(comp, opts.fmt, backup, upgraded, opts.renew, changed);
    if (changed) {
      changedAny = true;
      if (comp === 'etcd') {
        changedEtcd = true;
        effects.push({ op: 'copydir', from: '/var/lib/etcd', to: etcdBackup });
      }
      effects.push({ op: 'copy', from: file, to: `${backup}/${comp}.yaml` });
      effects.push({ op: 'write', path: file, content: fresh[comp]!, mode: 0o600 });
    }
  }
  return { text, effects, changedEtcd, changedAny };
}

function cmpEtcd(a: string, b: string): number {
  const pa = a.split(/[.-]/).map(Number);
  const pb = b.split(/[.-]/).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

function kubeletConfigPhase(c: ToolCall, version: string): { text: string; effects: Effect[] } {
  const tmp = `/etc/kubernetes/tmp/kubeadm-kubelet-config${tmpDigits()}`;
  return {
    text:
      `[upgrade] Backing up kubelet config file to ${tmp}/config.yaml\n` +
      '[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"\n',
    effects: [
      { op: 'mkdir', path: '/etc/kubernetes/tmp', mode: 0o700 },
      { op: 'mkdir', path: tmp, mode: 0o700 },
      { op: 'copy', from: '/var/lib/kubelet/config.yaml', to: `${tmp}/config.yaml` },
      { op: 'write', path: '/var/lib/kubelet/config.yaml', content: kubeletConfig(version, clusterSwap(c)) },
    ],
  };
}

/** Addons follow the last control plane (1.28+): upgraded only when every apiserver runs the target. */
function addonsPhase(c: ToolCall, target: string, fmt: number, dryRun: boolean): string {
  const pending = c.cl
    .controlPlanes()
    .filter((n) => n.name !== c.node.name && n.cp!.apiserver !== target)
    .map((n) => n.name);
  if (pending.length) {
    const line =
      fmt >= 32
        ? `[upgrade/addon] Skipping upgrade of addons because control plane instances [${pending.join(' ')}] have not been upgraded\n`
        : `[upgrade/addons] skip upgrade addons because control plane instances [${pending.join(' ')}] have not been upgraded\n`;
    return fmt >= 32 ? line + line : line;
  }
  if (!dryRun) {
    c.cl.state.coredns = corednsFor(target);
    c.cl.state.kubeProxy = target;
  }
  return '[addons] Applied essential addon: CoreDNS\n[addons] Applied essential addon: kube-proxy\n';
}

async function apply(c: ToolCall, argv: string[]): Promise<ExecResult> {
  const p = parseFlags(argv, APPLY_FLAGS);
  if (p.error) return fatal(p.error);
  const kv = c.node.packages.kubeadm.version;
  const fmt = minorOf(kv);
  const kcfg = kubeconfigPath(p, '/etc/kubernetes/admin.conf');
  if (!c.ctx.files[kcfg]) return missingKubeconfig(kcfg);
  const cfg = readConfig(c, p);
  if (cfg.error) return fatal(cfg.error);
  const arg = p.args[0] ?? cfg.version;
  if (!arg) return fatal('missing one or more required arguments. Required arguments: [version]'); // RECON
  const target = normalizeVersion(arg);
  if (!target) return fatal(`could not parse "${arg}" as version`); // RECON
  const dryRun = bool(p, 'dry-run');
  const force = bool(p, 'force');
  const yes = bool(p, 'yes') || force || dryRun;
  const etcdUp = bool(p, 'etcd-upgrade', true);
  const renew = bool(p, 'certificate-renewal', true);
  const cps = c.cl.controlPlanes();
  const cv = clusterVersion(cps);
  let out = '';
  if (fmt >= 32) out += configHeader(fmt, 'apply') + '[upgrade/preflight] Running preflight checks\n';
  else out += configHeader(fmt, 'apply') + '[preflight] Running pre-flight checks.\n';
  const tooNew = tooNewCheck(kv, cv, fmt);
  if (tooNew) return fatal(tooNew, out);
  const manual = manualConversion(c, cfg, fmt);
  if (manual) return fatal(manual, out);
  const patches = patchFiles(c, p);
  if (patches.error) return fatal(patches.error, out);
  const missing = missingManifests(c);
  if (missing.length) {
    return fatal(
      `The control plane seems to be Static Pod-hosted, but some of the manifests don't seem to exist on disk. This probably means you're running 'kubeadm upgrade' on a remote machine, which is not supported for a Static Pod-hosted cluster. Manifest files not found: [${missing.join(' ')}]`,
      out,
    );
  }
  out += '[upgrade] Running cluster health checks\n';
  // killed in the preflight: nothing changed yet
  if (await killable(c, TIME.applyPreflightMs)) return KILLED;
  const ignore = str(p, 'ignore-preflight-errors') ?? '';
  const notReady = cps.filter((n) => !n.ready).map((n) => n.name);
  if (notReady.length && !/all|ControlPlaneNodesReady/i.test(ignore)) return healthFatal(out, notReady);
  if (fmt >= 32)
    out += `[upgrade/preflight] You have chosen to upgrade the cluster version to "${withV(target)}"\n`;
  else out += `[upgrade/version] You have chosen to change the cluster version to "${withV(target)}"\n`;
  out += `[upgrade/versions] Cluster version: ${withV(cv)}\n[upgrade/versions] kubeadm version: ${withV(kv)}\n`;
  const pol = policyText(
    versionPolicy(
      cv,
      kv,
      target,
      c.cl.nodes().map((n) => n.kubelet),
    ),
    fmt,
    force,
  );
  if (pol.fatal) return fatal(pol.fatal, out);
  if (pol.note) out += pol.note;
  if (!releaseExists(target)) {
    // RECON: the image pull preflight fails for a version that was never released
    const img = `${c.cl.state.imageRepository}/kube-apiserver:${withV(target)}`;
    return fatal(
      `${fmt >= 32 ? 'error execution phase preflight: ' : ''}[preflight] Some fatal errors occurred:\n\t[ERROR ImagePull]: failed to pull image ${img}: failed to pull and unpack image "${img}": ${img}: not found\n[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\``,
      out,
    );
  }
  if (!yes) {
    out += '[upgrade] Are you sure you want to proceed? [y/N]: ';
    const ans = (c.ctx.stdin ?? '').trim().toLowerCase();
    if (ans !== 'y' && ans !== 'yes') {
      return fatal("won't proceed; the user didn't answer (Y|y) in order to continue", out + '\n'); // RECON wording
    }
    out += '\n';
  }
  if (dryRun) {
    out += "[dryrun] Would pull the required images (like 'kubeadm config images pull')\n";
  } else if (fmt >= 32) {
    out +=
      '[upgrade/preflight] Pulling images required for setting up a Kubernetes cluster\n' +
      '[upgrade/preflight] This might take a minute or two, depending on the speed of your internet connection\n' +
      "[upgrade/preflight] You can also perform this action beforehand using 'kubeadm config images pull'\n";
  } else {
    out +=
      '[upgrade/prepull] Pulling images required for setting up a Kubernetes cluster\n' +
      '[upgrade/prepull] This might take a minute or two, depending on the speed of your internet connection\n' +
      "[upgrade/prepull] You can also perform this action in beforehand using 'kubeadm config images pull'\n";
  }
  out +=
    fmt >= 32
      ? `[upgrade/control-plane] Upgrading your static Pod-hosted control plane to version "${withV(target)}" (timeout: ${goDuration(300_000)})...\n`
      : `[upgrade/apply] Upgrading your Static Pod-hosted control plane to version "${withV(target)}" (timeout: ${goDuration(300_000)})...\n`;
  // a dry run pulls nothing and waits for no static pod: its preflight is all the time it takes
  if (!dryRun && c.killed) {
    const half = await killedDuringApply(c, target, { etcd: etcdUp, renew, fmt, patches: patches.files });
    if (half) return { ...KILLED, effects: half };
  } else if (!dryRun) await c.cl.sleep(applyMs(etcdUp) - TIME.applyPreflightMs);
  const sp = upgradeStaticPods(c, target, { etcd: etcdUp, renew, fmt, patches: patches.files });
  out += sp.text;
  let effects: Effect[] = [];
  if (!dryRun) {
    effects = sp.effects;
    const cp = c.node.cp!;
    cp.apiserver = cp.controllerManager = cp.scheduler = target;
    if (sp.changedEtcd) cp.etcd = etcdFor(target);
    c.cl.state.kubernetesVersion = target;
    c.cl.state.configApiVersion = configApiVersionFor(kv);
    if (cfg.kubeletConfigApi === KUBELET_CONFIG_API) delete c.cl.state.kubeletConfigApi;
    c.node.kubeletConfig = target;
    recordImages(
      c,
      imagesFor(c.cl.state.imageRepository, target).map((i) => i.ref),
    );
    c.cl.changed(c.node.name);
  }
  if (fmt >= 32)
    out += '[upgrade/control-plane] The control plane instance for this node was successfully upgraded!\n';
  out +=
    '[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace\n';
  out +=
    '[kubelet] Creating a ConfigMap "kubelet-config" in namespace kube-system with the configuration for the kubelets in the cluster\n';
  if (fmt >= 32)
    out += '[upgrade/kubeconfig] The kubeconfig files for this node were successfully upgraded!\n';
  const kc = kubeletConfigPhase(c, target);
  let stderr = '';
  if (fmt >= 32) {
    const dir = /to (\S+)\/config\.yaml/.exec(kc.text)![1];
    stderr += klog(
      'W',
      'postupgrade.go:117',
      `Using temporary directory ${dir} for kubelet config. To override it set the environment variable KUBEADM_UPGRADE_DRYRUN_DIR`,
    );
  }
  out += kc.text;
  if (!dryRun) effects.push(...kc.effects);
  if (fmt >= 32) {
    out += '[upgrade/kubelet-config] The kubelet configuration for this node was successfully upgraded!\n';
    out += '[upgrade/bootstrap-token] Configuring bootstrap token and cluster-info RBAC rules\n';
  }
  out +=
    '[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to get nodes\n' +
    '[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term certificate credentials\n' +
    '[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node Bootstrap Token\n' +
    '[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client certificates in the cluster\n';
  out += addonsPhase(c, target, fmt, dryRun);
  if (dryRun) out += '[upgrade/successful] Finished dryrunning successfully!\n';
  else if (fmt >= 32) {
    out += `\n[upgrade] SUCCESS! A control plane node of your cluster was upgraded to "${withV(target)}".\n\n[upgrade] Now please proceed with upgrading the rest of the nodes by following the right order.\n`;
  } else {
    out += `\n[upgrade/successful] SUCCESS! Your cluster was upgraded to "${withV(target)}". Enjoy!\n\n[upgrade/kubelet] Now that your control plane is upgraded, please proceed with upgrading your kubelets if you haven't already done so.\n`;
  }
  if (!dryRun) {
    outOfBandRollback(c, effects);
    c.cl.changed(c.node.name);
  }
  return { stdout: out, stderr, exit: 0, effects };
}

/**
 * Fault `manifest-rollback`: once, right after this apply, an out-of-band tool writes the
 * kube-apiserver manifest back as it was before the apply; the kubelet runs the old image again.
 */
function outOfBandRollback(c: ToolCall, effects: Effect[]): void {
  const f = c.cl.hasFault('manifest-rollback', c.node.name);
  if (!f || f.hits > 0) return;
  const file = '/etc/kubernetes/manifests/kube-apiserver.yaml';
  const before = c.ctx.files[file];
  const tag = before ? manifestImageTag(before) : null;
  if (!before || !tag) return;
  f.hits++;
  effects.push({ op: 'write', path: file, content: before, mode: 0o600 });
  c.node.cp!.apiserver = tag.replace(/^v/, '');
}

/**
 * The modelled time of an apply after its preflight, step by step: the image pull, each static
 * pod swapped and waited for (etcd, kube-apiserver, kube-controller-manager, kube-scheduler), then
 * upload-config and the rest. A kill (the SSH session closed under it) stops it where it is, like
 * a SIGKILLed kubeadm: the manifests swapped so far are new (and their components run the target),
 * the rest stay old, kubeadm-config keeps the old version, the kubelet config is not written, and
 * kubeadm's rollback never runs. Returns the half-done file effects when killed, else null.
 */
async function killedDuringApply(
  c: ToolCall,
  target: string,
  opts: { etcd: boolean; renew: boolean; fmt: number; patches: PatchFile[] },
): Promise<Effect[] | null> {
  if (!c.killed) return null;
  if (await killable(c, TIME.applyImagePullMs)) return [];
  const pods = opts.etcd ? 4 : 3;
  for (let i = 0; i < pods; i++) {
    // killed while swapping pod i: its new manifest is in place, its pod not yet checked
    if (await killable(c, TIME.staticPodUpgradeMs)) return halfApplied(c, target, opts, i + 1);
  }
  if (await killable(c, TIME.applyPostMs)) return halfApplied(c, target, opts, pods);
  return null;
}

/** The first `swapped` manifests that differ are replaced and their components run the target. */
function halfApplied(
  c: ToolCall,
  target: string,
  opts: { etcd: boolean; renew: boolean; fmt: number; patches: PatchFile[] },
  swapped: number,
): Effect[] {
  const sp = upgradeStaticPods(c, target, { ...opts, limit: swapped });
  const cp = c.node.cp!;
  for (const e of sp.effects) {
    if (e.op !== 'write') continue;
    if (e.path.endsWith('/etcd.yaml')) cp.etcd = etcdFor(target);
    else if (e.path.endsWith('/kube-apiserver.yaml')) cp.apiserver = target;
    else if (e.path.endsWith('/kube-controller-manager.yaml')) cp.controllerManager = target;
    else if (e.path.endsWith('/kube-scheduler.yaml')) cp.scheduler = target;
  }
  c.cl.changed(c.node.name);
  return sp.effects;
}

// ---- upgrade node ---------------------------------------------------------------------------

const NODE_FLAGS: FlagDef[] = [
  ...GLOBAL,
  { name: 'dry-run', type: 'bool' },
  { name: 'certificate-renewal', type: 'bool' },
  { name: 'etcd-upgrade', type: 'bool' },
  { name: 'ignore-preflight-errors', type: 'string' },
  { name: 'kubeconfig', type: 'string' },
  { name: 'config', type: 'string' },
  { name: 'patches', type: 'string' },
  { name: 'skip-phases', type: 'string' },
];

async function upgradeNode(c: ToolCall, argv: string[]): Promise<ExecResult> {
  if (argv[0] === 'phase')
    return fatal(`kupgrade-lab: "kubeadm upgrade node phase" is not simulated by the lab`);
  const p = parseFlags(argv, NODE_FLAGS);
  if (p.error) return fatal(p.error);
  if (p.args.length) return fatal(`unknown command "${p.args[0]}" for "kubeadm upgrade node"`);
  const kv = c.node.packages.kubeadm.version;
  const fmt = minorOf(kv);
  const isCp = !!c.ctx.files['/etc/kubernetes/manifests/kube-apiserver.yaml'] && !!c.node.cp;
  const kcfg = kubeconfigPath(p, isCp ? '/etc/kubernetes/admin.conf' : '/etc/kubernetes/kubelet.conf');
  if (!c.ctx.files[kcfg]) return missingKubeconfig(kcfg);
  const dryRun = bool(p, 'dry-run');
  const target = c.cl.state.kubernetesVersion;
  const cv = clusterVersion(c.cl.controlPlanes());
  let out = configHeader(fmt, 'node');
  const tooNew = tooNewCheck(kv, cv, fmt);
  if (tooNew) return fatal(tooNew, out);
  const cfg = readConfig(c, p);
  if (cfg.error) return fatal(cfg.error, out);
  const manual = manualConversion(c, cfg, fmt);
  if (manual) return fatal(manual, out);
  const patches = patchFiles(c, p);
  if (patches.error) return fatal(patches.error, out);
  const pre = fmt >= 32 ? '[upgrade/preflight]' : '[preflight]';
  out += `${pre} Running pre-flight checks\n`;
  const effects: Effect[] = [];
  let stderr = '';
  if (!isCp) {
    await c.cl.sleep(TIME.upgradeNodeWorkerMs);
    out += `${pre} Skipping prepull. Not a control plane node.\n`;
    if (fmt >= 32)
      out +=
        '[upgrade/control-plane] Skipping phase. Not a control plane node.\n[upgrade/kubeconfig] Skipping phase. Not a control plane node.\n';
    else
      out +=
        '[upgrade] Skipping phase. Not a control plane node.\n' +
        (fmt >= 31 ? '[upgrade] Skipping phase. Not a control plane node.\n' : '');
  } else {
    if (minorOf(kv) < minorOf(target)) {
      // RECON: kubeadm refuses to write manifests newer than itself
      return fatal(
        `Specified version to upgrade to ${JSON.stringify(withV(target))} is at least one minor release higher than the kubeadm minor release (${minorOf(target)} > ${minorOf(kv)}). Such an upgrade is not supported`,
        out,
      );
    }
    out +=
      `${pre} Pulling images required for setting up a Kubernetes cluster\n` +
      `${pre} This might take a minute or two, depending on the speed of your internet connection\n` +
      `${pre} You can also perform this action ${fmt >= 32 ? 'beforehand' : 'in beforehand'} using 'kubeadm config images pull'\n`;
    out +=
      fmt >= 32
        ? `[upgrade/control-plane] Upgrading your static Pod-hosted control plane instance to version "${withV(target)}"...\n`
        : `[upgrade] Upgrading your Static Pod-hosted control plane instance to version "${withV(target)}"...\n`;
    await c.cl.sleep(upgradeNodeCpMs());
    const sp = upgradeStaticPods(c, target, {
      etcd: bool(p, 'etcd-upgrade', true),
      renew: bool(p, 'certificate-renewal', true),
      fmt,
      patches: patches.files,
    });
    out += sp.text;
    if (!dryRun) {
      effects.push(...sp.effects);
      const cp = c.node.cp!;
      cp.apiserver = cp.controllerManager = cp.scheduler = target;
      if (sp.changedEtcd) cp.etcd = etcdFor(target);
      recordImages(
        c,
        imagesFor(c.cl.state.imageRepository, target).map((i) => i.ref),
      );
    }
    out +=
      fmt >= 32
        ? '[upgrade/control-plane] The control plane instance for this node was successfully upgraded!\n[upgrade/kubeconfig] The kubeconfig files for this node were successfully upgraded!\n'
        : '[upgrade] The control plane instance for this node was successfully updated!\n';
  }
  const kc = kubeletConfigPhase(c, target);
  if (fmt >= 32) {
    const dir = /to (\S+)\/config\.yaml/.exec(kc.text)![1];
    stderr += klog(
      'W',
      'postupgrade.go:117',
      `Using temporary directory ${dir} for kubelet config. To override it set the environment variable KUBEADM_UPGRADE_DRYRUN_DIR`,
    );
  }
  out += kc.text;
  if (!dryRun) {
    effects.push(...kc.effects);
    c.node.kubeletConfig = target;
  }
  if (fmt >= 32) {
    out += '[upgrade/kubelet-config] The kubelet configuration for this node was successfully upgraded!\n';
    if (isCp) out += addonsPhase(c, target, fmt, dryRun);
    else {
      out +=
        '[upgrade/addon] Skipping the addon/coredns phase. Not a control plane node.\n' +
        '[upgrade/addon] Skipping the addon/kube-proxy phase. Not a control plane node.\n';
    }
  } else {
    if (isCp) out += addonsPhase(c, target, fmt, dryRun);
    out +=
      '[upgrade] The configuration for this node was successfully updated!\n' +
      '[upgrade] Now you should go ahead and upgrade the kubelet package using your package manager.\n';
  }
  return { stdout: out, stderr, exit: 0, effects };
}

// ---- diff -----------------------------------------------------------------------------------

const DIFF_FLAGS: FlagDef[] = [
  ...GLOBAL,
  { name: 'api-server-manifest', type: 'string' },
  { name: 'controller-manager-manifest', type: 'string' },
  { name: 'scheduler-manifest', type: 'string' },
  { name: 'context-lines', short: 'c', type: 'string' },
  { name: 'config', type: 'string' },
  { name: 'kubeconfig', type: 'string' },
];

/** A unified diff of a one-line change, with `context` lines around it (diff's default hunk form). */
export function unifiedDiff(oldText: string, newText: string, from: string, to: string, context = 3): string {
  const a = oldText.split('\n');
  const b = newText.split('\n');
  const changed: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) changed.push(i);
  if (!changed.length) return '';
  const start = Math.max(0, changed[0]! - context);
  const end = Math.min(a.length, changed[changed.length - 1]! + context + 1);
  let out = `--- ${from}\n+++ ${to}\n@@ -${start + 1},${end - start} +${start + 1},${end - start} @@\n`;
  for (let i = start; i < end; i++) {
    if (a[i] === b[i]) out += ` ${a[i]}\n`;
    else out += `-${a[i]}\n`;
    if (a[i] !== b[i]) out += `+${b[i]}\n`;
  }
  return out;
}

async function diff(c: ToolCall, argv: string[]): Promise<ExecResult> {
  const p = parseFlags(argv, DIFF_FLAGS);
  if (p.error) return fatal(p.error);
  const cfg = readConfig(c, p);
  if (cfg.error) return fatal(cfg.error);
  const arg = p.args[0] ?? cfg.version ?? c.node.packages.kubeadm.version; // RECON: default target
  const target = normalizeVersion(arg);
  if (!target) return fatal(`could not parse "${arg}" as version`);
  await c.cl.sleep(TIME.kubeadmLocalMs);
  const ctxLines = Number(str(p, 'context-lines') ?? '3');
  let out = '';
  const files: [string, string][] = [
    ['kube-apiserver', str(p, 'api-server-manifest') ?? '/etc/kubernetes/manifests/kube-apiserver.yaml'],
    [
      'kube-controller-manager',
      str(p, 'controller-manager-manifest') ?? '/etc/kubernetes/manifests/kube-controller-manager.yaml',
    ],
    ['kube-scheduler', str(p, 'scheduler-manifest') ?? '/etc/kubernetes/manifests/kube-scheduler.yaml'],
  ];
  const repo = cfg.imageRepository ?? c.cl.state.imageRepository;
  for (const [comp, f] of files) {
    const cur = c.ctx.files[f];
    if (cur === null || cur === undefined) return fatal(`open ${f}: no such file or directory`);
    const fresh = manifest(comp as CpComponent, c.node.address, image(repo, comp, withV(target)));
    out += unifiedDiff(cur, fresh, f, 'new manifest', ctxLines);
  }
  return ok(out);
}

// ---- config images --------------------------------------------------------------------------

async function images(c: ToolCall, verb: 'pull' | 'list', argv: string[]): Promise<ExecResult> {
  const p = parseFlags(argv, [
    ...GLOBAL,
    { name: 'kubernetes-version', type: 'string' },
    { name: 'image-repository', type: 'string' },
    { name: 'config', type: 'string' },
    { name: 'cri-socket', type: 'string' },
    { name: 'feature-gates', type: 'string' },
    { name: 'output', short: 'o', type: 'string' },
    { name: 'allow-missing-template-keys', type: 'bool' },
  ]);
  if (p.error) return fatal(p.error);
  const cfg = readConfig(c, p);
  if (cfg.error) return fatal(cfg.error);
  const stderr: string[] = [];
  const vArg = str(p, 'kubernetes-version') ?? cfg.version;
  let version: string;
  if (vArg) {
    const v = normalizeVersion(vArg);
    if (!v) return fatal(`could not parse "${vArg}" as version`);
    version = v;
  } else version = resolveStable(c.node.packages.kubeadm.version, stderr);
  const repo = str(p, 'image-repository') ?? cfg.imageRepository ?? 'registry.k8s.io';
  const imgs = imagesFor(repo, version);
  if (verb === 'list')
    return { stdout: imgs.map((i) => i.ref + '\n').join(''), stderr: stderr.join(''), exit: 0 };
  // the runtime: kubeadm detects the socket unless told; with cri-dockerd, containerd's is there too
  const node = c.cl.state.criSocket ?? DEFAULT_CRI;
  const sock = str(p, 'cri-socket');
  if (!sock && node !== DEFAULT_CRI) {
    return fatal(
      `found multiple CRI endpoints on the host. Please define which one do you wish to use by setting the 'criSocket' field in the kubeadm configuration file: ${DEFAULT_CRI}, ${node}`,
    );
  }
  if (sock && sock !== node && sock !== DEFAULT_CRI) {
    // RECON: the CRI client's wording for a socket that does not exist
    return fatal(
      `failed to create new CRI image service: validate service connection: validate CRI v1 image API for endpoint ${JSON.stringify(sock)}: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix ${sock.replace(/^unix:\/\//, '')}: connect: no such file or directory"`,
    );
  }
  let out = '';
  for (const img of imgs) {
    await c.cl.sleep(TIME.imagePullPerImageMs);
    if (!releaseExists(version) && img.ref.includes(withV(version))) {
      return fatal(
        `failed to pull image "${img.ref}": failed to pull and unpack image "${img.ref}": not found`,
        out,
      );
    }
    out += `[config/images] Pulled ${img.ref}\n`;
  }
  // pulled into the runtime the kubelet uses only when kubeadm was pointed at it
  if ((sock ?? node) === node)
    recordImages(
      c,
      imgs.map((i) => i.ref),
    );
  return { stdout: out, stderr: stderr.join(''), exit: 0 };
}

export { lowestApiserver };
