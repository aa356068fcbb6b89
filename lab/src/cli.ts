/**
 * kupgrade-lab: the lab CLI.
 *   up     --dir DIR --control-planes N --workers M --version 1.29.6 --packages yum|dnf|apt|zypper
 *          [--speed S] [--seed X] [--repo pkgs.k8s.io|mirror|legacy] [--legacy-repo] [--name NAME] [--cordoned a,b]
 *          [--pods-per-worker N] [--emptydir-pods N] [--unmanaged-pods N] [--evicted-pods a,b] [--no-ssh]
 *          [--unlisted NODE[,NODE]] [--swap-allowed NODE[,NODE]] [--host-etcdctl none|PATH]
 *          [--os el7] [--versionlock] [--image-repository R] [--cri-socket S] [--patches] [--old-kubelet-config]
 *          [--api real|emulated]
 *   down   --dir DIR
 *   cordon|uncordon --dir DIR NODE   (an operator's cordon, outside the upgrade)
 *   status --dir DIR [-o json]
 *   fault  --dir DIR fail|hang|drop|pdb-block|kubelet-not-ready|package-missing|swap-on|node-down|node-up|list|clear ...
 *   check  --dir DIR --target v1.x.y [--max-unavailable N]
 * Exit codes: 0 ok, 1 failure (check: violations), 2 usage.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkEvents, formatViolations } from './check/replay';
import { parseGoDuration, kubectlTable } from './model/format';
import type { FaultSpec } from './model/state';
import type { K8sPackage, PackageManager } from './model/packages';
import * as lab from './lab';
import { isLabPackageManager, LAB_PACKAGE_MANAGER_NAMES, optionMismatch } from './model/package-managers';

class UsageError extends Error {}

const USAGE = `usage:
  kupgrade-lab up --dir DIR --control-planes N --workers M --version 1.29.6 --packages yum|dnf|apt|zypper
                  [--speed S] [--seed X] [--repo pkgs.k8s.io|mirror|legacy] [--legacy-repo] [--name NAME] [--cordoned NODE[,NODE]]
                  [--pods-per-worker N] [--emptydir-pods N] [--unmanaged-pods N] [--evicted-pods NODE[,NODE]] [--no-ssh]
                  [--unlisted NODE[,NODE]] [--swap-allowed NODE[,NODE]] [--host-etcdctl none|PATH]
                  [--os el7] [--versionlock] [--image-repository R] [--cri-socket S] [--patches] [--old-kubelet-config]
                  [--api real|emulated]   real: kube-apiserver, etcd, controller-manager, scheduler and kubectl
                                          built from Go modules (scripts/build-k8s.sh); the lab plays the kubelets
  kupgrade-lab down --dir DIR
  kupgrade-lab cordon|uncordon --dir DIR NODE
  kupgrade-lab status --dir DIR [-o json]
  kupgrade-lab fault --dir DIR fail --match TEXT [--node N] [--times N] [--exit CODE] [--message TEXT]
  kupgrade-lab fault --dir DIR hang --match TEXT [--node N] [--times N] [--for DURATION]
  kupgrade-lab fault --dir DIR drop --match TEXT [--node N] [--times N] [--when before|after]
  kupgrade-lab fault --dir DIR pdb-block [--node N] [--for DURATION]
  kupgrade-lab fault --dir DIR kubelet-not-ready|swap-on|node-down|node-up --node N
  kupgrade-lab fault --dir DIR package-missing --node N --version 1.30.4 [--package kubeadm|kubelet|kubectl]
  kupgrade-lab fault --dir DIR dpkg-interrupt --node N
  kupgrade-lab fault --dir DIR pod-slow-ready --node N --for DURATION [--app calico-node]
  kupgrade-lab fault --dir DIR manifest-rollback --node CONTROL-PLANE
  kupgrade-lab fault --dir DIR list | clear [--id N]
  kupgrade-lab check --dir DIR --target v1.x.y [--max-unavailable N|P%]
`;

interface Args {
  pos: string[];
  opts: Map<string, string>;
}

const BOOL_OPTS = new Set(['no-ssh', 'help', 'legacy-repo', 'versionlock', 'patches', 'old-kubelet-config']);

export function parseArgs(argv: string[]): Args {
  const pos: string[] = [];
  const opts = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-o') {
      opts.set('output', argv[++i] ?? '');
      continue;
    }
    if (a === '-h') {
      opts.set('help', 'true');
      continue;
    }
    if (!a.startsWith('--')) {
      pos.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const k = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (eq > 0) opts.set(k, a.slice(eq + 1));
    else if (BOOL_OPTS.has(k)) opts.set(k, 'true');
    else {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`--${k} needs a value`);
      opts.set(k, v);
    }
  }
  return { pos, opts };
}

function need(a: Args, k: string): string {
  const v = a.opts.get(k);
  if (v === undefined || v === '') throw new UsageError(`--${k} is required`);
  return v;
}

function int(a: Args, k: string, dflt?: number): number {
  const v = a.opts.get(k);
  if (v === undefined) {
    if (dflt === undefined) throw new UsageError(`--${k} is required`);
    return dflt;
  }
  if (!/^\d+$/.test(v)) throw new UsageError(`--${k}: want a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

function checkKnown(a: Args, allowed: string[]): void {
  for (const k of a.opts.keys()) if (!allowed.includes(k)) throw new UsageError(`unknown option --${k}`);
}

function dur(a: Args, k: string): number | undefined {
  const v = a.opts.get(k);
  if (v === undefined) return undefined;
  const ms = parseGoDuration(v);
  if (ms === null) throw new UsageError(`--${k}: not a duration: ${v} (e.g. 30s, 5m)`);
  return ms;
}

async function cmdUp(a: Args): Promise<number> {
  checkKnown(a, [
    'dir',
    'control-planes',
    'workers',
    'version',
    'packages',
    'speed',
    'seed',
    'repo',
    'name',
    'cordoned',
    'pods-per-worker',
    'emptydir-pods',
    'unmanaged-pods',
    'evicted-pods',
    'no-ssh',
    'legacy-repo',
    'unlisted',
    'swap-allowed',
    'host-etcdctl',
    'os',
    'versionlock',
    'image-repository',
    'cri-socket',
    'patches',
    'old-kubelet-config',
    'api',
  ]);
  const pk = need(a, 'packages');
  if (!isLabPackageManager(pk))
    throw new UsageError(`--packages must be one of ${LAB_PACKAGE_MANAGER_NAMES.join(', ')}`);
  const repo = a.opts.has('legacy-repo') ? 'legacy' : (a.opts.get('repo') ?? 'pkgs.k8s.io');
  if (repo !== 'pkgs.k8s.io' && repo !== 'mirror' && repo !== 'legacy')
    throw new UsageError('--repo must be pkgs.k8s.io, mirror or legacy');
  const os = a.opts.get('os');
  if (os !== undefined && os !== 'el7')
    throw new UsageError('--os must be el7 (yum 3); leave it out for dnf 4');
  const mismatch = optionMismatch(pk, { repo, os, versionlock: a.opts.has('versionlock') });
  if (mismatch) throw new UsageError(mismatch);
  const api = a.opts.get('api') ?? 'emulated';
  if (api !== 'real' && api !== 'emulated')
    throw new UsageError(
      '--api must be real (kube-apiserver, etcd and kubectl built from Go modules) or emulated',
    );
  const speed = Number(a.opts.get('speed') ?? '1');
  if (!(speed > 0)) throw new UsageError('--speed must be a positive number');
  const r = await lab.up({
    dir: need(a, 'dir'),
    controlPlanes: int(a, 'control-planes'),
    workers: int(a, 'workers'),
    version: need(a, 'version'),
    packages: pk as PackageManager,
    speed,
    seed: a.opts.get('seed'),
    repo,
    name: a.opts.get('name'),
    cordoned: a.opts.get('cordoned')?.split(',').filter(Boolean),
    evictedPods: a.opts.get('evicted-pods')?.split(',').filter(Boolean),
    podsPerWorker: int(a, 'pods-per-worker', 3),
    emptyDirPods: int(a, 'emptydir-pods', 0),
    unmanagedPods: int(a, 'unmanaged-pods', 0),
    unlisted: a.opts.get('unlisted')?.split(',').filter(Boolean),
    swapAllowed: a.opts.get('swap-allowed')?.split(',').filter(Boolean),
    hostEtcdctl: a.opts.get('host-etcdctl'),
    ssh: !a.opts.has('no-ssh'),
    os: os as 'el7' | undefined,
    versionlock: a.opts.has('versionlock'),
    imageRepository: a.opts.get('image-repository'),
    criSocket: a.opts.get('cri-socket'),
    patches: a.opts.has('patches'),
    oldKubeletConfig: a.opts.has('old-kubelet-config'),
    api,
  });
  const s = r.spec;
  const first = s.nodes[0]!;
  process.stdout.write(
    [
      `lab "${s.name}" is up in ${(r.ms / 1000).toFixed(1)}s: ${s.nodes.filter((n) => n.role === 'control-plane').length} control plane(s), ${s.nodes.filter((n) => n.role === 'worker').length} worker(s), Kubernetes v${s.version}, ${s.packages}, speed ${s.speed}`,
      `  inventory:   ${r.clusterYaml}`,
      `  worker:      kupgrade worker --config ${path.join(r.dir, 'worker.yaml')}`,
      `  state:       ${path.join(r.dir, 'state.json')} (controller pid ${r.controllerPid}, http://${s.controller!.host}:${s.controller!.port})`,
      `  events:      ${path.join(r.dir, 'events.jsonl')}`,
      `  node roots:  ${path.join(r.dir, 'nodes')}/NAME`,
      `  shims:       ${path.join(r.dir, 'bin')}`,
      s.ssh
        ? `  ssh:         ssh -i ${s.ssh.clientKeyPath} -o UserKnownHostsFile=${s.ssh.knownHostsPath} -o StrictHostKeyChecking=yes -p ${first.port} ${s.ssh.user}@${first.address} kubectl get nodes`
        : '  ssh:         not started (--no-ssh)',
      `  check:       kupgrade-lab check --dir ${r.dir} --target v1.x.y`,
      `  stop:        kupgrade-lab down --dir ${r.dir}`,
      '',
    ].join('\n'),
  );
  return 0;
}

async function cmdStatus(a: Args): Promise<number> {
  checkKnown(a, ['dir', 'output']);
  const s = await lab.status(need(a, 'dir'));
  if (a.opts.get('output') === 'json') {
    process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    return 0;
  }
  if (a.opts.has('output')) throw new UsageError('-o must be json');
  process.stdout.write(
    `cluster ${s.name}: kubeadm-config v${s.kubernetesVersion}, CoreDNS ${s.coredns}, kube-proxy v${s.kubeProxy}, ${s.faults} fault(s)\n`,
  );
  process.stdout.write(
    kubectlTable([
      ['NAME', 'ROLE', 'STATUS', 'KUBELET', 'KUBEADM', 'APISERVER', 'PODS', 'ADDRESS'],
      ...s.nodes.map((n) => [
        n.name,
        n.role,
        (n.down ? 'Down,' : '') +
          (n.ready ? 'Ready' : 'NotReady') +
          (n.unschedulable ? ',SchedulingDisabled' : ''),
        n.kubelet,
        n.kubeadm,
        n.apiserver ?? '-',
        String(n.pods),
        `${n.address}:${n.port ?? ''}`,
      ]),
    ]),
  );
  return 0;
}

async function cmdFault(a: Args): Promise<number> {
  const dir = need(a, 'dir');
  const [kind] = a.pos;
  const node = a.opts.get('node');
  const times = a.opts.has('times') ? int(a, 'times') : undefined;
  let spec: FaultSpec;
  switch (kind) {
    case 'list': {
      const fs2 = await lab.listFaults(dir);
      process.stdout.write(fs2.length ? fs2.map((f) => JSON.stringify(f) + '\n').join('') : 'no faults\n');
      return 0;
    }
    case 'clear': {
      checkKnown(a, ['dir', 'id']);
      const n = await lab.clearFaults(dir, a.opts.has('id') ? int(a, 'id') : undefined);
      process.stdout.write(`cleared ${n} fault(s)\n`);
      return 0;
    }
    case 'node-down':
    case 'node-up':
      checkKnown(a, ['dir', 'node']);
      await lab.setNodeDown(dir, need(a, 'node'), kind === 'node-down');
      process.stdout.write(`${node} is ${kind === 'node-down' ? 'down' : 'up'}\n`);
      return 0;
    case 'fail':
      checkKnown(a, ['dir', 'match', 'node', 'times', 'exit', 'message']);
      spec = {
        kind,
        match: need(a, 'match'),
        node,
        times,
        exit: a.opts.has('exit') ? int(a, 'exit') : undefined,
        message: a.opts.get('message'),
      };
      break;
    case 'hang':
      checkKnown(a, ['dir', 'match', 'node', 'times', 'for']);
      spec = { kind, match: need(a, 'match'), node, times, forMs: dur(a, 'for') };
      break;
    case 'drop': {
      checkKnown(a, ['dir', 'match', 'node', 'times', 'when']);
      const when = a.opts.get('when') ?? 'after';
      if (when !== 'before' && when !== 'after') throw new UsageError('--when must be before or after');
      spec = { kind, match: need(a, 'match'), node, times, when };
      break;
    }
    case 'pdb-block':
      checkKnown(a, ['dir', 'node', 'for']);
      spec = { kind, node, forMs: dur(a, 'for') };
      break;
    case 'kubelet-not-ready':
      checkKnown(a, ['dir', 'node']);
      spec = { kind, node: need(a, 'node') };
      break;
    case 'dpkg-interrupt':
      checkKnown(a, ['dir', 'node']);
      spec = { kind, node: need(a, 'node') };
      break;
    case 'swap-on':
      checkKnown(a, ['dir', 'node']);
      spec = { kind: 'swap', node: need(a, 'node') };
      break;
    case 'pod-slow-ready': {
      checkKnown(a, ['dir', 'node', 'for', 'app']);
      const forMs = dur(a, 'for');
      if (!forMs) throw new UsageError('pod-slow-ready needs --for DURATION');
      spec = { kind, node: need(a, 'node'), forMs, app: a.opts.get('app') };
      break;
    }
    case 'manifest-rollback':
      checkKnown(a, ['dir', 'node']);
      spec = { kind, node: need(a, 'node') };
      break;
    case 'package-missing': {
      checkKnown(a, ['dir', 'node', 'version', 'package']);
      const pkg = a.opts.get('package');
      if (pkg && !['kubeadm', 'kubelet', 'kubectl'].includes(pkg))
        throw new UsageError('--package must be kubeadm, kubelet or kubectl');
      spec = {
        kind,
        node: need(a, 'node'),
        version: need(a, 'version').replace(/^v/, ''),
        package: pkg as K8sPackage | undefined,
      };
      break;
    }
    default:
      throw new UsageError(`fault: unknown kind ${JSON.stringify(kind ?? '')}`);
  }
  const f = await lab.injectFault(dir, spec);
  process.stdout.write(`fault ${f.id}: ${JSON.stringify(spec)}\n`);
  return 0;
}

function cmdCheck(a: Args): number {
  checkKnown(a, ['dir', 'target', 'max-unavailable']);
  const dir = need(a, 'dir');
  const target = need(a, 'target');
  if (!/^v?\d+\.\d+\.\d+$/.test(target)) throw new UsageError(`--target: want v1.x.y, got ${target}`);
  const file = path.join(dir, 'events.jsonl');
  if (!fs.existsSync(file)) throw new UsageError(`${file} not found`);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const mu = a.opts.get('max-unavailable') ?? '1';
  if (!/^([1-9]\d*|([1-9]\d?|100)%)$/.test(mu))
    throw new UsageError(`--max-unavailable: want a count or a percentage, got ${mu}`);
  const r = checkEvents(lines, { target, maxUnavailable: mu.endsWith('%') ? mu : Number(mu) });
  if (r.violations.length) {
    process.stdout.write(formatViolations(file, r));
    process.stdout.write(
      `check: FAIL, ${r.violations.length} violation(s) in ${r.events} events over ${r.nodes} nodes\n`,
    );
    return 1;
  }
  process.stdout.write(
    `check: OK, ${r.events} events over ${r.nodes} nodes, all at ${target.startsWith('v') ? target : 'v' + target}\n`,
  );
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const [cmd, ...rest] = argv;
    const a = parseArgs(rest);
    if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h' || a.opts.has('help')) {
      process.stdout.write(USAGE);
      return cmd ? 0 : 2;
    }
    switch (cmd) {
      case 'up':
        return await cmdUp(a);
      case 'down': {
        checkKnown(a, ['dir']);
        const r = await lab.down(need(a, 'dir'));
        process.stdout.write(
          `lab in ${path.resolve(need(a, 'dir'))} is down (${(r.ms / 1000).toFixed(1)}s); its files are kept\n`,
        );
        return 0;
      }
      case 'status':
        return await cmdStatus(a);
      case 'cordon':
      case 'uncordon': {
        checkKnown(a, ['dir']);
        const [node] = a.pos;
        if (!node || a.pos.length > 1) throw new UsageError(`${cmd}: name one node`);
        await lab.operatorCordon(need(a, 'dir'), node, cmd === 'cordon');
        process.stdout.write(`node/${node} ${cmd}ed (by an operator)\n`);
        return 0;
      }
      case 'fault':
        return await cmdFault(a);
      case 'check':
        return cmdCheck(a);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`kupgrade-lab: ${e.message}\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`kupgrade-lab: ${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
