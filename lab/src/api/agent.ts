/**
 * The node agent of a real-API lab: it plays the kubelet of every simulated node against the real
 * kube-apiserver, and keeps the lab's model and the API in step.
 *
 *   model -> API  node status (Ready from the model's kubelet, kubeletVersion, capacity), the
 *                 taints the node lifecycle controller would set (not-ready, unreachable,
 *                 unschedulable), Lease heartbeats, mirror pods of each control plane's static
 *                 manifests (recreated with a new config hash when kubeadm writes a new image), the
 *                 kubeadm-config and kubelet-config ConfigMaps, the kube-proxy and CoreDNS images,
 *                 and the apiserver's own binary (a restart with the release the control planes run).
 *   API -> model  pods (the model's pod list becomes a projection of the API's: what `state`
 *                 events count, what `kubectl exec` finds), and a node's spec.unschedulable.
 *   kubelet       a pod bound to a node starts (Running, Ready) `podStartMs` after it is bound if
 *                 the node is Ready; a pod being deleted goes away `podEvictMs` (capped by its
 *                 grace period) after its deletionTimestamp, unless its node is down: a deletion no
 *                 kubelet confirms stays Terminating, as for real.
 *
 * Everything else — eviction, PodDisruptionBudget accounting, ReplicaSet replacement,
 * scheduling, cordon and drain — is the real control plane's work.
 */
import type { Cluster } from '../controller/cluster';
import { UNCONFIRMED } from '../controller/cluster';
import type { NodeState, Pod } from '../model/state';
import { scaled, TIME } from '../model/time-model';
import { ApiClient, ApiError, type K8sObject, type WatchEvent } from './client';
import type { ControlPlane } from './control-plane';
import { realReleases } from './binaries';
import {
  STATIC_PODS,
  appImage,
  kubeadmConfigMap,
  kubeletConfigMap,
  mirrorPod,
  nodeObject,
  nodeStatus,
  runningStatus,
  toModelPod,
  workloads,
} from './objects';

// a pod not Ready: no time at which it turns Ready by itself (UNCONFIRMED: the model never wakes for it)
const NOT_READY = UNCONFIRMED;
const BLOCK_PDB = 'kupgrade-lab-pdb-block';
const LEASE_EVERY_MS = 10_000;

function ignore404(e: unknown): void {
  if (e instanceof ApiError && (e.status === 404 || e.status === 409)) return;
  throw e;
}

export class NodeAgent {
  private pods = new Map<string, K8sObject>();
  private nodeUid = new Map<string, string>();
  private apiUnschedulable = new Map<string, boolean>();
  private pushed = new Map<string, string>();
  private starting = new Set<string>();
  private deleting = new Set<string>();
  private dirty = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private projectTimer: NodeJS.Timeout | null = null;
  private leaseTimer: NodeJS.Timeout | null = null;
  private stops: (() => void)[] = [];
  private timers = new Set<NodeJS.Timeout>();
  private closed = false;
  readonly errors: string[] = [];

  constructor(
    private cl: Cluster,
    readonly api: ApiClient,
    private cp: ControlPlane,
    private endpoint: string,
  ) {}

  private note(e: unknown): void {
    const m = (e as Error).message ?? String(e);
    if (this.errors.length < 50) this.errors.push(m);
    process.stderr.write(`kupgrade-lab node agent: ${m}\n`);
  }

  private later(ms: number, fn: () => void): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  // ---- seeding (a fresh lab) ----------------------------------------------------------------

  /** Registers the nodes and creates the workloads behind the model's pods; waits until they run. */
  async seed(): Promise<void> {
    const st = this.cl.state;
    const api = this.api;
    for (const n of this.cl.nodes()) {
      const o = await api.ensure('/api/v1/nodes', nodeObject(st, n));
      this.nodeUid.set(n.name, o.metadata.uid!);
      this.apiUnschedulable.set(n.name, !!o.spec?.unschedulable);
    }
    await this.pushNodes(this.cl.nodes().map((n) => n.name));
    const w = workloads(st);
    for (const ns of w.namespaces)
      await api.ensure('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await this.pushCluster();
    for (const d of w.daemonSets)
      await api.ensure(`/apis/apps/v1/namespaces/${d.metadata.namespace}/daemonsets`, d);
    for (const d of w.deployments)
      await api.ensure(`/apis/apps/v1/namespaces/${d.metadata.namespace}/deployments`, d);
    for (const b of w.pdbs)
      await api.ensure(`/apis/policy/v1/namespaces/${b.metadata.namespace}/poddisruptionbudgets`, b);
    for (const p of w.barePods) await api.ensure(`/api/v1/namespaces/${p.metadata.namespace}/pods`, p);
    for (const n of this.cl.controlPlanes()) await this.pushMirrorPods(n);
  }

  /** Until every Deployment and DaemonSet is fully available (the cluster starts healthy). */
  async waitWorkloads(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < end) {
      const ds = await this.api.get<{ items: K8sObject[] }>('/apis/apps/v1/daemonsets');
      const dp = await this.api.get<{ items: K8sObject[] }>('/apis/apps/v1/deployments');
      const notYet = [
        ...ds.items.filter(
          (d) =>
            !d.status?.desiredNumberScheduled || d.status.numberReady !== d.status.desiredNumberScheduled,
        ),
        ...dp.items.filter((d) => (d.status?.availableReplicas ?? 0) !== d.spec.replicas),
      ].map((d) => `${d.metadata.namespace}/${d.metadata.name}`);
      if (!notYet.length) return;
      last = notYet.join(', ');
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`workloads not available after ${timeoutMs} ms: ${last}`);
  }

  // ---- informers ------------------------------------------------------------------------------

  start(): void {
    for (const n of this.cl.nodes()) this.pushed.set(`cp/${n.name}`, JSON.stringify(n.cp));
    this.stops.push(
      this.api.informer(
        '/api/v1/pods',
        (e) => this.onPod(e),
        (e) => this.note(e),
      ),
    );
    this.stops.push(
      this.api.informer(
        '/api/v1/nodes',
        (e) => this.onNode(e),
        (e) => this.note(e),
      ),
    );
    const beat = () => {
      void this.heartbeat().catch((e) => this.note(e));
      this.leaseTimer = setTimeout(beat, LEASE_EVERY_MS);
      this.leaseTimer.unref();
    };
    beat();
  }

  private onNode(e: WatchEvent): void {
    const o = e.object;
    const n = this.cl.node(o.metadata.name);
    if (!n || e.type === 'DELETED') return;
    this.nodeUid.set(n.name, o.metadata.uid!);
    const u = !!o.spec?.unschedulable;
    const before = this.apiUnschedulable.get(n.name);
    this.apiUnschedulable.set(n.name, u);
    if (n.unschedulable !== u) {
      // kubectl cordon/uncordon/drain wrote it: the model follows (its `state` line records it)
      n.unschedulable = u;
      this.cl.changed(n.name);
    }
    if (before !== u) this.markDirty([n.name]);
  }

  private onPod(e: WatchEvent): void {
    const o = e.object;
    const key = `${o.metadata.namespace}/${o.metadata.name}`;
    if (e.type === 'DELETED') {
      if (this.pods.get(key)?.metadata.uid === o.metadata.uid) this.pods.delete(key);
    } else this.pods.set(key, o);
    this.project();
    if (e.type !== 'DELETED') this.kubelet(o);
  }

  /** The kubelet's part for one pod: start it, or finish its deletion. */
  private kubelet(o: K8sObject): void {
    const nodeName = o.spec?.nodeName as string | undefined;
    const n = nodeName ? this.cl.node(nodeName) : undefined;
    if (!n) return;
    const uid = o.metadata.uid!;
    const key = `${o.metadata.namespace}/${o.metadata.name}`;
    if (o.metadata.deletionTimestamp) {
      if (this.deleting.has(uid)) return;
      this.deleting.add(uid);
      const grace = Number(
        o.metadata.deletionTimestamp
          ? ((o as { metadata: { deletionGracePeriodSeconds?: number } }).metadata
              .deletionGracePeriodSeconds ?? 30)
          : 30,
      );
      const ms = Math.min(grace * 1000, scaled(TIME.podEvictMs, this.cl.speed));
      const finish = () => {
        const cur = this.pods.get(key);
        if (!cur || cur.metadata.uid !== uid) return;
        if (this.cl.node(n.name)?.down) return this.later(500, finish);
        this.api
          .delete(`/api/v1/namespaces/${o.metadata.namespace}/pods/${o.metadata.name}`, {
            gracePeriodSeconds: 0,
            preconditions: { uid },
          })
          .catch(ignore404)
          .catch((e) => {
            this.note(e);
            this.later(1000, finish);
          });
      };
      this.later(ms, finish);
      return;
    }
    const phase = o.status?.phase as string | undefined;
    if (phase === 'Running' || phase === 'Failed' || phase === 'Succeeded' || this.starting.has(uid)) return;
    this.starting.add(uid);
    const run = () => {
      const cur = this.pods.get(key);
      if (!cur || cur.metadata.uid !== uid || cur.metadata.deletionTimestamp) return;
      const node = this.cl.node(n.name)!;
      if (!node.ready || node.down) return this.later(300, run);
      this.api
        .mergePatch(`/api/v1/namespaces/${o.metadata.namespace}/pods/${o.metadata.name}/status`, {
          status: runningStatus(cur, node.address, true, Date.now()),
        })
        .catch(ignore404)
        .catch((e) => {
          this.note(e);
          this.later(1000, run);
        });
    };
    this.later(scaled(TIME.podStartMs, this.cl.speed), run);
  }

  /** The model's pod list = the API's pods (debounced: a drain moves many pods at once). */
  private project(): void {
    if (this.projectTimer) return;
    this.projectTimer = setTimeout(() => {
      this.projectTimer = null;
      const list: Pod[] = [];
      for (const o of this.pods.values()) list.push(toModelPod(o, UNCONFIRMED, NOT_READY));
      this.cl.setApiPods(list);
    }, 10);
    this.projectTimer.unref();
  }

  // ---- model -> API ---------------------------------------------------------------------------

  markDirty(names: string[]): void {
    if (this.closed) return;
    for (const n of names) this.dirty.add(n);
    this.chain = this.chain.then(() => this.push()).catch((e) => this.note(e));
  }

  /** Resolves when everything the model changed so far is in the API (and the apiserver restarted if due). */
  sync(): Promise<void> {
    this.markDirty([]);
    return this.chain;
  }

  private async push(): Promise<void> {
    const names = [...this.dirty];
    this.dirty.clear();
    await this.pushApiserver();
    await this.pushNodes(names);
    for (const name of names) {
      const n = this.cl.node(name);
      if (!n?.cp) continue;
      const key = JSON.stringify(n.cp);
      if (this.pushed.get(`cp/${name}`) === key) continue;
      this.pushed.set(`cp/${name}`, key);
      await this.pushMirrorPods(n);
    }
    await this.pushCluster();
    await this.pushFaults();
  }

  /** The apiserver runs the newest release the control planes run, when a real build of it exists. */
  private async pushApiserver(): Promise<void> {
    const have = new Set(realReleases());
    const want = this.cl
      .controlPlanes()
      .map((n) => n.cp!.apiserver)
      .filter((v) => have.has(v))
      .sort((a, b) => (a === b ? 0 : realReleases().indexOf(a) - realReleases().indexOf(b)))
      .pop();
    if (!want || this.cp.version('kube-apiserver') === want) return;
    await this.cp.ensureApiserver(want);
    await this.cp.ensureControllers(want);
  }

  private taints(n: NodeState): Record<string, unknown>[] {
    const t: Record<string, unknown>[] = [];
    if (n.role === 'control-plane')
      t.push({ effect: 'NoSchedule', key: 'node-role.kubernetes.io/control-plane' });
    // what the node lifecycle controller's taint-by-condition would add
    if (n.down) t.push({ effect: 'NoSchedule', key: 'node.kubernetes.io/unreachable' });
    else if (!n.ready) t.push({ effect: 'NoSchedule', key: 'node.kubernetes.io/not-ready' });
    if (this.apiUnschedulable.get(n.name))
      t.push({ effect: 'NoSchedule', key: 'node.kubernetes.io/unschedulable' });
    return t;
  }

  private async pushNodes(names: string[]): Promise<void> {
    const st = this.cl.state;
    for (const name of names) {
      const n = this.cl.node(name);
      if (!n) continue;
      const status = JSON.stringify({ r: n.ready, d: n.down, k: n.kubelet });
      if (this.pushed.get(`status/${name}`) !== status) {
        await this.api.mergePatch(`/api/v1/nodes/${name}/status`, { status: nodeStatus(st, n, Date.now()) });
        this.pushed.set(`status/${name}`, status);
      }
      // an operator's cordon through the lab (not kubectl): the API follows the model
      const apiU = this.apiUnschedulable.get(name) ?? false;
      const spec: Record<string, unknown> = {};
      if (n.unschedulable !== apiU) spec.unschedulable = n.unschedulable ? true : null;
      const taints = this.taints({ ...n, unschedulable: n.unschedulable });
      const tk = JSON.stringify(taints);
      if (this.pushed.get(`taints/${name}`) !== tk) spec.taints = taints;
      if (Object.keys(spec).length) {
        await this.api.mergePatch(`/api/v1/nodes/${name}`, { spec });
        this.pushed.set(`taints/${name}`, tk);
        if ('unschedulable' in spec) this.apiUnschedulable.set(name, n.unschedulable);
      }
    }
  }

  private async pushMirrorPods(n: NodeState): Promise<void> {
    const uid = this.nodeUid.get(n.name);
    if (!uid) return;
    for (const c of STATIC_PODS) {
      const want = mirrorPod(this.cl.state, n, c, uid);
      const path = `/api/v1/namespaces/kube-system/pods/${want.metadata.name}`;
      const cur = this.pods.get(`kube-system/${want.metadata.name}`);
      const image = appImage(this.cl.state, c, n.cp);
      if (cur && !cur.metadata.deletionTimestamp && cur.spec?.containers?.[0]?.image === image) continue;
      // the kubelet deletes the old mirror pod and posts the new one when the static pod's hash changes
      if (cur) await this.api.delete(path, { gracePeriodSeconds: 0 }).catch(ignore404);
      let created: K8sObject | null = null;
      for (let i = 0; i < 50 && !created; i++) {
        try {
          created = await this.api.create('/api/v1/namespaces/kube-system/pods', want);
        } catch (e) {
          if (!(e instanceof ApiError) || e.status !== 409) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      if (!created) throw new Error(`mirror pod ${want.metadata.name}: still being deleted`);
      await this.api.mergePatch(`${path}/status`, {
        status: runningStatus(created, n.address, true, Date.now()),
      });
    }
  }

  /** kubeadm's cluster-wide objects: its ConfigMaps and the addons' images. */
  private async pushCluster(): Promise<void> {
    const st = this.cl.state;
    const key = JSON.stringify([
      st.kubernetesVersion,
      st.configApiVersion,
      st.imageRepository,
      st.coredns,
      st.kubeProxy,
    ]);
    if (this.pushed.get('cluster') === key) return;
    const seeded = this.pushed.has('cluster');
    await this.api.ensure('/api/v1/namespaces/kube-system/configmaps', kubeadmConfigMap(st, this.endpoint));
    await this.api.ensure(
      '/api/v1/namespaces/kube-system/configmaps',
      kubeletConfigMap(st, !!this.cl.spec.options.swapAllowed?.length),
    );
    if (seeded) {
      for (const [kind, app] of [
        ['daemonsets', 'kube-proxy'],
        ['deployments', 'coredns'],
      ] as const) {
        await this.api
          .strategicPatch(`/apis/apps/v1/namespaces/kube-system/${kind}/${app}`, {
            spec: { template: { spec: { containers: [{ name: app, image: appImage(st, app) }] } } },
          })
          .catch(ignore404);
      }
    }
    this.pushed.set('cluster', key);
  }

  /**
   * A `pdb-block` fault in a real-API lab is a real PodDisruptionBudget that never yields
   * (maxUnavailable 0 over the prod apps no other PDB covers): the eviction API itself refuses.
   */
  private async pushFaults(): Promise<void> {
    const now = Date.now();
    const active = this.cl.state.faults.filter(
      (f) => f.kind === 'pdb-block' && (f.until === undefined || f.until > now),
    );
    const key = active.length ? 'on' : 'off';
    if (this.pushed.get('pdb-block') === key) return;
    const path = '/apis/policy/v1/namespaces/prod/poddisruptionbudgets';
    const guarded = new Set(this.cl.state.pdbs.filter((b) => b.ns === 'prod').map((b) => b.app));
    const unguarded = ['web', 'api', 'worker', 'cache'].filter((a) => !guarded.has(a));
    if (active.length) {
      await this.api.ensure(path, {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: BLOCK_PDB, namespace: 'prod' },
        spec: {
          maxUnavailable: 0,
          selector: {
            // only apps no other PDB covers: a pod under two PDBs cannot be evicted at all (the API
            // answers "This pod has more than one PodDisruptionBudget…"), a different failure
            matchExpressions: [{ key: 'app', operator: 'In', values: unguarded }],
          },
        },
      });
      const until = Math.min(...active.map((f) => f.until ?? Infinity));
      if (Number.isFinite(until)) this.later(until - now + 5, () => this.markDirty([]));
    } else await this.api.delete(`${path}/${BLOCK_PDB}`).catch(ignore404);
    this.pushed.set('pdb-block', key);
  }

  private async heartbeat(): Promise<void> {
    const now = new Date()
      .toISOString()
      .replace(/Z$/, '000Z')
      .replace(/\.(\d{3})000Z$/, '.$1000Z');
    for (const n of this.cl.nodes()) {
      if (n.down || this.closed) continue;
      const lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: n.name, namespace: 'kube-node-lease' },
        spec: { holderIdentity: n.name, leaseDurationSeconds: 40, renewTime: now },
      };
      await this.api.ensure('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', lease);
    }
  }

  async stop(): Promise<void> {
    this.closed = true;
    for (const s of this.stops) s();
    for (const t of this.timers) clearTimeout(t);
    if (this.projectTimer) clearTimeout(this.projectTimer);
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    await this.chain.catch(() => {});
    this.api.close();
  }
}
