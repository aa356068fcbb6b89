/**
 * `kupgrade-lab check`: replays DIR/events.jsonl (a pure function of its lines) and reports every
 * violation of the upgrade invariants with the 1-based line number that shows it.
 *
 * The first `state` line of a node is its state at `up`. `pods` counts the pods a drain must
 * remove (not DaemonSet pods, not static/mirror pods), so "drained" means `pods == 0`.
 * Nodes already unschedulable at `up` (cordoned by someone else) are left out of the
 * unschedulable counts and of the "left cordoned" rule; so is a node an operator cordoned during
 * the run (an `operator` line, `kupgrade-lab cordon`), until an operator uncordons it.
 */
import { cmpVer, parseVer } from '../model/versions';

export interface Violation {
  line: number;
  rule: string;
  message: string;
}

export interface CheckOptions {
  target: string;
  /** a count, or a percentage of the workers ("25%", rounded down, at least 1) as kupgrade resolves it */
  maxUnavailable?: number | string;
}

export function resolveMaxUnavailable(spec: number | string, workers: number): number {
  const n =
    typeof spec === 'string' && spec.endsWith('%')
      ? Math.floor((workers * Number(spec.slice(0, -1))) / 100)
      : Number(spec);
  return Math.max(1, Math.min(n, Math.max(workers, 1)));
}

export interface CheckResult {
  violations: Violation[];
  events: number;
  nodes: number;
  /** mutating commands killed mid-way (exec lines with `killed`) */
  killed: number;
  /** mutating commands started again on the same node after a killed run of the same command */
  reruns: number;
}

/**
 * Transactions: commands that leave a node half changed when their process is killed mid-way
 * (a kubeadm upgrade mid manifest swap, dpkg/rpm mid install, a kubelet restart).
 */
export const TRANSACTIONS: readonly RegExp[] = [
  /^kubeadm upgrade (apply|node)\b(?!.*--dry-run)/,
  /^(yum|dnf) (-\S+ )*(install|upgrade|update|downgrade)\b/,
  /^apt-get (-\S+ )*install\b/,
  /^systemctl (restart|start) kubelet\b/,
];

export function isTransaction(cmd: string): boolean {
  return TRANSACTIONS.some((re) => re.test(cmd));
}

interface NodeView {
  unschedulable: boolean;
  ready: boolean;
  kubelet: string;
  kubeadm: string;
  apiserver: string | null;
  pods: number;
  cordonedAtUp: boolean;
  lastLine: number;
}

interface Ev {
  killed?: boolean;
  ts?: string;
  node?: string;
  type?: string;
  cmd?: string;
  exit?: number;
  unschedulable?: boolean;
  ready?: boolean;
  kubelet?: string;
  kubeadm?: string;
  apiserver?: string | null;
  pods?: number;
  action?: string;
}

const minorOf = (v: string) => parseVer(v)?.minor ?? -1;

export function checkEvents(lines: string[], opts: CheckOptions): CheckResult {
  const target = opts.target.startsWith('v') ? opts.target : `v${opts.target}`;
  const maxSpec = opts.maxUnavailable ?? 1;
  const nodes = new Map<string, NodeView>();
  const out: Violation[] = [];
  const seen = new Set<string>();
  const add = (line: number, rule: string, message: string, dedupe?: string) => {
    if (dedupe) {
      if (seen.has(dedupe)) return;
      seen.add(dedupe);
    }
    out.push({ line, rule, message });
  };
  const applyByMinor = new Map<number, { node: string; line: number }>();
  let events = 0;
  let killed = 0;
  let reruns = 0;
  /** node + command line of a killed transaction -> its line */
  const killedAt = new Map<string, number>();

  lines.forEach((raw, idx) => {
    const line = idx + 1;
    if (!raw.trim()) return;
    let e: Ev;
    try {
      e = JSON.parse(raw) as Ev;
    } catch {
      add(line, 'format', 'not a JSON object');
      return;
    }
    events++;
    if (e.type === 'exec' && e.node && typeof e.cmd === 'string') {
      const n = nodes.get(e.node);
      // never SIGKILL a transaction; and a killed one started again is the same step run twice
      if (isTransaction(e.cmd)) {
        const key = `${e.node}\u0000${e.cmd}`;
        const before = killedAt.get(key);
        if (before !== undefined) {
          reruns++;
          add(
            line,
            'transaction-rerun',
            `${e.cmd} started again on ${e.node} after its run at line ${before} was killed`,
          );
        }
        if (e.killed) {
          killed++;
          killedAt.set(key, line);
          add(
            line,
            'transaction-killed',
            `${e.cmd} on ${e.node} was killed mid-way (its session was closed)`,
          );
        } else killedAt.delete(key);
      }
      // invariant 3: a kubelet is restarted only while its node is cordoned and drained
      if (
        /^systemctl\b.*\b(restart|start|try-restart)\b.*\bkubelet(\.service)?\b/.test(e.cmd) &&
        e.exit === 0 &&
        n
      ) {
        if (!n.unschedulable || n.pods > 0) {
          add(
            line,
            'kubelet-restart-undrained',
            `kubelet on ${e.node} restarted while ${!n.unschedulable ? 'schedulable' : `not drained (${n.pods} pods)`}`,
          );
        }
      }
      // invariant 5: `kubeadm upgrade apply` on exactly one control plane per hop
      const m = /^kubeadm upgrade apply (?:.*\s)?v?(\d+\.\d+\.\d+)\b/.exec(e.cmd);
      if (m && e.exit === 0 && !/--dry-run(=true)?\b/.test(e.cmd)) {
        const minor = minorOf(m[1]!);
        const prev = applyByMinor.get(minor);
        if (prev && prev.node !== e.node) {
          add(
            line,
            'apply-twice',
            `kubeadm upgrade apply for v1.${minor} ran on ${e.node} after ${prev.node} (line ${prev.line}); other control planes use "kubeadm upgrade node"`,
          );
        } else if (!prev) applyByMinor.set(minor, { node: e.node, line });
      }
      return;
    }
    if (e.type === 'operator' && e.node) {
      // someone else's cordon from here on (the node's next `state` line shows it)
      const n = nodes.get(e.node);
      if (n) n.cordonedAtUp = e.action === 'cordon';
      return;
    }
    if (e.type !== 'state' || !e.node) return;
    const prev = nodes.get(e.node);
    const cur: NodeView = {
      unschedulable: !!e.unschedulable,
      ready: !!e.ready,
      kubelet: e.kubelet ?? prev?.kubelet ?? '',
      kubeadm: e.kubeadm ?? prev?.kubeadm ?? '',
      apiserver: e.apiserver === undefined ? (prev?.apiserver ?? null) : e.apiserver,
      pods: e.pods ?? 0,
      cordonedAtUp: prev ? prev.cordonedAtUp : !!e.unschedulable,
      lastLine: line,
    };
    nodes.set(e.node, cur);
    if (!prev) return;

    // invariants 1 and 2: unschedulable control planes / workers at once
    if (cur.unschedulable && !prev.unschedulable) {
      const cps: string[] = [];
      const workers: string[] = [];
      for (const [name, n] of nodes) {
        if (!n.unschedulable || n.cordonedAtUp) continue;
        (n.apiserver !== null ? cps : workers).push(name);
      }
      if (cur.apiserver !== null && cps.length > 1) {
        add(
          line,
          'control-planes-unschedulable',
          `${cps.length} control planes unschedulable at once: ${cps.join(', ')}`,
        );
      }
      let workerCount = 0;
      for (const n of nodes.values()) if (n.apiserver === null) workerCount++;
      const maxU = resolveMaxUnavailable(maxSpec, workerCount);
      if (cur.apiserver === null && workers.length > maxU) {
        add(
          line,
          'workers-unschedulable',
          `${workers.length} workers unschedulable at once (max ${maxU}): ${workers.join(', ')}`,
        );
      }
    }
    // invariant 3: kubelet changed while schedulable or not drained
    if (cur.kubelet !== prev.kubelet) {
      if (!cur.unschedulable || cur.pods > 0) {
        add(
          line,
          'kubelet-changed-undrained',
          `kubelet of ${e.node} changed ${prev.kubelet} -> ${cur.kubelet} while ${!cur.unschedulable ? 'schedulable' : `not drained (${cur.pods} pods)`}`,
        );
      }
    }
    // invariant 4: no kubelet newer than the apiservers it may talk to. A worker's kubelet may
    // reach any apiserver, so it must not be newer than the lowest one; a control plane's kubelet
    // talks to its own apiserver, and the kubeadm procedure (apply, then this node's kubelet,
    // then `upgrade node` on the other control planes) upgrades it before the other apiservers.
    if (cur.kubelet !== prev.kubelet || cur.apiserver !== prev.apiserver) {
      let lowest: string | null = null;
      for (const n of nodes.values()) {
        if (n.apiserver && parseVer(n.apiserver) && (!lowest || cmpVer(n.apiserver, lowest) < 0))
          lowest = n.apiserver;
      }
      for (const [name, n] of nodes) {
        const limit = n.apiserver ?? lowest;
        if (limit && parseVer(n.kubelet) && parseVer(limit) && cmpVer(n.kubelet, limit) > 0) {
          const what = n.apiserver ? 'its own kube-apiserver' : 'the lowest kube-apiserver';
          add(
            line,
            'kubelet-newer-than-apiserver',
            `kubelet of ${name} (${n.kubelet}) is newer than ${what} (${limit})`,
            `skew/${name}/${n.kubelet}/${limit}`,
          );
        }
      }
    }
  });

  // end state: invariant 7 (left cordoned) and the target
  const last = lines.length;
  for (const [name, n] of nodes) {
    if (n.unschedulable && !n.cordonedAtUp) {
      add(n.lastLine, 'left-cordoned', `${name} was schedulable at up and is left cordoned`);
    }
    const wrong: string[] = [];
    if (n.kubelet !== target) wrong.push(`kubelet ${n.kubelet}`);
    if (n.kubeadm !== target) wrong.push(`kubeadm ${n.kubeadm}`);
    if (n.apiserver !== null && n.apiserver !== target) wrong.push(`apiserver ${n.apiserver}`);
    if (wrong.length)
      add(
        Math.min(n.lastLine, last),
        'not-at-target',
        `${name} not at ${target} at the end: ${wrong.join(', ')}`,
      );
  }
  out.sort((a, b) => a.line - b.line);
  return { violations: out, events, nodes: nodes.size, killed, reruns };
}

export function formatViolations(file: string, r: CheckResult): string {
  return r.violations.map((v) => `${file}:${v.line}: [${v.rule}] ${v.message}\n`).join('');
}
