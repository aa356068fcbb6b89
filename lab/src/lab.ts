/**
 * Lab lifecycle: `up` (node folders, lab.json, shims, controller, sshd, cluster.yaml), `down`,
 * `status`, and the controller client used by the CLI, the API and tests.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import type { FaultSpec, LabNodeSpec, LabSpec, Fault } from './model/state';
import { fullVersionFor, K8S_PACKAGES, type PackageManager } from './model/packages';
import { lockEntry, versionlockConf, versionlockConfPath, versionlockListPath } from './model/versionlock';
import { etcdFor, LAST_PATCH, parseVer, withV } from './model/versions';
import { CP_COMPONENTS, image, kubeconfig, kubeletConfig, manifest } from './model/manifests';
import { LAB_TOOLS } from './tools/types';
import { applyPatches, LAB_PATCH } from './model/patches';
import { shimScript } from './shim/script';
import { kubeletClientFileName, labPki, type LabPki } from './model/pki';
import { OVERLAID_DIRS } from './sshd/paths';
import { startController, type Controller, type NodeStatus } from './controller/server';
import * as sshd from './sshd';
import { missingBinaries } from './api/binaries';
import { ensureApiPki, realKubeconfig } from './api/pki';
import { apiDir } from './api/real-lab';
import { reapControlPlane } from './api/control-plane';
import {
  isLabPackageManager,
  LAB_PACKAGE_MANAGER_NAMES,
  LAB_PACKAGE_MANAGERS,
  optionMismatch,
} from './model/package-managers';

export interface UpOptions {
  dir: string;
  controlPlanes: number;
  workers: number;
  version: string;
  packages: PackageManager;
  speed?: number;
  seed?: string;
  repo?: 'pkgs.k8s.io' | 'mirror' | 'legacy';
  name?: string;
  cordoned?: string[];
  /** nodes holding a kube-system pod evicted before the run (Failed, reason Evicted) */
  evictedPods?: string[];
  podsPerWorker?: number;
  emptyDirPods?: number;
  unmanagedPods?: number;
  /** nodes kept in the cluster but left out of cluster.yaml ("nodes the inventory forgot") */
  unlisted?: string[];
  /** nodes whose kubelet runs with swap on and `failSwapOn: false` (swapBehavior LimitedSwap) */
  swapAllowed?: string[];
  /**
   * The control planes' host etcdctl: undefined = on PATH (DIR/bin, linked in /usr/local/bin);
   * 'none' = no host etcdctl (a plain kubeadm node: only the etcd image has one); a path outside
   * /etc and /var (e.g. /opt/etcd/bin/etcdctl) = only there, off PATH and off sudo's secure_path.
   */
  hostEtcdctl?: string;
  /** el7: the nodes' yum is yum 3 (needs packages yum) */
  os?: 'el7';
  /** the versionlock plugin installed, kubeadm/kubelet/kubectl locked at the initial version (yum/dnf) */
  versionlock?: boolean;
  /** kubeadm-config imageRepository (e.g. registry.cn-hangzhou.aliyuncs.com/google_containers) */
  imageRepository?: string;
  /** the nodes' CRI socket (e.g. unix:///var/run/cri-dockerd.sock; containerd's is there too) */
  criSocket?: string;
  /** control planes carry a kube-apiserver patch in /etc/kubernetes/patches */
  patches?: boolean;
  /** the kubelet-config ConfigMap is of an old API version: kubeadm wants a manual config upgrade */
  oldKubeletConfig?: boolean;
  /**
   * 'real': the real kube-apiserver, etcd, controller-manager, scheduler and kubectl (built by
   * scripts/build-k8s.sh) hold the cluster's API; the lab's node agent plays the kubelets.
   */
  api?: 'real' | 'emulated';
  /** start the sshd module (default true); tests of the shims alone pass false */
  ssh?: boolean;
  /** run the controller inside this process instead of detached (tests); close it with result.controller */
  inProcess?: boolean;
}

export interface UpResult {
  dir: string;
  spec: LabSpec;
  controllerPid: number;
  clusterYaml: string;
  ms: number;
  /** only with inProcess */
  controller?: Controller;
}

export class LabError extends Error {}

/** Where the compiled lab lives (the controller and the shim always run from dist/). */
export function distLabSrc(): string {
  if (__filename.endsWith('.js')) return __dirname;
  return path.resolve(__dirname, '..', '..', 'dist', 'lab', 'src');
}

export function readSpec(dir: string): LabSpec {
  const f = path.join(dir, 'lab.json');
  if (!fs.existsSync(f))
    throw new LabError(`${f} not found: is there a lab in ${dir}? (kupgrade-lab up --dir ${dir} ...)`);
  return JSON.parse(fs.readFileSync(f, 'utf8')) as LabSpec;
}

function writeJson(f: string, v: unknown): void {
  const tmp = `${f}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(v, null, 2) + '\n');
  fs.renameSync(tmp, f);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function controllerPid(dir: string): number | null {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'controller.json'), 'utf8')) as { pid: number };
    return isAlive(c.pid) ? c.pid : null;
  } catch {
    return null;
  }
}

export function nodeNames(
  controlPlanes: number,
  workers: number,
): { name: string; role: 'control-plane' | 'worker' }[] {
  return [
    ...Array.from({ length: controlPlanes }, (_, i) => ({
      name: `cp-${i + 1}`,
      role: 'control-plane' as const,
    })),
    ...Array.from({ length: workers }, (_, i) => ({ name: `w-${i + 1}`, role: 'worker' as const })),
  ];
}

const PEM = (what: string) =>
  `-----BEGIN ${what}-----\nTUlJQ2xhYiBrdXBncmFkZS1sYWIgZmFrZSBtYXRlcmlhbAo=\n-----END ${what}-----\n`;

/** Writes one node's root: /etc (repo file, /etc/kubernetes), /var/lib/kubelet, /var/lib/etcd. */
export function writeNodeRoot(
  dir: string,
  spec: LabSpec,
  n: LabNodeSpec,
  pki?: LabPki,
  /** a real-API lab: the admin kubeconfig of the real apiserver, certificates embedded */
  realConf?: string,
): void {
  const root = path.join(dir, 'nodes', n.name);
  const minor = parseVer(spec.version)!.minor;
  const made = new Set<string>();
  const w = (rel: string, content: string, mode = 0o644) => {
    const f = path.join(root, rel);
    const d = path.dirname(f);
    // one mkdir per folder: at 1,000 nodes the repeated recursive mkdirs dominate `up`
    if (!made.has(d)) {
      fs.mkdirSync(d, { recursive: true });
      made.add(d);
    }
    fs.writeFileSync(f, content, { mode });
  };
  const cp0 = spec.nodes.find((x) => x.role === 'control-plane')!;
  const server = `https://${cp0.address}:6443`;
  for (const [rel, content] of LAB_PACKAGE_MANAGERS[spec.packages].repoFiles(spec.repo, minor))
    w(rel, content);
  if (spec.options.versionlock && LAB_PACKAGE_MANAGERS[spec.packages].versionlock) {
    // the operator locked the packages after installing them (`versionlock add kubeadm kubelet kubectl`)
    const f = spec.options.os === 'el7' ? 'yum3' : 'dnf';
    const full = fullVersionFor(spec.version, { kind: 'pkgs', minor: null, url: '' }, 'rpm');
    w(versionlockConfPath(f).slice(1), versionlockConf(f));
    w(
      versionlockListPath(f).slice(1),
      '\n# Added lock on Mon Jan  6 10:00:00 2025\n' +
        K8S_PACKAGES.map((n) => `${lockEntry(f, n, full)}\n`).join(''),
    );
  }
  w('etc/kubernetes/kubelet.conf', kubeconfig(`system:node:${n.name}`, server), 0o600);
  w('etc/kubernetes/pki/ca.crt', PEM('CERTIFICATE'));
  const swap = spec.options.swapAllowed?.includes(n.name) ? { swapBehavior: 'LimitedSwap' } : undefined;
  w('var/lib/kubelet/config.yaml', kubeletConfig(spec.version, swap));
  if (pki) {
    // the kubelet's rotated client certificate (cert + key) and the -current symlink to it
    const issued = new Date(Date.parse(spec.createdAt) - 40 * 86400_000);
    const file = kubeletClientFileName(issued);
    w(`var/lib/kubelet/pki/${file}`, pki.kubeletClientPem(n.name, issued), 0o600);
    fs.symlinkSync(file, path.join(root, 'var/lib/kubelet/pki/kubelet-client-current.pem'));
  }
  w(
    'var/lib/kubelet/kubeadm-flags.env',
    `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=${spec.options.criSocket ?? 'unix:///var/run/containerd/containerd.sock'} --pod-infra-container-image=${spec.options.imageRepository ?? 'registry.k8s.io'}/pause:3.9"\n`,
  );
  if (n.role !== 'control-plane') return;
  w('etc/kubernetes/admin.conf', realConf ?? kubeconfig('kubernetes-admin', server), 0o600);
  if (minor >= 29)
    w('etc/kubernetes/super-admin.conf', realConf ?? kubeconfig('kubernetes-super-admin', server), 0o600);
  w(
    'etc/kubernetes/controller-manager.conf',
    realConf ?? kubeconfig('system:kube-controller-manager', server),
    0o600,
  );
  w('etc/kubernetes/scheduler.conf', realConf ?? kubeconfig('system:kube-scheduler', server), 0o600);
  const patches = spec.options.patches ? [LAB_PATCH] : [];
  for (const p of patches) w(`etc/kubernetes/patches/${p.name}`, p.content, 0o644);
  const repo = spec.options.imageRepository ?? 'registry.k8s.io';
  for (const c of CP_COMPONENTS) {
    const tag = c === 'etcd' ? etcdFor(spec.version) : withV(spec.version);
    const text = applyPatches(c, manifest(c, n.address, image(repo, c, tag)), patches).text;
    w(`etc/kubernetes/manifests/${c}.yaml`, text, 0o600);
  }
  w('etc/kubernetes/pki/ca.key', PEM('RSA PRIVATE KEY'), 0o600);
  for (const f of [
    'apiserver',
    'apiserver-kubelet-client',
    'apiserver-etcd-client',
    'front-proxy-client',
    'front-proxy-ca',
  ]) {
    w(`etc/kubernetes/pki/${f}.crt`, PEM('CERTIFICATE'));
    w(`etc/kubernetes/pki/${f}.key`, PEM('RSA PRIVATE KEY'), 0o600);
  }
  for (const f of ['ca', 'server', 'peer', 'healthcheck-client']) {
    w(`etc/kubernetes/pki/etcd/${f}.crt`, PEM('CERTIFICATE'));
    w(`etc/kubernetes/pki/etcd/${f}.key`, PEM('RSA PRIVATE KEY'), 0o600);
  }
  w('var/lib/etcd/member/snap/db', `kupgrade-lab etcd data of ${n.name}\n`, 0o600);
  const etcdctl = spec.options.hostEtcdctl;
  if (etcdctl && etcdctl !== 'none') {
    // a host etcdctl installed by hand outside PATH: the node's overlay of its top directory
    const top = OVERLAID_DIRS.find((d) => etcdctl.startsWith(`${d}/`))!;
    const upper = path.join(root, '.root', top.slice(1).replace(/\//g, '_'));
    w(path.relative(root, path.join(upper, etcdctl.slice(top.length))), shimScript('etcdctl'), 0o755);
  }
  w('var/lib/etcd/member/wal/0000000000000000-0000000000000000.wal', 'wal\n', 0o600);
}

export function clusterYaml(spec: LabSpec, dir: string): string {
  const doc = {
    apiVersion: 'kupgrade/v1',
    kind: 'Cluster',
    metadata: { name: spec.name },
    ssh: {
      user: spec.ssh?.user ?? os.userInfo().username,
      port: 22,
      privateKeyPath: spec.ssh?.clientKeyPath ?? sshd.clientKeyPath(dir),
      knownHostsPath: spec.ssh?.knownHostsPath ?? sshd.knownHostsPath(dir),
    },
    packages: {
      manager: spec.packages,
      repository:
        spec.repo === 'mirror' || spec.repo === 'legacy'
          ? {
              mode: 'mirror',
              urlTemplate: `https://mirrors.aliyun.com/kubernetes-new/core/stable/v{minor}/${LAB_PACKAGE_MANAGERS[spec.packages].format}/`,
            }
          : { mode: 'pkgs.k8s.io' },
    },
    kubeadm: { certificateRenewal: true, etcdBackup: true },
    drain: { timeout: '5m', ignoreDaemonSets: true, deleteEmptyDirData: true },
    rollout: { maxUnavailable: 1, gates: ['preflight', 'control-plane', 'workers'] },
    nodes: spec.nodes
      .filter((n) => !spec.options.unlisted?.includes(n.name))
      .map((n) => ({ name: n.name, address: n.address, port: n.port, role: n.role })),
  };
  return (
    `# kupgrade inventory of the lab "${spec.name}" (written by kupgrade-lab up)\n` +
    YAML.stringify(doc, { flow: false })
  );
}

/**
 * DIR/worker.yaml: the kupgrade worker config that grants this lab's cluster its SSH credentials
 * (`kupgrade worker --config DIR/worker.yaml`); the worker takes the key, known_hosts and host-key
 * policy from here, never from a workflow's input. No CNI command and no approval policy.
 */
export function workerYaml(spec: LabSpec, dir: string): string {
  const doc = {
    apiVersion: 'kupgrade/v1',
    kind: 'WorkerConfig',
    clusters: {
      [spec.name]: {
        ssh: {
          user: spec.ssh?.user ?? os.userInfo().username,
          privateKeyPath: spec.ssh?.clientKeyPath ?? sshd.clientKeyPath(dir),
          knownHostsPath: spec.ssh?.knownHostsPath ?? sshd.knownHostsPath(dir),
          hostKeyPolicy: 'strict',
        },
      },
    },
  };
  return (
    `# kupgrade worker config for the lab "${spec.name}" (written by kupgrade-lab up)\n` +
    YAML.stringify(doc, { flow: false })
  );
}

async function waitFor<T>(what: string, fn: () => T | null, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== null) return v;
    if (Date.now() > end) throw new LabError(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

export async function up(o: UpOptions): Promise<UpResult> {
  const t0 = Date.now();
  const dir = path.resolve(o.dir);
  const v = parseVer(o.version);
  if (!v || !/^v?\d+\.\d+\.\d+$/.test(o.version))
    throw new LabError(`--version: want 1.x.y, got ${JSON.stringify(o.version)}`);
  if (LAST_PATCH[v.minor] === undefined || v.patch > LAST_PATCH[v.minor]! || v.minor < 28) {
    throw new LabError(
      `--version ${o.version}: the lab models v1.28.0 to v1.${Math.max(...Object.keys(LAST_PATCH).map(Number))}.x releases`,
    );
  }
  if (o.repo === 'legacy' && (v.minor !== 28 || v.patch > 2))
    throw new LabError(
      `--version ${o.version}: the legacy repository was frozen at v1.28.2 (use --version 1.28.0 to 1.28.2 with --legacy-repo)`,
    );
  if (!Number.isInteger(o.controlPlanes) || o.controlPlanes < 1)
    throw new LabError('--control-planes must be at least 1');
  if (!Number.isInteger(o.workers) || o.workers < 0) throw new LabError('--workers must be 0 or more');
  if (o.controlPlanes + o.workers > 1000) throw new LabError('a lab has at most 1,000 nodes');
  if (!isLabPackageManager(o.packages))
    throw new LabError(`--packages must be one of ${LAB_PACKAGE_MANAGER_NAMES.join(', ')}`);
  const mismatch = optionMismatch(o.packages, o);
  if (mismatch) throw new LabError(mismatch);
  if (controllerPid(dir))
    throw new LabError(`a lab is already up in ${dir}; run kupgrade-lab down --dir ${dir} first`);
  const names = nodeNames(o.controlPlanes, o.workers);
  for (const c of o.cordoned ?? [])
    if (!names.some((n) => n.name === c)) throw new LabError(`--cordoned ${c}: no such node`);
  for (const [flag, list] of [
    ['--unlisted', o.unlisted],
    ['--swap-allowed', o.swapAllowed],
  ] as const)
    for (const c of list ?? [])
      if (!names.some((n) => n.name === c)) throw new LabError(`${flag} ${c}: no such node`);
  if (o.unlisted?.includes('cp-1'))
    throw new LabError('--unlisted cp-1: cluster.yaml needs its first control plane (unlist another node)');
  const he = o.hostEtcdctl;
  if (
    he !== undefined &&
    he !== 'none' &&
    !(
      /^\/[A-Za-z0-9._/-]+\/etcdctl$/.test(he) &&
      OVERLAID_DIRS.some((d) => d !== '/etc' && d !== '/var' && he.startsWith(`${d}/`))
    )
  )
    throw new LabError(
      `--host-etcdctl ${he}: want none or an absolute path ending in /etcdctl under /opt, /usr/local/bin, /root, /srv or /home`,
    );
  for (const c of o.evictedPods ?? [])
    if (!names.some((n) => n.name === c)) throw new LabError(`--evicted-pods ${c}: no such node`);
  if (o.api === 'real') {
    const version = `${v.major}.${v.minor}.${v.patch}`;
    const missing = missingBinaries([version]);
    if (missing) throw new LabError(`--api real --version ${o.version}: ${missing}`);
    if (o.evictedPods?.length)
      throw new LabError(
        '--evicted-pods: not modelled with --api real (a Failed pod needs a kubelet to post it)',
      );
    if (o.ssh === false)
      throw new LabError("--api real needs the sshd module (the apiserver listens on cp-1's address)");
  }
  fs.mkdirSync(dir, { recursive: true });
  for (const f of [
    'state.json',
    'events.jsonl',
    'controller.json',
    'controller.addr',
    'cluster.yaml',
    'worker.yaml',
  ])
    fs.rmSync(path.join(dir, f), { force: true });
  fs.rmSync(path.join(dir, 'nodes'), { recursive: true, force: true });
  const useSsh = o.ssh !== false;
  // without sshd nobody listens: distinct loopback addresses keep cluster.yaml valid all the same
  const addrs = useSsh
    ? sshd.planAddresses(names.length, { owner: dir })
    : names.map((_, i) => ({ address: `127.0.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`, port: 22 }));
  const spec: LabSpec = {
    name:
      o.name ??
      (path
        .basename(dir)
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 40) ||
        'lab'),
    version: `${v.major}.${v.minor}.${v.patch}`,
    packages: o.packages,
    repo: o.repo ?? 'pkgs.k8s.io',
    speed: o.speed ?? 1,
    seed: o.seed ?? 'kupgrade',
    createdAt: new Date().toISOString(),
    nodes: names.map((n, i) => ({ ...n, address: addrs[i]!.address, port: addrs[i]!.port })),
    controller: null,
    ssh: null,
    options: {
      cordoned: o.cordoned ?? [],
      ...(o.evictedPods?.length ? { evictedPods: o.evictedPods } : {}),
      podsPerWorker: o.podsPerWorker ?? 3,
      emptyDirPods: o.emptyDirPods ?? 0,
      unmanagedPods: o.unmanagedPods ?? 0,
      ...(o.unlisted?.length ? { unlisted: o.unlisted } : {}),
      ...(o.swapAllowed?.length ? { swapAllowed: o.swapAllowed } : {}),
      ...(he !== undefined ? { hostEtcdctl: he } : {}),
      ...(o.os ? { os: o.os } : {}),
      ...(o.versionlock ? { versionlock: true } : {}),
      ...(o.imageRepository ? { imageRepository: o.imageRepository } : {}),
      ...(o.criSocket ? { criSocket: o.criSocket } : {}),
      ...(o.patches ? { patches: true } : {}),
      ...(o.oldKubeletConfig ? { oldKubeletConfig: true } : {}),
      ...(o.api === 'real' ? { api: 'real' as const } : {}),
    },
  };
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(spec.name)) spec.name = 'lab';
  const pki = labPki();
  let realConf: string | undefined;
  if (o.api === 'real') {
    fs.rmSync(apiDir(dir), { recursive: true, force: true });
    const cp0 = spec.nodes.find((x) => x.role === 'control-plane')!;
    const apiPki = ensureApiPki(path.join(apiDir(dir), 'pki'), cp0.address);
    realConf = realKubeconfig(apiPki, `https://${cp0.address}:6443`);
  }
  for (const n of spec.nodes) writeNodeRoot(dir, spec, n, pki, realConf);
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  for (const t of LAB_TOOLS) {
    // with --host-etcdctl the host's etcdctl is not on PATH (DIR/bin) at all
    if (t === 'etcdctl' && he !== undefined) continue;
    fs.writeFileSync(path.join(dir, 'bin', t), shimScript(t), { mode: 0o755 });
  }
  writeJson(path.join(dir, 'lab.json'), spec);
  let inproc: Controller | undefined;
  let ctl: { pid: number; host: string; port: number };
  if (o.inProcess) {
    inproc = await startController(dir);
    ctl = { pid: process.pid, host: '127.0.0.1', port: inproc.port };
  } else {
    const log = fs.openSync(path.join(dir, 'controller.log'), 'a');
    const child = spawn(process.execPath, [path.join(distLabSrc(), 'controller', 'main.js'), '--dir', dir], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.unref();
    fs.closeSync(log);
    let exited: number | null = null;
    child.once('exit', (code) => (exited = code ?? -1));
    ctl = await waitFor(
      'the controller to listen',
      () => {
        if (exited !== null)
          throw new LabError(`the controller exited (${exited}); see ${path.join(dir, 'controller.log')}`);
        try {
          return JSON.parse(fs.readFileSync(path.join(dir, 'controller.json'), 'utf8')) as {
            pid: number;
            host: string;
            port: number;
          };
        } catch {
          return null;
        }
      },
      // a real-API lab's controller starts etcd and the apiserver and waits for its workloads
      o.api === 'real' ? 300_000 : 20_000,
    );
  }
  spec.controller = { host: ctl.host, port: ctl.port };
  writeJson(path.join(dir, 'lab.json'), spec);
  if (useSsh) {
    try {
      const keys = await sshd.ensureSshKeys(dir);
      spec.ssh = {
        user: os.userInfo().username,
        clientKeyPath: keys.clientKeyPath,
        knownHostsPath: keys.knownHostsPath,
      };
      writeJson(path.join(dir, 'lab.json'), spec);
      await sshd.startSshd(
        dir,
        spec.nodes.map((n) => ({ name: n.name, address: n.address, port: n.port })),
      );
    } catch (e) {
      await down(dir).catch(() => undefined);
      await inproc?.close();
      throw e;
    }
  }
  for (const node of spec.options.swapAllowed ?? []) {
    await request(dir, 'POST', '/fault', { kind: 'swap', node } satisfies FaultSpec);
  }
  const yamlPath = path.join(dir, 'cluster.yaml');
  fs.writeFileSync(yamlPath, clusterYaml(spec, dir));
  fs.writeFileSync(path.join(dir, 'worker.yaml'), workerYaml(spec, dir));
  return {
    dir,
    spec,
    controllerPid: ctl.pid,
    clusterYaml: yamlPath,
    ms: Date.now() - t0,
    controller: inproc,
  };
}

/** Stops sshd and the controller (which persists its state). Idempotent. */
export async function down(dirArg: string): Promise<{ ms: number }> {
  const t0 = Date.now();
  const dir = path.resolve(dirArg);
  if (fs.existsSync(path.join(dir, 'ssh'))) await sshd.stopSshd(dir);
  const pid = controllerPid(dir);
  if (pid) {
    process.kill(pid, 'SIGTERM');
    const end = Date.now() + 10_000;
    while (isAlive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  reapControlPlane(apiDir(dir));
  fs.rmSync(path.join(dir, 'controller.json'), { force: true });
  fs.rmSync(path.join(dir, 'controller.addr'), { force: true });
  return { ms: Date.now() - t0 };
}

// ---- controller client ----------------------------------------------------------------------

export function request<T>(dir: string, method: 'GET' | 'POST', urlPath: string, body?: unknown): Promise<T> {
  const spec = readSpec(dir);
  if (!spec.controller) throw new LabError(`no controller recorded in ${dir}/lab.json`);
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: spec.controller!.host,
        port: spec.controller!.port,
        path: urlPath,
        method,
        headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let v: unknown;
          try {
            v = JSON.parse(text);
          } catch {
            return reject(new LabError(`controller: ${res.statusCode}: ${text}`));
          }
          if ((res.statusCode ?? 500) >= 400)
            return reject(new LabError(`controller: ${(v as { error?: string }).error ?? text}`));
          resolve(v as T);
        });
      },
    );
    req.on('error', (e) =>
      reject(
        new LabError(
          `controller at ${spec.controller!.host}:${spec.controller!.port} unreachable: ${e.message} (is the lab up?)`,
        ),
      ),
    );
    req.end(data);
  });
}

export interface LabStatus {
  name: string;
  kubernetesVersion: string;
  coredns: string;
  kubeProxy: string;
  nodes: (NodeStatus & { port?: number })[];
  faults: number;
}

export async function status(dir: string): Promise<LabStatus> {
  const s = await request<LabStatus>(dir, 'GET', '/status');
  const spec = readSpec(dir);
  for (const n of s.nodes) n.port = spec.nodes.find((x) => x.name === n.name)?.port;
  return s;
}

export function injectFault(dir: string, spec: FaultSpec): Promise<Fault> {
  return request<Fault>(dir, 'POST', '/fault', spec);
}

export async function clearFaults(dir: string, id?: number): Promise<number> {
  return (await request<{ removed: number }>(dir, 'POST', '/faults/clear', id === undefined ? {} : { id }))
    .removed;
}

export function listFaults(dir: string): Promise<Fault[]> {
  return request<Fault[]>(dir, 'GET', '/faults');
}

/** A node goes down (its sshd stops serving it, it turns NotReady after the grace period) or up. */
export async function setNodeDown(dir: string, node: string, down: boolean): Promise<void> {
  const spec = readSpec(dir);
  if (!spec.nodes.some((n) => n.name === node)) throw new LabError(`no node ${node}`);
  if (spec.ssh) await sshd.setNodeDown(dir, node, down);
  await request(dir, 'POST', '/node', { node, down });
}

/** An operator cordons (or uncordons) a node outside the upgrade; `check` treats it as someone else's cordon. */
export async function operatorCordon(dir: string, node: string, cordon: boolean): Promise<void> {
  await request(dir, 'POST', '/cordon', { node, cordon });
}
