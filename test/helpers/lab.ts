/**
 * The one place the tests start and stop a lab and read its ground truth: the controller's model
 * (DIR/state.json: nodes, cordons, pods) and its event log (DIR/events.jsonl: sessions, commands,
 * state changes). `Lab.up` runs `kupgrade-lab up` from dist/ (built by pretest), as an operator
 * does; `upInProcess` keeps the controller inside the test process, for the lab's own tests.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { up, type UpOptions, type UpResult } from '../../lab/src/lab';
import type { ClusterState, NodeState } from '../../lab/src/model/state';

export const ROOT = path.resolve(__dirname, '../..');
export const LAB_CLI = path.join(ROOT, 'dist/lab/src/cli.js');

export interface LabOptions {
  controlPlanes: number;
  workers: number;
  version: string;
  packages: 'yum' | 'dnf' | 'apt' | 'zypper';
  speed?: number;
  seed?: string;
  extra?: string[];
}

export interface LabEvent {
  ts: string;
  node: string;
  type: 'ssh' | 'exec' | 'state';
  cmd?: string;
  exit?: number;
  unschedulable?: boolean;
  ready?: boolean;
  kubelet?: string;
  kubeadm?: string;
  apiserver?: string | null;
  pods?: number;
}

/** DIR/events.jsonl, oldest first ([] before the controller wrote any). */
export function readEvents<T = LabEvent>(dir: string): T[] {
  return new Lab(dir).events<T>();
}

export type InProcessLab = UpResult & { dir: string };

/** A lab whose controller runs in this process, without SSH (shims run with the node's environment). */
export async function upInProcess(o: Omit<UpOptions, 'dir'>): Promise<InProcessLab> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kupgrade-lab-test-'));
  const r = await up({ ...o, dir, ssh: false, inProcess: true });
  return { ...r, dir };
}

export async function downInProcess(lab: InProcessLab): Promise<void> {
  await lab.controller?.close();
  rmSync(lab.dir, { recursive: true, force: true });
}

export class Lab {
  constructor(readonly dir: string) {}

  static up(o: LabOptions): Lab {
    if (!existsSync(LAB_CLI)) throw new Error(`${LAB_CLI} is missing: run 'npm run build' first`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kupgrade-lab-'));
    execFileSync(
      process.execPath,
      [
        LAB_CLI,
        'up',
        '--dir',
        dir,
        '--control-planes',
        String(o.controlPlanes),
        '--workers',
        String(o.workers),
        '--version',
        o.version,
        '--packages',
        o.packages,
        '--speed',
        String(o.speed ?? 200),
        ...(o.seed ? ['--seed', o.seed] : []),
        ...(o.extra ?? []),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return new Lab(dir);
  }

  get inventory(): string {
    return path.join(this.dir, 'cluster.yaml');
  }

  cli(args: string[]): { status: number; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [LAB_CLI, ...args], { encoding: 'utf8' });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  fault(args: string[]): void {
    const r = this.cli(['fault', '--dir', this.dir, ...args]);
    if (r.status !== 0) throw new Error(`kupgrade-lab fault ${args.join(' ')} failed: ${r.stderr}`);
  }

  check(target: string, maxUnavailable?: number) {
    return this.cli([
      'check',
      '--dir',
      this.dir,
      '--target',
      target,
      ...(maxUnavailable ? ['--max-unavailable', String(maxUnavailable)] : []),
    ]);
  }

  events<T = LabEvent>(): T[] {
    const file = path.join(this.dir, 'events.jsonl');
    if (!existsSync(file)) return [];
    // The controller may be appending while a test reads: only lines it finished (newline-ended).
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.pop();
    return lines.filter(Boolean).map((l) => JSON.parse(l) as T);
  }

  /** DIR/state.json: the lab controller's model, the ground truth (not what kupgrade believes). */
  state(): ClusterState {
    return JSON.parse(readFileSync(path.join(this.dir, 'state.json'), 'utf8')) as ClusterState;
  }

  nodes(): Record<string, NodeState> {
    return this.state().nodes;
  }

  /** The nodes the model has unschedulable, sorted by name. */
  cordoned(): string[] {
    return Object.values(this.nodes())
      .filter((n) => n.unschedulable)
      .map((n) => n.name)
      .sort();
  }

  /** Rewrites a line of the lab's cluster.yaml (e.g. the drain timeout); throws if it is not there. */
  editInventory(from: string | RegExp, to: string): void {
    const text = readFileSync(this.inventory, 'utf8');
    const next = text.replace(from, to);
    if (next === text) throw new Error(`${String(from)} not found in ${this.inventory}`);
    writeFileSync(this.inventory, next);
  }

  /** A command on a lab node over real SSH (strict host keys), as an operator runs it. */
  ssh(node: string, command: string): { code: number; stdout: string; stderr: string } {
    const spec = JSON.parse(readFileSync(path.join(this.dir, 'lab.json'), 'utf8')) as {
      nodes: { name: string; address: string; port: number }[];
      ssh: { user: string; clientKeyPath: string; knownHostsPath: string };
    };
    const n = spec.nodes.find((x) => x.name === node);
    if (!n) throw new Error(`no node ${node} in ${this.dir}`);
    const r = spawnSync(
      'ssh',
      [
        ...['-i', spec.ssh.clientKeyPath, '-o', `UserKnownHostsFile=${spec.ssh.knownHostsPath}`],
        ...['-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-p', String(n.port)],
        `${spec.ssh.user}@${n.address}`,
        command,
      ],
      { encoding: 'utf8' },
    );
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** `kubectl … -o json` on cp-1 with its admin.conf (a real-API lab: the real kubectl and apiserver). */
  kubectlJson<T = unknown>(args: string): T {
    const r = this.ssh('cp-1', `kubectl --kubeconfig=/etc/kubernetes/admin.conf ${args} -o json`);
    if (r.code !== 0) throw new Error(`kubectl ${args}: exit ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  down(): void {
    spawnSync(process.execPath, [LAB_CLI, 'down', '--dir', this.dir], { stdio: 'ignore' });
  }
}

/** Commands that change a node or the cluster: none may run twice for a completed step. */
export const MUTATING = [
  /^kubeadm upgrade (apply|node)\b(?!.*--dry-run)/,
  /^(yum|dnf) install\b/,
  /^apt-get install\b/,
  /^apt-mark (hold|unhold)\b/,
  /^kubectl (?:-\S+ )*(drain|cordon|uncordon)\b/,
  /^systemctl restart kubelet\b/,
  /^etcdctl .*snapshot save\b/,
  /^kubectl\b.* exec \S+ -- etcdctl .*snapshot save\b/,
];

export function isMutating(cmd: string): boolean {
  return MUTATING.some((re) => re.test(cmd));
}

/** kubectl drain/cordon/uncordon run on the API node but act on the node they name. */
export function subjectOf(e: LabEvent): string {
  // flags, and a `--`, may come between the verb and the node name (`drain --timeout=5m -- w-1`)
  const m = /^kubectl (?:-\S+ )*(?:drain|cordon|uncordon) (?:-\S+ )*(\S+)/.exec(e.cmd ?? '');
  return m ? m[1] : e.node;
}

/**
 * Successful mutating commands run more than once for the same node in the same hop: "a completed
 * step run again". A node's hop is the minor of the last kubeadm package it installed (each hop
 * installs the hop's kubeadm first), so multi-hop runs are judged hop by hop.
 */
export function repeatedMutations(events: LabEvent[]): { node: string; cmd: string; count: number }[] {
  const counts = new Map<string, number>();
  const hopOf = new Map<string, string>();
  for (const e of events) {
    if (e.type !== 'exec' || e.exit !== 0 || !e.cmd || !isMutating(e.cmd)) continue;
    const subject = subjectOf(e);
    const minor = /kubeadm[-=]'?(\d+\.\d+)\./.exec(e.cmd)?.[1];
    if (minor) hopOf.set(subject, minor);
    const key = `${e.node}\u0000${e.cmd}\u0000${hopOf.get(subject) ?? ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()]
    .filter(([, n]) => n > 1)
    .map(([k, count]) => {
      const [node, cmd, hop] = k.split('\u0000');
      return { node, cmd: hop ? `${cmd} (hop to ${hop})` : cmd, count };
    });
}
