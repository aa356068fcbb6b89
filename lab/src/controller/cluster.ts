/**
 * The controller's in-memory cluster: the single owner of DIR/state.json and DIR/events.jsonl.
 *
 * Why a controller process rather than a locked state file: a lab of 1,000 nodes receives
 * hundreds of concurrent commands; with a file lock every shim would serialise on read-modify-write
 * of a megabyte of JSON, and nobody would be around to make things happen *later* — a node turning
 * Ready seconds after a kubelet restart, an evicted pod terminating and its replacement becoming
 * Ready (which is what a PDB counts), a powered-off node going NotReady. A long-lived process holds
 * those timers, keeps the state in memory, and is the one writer of events.jsonl so that lines are
 * never interleaved or reordered. The shim stays thin and does only node-local file work.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClusterState, Fault, LabSpec, NodeState, Pod, Pdb } from '../model/state';
import { pdbDesiredHealthy } from '../model/state';
import { isEvictable, randSuffix, rng } from '../model/state';
import { scaled, TIME } from '../model/time-model';
import { withV } from '../model/versions';

/** terminatingUntil of a pod whose deletion no kubelet confirms (its node is down); JSON-safe */
export const UNCONFIRMED = Number.MAX_SAFE_INTEGER;

export interface StateFields {
  unschedulable: boolean;
  ready: boolean;
  kubelet: string;
  kubeadm: string;
  apiserver: string | null;
  pods: number;
}

export class Cluster {
  readonly dir: string;
  state: ClusterState;
  spec: LabSpec;
  private eventsFd: number;
  private last = new Map<string, string>();
  private podsByNode = new Map<string, Set<Pod>>();
  private persistTimer: NodeJS.Timeout | null = null;
  private settleTimer: NodeJS.Timeout | null = null;
  private settleAt = Infinity;
  private rand: () => number;
  private closed = false;
  private removed = new WeakSet<Pod>();
  /**
   * A real-API lab's node agent (lab/src/api/agent.ts): told of every change so that the API
   * follows the model; the model's pods are then its projection of the API's, and the model's own
   * scheduling and evictions stay off (the real control plane does them).
   */
  api: { markDirty(names: string[]): void; sync(): Promise<void> } | null = null;

  constructor(dir: string, spec: LabSpec, state: ClusterState, opts: { fresh: boolean }) {
    this.dir = dir;
    this.spec = spec;
    this.state = state;
    this.rand = rng(`${state.seed}/${state.nameCounter}`);
    this.eventsFd = fs.openSync(path.join(dir, 'events.jsonl'), 'a');
    for (const p of state.pods) this.index(p);
    for (const name of state.order) {
      if (opts.fresh) this.emitState(name, true);
      else this.last.set(name, JSON.stringify(this.fields(name)));
    }
    this.persistNow();
    this.settle();
  }

  get speed(): number {
    return this.state.speed;
  }

  now(): number {
    return Date.now();
  }

  /** Waits a modelled duration (ms at speed 1). */
  sleep(modelMs: number): Promise<void> {
    const ms = scaled(modelMs, this.speed);
    // unref: the HTTP server keeps the controller alive; timers alone must not (tests close it)
    return new Promise((r) => setTimeout(r, ms).unref());
  }

  /** A modelled duration from now as an absolute wall-clock time. */
  after(modelMs: number): number {
    return this.now() + scaled(modelMs, this.speed);
  }

  node(name: string): NodeState | undefined {
    return Object.prototype.hasOwnProperty.call(this.state.nodes, name) ? this.state.nodes[name] : undefined;
  }

  nodes(): NodeState[] {
    return this.state.order.map((n) => this.state.nodes[n]!);
  }

  controlPlanes(): NodeState[] {
    return this.nodes().filter((n) => n.cp);
  }

  podsOn(node: string): Pod[] {
    return [...(this.podsByNode.get(node) ?? [])];
  }

  // ---- events ---------------------------------------------------------------------------------

  private write(obj: Record<string, unknown>): void {
    if (this.closed) return;
    fs.writeSync(this.eventsFd, JSON.stringify({ ts: new Date().toISOString(), ...obj }) + '\n');
  }

  /** `killed`: the command's process died before it finished (exit 137), its work half done. */
  event(node: string, type: 'ssh' | 'exec', cmd: string, exit: number, ms?: number, killed?: boolean): void {
    const e: Record<string, unknown> =
      ms === undefined ? { node, type, cmd, exit } : { node, type, cmd, exit, ms };
    if (killed) e.killed = true;
    this.write(e);
  }

  fields(name: string): StateFields {
    const n = this.state.nodes[name]!;
    let pods = 0;
    for (const p of this.podsByNode.get(name) ?? []) if (isEvictable(p)) pods++;
    return {
      unschedulable: n.unschedulable,
      ready: n.ready,
      kubelet: withV(n.kubelet),
      kubeadm: withV(n.packages.kubeadm.version),
      apiserver: n.cp ? withV(n.cp.apiserver) : null,
      pods,
    };
  }

  private emitState(name: string, force = false): void {
    const f = this.fields(name);
    const key = JSON.stringify(f);
    if (!force && this.last.get(name) === key) return;
    this.last.set(name, key);
    this.write({ node: name, type: 'state', ...f });
  }

  /** Call after any mutation: emits a `state` line for each named node whose fields changed. */
  changed(...names: (string | null | undefined)[]): void {
    const touched: string[] = [];
    for (const n of new Set(names))
      if (n && this.state.nodes[n]) {
        this.emitState(n);
        touched.push(n);
      }
    this.api?.markDirty(touched);
    this.persist();
  }

  /** A real-API lab: the API's pods replace the model's (the node agent's projection). */
  setApiPods(pods: Pod[]): void {
    const before = new Set(this.podsByNode.keys());
    this.state.pods = pods;
    this.podsByNode.clear();
    for (const p of pods) this.index(p);
    for (const n of this.state.order) if (before.has(n) || this.podsByNode.has(n)) this.emitState(n);
    this.persist();
  }

  // ---- persistence ----------------------------------------------------------------------------

  persist(): void {
    if (this.persistTimer || this.closed) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = null;
      this.persistNow();
    }, 50);
    this.persistTimer.unref();
  }

  persistNow(): void {
    const file = path.join(this.dir, 'state.json');
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.state));
    fs.renameSync(tmp, file);
  }

  close(): void {
    if (this.persistTimer) clearTimeout(this.persistTimer);
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.persistTimer = null;
    this.persistNow();
    this.closed = true;
    fs.closeSync(this.eventsFd);
  }

  // ---- pods -----------------------------------------------------------------------------------

  private index(p: Pod): void {
    if (!p.node) return;
    let s = this.podsByNode.get(p.node);
    if (!s) this.podsByNode.set(p.node, (s = new Set()));
    s.add(p);
  }

  private unindex(p: Pod): void {
    if (p.node) this.podsByNode.get(p.node)?.delete(p);
  }

  newPodName(template: Pod): string {
    this.state.nameCounter++;
    if (template.owner === 'ReplicaSet') {
      const i = template.name.lastIndexOf('-');
      return `${template.name.slice(0, i)}-${randSuffix(this.rand, 5)}`;
    }
    return `${template.app}-${this.state.nameCounter}`;
  }

  /** Has this pod terminated and left the cluster? */
  isGone(p: Pod): boolean {
    return this.removed.has(p);
  }

  /** Which node the scheduler picks: schedulable, Ready, fewest pods; CP only if tolerated. */
  pickNode(p: Pod): string | null {
    let best: NodeState | null = null;
    let bestCount = Infinity;
    for (const n of this.nodes()) {
      if (n.unschedulable || !n.ready || n.down) continue;
      if (n.role === 'control-plane' && !p.tolerateCP) continue;
      const c = this.podsByNode.get(n.name)?.size ?? 0;
      if (c < bestCount) {
        best = n;
        bestCount = c;
      }
    }
    return best?.name ?? null;
  }

  placePod(p: Pod, node: string | null): void {
    this.unindex(p);
    p.node = node;
    this.index(p);
  }

  /** The PDB covering a pod, and whether evicting it now would violate it. */
  pdbFor(p: Pod): Pdb | undefined {
    return this.state.pdbs.find((b) => b.ns === p.ns && b.app === p.app);
  }

  healthy(p: Pod): boolean {
    const n = p.node ? this.state.nodes[p.node] : undefined;
    return !!n && !p.failed && p.terminatingUntil === null && p.readyAt <= this.now();
  }

  disruptionsAllowed(b: Pdb): number {
    const pods = this.state.pods.filter((p) => p.ns === b.ns && p.app === b.app);
    const healthy = pods.filter((p) => this.healthy(p)).length;
    return Math.max(0, healthy - pdbDesiredHealthy(b));
  }

  /**
   * Evicts a pod (the eviction API has already admitted it): the pod terminates during its grace
   * period and then leaves the node; a managed pod gets a replacement that the scheduler places
   * on another schedulable node right away and that becomes Ready after the pod start time.
   */
  evict(p: Pod, graceModelMs: number): void {
    // a pod on a powered-off node stays Terminating: no kubelet confirms the deletion until the
    // node is back (so a drain of a down node runs into its --timeout, as it does for real)
    const down = p.node ? this.state.nodes[p.node]?.down : false;
    p.terminatingUntil = down ? UNCONFIRMED : this.after(graceModelMs);
    // a finished pod was replaced when it failed: deleting it creates nothing
    if (!p.failed && (p.owner === 'ReplicaSet' || p.owner === 'StatefulSet')) {
      const repl: Pod = {
        ...p,
        name: this.newPodName(p),
        node: null,
        createdAt: this.now(),
        readyAt: Infinity,
        terminatingUntil: null,
      };
      this.state.pods.push(repl);
      this.schedule(repl);
    }
    this.wakeAt(p.terminatingUntil);
    this.persist();
  }

  private schedule(p: Pod): void {
    const target = this.pickNode(p);
    if (!target) return;
    this.placePod(p, target);
    p.readyAt = this.after(1) + scaled(TIME.podStartMs, this.speed);
    this.wakeAt(p.readyAt);
    this.changed(target);
  }

  private schedulePending(): void {
    if (this.api) return;
    for (const p of this.state.pods) if (p.node === null && p.owner !== 'none') this.schedule(p);
  }

  // ---- time -----------------------------------------------------------------------------------

  wakeAt(t: number): void {
    if (this.closed || !Number.isFinite(t) || t >= UNCONFIRMED || t >= this.settleAt) return;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleAt = t;
    this.settleTimer = setTimeout(
      () => {
        this.settleTimer = null;
        this.settleAt = Infinity;
        this.settle();
      },
      Math.max(0, t - this.now()) + 1,
    );
    this.settleTimer.unref();
  }

  /** Applies every transition that is due (Ready after restart, pods terminated, node down). */
  settle(): void {
    if (this.closed) return;
    const now = this.now();
    let next = Infinity;
    const touched: string[] = [];
    let freed = false;
    for (const n of this.nodes()) {
      if (n.readyAt !== null) {
        if (n.readyAt <= now) {
          n.ready = true;
          n.readyAt = null;
          n.kubeletActive = 'active';
          touched.push(n.name);
          freed = true;
        } else next = Math.min(next, n.readyAt);
      }
      if (n.notReadyAt !== null) {
        if (n.notReadyAt <= now) {
          n.ready = false;
          n.notReadyAt = null;
          touched.push(n.name);
        } else next = Math.min(next, n.notReadyAt);
      }
    }
    const keep: Pod[] = [];
    for (const p of this.state.pods) {
      if (p.terminatingUntil !== null && p.terminatingUntil <= now) {
        touched.push(p.node ?? '');
        this.unindex(p);
        this.removed.add(p);
        continue;
      }
      if (p.terminatingUntil !== null && p.terminatingUntil < UNCONFIRMED)
        next = Math.min(next, p.terminatingUntil);
      if (Number.isFinite(p.readyAt) && p.readyAt > now) next = Math.min(next, p.readyAt);
      keep.push(p);
    }
    this.state.pods = keep;
    if (freed) this.schedulePending();
    this.changed(...touched);
    if (next < Infinity) this.wakeAt(next);
  }

  // ---- node operations ------------------------------------------------------------------------

  setUnschedulable(name: string, v: boolean): void {
    const n = this.state.nodes[name]!;
    if (n.unschedulable === v) return;
    n.unschedulable = v;
    this.changed(name);
    if (!v) this.schedulePending();
  }

  /** systemctl restart kubelet: the new binary runs, the node is NotReady until it re-registers. */
  restartKubelet(name: string): void {
    const n = this.state.nodes[name]!;
    n.kubelet = n.packages.kubelet.version;
    n.needsDaemonReload = false;
    n.ready = false;
    const never = this.state.faults.some((f) => f.kind === 'kubelet-not-ready' && f.node === name);
    n.kubeletActive = never ? 'activating' : 'active';
    n.readyAt = never ? null : this.after(TIME.kubeletReadyMs);
    if (n.readyAt) this.wakeAt(n.readyAt);
    const slow = this.state.faults.find((f) => f.kind === 'pod-slow-ready' && f.node === name);
    if (slow?.kind === 'pod-slow-ready' && n.readyAt) {
      slow.hits++;
      for (const p of this.podsOn(name)) {
        if (p.app !== (slow.app ?? 'calico-node') || p.failed || p.terminatingUntil !== null) continue;
        p.readyAt = n.readyAt + scaled(slow.forMs, this.speed);
        this.wakeAt(p.readyAt);
      }
    }
    this.changed(name);
  }

  /**
   * An operator (not the upgrade) cordons or uncordons a node: an `operator` line goes to
   * events.jsonl before the node's `state` line, so `check` knows whose cordon it is.
   */
  operatorCordon(name: string, cordon: boolean): void {
    this.write({ node: name, type: 'operator', action: cordon ? 'cordon' : 'uncordon' });
    this.setUnschedulable(name, cordon);
  }

  setDown(name: string, down: boolean): void {
    const n = this.state.nodes[name]!;
    n.down = down;
    if (down) {
      n.readyAt = null;
      n.notReadyAt = this.after(TIME.nodeNotReadyGraceMs);
      this.wakeAt(n.notReadyAt);
    } else {
      n.notReadyAt = null;
      if (!n.ready) {
        n.readyAt = this.after(TIME.kubeletReadyMs);
        this.wakeAt(n.readyAt);
      }
      // the kubelet is back and finishes the deletions it could not confirm
      for (const p of this.podsByNode.get(name) ?? []) {
        if (p.terminatingUntil === UNCONFIRMED) {
          p.terminatingUntil = this.after(TIME.kubeletReadyMs);
          this.wakeAt(p.terminatingUntil);
        }
      }
    }
    this.changed(name);
  }

  // ---- faults ---------------------------------------------------------------------------------

  addFault(spec: Fault | Record<string, unknown>): Fault {
    const f = { ...(spec as Fault), id: this.state.nextFaultId++, createdAt: this.now(), hits: 0 } as Fault;
    if ((f.kind === 'pdb-block' || f.kind === 'hang') && f.forMs !== undefined && f.kind === 'pdb-block') {
      f.until = this.after(f.forMs);
    }
    this.state.faults.push(f);
    if (f.kind === 'kubelet-not-ready') {
      const n = this.state.nodes[f.node];
      if (n && n.readyAt !== null) {
        n.readyAt = null;
        n.kubeletActive = 'activating';
      }
    }
    this.persist();
    this.api?.markDirty([]);
    return f;
  }

  clearFaults(id?: number): number {
    const before = this.state.faults.length;
    const removed = this.state.faults.filter((f) => id === undefined || f.id === id);
    this.state.faults = this.state.faults.filter((f) => !(id === undefined || f.id === id));
    for (const f of removed) {
      if (f.kind === 'kubelet-not-ready') {
        const n = this.state.nodes[f.node];
        if (n && !n.ready && !n.down && n.readyAt === null) {
          n.readyAt = this.after(TIME.kubeletReadyMs);
          n.kubeletActive = 'active';
          this.wakeAt(n.readyAt);
        }
      }
    }
    this.persist();
    this.api?.markDirty([]);
    return before - this.state.faults.length;
  }

  /** The first command fault (fail/hang/drop) matching this node and command line; counts a hit. */
  takeCommandFault(node: string, cmdline: string): Fault | null {
    for (const f of this.state.faults) {
      if (f.kind !== 'fail' && f.kind !== 'hang' && f.kind !== 'drop') continue;
      if (f.node && f.node !== node) continue;
      if (!cmdline.includes(f.match)) continue;
      if (f.times !== undefined && f.hits >= f.times) continue;
      f.hits++;
      this.persist();
      return f;
    }
    return null;
  }

  pdbBlocked(node: string): boolean {
    const now = this.now();
    return this.state.faults.some(
      (f) =>
        f.kind === 'pdb-block' && (!f.node || f.node === node) && (f.until === undefined || f.until > now),
    );
  }

  hasFault(kind: Fault['kind'], node: string): Fault | undefined {
    return this.state.faults.find((f) => f.kind === kind && 'node' in f && f.node === node);
  }
}
