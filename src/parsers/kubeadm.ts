/**
 * kubeadm output (cmd/kubeadm in kubernetes/kubernetes): `kubeadm version`, `kubeadm upgrade plan` (text and
 * -o json v1alpha2/v1alpha3), `kubeadm upgrade apply|node` and its refusals, and the backup folders
 * kubeadm names.
 * Formats changed in 1.30 (plan NODE column, no `v` in "Cluster version") and 1.32 (apply phases,
 * new SUCCESS line); both forms are accepted everywhere.
 */
import { headerColumns, lines, withoutV, ParseError, parseSemver, sliceRow, type Semver } from './common';

export type KubeadmVersion = Semver & { gitVersion: string };

/** `kubeadm version` in any of its outputs: default (`&version.Info{...}`), `-o short`, `-o json`, `-o yaml`. */
export function parseKubeadmVersion(text: string): KubeadmVersion {
  const t = text.trim();
  let git: string | undefined;
  if (t.startsWith('{')) {
    try {
      const j = JSON.parse(t) as { clientVersion?: { gitVersion?: string } };
      git = j.clientVersion?.gitVersion;
    } catch {
      git = undefined;
    }
  }
  git ??= /GitVersion:"(v[^"]+)"/.exec(t)?.[1];
  git ??= /^\s*gitVersion:\s*"?(v[^"\s]+)"?\s*$/m.exec(t)?.[1];
  git ??= /^(v\d+\.\d+\.\d+\S*)$/.exec(t)?.[1];
  const v = git ? parseSemver(git) : undefined;
  if (!git || !v) throw new ParseError('kubeadm version output', text);
  return { ...v, gitVersion: git };
}

export interface PlanComponent {
  name: string;
  /** Empty for cluster-wide rows (kube-proxy, CoreDNS) and pre-1.30 tables. */
  nodeName?: string;
  /** As printed: `v1.32.5`, `1.32.5`, or `7 x v1.26.0` for pre-1.30 kubelet rows. */
  currentVersion: string;
  newVersion: string;
}

export interface AvailableUpgrade {
  /** `stable version`, `version in the v1.32 series`, ... (empty for v1alpha2). */
  description: string;
  components: PlanComponent[];
  /** The version in the suggested `kubeadm upgrade apply` line (text form only). */
  applyVersion?: string;
  /** Set when kubeadm says it must be updated first ("you have to update kubeadm to vX"). */
  kubeadmUpgradeRequiredTo?: string;
}

export interface ConfigVersion {
  group: string;
  currentVersion: string;
  preferredVersion: string;
  manualUpgradeRequired: boolean;
}

export interface UpgradePlan {
  /** Header lines (text form only); without `v`. */
  clusterVersion?: string;
  kubeadmVersion?: string;
  targetVersion?: string;
  upToDate: boolean;
  availableUpgrades: AvailableUpgrade[];
  configVersions: ConfigVersion[];
}

/** `kubeadm upgrade plan -o json`: log lines before the first `{` are skipped. v1alpha2 and v1alpha3. */
export function parseUpgradePlanJson(text: string): UpgradePlan {
  // Log lines may precede the JSON on stdout: start at the first line that opens an object.
  const start = /^\{/m.exec(text)?.index ?? -1;
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) throw new ParseError('kubeadm upgrade plan JSON', text);
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text.slice(start, end + 1)) as Record<string, unknown>;
  } catch {
    throw new ParseError('kubeadm upgrade plan JSON', text);
  }
  const comp = (c: Record<string, unknown>): PlanComponent => ({
    name: String(c.name ?? ''),
    ...(c.nodeName ? { nodeName: String(c.nodeName) } : {}),
    currentVersion: String(c.currentVersion ?? ''),
    newVersion: String(c.newVersion ?? ''),
  });
  const configVersions = ((j.configVersions as Record<string, unknown>[] | undefined) ?? []).map((c) => ({
    group: String(c.group ?? ''),
    currentVersion: String(c.currentVersion ?? ''),
    preferredVersion: String(c.preferredVersion ?? ''),
    manualUpgradeRequired: c.manualUpgradeRequired === true,
  }));
  let availableUpgrades: AvailableUpgrade[];
  if (Array.isArray(j.availableUpgrades)) {
    availableUpgrades = (j.availableUpgrades as Record<string, unknown>[]).map((u) => ({
      description: String(u.description ?? ''),
      components: ((u.components as Record<string, unknown>[] | undefined) ?? []).map(comp),
    }));
  } else if (Array.isArray(j.components)) {
    // v1alpha2: one flat list, present only when an upgrade is available.
    const components = (j.components as Record<string, unknown>[]).map(comp);
    availableUpgrades = components.length > 0 ? [{ description: '', components }] : [];
  } else {
    availableUpgrades = [];
  }
  return { upToDate: availableUpgrades.length === 0, availableUpgrades, configVersions };
}

const SEPARATOR = /^_{20,}\s*$/;

/** `kubeadm upgrade plan` output in either form: JSON when it holds an UpgradePlan object, else the text tables. */
export function parseUpgradePlan(text: string): UpgradePlan {
  if (/"kind"\s*:\s*"UpgradePlan"/.test(text)) {
    try {
      return parseUpgradePlanJson(text);
    } catch {
      // not JSON after all: read the tables
    }
  }
  return parseUpgradePlanText(text);
}

/** `kubeadm upgrade plan` text output, pre-1.30 (no NODE column) and 1.30+ tables. */
export function parseUpgradePlanText(text: string): UpgradePlan {
  const ls = lines(text);
  const header = (re: RegExp) => {
    for (const l of ls) {
      const m = re.exec(l);
      if (m?.[1]) return withoutV(m[1]);
    }
    return undefined;
  };
  const plan: UpgradePlan = {
    clusterVersion: header(/\[upgrade\/versions\] Cluster version: (\S+)/),
    kubeadmVersion: header(/\[upgrade\/versions\] kubeadm version: (\S+)/),
    targetVersion: header(/\[upgrade\/versions\] Target version: (\S+)/),
    upToDate: false,
    availableUpgrades: [],
    configVersions: [],
  };
  for (const k of ['clusterVersion', 'kubeadmVersion', 'targetVersion'] as const)
    if (plan[k] === undefined) delete plan[k];

  let current: AvailableUpgrade = { description: '', components: [] };
  let cols: { name: string; start: number }[] | undefined;
  let tableKind: 'components' | 'config' | undefined;
  let lastName = '';
  const flush = () => {
    if (current.components.length > 0 || current.applyVersion) plan.availableUpgrades.push(current);
    current = { description: '', components: [] };
  };
  for (const l of ls) {
    if (SEPARATOR.test(l)) {
      cols = undefined;
      if (tableKind === 'components') flush();
      tableKind = undefined;
      continue;
    }
    if (/^COMPONENT\s+/.test(l)) {
      cols = headerColumns(l);
      tableKind = 'components';
      lastName = '';
      continue;
    }
    if (/^API GROUP\s+/.test(l)) {
      cols = headerColumns(l);
      tableKind = 'config';
      continue;
    }
    const desc = /^Upgrade to the latest (.+):\s*$/.exec(l);
    if (desc?.[1]) {
      current.description = desc[1];
      cols = undefined;
      continue;
    }
    const apply = /^\s+kubeadm upgrade apply (\S+)/.exec(l);
    if (apply?.[1]) {
      current.applyVersion = withoutV(apply[1]);
      cols = undefined;
      continue;
    }
    const note = /you have to update kubeadm to (\S+?)\.?\s*$/.exec(l);
    if (note?.[1]) {
      current.kubeadmUpgradeRequiredTo = withoutV(note[1]);
      continue;
    }
    if (l.trim() === '' || !cols) {
      if (l.trim() === '') cols = tableKind === 'components' ? undefined : cols;
      continue;
    }
    const row = sliceRow(l, cols);
    if (tableKind === 'config') {
      if (!row['API GROUP']) continue;
      plan.configVersions.push({
        group: row['API GROUP'],
        currentVersion: row['CURRENT VERSION'] ?? '',
        preferredVersion: row['PREFERRED VERSION'] ?? '',
        manualUpgradeRequired: (row['MANUAL UPGRADE REQUIRED'] ?? '').toLowerCase() === 'yes',
      });
      continue;
    }
    // Pre-1.30 kubelet continuation rows leave COMPONENT empty: they belong to the row above.
    const name = row.COMPONENT || lastName;
    lastName = name;
    const target = row.TARGET ?? row.AVAILABLE ?? '';
    if (!name || !row.CURRENT || !target) continue;
    current.components.push({
      name,
      ...(row.NODE ? { nodeName: row.NODE } : {}),
      currentVersion: row.CURRENT,
      newVersion: target,
    });
  }
  flush();
  plan.upToDate = /Awesome, you're up-to-date/.test(text) || plan.availableUpgrades.length === 0;
  return plan;
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

export type ApplyFailure =
  | { kind: 'policy'; mandatory: boolean; message: string; errors: string[] }
  | { kind: 'preflight'; message: string; checks: string[] }
  | { kind: 'config'; message: string }
  | { kind: 'rolled-back'; message: string }
  | { kind: 'unknown'; message: string };

export type ApplyResult =
  | {
      ok: true;
      /** Without `v`. */
      version: string;
      dryRun: boolean;
      /** Control planes that still run the old version (HA: addons wait for the last one). */
      addonsSkippedFor: string[];
      addonsApplied: string[];
      backupDirs: string[];
    }
  | { ok: false; error: ApplyFailure; backupDirs: string[] };

const RE_SUCCESS_OLD = /\[upgrade\/successful\] SUCCESS! Your cluster was upgraded to "v?([^"]+)"/;
const RE_SUCCESS_NEW =
  /\[upgrade\] SUCCESS! A control plane node of your cluster was upgraded to "v?([^"]+)"/;
const RE_DRY_RUN = /\[upgrade\/successful\] Finished dryrunning successfully!/;

/** `kubeadm upgrade apply` output (stdout + stderr). */
export function parseApplyResult(text: string): ApplyResult {
  const backupDirs = findBackupDirs(text);
  const success = RE_SUCCESS_NEW.exec(text) ?? RE_SUCCESS_OLD.exec(text);
  const dryRun = RE_DRY_RUN.test(text);
  if (success?.[1] || dryRun) {
    const skipped = /control plane instances \[([^\]]*)\] have not been upgraded/.exec(text);
    const applied = [...text.matchAll(/\[addons\] Applied essential addon: (\S+)/g)].map((m) => m[1] ?? '');
    const version =
      success?.[1] ??
      withoutV(
        /upgrade the cluster version to "([^"]+)"|change the cluster version to "([^"]+)"/
          .exec(text)
          ?.slice(1)
          .find(Boolean) ?? '',
      );
    return {
      ok: true,
      version,
      dryRun,
      addonsSkippedFor: skipped?.[1] ? skipped[1].split(/\s+/).filter(Boolean) : [],
      addonsApplied: [...new Set(applied)],
      backupDirs,
    };
  }
  return { ok: false, error: classifyFailure(text), backupDirs };
}

function classifyFailure(text: string): ApplyFailure {
  const ls = lines(text);
  const policyHead = ls.findIndex((l) =>
    /the (--version|version) argument is invalid due to these (fatal )?errors:/.test(l),
  );
  if (policyHead >= 0) {
    const head = ls[policyHead] ?? '';
    const errors: string[] = [];
    for (const l of ls.slice(policyHead + 1)) {
      const m = /^\s*- (.+)$/.exec(l);
      if (m?.[1]) errors.push(m[1].trim());
      else if (errors.length > 0 && l.trim() !== '') break;
    }
    const mandatory = /fatal errors:/.test(head) || !/--force/.test(text);
    return { kind: 'policy', mandatory, errors, message: errors.join('; ') || head.trim() };
  }
  const tooNew =
    /this version of kubeadm only supports deploying clusters with the control plane version >= [^\n]*/.exec(
      text,
    );
  if (tooNew) return { kind: 'policy', mandatory: true, errors: [tooNew[0]], message: tooNew[0] };
  const checks = [...text.matchAll(/\[ERROR ([^\]]+)\]: ([^\n]*)/g)].map((m) => `${m[1]}: ${m[2]}`);
  if (checks.length > 0) return { kind: 'preflight', checks, message: checks.join('; ') };
  const cfg =
    /the ConfigMap "kubeadm-config" in the "kube-system" namespace was not found|a ConfigMap called "kubeadm-config"[^\n]*/.exec(
      text,
    );
  if (cfg) return { kind: 'config', message: cfg[0] };
  const rb =
    /couldn't upgrade control plane\. kubeadm has tried to recover everything into the earlier state\.[^\n]*/.exec(
      text,
    );
  if (rb) return { kind: 'rolled-back', message: rb[0] };
  const meaningful = ls.filter((l) => l.trim() !== '' && !/^To see the stack trace/.test(l));
  return { kind: 'unknown', message: meaningful.slice(-5).join('\n') };
}

/**
 * The backup folders kubeadm names in its output, in order of appearance: static Pod manifests,
 * the etcd data copy, and the kubelet config backup. The recovery hints show them to the operator.
 */
export function findBackupDirs(text: string): string[] {
  const re =
    /\/etc\/kubernetes\/tmp\/(kubeadm-backup-(?:manifests|etcd)-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}|kubeadm-kubelet-config(?:\d+|-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}))/g;
  return [...new Set([...text.matchAll(re)].map((m) => `/etc/kubernetes/tmp/${m[1] ?? ''}`))];
}
