/**
 * An in-memory kubeadm cluster implementing UpgradeActivities for workflow tests. It keeps the
 * state the real activities would observe over SSH, records every call, enforces invariant 3
 * (kubelet only while cordoned) like the real activities, and measures how many workers this run
 * made unschedulable at once.
 */
import { ApplicationFailure } from '@temporalio/common';
import type {
  CheckInputResult,
  ClusterState,
  NodeHopInput,
  NodeInput,
  PreflightCheck,
  PreflightReport,
  ResolvedHop,
  StepResult,
  UpgradeActivities,
} from '../../src/shared/activities';
import { createStepGroupActivities } from '../../src/activities/step-group';
import { ErrorType } from '../../src/shared/errors';
import type { Inventory, NodeRole } from '../../src/shared/inventory';
import { compareVersions } from '../../src/shared/versions';
import { buildInventory, type InventoryOverrides } from '../helpers/inventory';

export interface FakeNode {
  name: string;
  role: NodeRole;
  kubelet: string;
  kubeadm: string;
  unschedulable: boolean;
  ready: boolean;
  repoMinor: string;
  /** kubelet package installed but not restarted yet. */
  kubeletInstalled?: string;
}

export interface Call {
  activity: keyof UpgradeActivities;
  node?: string;
  hop?: number;
  changed?: boolean;
}

export interface Fault {
  activity: keyof UpgradeActivities;
  node?: string;
  /** How many calls fail (Infinity = until cleared). */
  times: number;
  type: string;
  message?: string;
}

/** Patches in the fake repository per minor. */
const REPO: Record<string, number[]> = {
  '1.27': [0, 16],
  '1.28': [0, 15],
  '1.29': [0, 6, 10],
  '1.30': [0, 4, 14],
};

export class FakeCluster {
  readonly nodes = new Map<string, FakeNode>();
  apiServer: string;
  readonly calls: Call[] = [];
  readonly faults: Fault[] = [];
  /** What the worker config grants this cluster (checkUpgradeInput's answer). */
  approvals: CheckInputResult['approvals'];
  /** Problems verify reports on top of the kubelet versions (e.g. a control-plane image rolled back). */
  verifyProblems: string[] = [];
  /** Workers cordoned by this run at the same time (max seen). */
  maxWorkersUnavailable = 0;
  /** Control planes unschedulable at the same time (max seen, cordoned-before ones included). */
  maxControlPlanesUnschedulable = 0;
  private readonly cordonedByRun = new Set<string>();
  /** Optional delay per mutating call, to let windows overlap. */
  delayMs = 0;
  preflightFail?: string;
  /** Hook run at the start of every activity (e.g. to resolve a promise in a test). */
  onCall?: (c: Call) => void;

  constructor(
    readonly inventory: Inventory,
    version: string,
    opts: { cordoned?: string[]; versions?: Record<string, string> } = {},
  ) {
    this.apiServer = version;
    for (const n of inventory.nodes) {
      const v = opts.versions?.[n.name] ?? version;
      this.nodes.set(n.name, {
        name: n.name,
        role: n.role,
        kubelet: v,
        kubeadm: v,
        unschedulable: opts.cordoned?.includes(n.name) ?? false,
        ready: true,
        repoMinor: v.replace(/^v/, '').split('.').slice(0, 2).join('.'),
      });
    }
  }

  node(name: string): FakeNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`fake: unknown node ${name}`);
    return n;
  }

  count(activity: keyof UpgradeActivities, node?: string): number {
    return this.calls.filter((c) => c.activity === activity && (node === undefined || c.node === node))
      .length;
  }

  private async enter(activity: keyof UpgradeActivities, node?: string, hop?: ResolvedHop): Promise<Call> {
    const call: Call = { activity, ...(node ? { node } : {}), ...(hop ? { hop: hop.index } : {}) };
    this.calls.push(call);
    this.onCall?.(call);
    const fault = this.faults.find(
      (f) => f.activity === activity && (f.node === undefined || f.node === node) && f.times > 0,
    );
    if (fault) {
      fault.times -= 1;
      throw ApplicationFailure.create({
        type: fault.type,
        message: fault.message ?? `fake ${activity} failed on ${node ?? 'cluster'}`,
        nonRetryable: true,
        details: [
          { node, command: `fake ${activity}`, outputTail: `error: ${fault.type}\n`, hints: ['fake hint'] },
        ],
      });
    }
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    return call;
  }

  private measure(): void {
    let workers = 0;
    let cps = 0;
    for (const n of this.nodes.values()) {
      if (n.role === 'worker' && this.cordonedByRun.has(n.name)) workers++;
      if (n.role === 'control-plane' && n.unschedulable) cps++;
    }
    this.maxWorkersUnavailable = Math.max(this.maxWorkersUnavailable, workers);
    this.maxControlPlanesUnschedulable = Math.max(this.maxControlPlanesUnschedulable, cps);
  }

  private step(call: Call, changed: boolean, detail?: string): StepResult {
    call.changed = changed;
    return { changed, ...(detail ? { detail } : {}) };
  }

  activities(): UpgradeActivities {
    const plain = (v: string): string => v.replace(/^v/, '');
    const steps: Omit<UpgradeActivities, 'ensureKubeletUpgraded' | 'ensureNodePrepared'> = {
      checkUpgradeInput: async (): Promise<CheckInputResult> => {
        await this.enter('checkUpgradeInput');
        return this.approvals ? { approvals: this.approvals } : {};
      },
      getClusterState: async (): Promise<ClusterState> => {
        await this.enter('getClusterState');
        return {
          apiServerVersion: this.apiServer,
          nodes: [...this.nodes.values()].map((n) => ({
            name: n.name,
            kubeletVersion: n.kubelet,
            ready: n.ready,
            unschedulable: n.unschedulable,
          })),
          observedAt: new Date().toISOString(),
        };
      },
      resolveTarget: async ({ hops }) => {
        await this.enter('resolveTarget');
        return hops.map((h): ResolvedHop => {
          const patches = REPO[h.minor];
          if (!patches) {
            throw ApplicationFailure.create({
              type: ErrorType.VersionNotFound,
              message: `no ${h.minor} in repo`,
              nonRetryable: true,
            });
          }
          const patch = h.patch ?? patches[patches.length - 1];
          if (!patches.includes(patch)) {
            throw ApplicationFailure.create({
              type: ErrorType.VersionNotFound,
              message: `no ${h.minor}.${patch}`,
              nonRetryable: true,
            });
          }
          const v = `${h.minor}.${patch}`;
          return {
            index: h.index,
            from: h.from,
            minor: h.minor,
            version: `v${v}`,
            packages: { kubeadm: `${v}-150500.1.1`, kubelet: `${v}-150500.1.1`, kubectl: `${v}-150500.1.1` },
          };
        });
      },
      preflight: async (): Promise<PreflightReport> => {
        await this.enter('preflight');
        const checks: PreflightCheck[] = [...this.nodes.values()].map((n) => ({
          name: 'node-ready',
          node: n.name,
          status: 'pass',
          message: 'Ready',
        }));
        if (this.preflightFail)
          checks.push({ name: 'swap', node: 'w-1', status: 'fail', message: this.preflightFail });
        return { ok: !this.preflightFail, checks, pdbs: [] };
      },
      backupControlPlane: async ({ node, label }) => {
        await this.enter('backupControlPlane', node.name);
        return {
          node: node.name,
          etcdSnapshot: `/var/lib/kupgrade/${label}/etcd.db`,
          kubernetesCopy: `/var/lib/kupgrade/${label}/kubernetes`,
          at: new Date().toISOString(),
        };
      },
      ensureRepoMinor: async ({ node, hop }: NodeHopInput) => {
        const call = await this.enter('ensureRepoMinor', node.name, hop);
        const n = this.node(node.name);
        if (n.repoMinor === hop.minor) return this.step(call, false);
        n.repoMinor = hop.minor;
        return this.step(call, true);
      },
      ensureKubeadmPackage: async ({ node, hop }: NodeHopInput) => {
        const call = await this.enter('ensureKubeadmPackage', node.name, hop);
        const n = this.node(node.name);
        if (n.repoMinor !== hop.minor)
          throw new Error(`fake: ${node.name} repo at ${n.repoMinor}, want ${hop.minor}`);
        if (n.kubeadm === hop.version) return this.step(call, false);
        n.kubeadm = hop.version;
        return this.step(call, true);
      },
      kubeadmUpgradePlan: async ({ node, hop }: NodeHopInput) => {
        await this.enter('kubeadmUpgradePlan', node.name, hop);
        return {
          ok: true,
          manualUpgradeRequired: [],
          outputTail: `You can now apply the upgrade by executing: kubeadm upgrade apply ${hop.version}`,
        };
      },
      kubeadmRehearsal: async ({ node, hop }: NodeHopInput) => {
        const call = await this.enter('kubeadmRehearsal', node.name, hop);
        return {
          ...this.step(
            call,
            false,
            `rehearsed ${hop.version}: 3 manifest(s) would change, apply --dry-run OK`,
          ),
          outputTail: `+++ new manifest\n+    image: registry.k8s.io/kube-apiserver:${hop.version}`,
        };
      },
      ensureImagesPulled: async ({ node, hop }: NodeHopInput) => {
        const call = await this.enter('ensureImagesPulled', node.name, hop);
        return this.step(call, true);
      },
      ensureKubeadmApply: async ({ node, hop }: NodeHopInput) => {
        const call = await this.enter('ensureKubeadmApply', node.name, hop);
        if (this.node(node.name).kubeadm !== hop.version)
          throw new Error('fake: kubeadm package not at the hop version');
        if (compareVersions(this.apiServer, hop.version) >= 0) return this.step(call, false);
        this.apiServer = hop.version;
        return this.step(call, true);
      },
      ensureKubeadmUpgradeNode: async ({ node, hop }: NodeHopInput) => {
        const call = await this.enter('ensureKubeadmUpgradeNode', node.name, hop);
        if (compareVersions(this.apiServer, hop.version) < 0) {
          throw ApplicationFailure.create({
            type: ErrorType.PolicyRefused,
            message: 'upgrade node before apply',
            nonRetryable: true,
          });
        }
        return this.step(call, true);
      },
      runCniStep: async ({ node, hop }: NodeHopInput) => {
        const call = await this.enter('runCniStep', node.name, hop);
        return this.step(call, true);
      },
      ensureDrained: async ({ node }: NodeInput) => {
        const call = await this.enter('ensureDrained', node.name);
        const n = this.node(node.name);
        const wasCordoned = n.unschedulable;
        if (!wasCordoned) this.cordonedByRun.add(n.name);
        n.unschedulable = true;
        this.measure();
        return { ...this.step(call, !wasCordoned), wasCordoned };
      },
      ensureKubeletPackages: async ({ node, hop }: NodeHopInput) => {
        const call = await this.enter('ensureKubeletPackages', node.name, hop);
        const n = this.node(node.name);
        if (!n.unschedulable) {
          throw ApplicationFailure.create({
            type: ErrorType.PolicyRefused,
            message: `${n.name} is not cordoned`,
            nonRetryable: true,
          });
        }
        if (n.kubeletInstalled === hop.version || n.kubelet === hop.version) return this.step(call, false);
        n.kubeletInstalled = hop.version;
        return this.step(call, true);
      },
      ensureKubeletRestarted: async ({ node, hop }: NodeHopInput) => {
        const call = await this.enter('ensureKubeletRestarted', node.name, hop);
        const n = this.node(node.name);
        if (!n.unschedulable) {
          throw ApplicationFailure.create({
            type: ErrorType.PolicyRefused,
            message: `${n.name} is not cordoned`,
            nonRetryable: true,
          });
        }
        if (n.kubelet === hop.version) return this.step(call, false);
        if (n.kubeletInstalled) n.kubelet = n.kubeletInstalled;
        return this.step(call, true);
      },
      waitNodeReady: async ({ node, hop }: NodeHopInput) => {
        await this.enter('waitNodeReady', node.name, hop);
        const n = this.node(node.name);
        if (n.kubelet !== hop.version) {
          throw ApplicationFailure.create({
            type: ErrorType.NodeNotReady,
            message: `${n.name} at ${n.kubelet}`,
            nonRetryable: true,
          });
        }
        return { ready: n.ready, kubeletVersion: n.kubelet };
      },
      ensureUncordoned: async ({ node }: NodeInput) => {
        const call = await this.enter('ensureUncordoned', node.name);
        const n = this.node(node.name);
        this.cordonedByRun.delete(n.name);
        if (!n.unschedulable) return this.step(call, false);
        n.unschedulable = false;
        return this.step(call, true, `${plain(n.kubelet)} uncordoned`);
      },
      verifyCluster: async ({ version, exclude }) => {
        await this.enter('verifyCluster');
        const problems = [...this.nodes.values()]
          .filter((n) => !exclude.includes(n.name) && n.kubelet !== version)
          .map((n) => `${n.name} at ${n.kubelet}`);
        problems.push(...this.verifyProblems);
        return { ok: problems.length === 0, nodes: [], problems };
      },
    };
    // the real step groups over the fake's steps (each sub-step is still a recorded call)
    return { ...steps, ...createStepGroupActivities(steps) };
  }
}

/** The tests' inventory (test/helpers/inventory.ts) with `cps` control planes and `ws` workers, apt. */
export function makeInventory(
  name: string,
  cps: number,
  ws: number,
  overrides: InventoryOverrides = {},
): Inventory {
  return buildInventory({ name, controlPlanes: cps, workers: ws, manager: 'apt' }, overrides);
}
