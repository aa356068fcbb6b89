/**
 * The real control plane of a real-API lab: etcd, kube-apiserver, kube-controller-manager and
 * kube-scheduler as child processes of the lab's controller, all on the first control plane's
 * loopback address (the lab's controlPlaneEndpoint, `https://ADDR:6443`). Logs go to
 * DIR/api/logs/<component>.log.
 *
 * The apiserver runs the binary of the newest kube-apiserver version the model's control planes
 * run: when the lab's kubeadm writes a new kube-apiserver manifest (apply), `ensureApiserver`
 * restarts it with that release's binary, as the kubelet restarts the static pod. The
 * controller-manager and scheduler follow the same way. Only the disruption, ReplicaSet,
 * Deployment, DaemonSet, StatefulSet, garbage-collector, namespace, service-account and pod-GC
 * controllers run: the node lifecycle controller would taint nodes the lab's node agent marks
 * NotReady, which the lab models on its own clock.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { binary, etcdBinary, type K8sComponent } from './binaries';
import type { ApiPki } from './pki';
import { ApiClient } from './client';

export interface ControlPlaneOptions {
  dir: string;
  address: string;
  pki: ApiPki;
  /** the kubeconfig file the controller-manager and scheduler use */
  kubeconfig: string;
}

type Proc = { child: ChildProcess; version: string | null; exited: boolean };

export class ControlPlane {
  readonly server: string;
  private procs = new Map<string, Proc>();
  private restarting: Promise<void> = Promise.resolve();
  private stopping = false;

  constructor(private o: ControlPlaneOptions) {
    this.server = `https://${o.address}:6443`;
  }

  private log(name: string): number {
    const d = path.join(this.o.dir, 'logs');
    fs.mkdirSync(d, { recursive: true });
    return fs.openSync(path.join(d, `${name}.log`), 'a');
  }

  private start(name: string, bin: string, args: string[], version: string | null): Proc {
    const fd = this.log(name);
    fs.writeSync(fd, `--- ${new Date().toISOString()} start ${bin} ${args.join(' ')}\n`);
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    const p: Proc = { child, version, exited: false };
    // `kupgrade-lab down` kills what a controller killed by SIGKILL left behind (reapControlPlane)
    const pidFile = path.join(this.o.dir, `${name}.pid`);
    fs.writeFileSync(pidFile, `${child.pid} ${bin}\n`);
    child.on('exit', () => {
      p.exited = true;
      fs.rmSync(pidFile, { force: true });
    });
    this.procs.set(name, p);
    return p;
  }

  private async stopOne(name: string): Promise<void> {
    const p = this.procs.get(name);
    if (!p || p.exited) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
      p.child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      p.child.kill('SIGTERM');
    });
  }

  version(name: K8sComponent): string | null {
    return this.procs.get(name)?.version ?? null;
  }

  async startEtcd(): Promise<void> {
    const a = this.o.address;
    this.start(
      'etcd',
      etcdBinary(),
      [
        '--name',
        'lab',
        '--data-dir',
        path.join(this.o.dir, 'etcd'),
        '--listen-client-urls',
        `http://${a}:2379`,
        '--advertise-client-urls',
        `http://${a}:2379`,
        '--listen-peer-urls',
        `http://${a}:2380`,
        '--initial-advertise-peer-urls',
        `http://${a}:2380`,
        '--initial-cluster',
        `lab=http://${a}:2380`,
        '--listen-metrics-urls',
        '',
        '--quota-backend-bytes',
        String(2 * 1024 ** 3),
        '--log-level',
        'warn',
      ],
      null,
    );
    await waitHttp(`http://${a}:2379/health`, 30_000, () => !this.procs.get('etcd')!.exited);
  }

  private apiserverArgs(): string[] {
    const p = this.o.pki;
    const a = this.o.address;
    return [
      `--etcd-servers=http://${a}:2379`,
      `--bind-address=${a}`,
      `--advertise-address=${a}`,
      '--secure-port=6443',
      `--tls-cert-file=${p.apiserverCrt}`,
      `--tls-private-key-file=${p.apiserverKey}`,
      `--client-ca-file=${p.caCrt}`,
      `--service-account-key-file=${p.saPub}`,
      `--service-account-signing-key-file=${p.saKey}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--service-cluster-ip-range=10.96.0.0/12',
      '--authorization-mode=Node,RBAC',
      // no token volumes to project: the lab runs no containers
      '--disable-admission-plugins=ServiceAccount',
      '--profiling=false',
      '--v=1',
    ];
  }

  /** Starts (or restarts with another release) the apiserver, and waits until /readyz answers. */
  ensureApiserver(version: string): Promise<void> {
    const next = this.restarting.then(async () => {
      if (this.stopping) return;
      const cur = this.procs.get('kube-apiserver');
      if (cur && !cur.exited && cur.version === version) return;
      await this.stopOne('kube-apiserver');
      const p = this.start(
        'kube-apiserver',
        binary(version, 'kube-apiserver'),
        this.apiserverArgs(),
        version,
      );
      const c = new ApiClient(this.server, this.o.pki);
      try {
        await c.waitReady(120_000, () => !p.exited);
      } finally {
        c.close();
      }
    });
    this.restarting = next.catch(() => {});
    return next;
  }

  /** Starts (or restarts with another release) the controller-manager and the scheduler. */
  async ensureControllers(version: string): Promise<void> {
    const a = this.o.address;
    const kc = this.o.kubeconfig;
    const want: [K8sComponent, string[]][] = [
      [
        'kube-controller-manager',
        [
          `--kubeconfig=${kc}`,
          `--authentication-kubeconfig=${kc}`,
          `--authorization-kubeconfig=${kc}`,
          `--bind-address=${a}`,
          '--secure-port=10257',
          '--leader-elect=false',
          '--controllers=deployment,replicaset,daemonset,statefulset,disruption,garbagecollector,namespace,serviceaccount,podgc',
          `--service-account-private-key-file=${this.o.pki.saKey}`,
          `--root-ca-file=${this.o.pki.caCrt}`,
          '--concurrent-deployment-syncs=10',
          '--concurrent-replicaset-syncs=10',
          '--kube-api-qps=200',
          '--kube-api-burst=400',
          '--v=1',
        ],
      ],
      [
        'kube-scheduler',
        [
          `--kubeconfig=${kc}`,
          `--authentication-kubeconfig=${kc}`,
          `--authorization-kubeconfig=${kc}`,
          `--bind-address=${a}`,
          '--secure-port=10259',
          '--leader-elect=false',
          '--kube-api-qps=200',
          '--kube-api-burst=400',
          '--v=1',
        ],
      ],
    ];
    for (const [name, args] of want) {
      const cur = this.procs.get(name);
      if (cur && !cur.exited && cur.version === version) continue;
      await this.stopOne(name);
      this.start(name, binary(version, name), args, version);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.restarting;
    for (const n of ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'])
      await this.stopOne(n);
  }

  /** Synchronous last resort (process exit): SIGKILL whatever still runs. */
  killAll(): void {
    for (const p of this.procs.values()) if (!p.exited) p.child.kill('SIGKILL');
  }
}

async function waitHttp(url: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    if (!alive()) throw new Error(`${url}: the process exited (see DIR/api/logs)`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} not healthy after ${timeoutMs} ms: ${last}`);
}

/**
 * Kills the control-plane processes whose pid files are still in DIR/api (their controller died
 * without stopping them); a pid counts only if /proc says it still runs the recorded binary.
 */
export function reapControlPlane(dir: string): number {
  let n = 0;
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.pid'));
  } catch {
    return 0;
  }
  for (const f of files) {
    const [pid, bin] = fs.readFileSync(path.join(dir, f), 'utf8').trim().split(' ');
    try {
      if (fs.readlinkSync(`/proc/${pid}/exe`) === bin) {
        process.kill(Number(pid), 'SIGKILL');
        n++;
      }
    } catch {
      // gone already
    }
    fs.rmSync(path.join(dir, f), { force: true });
  }
  return n;
}
