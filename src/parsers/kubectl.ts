/**
 * kubectl output: nodes, drain, PDBs and the server version.
 */
import { withV } from '../shared/versions';
import { jsonIn, lines, ParseError } from './common';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface NodeStatus {
  name: string;
  /** From `node-role.kubernetes.io/<role>` labels and `kubernetes.io/role`, sorted; [] for `<none>`. */
  roles: string[];
  ready: boolean;
  /** The Ready condition's status: True, False or Unknown (Unknown also when the condition is missing). */
  readyStatus: 'True' | 'False' | 'Unknown';
  unschedulable: boolean;
  /** `v1.29.6` as the node reports it. */
  kubeletVersion: string;
  taints: Taint[];
  internalIP?: string;
}

function nodeFromJson(n: Record<string, unknown>): NodeStatus {
  const meta = (n.metadata ?? {}) as { name?: string; labels?: Record<string, string> };
  const spec = (n.spec ?? {}) as { unschedulable?: boolean; taints?: Taint[] };
  const status = (n.status ?? {}) as {
    conditions?: { type: string; status: string }[];
    nodeInfo?: { kubeletVersion?: string };
    addresses?: { type: string; address: string }[];
  };
  const labels = meta.labels ?? {};
  const roles = new Set<string>();
  for (const k of Object.keys(labels)) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const r = k.slice('node-role.kubernetes.io/'.length);
      if (r) roles.add(r);
    }
  }
  if (labels['kubernetes.io/role']) roles.add(labels['kubernetes.io/role']);
  const cond = status.conditions?.find((c) => c.type === 'Ready');
  const readyStatus = cond?.status === 'True' ? 'True' : cond?.status === 'False' ? 'False' : 'Unknown';
  const ip = status.addresses?.find((a) => a.type === 'InternalIP')?.address;
  return {
    name: meta.name ?? '',
    roles: [...roles].sort(),
    ready: readyStatus === 'True',
    readyStatus,
    unschedulable: spec.unschedulable === true,
    kubeletVersion: status.nodeInfo?.kubeletVersion ?? '',
    taints: (spec.taints ?? []).map((t) => ({
      key: t.key,
      ...(t.value ? { value: t.value } : {}),
      effect: t.effect,
    })),
    ...(ip ? { internalIP: ip } : {}),
  };
}

/** `kubectl get nodes -o json` (a List) or `kubectl get node NAME -o json` (one Node). */
export function parseNodesJson(text: string): NodeStatus[] {
  let j: { kind?: string; items?: unknown[] };
  try {
    j = JSON.parse(text.slice(Math.max(0, text.indexOf('{')))) as typeof j;
  } catch {
    throw new ParseError('kubectl get nodes -o json', text);
  }
  if (Array.isArray(j.items)) return j.items.map((n) => nodeFromJson(n as Record<string, unknown>));
  if (j.kind === 'Node') return [nodeFromJson(j as Record<string, unknown>)];
  throw new ParseError('kubectl get nodes -o json', text);
}

export interface PodRef {
  namespace: string;
  pod: string;
}

export type DrainRefusalReason = 'daemonset' | 'local-storage' | 'unmanaged' | 'other';

export interface DrainRefusal {
  reason: DrainRefusalReason;
  message: string;
  /** `ns/pod` as kubectl lists them. */
  pods: string[];
}

export interface DrainResult {
  cordoned: boolean;
  drained: boolean;
  /** `ns/pod` of every `evicting pod` line, unique, in order. */
  evicting: string[];
  /** Pod names of `pod/NAME evicted|deleted` (kubectl prints no namespace there). */
  evicted: string[];
  /** Pods whose eviction a PodDisruptionBudget refused (429), unique. */
  pdbBlocked: PodRef[];
  /** How many PDB refusals were printed (kubectl retries every 5 s). */
  pdbRetries: number;
  /**
   * Pods the eviction API refuses outright because more than one PodDisruptionBudget selects them
   * (HTTP 500; kubectl does not retry them, waiting never helps), unique.
   */
  multiPdb: PodRef[];
  refusals: DrainRefusal[];
  timedOut: boolean;
  /** Pods still pending when the global timeout hit. */
  timeoutPods: PodRef[];
  ignoredDaemonSetPods: string[];
  /** The `error: unable to drain node ...` line, when present. */
  error?: string;
}

function refusalReason(msg: string): DrainRefusalReason {
  if (/DaemonSet-managed/.test(msg)) return 'daemonset';
  if (/local storage/.test(msg)) return 'local-storage';
  if (/declare no controller|not managed by ReplicationController/.test(msg)) return 'unmanaged';
  return 'other';
}

/** `kubectl drain` output (stdout + stderr). */
export function parseDrainOutput(text: string): DrainResult {
  const r: DrainResult = {
    cordoned: false,
    drained: false,
    evicting: [],
    evicted: [],
    pdbBlocked: [],
    pdbRetries: 0,
    multiPdb: [],
    refusals: [],
    timedOut: false,
    timeoutPods: [],
    ignoredDaemonSetPods: [],
  };
  const seenPdb = new Set<string>();
  const seenRefusal = new Set<string>();
  const seenTimeout = new Set<string>();
  const addRefusal = (msg: string, pods: string) => {
    const key = `${msg}|${pods}`;
    if (seenRefusal.has(key)) return;
    seenRefusal.add(key);
    r.refusals.push({ reason: refusalReason(msg), message: msg, pods: pods.split(/,\s*/).filter(Boolean) });
  };
  for (const raw of lines(text)) {
    const l = raw.trim();
    if (/^node\/\S+ (already )?cordoned$/.test(l)) r.cordoned = true;
    else if (/^node\/\S+ drained$/.test(l)) r.drained = true;
    let m = /^evicting pod (\S+)$/.exec(l);
    if (m?.[1] && !r.evicting.includes(m[1])) r.evicting.push(m[1]);
    m = /^pod\/(\S+) (evicted|deleted)$/.exec(l);
    if (m?.[1] && !r.evicted.includes(m[1])) r.evicted.push(m[1]);
    m = /^(?:Warning|WARNING): ignoring DaemonSet-managed Pods: (.+?)(?:;|$)/.exec(l);
    if (m?.[1]) r.ignoredDaemonSetPods.push(...m[1].split(/,\s*/).filter(Boolean));
    // PDB: new form `pods/"P" -n "NS"`, old form `pod "P"`.
    m =
      /error when evicting (?:pods\/"([^"]+)" -n "([^"]+)"|pod "([^"]+)") \(will retry after \d+s\): Cannot evict pod as it would violate the pod's disruption budget/.exec(
        l,
      );
    const pdbPod = m?.[1] ?? m?.[3];
    if (pdbPod) {
      r.pdbRetries++;
      const ns = m?.[2] ?? '';
      if (!seenPdb.has(`${ns}/${pdbPod}`)) {
        seenPdb.add(`${ns}/${pdbPod}`);
        r.pdbBlocked.push({ namespace: ns, pod: pdbPod });
      }
    }
    for (const t of l.matchAll(
      /error when evicting pods\/"([^"]+)" -n "([^"]+)": This pod has more than one PodDisruptionBudget/g,
    )) {
      if (!r.multiPdb.some((x) => x.namespace === t[2] && x.pod === t[1]))
        r.multiPdb.push({ namespace: t[2] ?? '', pod: t[1] ?? '' });
    }
    for (const t of l.matchAll(
      /error when (?:evicting pods\/"([^"]+)" -n "([^"]+)"|waiting for pod "([^"]+)" in namespace "([^"]+)" to terminate): global timeout reached/g,
    )) {
      r.timedOut = true;
      const pod = t[1] ?? t[3] ?? '';
      const ns = t[2] ?? t[4] ?? '';
      if (!seenTimeout.has(`${ns}/${pod}`)) {
        seenTimeout.add(`${ns}/${pod}`);
        r.timeoutPods.push({ namespace: ns, pod });
      }
    }
    if (/global timeout reached/.test(l)) r.timedOut = true;
    if (/^error: unable to drain node/.test(l)) {
      r.error = l;
      // One refusal inline: `due to error: cannot delete X (use ...): pods, continuing command...`
      const inline = /due to error: ?(cannot delete .+?) \((use [^)]+)\): (.+?), continuing command/.exec(l);
      if (inline?.[1] && inline[3]) addRefusal(`${inline[1]} (${inline[2] ?? ''})`, inline[3]);
      continue;
    }
    m = /^(?:error: )?(cannot delete .+?) \((use [^)]+)\): (.+)$/.exec(l);
    if (m?.[1] && m[3]) addRefusal(`${m[1]} (${m[2] ?? ''})`, m[3]);
  }
  return r;
}

export interface PdbStatus {
  namespace: string;
  name: string;
  minAvailable?: number | string;
  maxUnavailable?: number | string;
  /** Absent until the disruption controller has written the PDB's status. */
  disruptionsAllowed?: number;
  currentHealthy?: number;
  matchLabels: Record<string, string>;
}

/** `kubectl get pdb -A -o json`. */
export function parsePdbsJson(text: string): PdbStatus[] {
  let j: { items?: unknown[] };
  try {
    j = jsonIn(text) as typeof j;
  } catch {
    throw new ParseError('kubectl get pdb -o json', text);
  }
  if (!Array.isArray(j.items)) throw new ParseError('kubectl get pdb -o json', text);
  return j.items.map((raw) => {
    const p = raw as {
      metadata?: { name?: string; namespace?: string };
      spec?: {
        minAvailable?: number | string;
        maxUnavailable?: number | string;
        selector?: { matchLabels?: Record<string, string> };
      };
      status?: { currentHealthy?: number; disruptionsAllowed?: number };
    };
    return {
      namespace: p.metadata?.namespace ?? 'default',
      name: p.metadata?.name ?? '?',
      ...(p.spec?.minAvailable !== undefined ? { minAvailable: p.spec.minAvailable } : {}),
      ...(p.spec?.maxUnavailable !== undefined ? { maxUnavailable: p.spec.maxUnavailable } : {}),
      ...(p.status?.disruptionsAllowed !== undefined
        ? { disruptionsAllowed: p.status.disruptionsAllowed }
        : {}),
      ...(p.status?.currentHealthy !== undefined ? { currentHealthy: p.status.currentHealthy } : {}),
      matchLabels: p.spec?.selector?.matchLabels ?? {},
    };
  });
}

/** `kubectl version -o json`: the API server's `v1.30.4` (build suffixes dropped), if it answered. */
export function parseServerVersion(text: string): string | undefined {
  const git = (jsonIn(text) as { serverVersion?: { gitVersion?: string } }).serverVersion?.gitVersion ?? '';
  const m = /^v?\d+\.\d+\.\d+/.exec(git);
  return m ? withV(m[0]) : undefined;
}
