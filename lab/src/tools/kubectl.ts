/**
 * kubectl: get nodes|pods|pdb|cm, cordon, uncordon, drain, version, exec (pod-exec.ts). Texts follow
 * the real kubectl (staging/src/k8s.io/kubectl). JSON output goes through unstructured maps in real kubectl, so
 * keys are sorted and indented by 4 spaces.
 */
import * as YAML from 'yaml';
import type { NodeState, Pod, Pdb } from '../model/state';
import { isEvictable } from '../model/state';
import { TIME, scaled } from '../model/time-model';
import { facts, minorOf, withV, mustVer, gitCommit, buildDate, cmpVer } from '../model/versions';
import { goDuration, humanDuration, kubectlTable, parseGoDuration } from '../model/format';
import { parseFlags, splitCommand, str, bool, type FlagDef, type Parsed } from './argv';
import type { ExecResult, ToolCall } from './types';
import { ok, fail } from './types';
import { podExec } from './pod-exec';
import { kubeletConfigMap } from './kubelet-configmap';
import { kubectlWait } from './kubectl-wait';
import { LAB_PACKAGE_MANAGERS } from '../model/package-managers';

const GLOBAL: FlagDef[] = [
  { name: 'namespace', short: 'n', type: 'string' },
  { name: 'kubeconfig', type: 'string' },
  { name: 'context', type: 'string' },
  { name: 'server', short: 's', type: 'string' },
  { name: 'request-timeout', type: 'string' },
  { name: 'v', short: 'v', type: 'string' },
  { name: 'insecure-skip-tls-verify', type: 'bool' },
];

const CONN_REFUSED =
  'The connection to the server localhost:8080 was refused - did you specify the right host or port?\n';

function unknownFlag(err: string, verb: string): ExecResult {
  return fail(1, `error: ${err}\nSee 'kubectl ${verb} --help' for usage.\n`);
}

export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .filter((k) => o[k] !== undefined)
        .map((k) => [k, sortKeys(o[k])]),
    );
  }
  return v;
}

const json = (v: unknown) => JSON.stringify(sortKeys(v), null, 4) + '\n';
const yaml = (v: unknown) => YAML.stringify(sortKeys(v));

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Has this session a kubeconfig? --kubeconfig, $KUBECONFIG, or the node's admin.conf (RECON: the
 * lab treats /etc/kubernetes/admin.conf as root's ~/.kube/config, which kubeadm users copy). */
function kubeconfigOk(c: ToolCall, p: Parsed): ExecResult | null {
  const f = str(p, 'kubeconfig') ?? c.ctx.env.KUBECONFIG;
  if (f) {
    if (c.ctx.files[f] === null || c.ctx.files[f] === undefined) {
      return fail(1, `error: stat ${f}: no such file or directory\n`);
    }
    return null;
  }
  if (c.ctx.files['/etc/kubernetes/admin.conf']) return null;
  return fail(1, CONN_REFUSED);
}

export async function kubectl(c: ToolCall): Promise<ExecResult> {
  const { words, rest } = splitCommand(
    c.argv,
    GLOBAL.filter((d) => d.type === 'string'),
    1,
  );
  const verb = words[0];
  if (!verb) {
    const p = parseFlags(rest, [...GLOBAL, { name: 'help', short: 'h', type: 'bool' }]);
    if (p.error) return unknownFlag(p.error, '');
    return ok(
      'kubectl controls the Kubernetes cluster manager.\n\n Find more information at: https://kubernetes.io/docs/reference/kubectl/\n',
    );
  }
  switch (verb) {
    case 'version':
      return version(c, rest);
    case 'get':
      return get(c, rest);
    case 'cordon':
    case 'uncordon':
      return cordon(c, verb, rest);
    case 'drain':
      return drain(c, rest);
    case 'exec':
      return podExec(c, rest, (p) => kubeconfigOk(c, p));
    case 'wait':
      return kubectlWait(c, rest, {
        global: GLOBAL,
        kubeconfigOk,
        nodeObject,
        unknownFlag,
        print: (v, f) => (f === 'json' ? json(v) : yaml(v)),
      });
    default:
      return fail(1, `error: unknown command "${verb}" for "kubectl"\n`);
  }
}

// ---- version --------------------------------------------------------------------------------

function versionInfo(v: string) {
  const x = mustVer(v);
  return {
    major: String(x.major),
    minor: String(x.minor),
    gitVersion: withV(v),
    gitCommit: gitCommit(v),
    gitTreeState: 'clean',
    buildDate: buildDate(v),
    goVersion: facts(v).go,
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

async function version(c: ToolCall, argv: string[]): Promise<ExecResult> {
  const p = parseFlags(argv, [
    ...GLOBAL,
    { name: 'client', type: 'bool' },
    { name: 'output', short: 'o', type: 'string' },
  ]);
  if (p.error) return unknownFlag(p.error, 'version');
  const o = str(p, 'output');
  if (o && o !== 'json' && o !== 'yaml') return fail(1, `error: --output must be 'yaml' or 'json'\n`);
  await c.cl.sleep(TIME.kubectlReadMs);
  const cv = c.node.packages.kubectl.version;
  const kz = facts(cv).kustomize;
  const noServer = bool(p, 'client') ? null : kubeconfigOk(c, p);
  const server = bool(p, 'client') || noServer ? null : clusterApiserver(c);
  if (o) {
    const obj: Record<string, unknown> = { clientVersion: versionInfo(cv), kustomizeVersion: kz };
    if (server) obj.serverVersion = versionInfo(server);
    const text = o === 'json' ? JSON.stringify(obj, null, 2) + '\n' : YAML.stringify(obj);
    return noServer ? { ...noServer, stdout: text } : ok(text);
  }
  let out = `Client Version: ${withV(cv)}\nKustomize Version: ${kz}\n`;
  if (noServer) return { ...noServer, stdout: out };
  let err = '';
  if (server) {
    out += `Server Version: ${withV(server)}\n`;
    if (Math.abs(minorOf(cv) - minorOf(server)) > 1) {
      err = `WARNING: version difference between client (1.${minorOf(cv)}) and server (1.${minorOf(server)}) exceeds the supported minor version skew of +/-1\n`;
    }
  }
  return ok(out, err);
}

function clusterApiserver(c: ToolCall): string {
  return c.cl
    .controlPlanes()
    .map((n) => n.cp!.apiserver)
    .reduce((a, b) => (cmpVer(a, b) >= 0 ? a : b));
}

// ---- get ------------------------------------------------------------------------------------

const GET_FLAGS: FlagDef[] = [
  ...GLOBAL,
  { name: 'output', short: 'o', type: 'string' },
  { name: 'all-namespaces', short: 'A', type: 'bool' },
  { name: 'field-selector', type: 'string' },
  { name: 'selector', short: 'l', type: 'string' },
  { name: 'no-headers', type: 'bool' },
  { name: 'show-labels', type: 'bool' },
  { name: 'watch', short: 'w', type: 'bool' },
  { name: 'chunk-size', type: 'string' },
];

async function get(c: ToolCall, argv: string[]): Promise<ExecResult> {
  const p = parseFlags(argv, GET_FLAGS);
  if (p.error) return unknownFlag(p.error, 'get');
  const [kindArg, ...names] = p.args;
  if (!kindArg) {
    return fail(
      1,
      'You must specify the type of resource to get. Use "kubectl api-resources" for a complete list of supported resources.\n\nerror: Required resource not specified.\nUse "kubectl explain <resource>" for a detailed description of that resource (e.g. kubectl explain pods).\nSee \'kubectl get -h\' for help and examples\n',
    );
  }
  const out = str(p, 'output') ?? '';
  if (!['', 'wide', 'json', 'yaml', 'name'].includes(out) && !out.startsWith('jsonpath=')) {
    return fail(
      1,
      `error: unable to match a printer suitable for the output format "${out}", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml\n`,
    );
  }
  const bad = kubeconfigOk(c, p);
  if (bad) return bad;
  await c.cl.sleep(TIME.kubectlReadMs);
  c.cl.settle();
  const kind = kindArg.toLowerCase().split('.')[0]!;
  const ns = bool(p, 'all-namespaces') ? null : (str(p, 'namespace') ?? 'default');
  if (['nodes', 'node', 'no'].includes(kind)) return getNodes(c, names, out, p);
  if (['pods', 'pod', 'po'].includes(kind)) return getPods(c, ns, names, out, p);
  if (['pdb', 'pdbs', 'poddisruptionbudget', 'poddisruptionbudgets'].includes(kind))
    return getPdbs(c, ns, out);
  if (['cm', 'configmap', 'configmaps'].includes(kind)) return getConfigMap(c, ns, names, out);
  return fail(1, `error: the server doesn't have a resource type "${kindArg}"\n`);
}

function roles(n: NodeState): string {
  return n.role === 'control-plane' ? 'control-plane' : '<none>';
}

function nodeStatus(n: NodeState): string {
  const s = n.ready ? 'Ready' : 'NotReady';
  return n.unschedulable ? `${s},SchedulingDisabled` : s;
}

function osInfo(c: ToolCall): { osImage: string; kernel: string } {
  const { image, kernel } = LAB_PACKAGE_MANAGERS[c.cl.state.packages].os;
  return { osImage: image, kernel };
}

function nodeObject(c: ToolCall, n: NodeState): Record<string, unknown> {
  const now = Date.now();
  const os = osInfo(c);
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': n.name,
    'kubernetes.io/os': 'linux',
  };
  const taints: Record<string, unknown>[] = [];
  if (n.role === 'control-plane') {
    labels['node-role.kubernetes.io/control-plane'] = '';
    labels['node.kubernetes.io/exclude-from-external-load-balancers'] = '';
    taints.push({ effect: 'NoSchedule', key: 'node-role.kubernetes.io/control-plane' });
  }
  if (n.unschedulable)
    taints.push({ effect: 'NoSchedule', key: 'node.kubernetes.io/unschedulable', timeAdded: iso(now) });
  if (!n.ready)
    taints.push({ effect: 'NoSchedule', key: 'node.kubernetes.io/not-ready', timeAdded: iso(now) });
  const readyCond = n.down
    ? { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' }
    : n.ready
      ? { status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : {
          status: 'False',
          reason: 'KubeletNotReady',
          message: 'container runtime status check may not have completed yet',
        };
  const cond = (type: string, reason: string, message: string) => ({
    type,
    status: 'False',
    reason,
    message,
    lastHeartbeatTime: iso(now),
    lastTransitionTime: iso(n.createdAt),
  });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      annotations: {
        'kubeadm.alpha.kubernetes.io/cri-socket':
          c.cl.state.criSocket ?? 'unix:///var/run/containerd/containerd.sock',
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
      creationTimestamp: iso(n.createdAt),
      labels,
      name: n.name,
      resourceVersion: String(100000 + (Math.floor(now / 1000) % 100000)),
      uid: uid(n.name),
    },
    spec: {
      podCIDR: `10.244.${c.cl.state.order.indexOf(n.name) % 256}.0/24`,
      podCIDRs: [`10.244.${c.cl.state.order.indexOf(n.name) % 256}.0/24`],
      taints: taints.length ? taints : undefined,
      unschedulable: n.unschedulable ? true : undefined,
    },
    status: {
      addresses: [
        { address: n.address, type: 'InternalIP' },
        { address: n.name, type: 'Hostname' },
      ],
      conditions: [
        cond('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        { type: 'Ready', ...readyCond, lastHeartbeatTime: iso(now), lastTransitionTime: iso(now) },
      ],
      nodeInfo: {
        architecture: 'amd64',
        bootID: uid(`${n.name}/boot`),
        containerRuntimeVersion: 'containerd://1.7.13',
        kernelVersion: os.kernel,
        kubeProxyVersion: withV(n.kubelet),
        kubeletVersion: withV(n.kubelet),
        machineID: uid(`${n.name}/machine`).replace(/-/g, ''),
        operatingSystem: 'linux',
        osImage: os.osImage,
        systemUUID: uid(`${n.name}/system`),
      },
    },
  };
}

function uid(s: string): string {
  let h = 0x811c9dc5;
  let hex = '';
  for (let r = 0; hex.length < 32; r++) {
    for (const ch of `${s}#${r}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    hex += h.toString(16).padStart(8, '0');
  }
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function list(items: unknown[]): Record<string, unknown> {
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}

function getNodes(c: ToolCall, names: string[], out: string, p: Parsed): ExecResult {
  let nodes = [...c.cl.nodes()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (names.length) {
    const missing = names.filter((n) => !c.cl.node(n));
    if (missing.length) {
      return fail(1, missing.map((m) => `Error from server (NotFound): nodes "${m}" not found\n`).join(''));
    }
    nodes = names.map((n) => c.cl.node(n)!);
  }
  const sel = str(p, 'selector');
  if (sel) {
    if (sel === 'node-role.kubernetes.io/control-plane' || sel === 'node-role.kubernetes.io/control-plane=') {
      nodes = nodes.filter((n) => n.role === 'control-plane');
    } else if (sel === '!node-role.kubernetes.io/control-plane')
      nodes = nodes.filter((n) => n.role !== 'control-plane');
  }
  if (out === 'json' || out === 'yaml') {
    const objs = nodes.map((n) => nodeObject(c, n));
    const v = names.length === 1 ? objs[0] : list(objs);
    return ok(out === 'json' ? json(v) : yaml(v));
  }
  if (out === 'name') return ok(nodes.map((n) => `node/${n.name}\n`).join(''));
  if (out.startsWith('jsonpath='))
    return fail(1, 'error: jsonpath output is not simulated by kupgrade-lab\n');
  const now = Date.now();
  const os = osInfo(c);
  const head = ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'];
  if (out === 'wide')
    head.push('INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME');
  const rows = nodes.map((n) => {
    const r = [n.name, nodeStatus(n), roles(n), humanDuration(now - n.createdAt), withV(n.kubelet)];
    if (out === 'wide') r.push(n.address, '<none>', os.osImage, os.kernel, 'containerd://1.7.13');
    return r;
  });
  return ok(kubectlTable(bool(p, 'no-headers') ? rows : [head, ...rows]));
}

function podPhase(c: ToolCall, p: Pod): { ready: string; status: string } {
  const now = Date.now();
  // kubectl prints status.reason of a finished pod (Evicted), else its phase
  if (p.failed) return { ready: '0/1', status: p.failed.reason || 'Error' };
  if (p.terminatingUntil !== null) return { ready: '1/1', status: 'Terminating' };
  if (!p.node) return { ready: '0/1', status: 'Pending' };
  if (p.readyAt > now) return { ready: '0/1', status: 'Running' };
  void c;
  return { ready: '1/1', status: 'Running' };
}

/** Labels as kubeadm and the usual manifests set them (static pods: component/tier). */
function podLabels(p: Pod): Record<string, string> | undefined {
  if (p.owner === 'Node') return { component: p.app, tier: 'control-plane' };
  if (p.app === 'coredns')
    return { 'k8s-app': 'kube-dns', 'pod-template-hash': p.name.split('-').slice(-2)[0]! };
  if (p.app === 'kube-proxy') return { 'k8s-app': 'kube-proxy' };
  if (p.app === 'calico-node' || p.app === 'calico-kube-controllers') return { 'k8s-app': p.app };
  return p.app ? { app: p.app } : undefined;
}

/** The container image, with the versions the cluster runs (static pods follow their node). */
function podImage(c: ToolCall, p: Pod): string {
  const st = c.cl.state;
  const repo = st.imageRepository;
  const cp = p.node ? c.cl.node(p.node)?.cp : undefined;
  switch (p.app) {
    case 'kube-apiserver':
      return `${repo}/${p.app}:${withV(cp?.apiserver ?? st.kubernetesVersion)}`;
    case 'kube-controller-manager':
      return `${repo}/${p.app}:${withV(cp?.controllerManager ?? st.kubernetesVersion)}`;
    case 'kube-scheduler':
      return `${repo}/${p.app}:${withV(cp?.scheduler ?? st.kubernetesVersion)}`;
    case 'metrics-server':
      return `${repo}/metrics-server/metrics-server:v0.7.1`;
    case 'etcd':
      return `${repo}/etcd:${cp?.etcd ?? ''}`;
    case 'kube-proxy':
      return `${repo}/kube-proxy:${withV(st.kubeProxy)}`;
    case 'coredns':
      return repo === 'registry.k8s.io'
        ? `${repo}/coredns/coredns:${st.coredns}`
        : `${repo}/coredns:${st.coredns}`;
    case 'calico-node':
    case 'calico-kube-controllers':
      return `docker.io/calico/${p.app.replace('calico-', '')}:v3.27.3`;
    default:
      return `registry.example.com/${p.ns}/${p.app || 'debug'}:1.0`;
  }
}

/** `-l k=v[,k2=v2]` / `-l k` / `-l !k` against a pod's labels. */
function selects(sel: string | undefined, labels: Record<string, string> | undefined): boolean {
  if (!sel) return true;
  const l = labels ?? {};
  return sel.split(',').every((term) => {
    const t = term.trim();
    if (t.startsWith('!')) return !(t.slice(1) in l);
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(t);
    if (!m) return t in l;
    return m[2] === '!=' ? l[m[1]!] !== m[3] : l[m[1]!] === m[3];
  });
}

function podObject(c: ToolCall, p: Pod): Record<string, unknown> {
  const ph = podPhase(c, p);
  const owner =
    p.owner === 'none'
      ? undefined
      : [
          {
            apiVersion: p.owner === 'Node' ? 'v1' : 'apps/v1',
            blockOwnerDeletion: true,
            controller: true,
            kind: p.owner,
            name:
              p.owner === 'Node'
                ? p.node
                : p.owner === 'ReplicaSet'
                  ? p.name.slice(0, p.name.lastIndexOf('-'))
                  : p.app,
            uid: uid(`${p.ns}/${p.app}`),
          },
        ];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      creationTimestamp: iso(p.createdAt),
      deletionTimestamp:
        p.terminatingUntil !== null ? iso(Math.min(p.terminatingUntil, Date.now())) : undefined,
      labels: podLabels(p),
      annotations: p.owner === 'Node' ? { 'kubernetes.io/config.mirror': uid(p.name) } : undefined,
      name: p.name,
      namespace: p.ns,
      ownerReferences: owner,
      uid: uid(`${p.ns}/${p.name}`),
    },
    spec: {
      containers: [{ image: podImage(c, p), name: p.app || 'debug' }],
      nodeName: p.node ?? undefined,
      volumes: p.emptyDir ? [{ emptyDir: {}, name: 'cache' }] : undefined,
    },
    status: podStatus(c, p, ph),
  };
}

/**
 * status as the kubelet reports it: phase, the Ready condition with its lastTransitionTime, and
 * containerStatuses (ready, running since); a finished pod: phase Failed with reason and message
 * (an evicted pod: reason Evicted, no container left running).
 */
function podStatus(c: ToolCall, p: Pod, ph: { ready: string; status: string }): Record<string, unknown> {
  const name = p.app || 'debug';
  const image = podImage(c, p);
  if (p.failed) {
    return {
      conditions: [{ lastTransitionTime: iso(p.failed.at), status: 'False', type: 'Ready' }],
      containerStatuses: [
        {
          image,
          name,
          ready: false,
          restartCount: 0,
          started: false,
          state: {
            terminated: {
              exitCode: 137,
              finishedAt: iso(p.failed.at),
              reason: 'ContainerStatusUnknown',
              startedAt: iso(p.createdAt),
            },
          },
        },
      ],
      message: p.failed.message,
      phase: 'Failed',
      reason: p.failed.reason,
      startTime: iso(p.createdAt),
    };
  }
  if (ph.status === 'Pending')
    return {
      conditions: [{ lastTransitionTime: iso(p.createdAt), status: 'False', type: 'PodScheduled' }],
      phase: 'Pending',
    };
  const ready = ph.ready === '1/1';
  const since = Math.min(p.readyAt, Date.now());
  return {
    conditions: [
      {
        lastTransitionTime: iso(ready ? since : p.createdAt),
        status: ready ? 'True' : 'False',
        type: 'Ready',
      },
    ],
    containerStatuses: [
      {
        image,
        name,
        ready,
        restartCount: 0,
        started: true,
        state: { running: { startedAt: iso(p.createdAt) } },
      },
    ],
    phase: 'Running',
    podIP: p.ip,
    startTime: iso(p.createdAt),
  };
}

function getPods(c: ToolCall, ns: string | null, names: string[], out: string, p: Parsed): ExecResult {
  let pods = c.cl.state.pods.filter((x) => ns === null || x.ns === ns);
  const fs = str(p, 'field-selector');
  if (fs) {
    const m = /^spec\.nodeName=(.*)$/.exec(fs);
    if (!m)
      return fail(
        1,
        `Error from server (BadRequest): Unable to find "/v1, Resource=pods" that match label selector "", field selector "${fs}": field label not supported: ${fs.split('=')[0]}\n`,
      );
    pods = pods.filter((x) => x.node === m[1]);
  }
  if (names.length) pods = pods.filter((x) => names.includes(x.name));
  const sel = str(p, 'selector');
  if (sel) pods = pods.filter((x) => selects(sel, podLabels(x)));
  pods.sort((a, b) => (a.ns + '/' + a.name < b.ns + '/' + b.name ? -1 : 1));
  if (out === 'json' || out === 'yaml') {
    const v = list(pods.map((x) => podObject(c, x)));
    return ok(out === 'json' ? json(v) : yaml(v));
  }
  if (!pods.length)
    return ok('', ns === null ? 'No resources found\n' : `No resources found in ${ns} namespace.\n`);
  const now = Date.now();
  const head = [...(ns === null ? ['NAMESPACE'] : []), 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'];
  if (out === 'wide') head.push('IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES');
  const rows = pods.map((x) => {
    const ph = podPhase(c, x);
    const r = [
      ...(ns === null ? [x.ns] : []),
      x.name,
      ph.ready,
      ph.status,
      '0',
      humanDuration(now - x.createdAt),
    ];
    if (out === 'wide') r.push(x.node ? x.ip : '<none>', x.node ?? '<none>', '<none>', '<none>');
    return r;
  });
  return ok(kubectlTable(bool(p, 'no-headers') ? rows : [head, ...rows]));
}

function pdbObject(c: ToolCall, b: Pdb): Record<string, unknown> {
  const pods = c.cl.state.pods.filter((p) => p.ns === b.ns && p.app === b.app);
  const healthy = pods.filter((p) => c.cl.healthy(p)).length;
  const desired = b.minAvailable ?? Math.max(0, b.replicas - (b.maxUnavailable ?? 0));
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: {
      creationTimestamp: iso(b.createdAt),
      name: b.name,
      namespace: b.ns,
      uid: uid(`${b.ns}/${b.name}`),
    },
    spec: {
      maxUnavailable: b.maxUnavailable ?? undefined,
      minAvailable: b.minAvailable ?? undefined,
      selector: { matchLabels: { app: b.app } },
    },
    status: {
      currentHealthy: healthy,
      desiredHealthy: desired,
      disruptionsAllowed: c.cl.disruptionsAllowed(b),
      expectedPods: b.replicas,
      observedGeneration: 1,
    },
  };
}

function getPdbs(c: ToolCall, ns: string | null, out: string): ExecResult {
  const pdbs = c.cl.state.pdbs
    .filter((b) => ns === null || b.ns === ns)
    .sort((a, b) => (`${a.ns}/${a.name}` < `${b.ns}/${b.name}` ? -1 : 1));
  if (out === 'json' || out === 'yaml') {
    const v = list(pdbs.map((b) => pdbObject(c, b)));
    return ok(out === 'json' ? json(v) : yaml(v));
  }
  if (!pdbs.length)
    return ok('', ns === null ? 'No resources found\n' : `No resources found in ${ns} namespace.\n`);
  const now = Date.now();
  const head = [
    ...(ns === null ? ['NAMESPACE'] : []),
    'NAME',
    'MIN AVAILABLE',
    'MAX UNAVAILABLE',
    'ALLOWED DISRUPTIONS',
    'AGE',
  ];
  const rows = pdbs.map((b) => [
    ...(ns === null ? [b.ns] : []),
    b.name,
    b.minAvailable === null ? 'N/A' : String(b.minAvailable),
    b.maxUnavailable === null ? 'N/A' : String(b.maxUnavailable),
    String(c.cl.disruptionsAllowed(b)),
    humanDuration(now - b.createdAt),
  ]);
  return ok(kubectlTable([head, ...rows]));
}

/** The kubeadm-config ConfigMap as `kubectl -n kube-system get cm kubeadm-config -o yaml` shows it. */
export function kubeadmConfigYaml(s: {
  kubernetesVersion: string;
  configApiVersion: string;
  imageRepository: string;
  endpoint: string;
  createdAt: number;
}): { data: string; obj: Record<string, unknown> } {
  const v1beta4 = s.configApiVersion.endsWith('v1beta4');
  const cc = [
    'apiServer:',
    ...(v1beta4 ? ['  extraArgs: []'] : ['  extraArgs:', '    authorization-mode: Node,RBAC']),
    ...(v1beta4 ? [] : ['  timeoutForControlPlane: 4m0s']),
    `apiVersion: ${s.configApiVersion}`,
    'caCertificateValidityPeriod: 87600h0m0s',
    'certificateValidityPeriod: 8760h0m0s',
    'certificatesDir: /etc/kubernetes/pki',
    'clusterName: kubernetes',
    `controlPlaneEndpoint: ${s.endpoint}:6443`,
    'controllerManager: {}',
    'dns: {}',
    'encryptionAlgorithm: RSA-2048',
    'etcd:',
    '  local:',
    '    dataDir: /var/lib/etcd',
    `imageRepository: ${s.imageRepository}`,
    'kind: ClusterConfiguration',
    `kubernetesVersion: ${withV(s.kubernetesVersion)}`,
    'networking:',
    '  dnsDomain: cluster.local',
    '  podSubnet: 10.244.0.0/16',
    '  serviceSubnet: 10.96.0.0/12',
    'proxy: {}',
    'scheduler: {}',
  ].filter(
    (l) => v1beta4 || !/^(caCertificateValidityPeriod|certificateValidityPeriod|encryptionAlgorithm)/.test(l),
  );
  const data = cc.join('\n') + '\n';
  return {
    data,
    obj: {
      apiVersion: 'v1',
      data: { ClusterConfiguration: data },
      kind: 'ConfigMap',
      metadata: {
        creationTimestamp: iso(s.createdAt),
        name: 'kubeadm-config',
        namespace: 'kube-system',
        resourceVersion: '234',
        uid: uid('kube-system/kubeadm-config'),
      },
    },
  };
}

function getConfigMap(c: ToolCall, ns: string | null, names: string[], out: string): ExecResult {
  const st = c.cl.state;
  const cm = kubeadmConfigYaml({
    kubernetesVersion: st.kubernetesVersion,
    configApiVersion: st.configApiVersion,
    imageRepository: st.imageRepository,
    endpoint: c.cl.controlPlanes()[0]?.address ?? '127.0.0.1',
    createdAt: st.createdAt,
  });
  const inNs = ns === 'kube-system' || ns === null;
  if (names.length === 1 && names[0] === 'kubelet-config' && inNs) return kubeletConfigMap(c, out, sortKeys);
  if (names.length) {
    const missing = names.filter((n) => n !== 'kubeadm-config' || !inNs);
    if (missing.length)
      return fail(
        1,
        missing.map((m) => `Error from server (NotFound): configmaps "${m}" not found\n`).join(''),
      );
  }
  if (out === 'json' || out === 'yaml') {
    const v = names.length === 1 ? cm.obj : list(inNs ? [cm.obj] : []);
    if (out === 'json') return ok(json(v));
    // kubectl prints block scalars for multi-line strings
    return ok(YAML.stringify(sortKeys(v), { blockQuote: 'literal' }));
  }
  if (!inNs) return ok('', `No resources found in ${ns} namespace.\n`);
  return ok(
    kubectlTable([
      [...(ns === null ? ['NAMESPACE'] : []), 'NAME', 'DATA', 'AGE'],
      [
        ...(ns === null ? ['kube-system'] : []),
        'kubeadm-config',
        '1',
        humanDuration(Date.now() - st.createdAt),
      ],
    ]),
  );
}

// ---- cordon / uncordon ----------------------------------------------------------------------

async function cordon(c: ToolCall, verb: 'cordon' | 'uncordon', argv: string[]): Promise<ExecResult> {
  const p = parseFlags(argv, [
    ...GLOBAL,
    { name: 'dry-run', type: 'string' },
    { name: 'selector', short: 'l', type: 'string' },
  ]);
  if (p.error) return unknownFlag(p.error, verb);
  if (!p.args.length)
    return fail(1, `error: USAGE: ${verb} NODE [flags]\nSee 'kubectl ${verb} -h' for help and examples\n`);
  const bad = kubeconfigOk(c, p);
  if (bad) return bad;
  const dry = str(p, 'dry-run');
  const suffix = dry && dry !== 'none' ? ' (dry run)' : '';
  let stdout = '';
  for (const name of p.args) {
    const n = c.cl.node(name);
    if (!n) return fail(1, `Error from server (NotFound): nodes "${name}" not found\n`, stdout);
    await c.cl.sleep(TIME.cordonMs);
    const want = verb === 'cordon';
    if (n.unschedulable === want) stdout += `node/${name} already ${verb}ed${suffix}\n`;
    else {
      if (!suffix) c.cl.setUnschedulable(name, want);
      stdout += `node/${name} ${verb}ed${suffix}\n`;
    }
  }
  return ok(stdout);
}

// ---- drain ----------------------------------------------------------------------------------

const DRAIN_FLAGS: FlagDef[] = [
  ...GLOBAL,
  { name: 'ignore-daemonsets', type: 'bool' },
  { name: 'delete-emptydir-data', type: 'bool' },
  { name: 'delete-local-data', type: 'bool' },
  { name: 'force', type: 'bool' },
  { name: 'timeout', type: 'string' },
  { name: 'grace-period', type: 'string' },
  { name: 'disable-eviction', type: 'bool' },
  { name: 'pod-selector', type: 'string' },
  { name: 'selector', short: 'l', type: 'string' },
  { name: 'dry-run', type: 'string' },
  { name: 'skip-wait-for-delete-timeout', type: 'string' },
  { name: 'chunk-size', type: 'string' },
];

const DS_FATAL = 'DaemonSet-managed Pods (use --ignore-daemonsets to ignore)';
const LOCAL_FATAL = 'Pods with local storage (use --delete-emptydir-data to override)';
const UNMANAGED_FATAL = 'cannot delete Pods that declare no controller (use --force to override)';

function podRef(p: Pod): string {
  return `${p.ns}/${p.name}`;
}

function drainFailure(node: string, errs: string[]): string {
  const head = errs.length === 1 ? ` ${errs[0]}` : `[${errs.join(', ')}]`;
  return (
    `error: unable to drain node "${node}" due to error:${head}, continuing command...\n` +
    `There are pending nodes to be drained:\n ${node}\n` +
    errs.map((e) => `${e}\n`).join('')
  );
}

async function drain(c: ToolCall, argv: string[]): Promise<ExecResult> {
  const p = parseFlags(argv, DRAIN_FLAGS);
  if (p.error) return unknownFlag(p.error, 'drain');
  if (!p.args.length)
    return fail(1, "error: USAGE: drain NODE [flags]\nSee 'kubectl drain -h' for help and examples\n");
  const bad = kubeconfigOk(c, p);
  if (bad) return bad;
  let stderr = '';
  if (bool(p, 'delete-local-data')) {
    stderr +=
      'Flag --delete-local-data has been deprecated, This option is deprecated and will be deleted. Use --delete-emptydir-data.\n';
  }
  const timeoutStr = str(p, 'timeout') ?? '0s';
  const timeoutMs = parseGoDuration(timeoutStr);
  if (timeoutMs === null) {
    return fail(
      1,
      `error: invalid argument "${timeoutStr}" for "--timeout" flag: time: invalid duration "${timeoutStr}"\nSee 'kubectl drain --help' for usage.\n`,
    );
  }
  const ignoreDS = bool(p, 'ignore-daemonsets');
  const delLocal = bool(p, 'delete-emptydir-data') || bool(p, 'delete-local-data');
  const force = bool(p, 'force');
  let stdout = '';
  for (const name of p.args) {
    const n = c.cl.node(name);
    if (!n) return fail(1, stderr + `Error from server (NotFound): nodes "${name}" not found\n`, stdout);
    stdout += n.unschedulable ? `node/${name} already cordoned\n` : `node/${name} cordoned\n`;
    await c.cl.sleep(TIME.cordonMs);
    c.cl.setUnschedulable(name, true);
    c.cl.settle();
    const pods = c.cl.podsOn(name);
    const fatal: Record<string, string[]> = {};
    const warn: Record<string, string[]> = {};
    const toEvict: Pod[] = [];
    for (const pod of pods) {
      // kubectl drain's filters: any finished pod can be removed (DaemonSet, emptyDir, no controller alike)
      if (pod.failed) {
        if (pod.owner !== 'Node') toEvict.push(pod);
        continue;
      }
      if (pod.owner === 'DaemonSet') {
        if (ignoreDS) (warn['ignoring DaemonSet-managed Pods'] ??= []).push(podRef(pod));
        else (fatal[`cannot delete ${DS_FATAL}`] ??= []).push(podRef(pod));
        continue;
      }
      if (pod.owner === 'Node') continue;
      if (pod.emptyDir && !delLocal) {
        (fatal[`cannot delete ${LOCAL_FATAL}`] ??= []).push(podRef(pod));
        continue;
      }
      if (pod.owner === 'none') {
        if (!force) {
          (fatal[UNMANAGED_FATAL] ??= []).push(podRef(pod));
          continue;
        }
        (warn['deleting Pods that declare no controller'] ??= []).push(podRef(pod));
      }
      toEvict.push(pod);
    }
    const fatals = Object.entries(fatal).map(([k, v]) => `${k}: ${v.join(', ')}`);
    if (fatals.length) return fail(1, stderr + drainFailure(name, fatals), stdout);
    const warns = Object.entries(warn).map(([k, v]) => `${k}: ${v.join(', ')}`);
    if (warns.length) stderr += `Warning: ${warns.join('; ')}\n`;
    const deadline = timeoutMs > 0 ? Date.now() + scaled(timeoutMs, c.cl.speed) : Infinity;
    const errors: { pod: Pod; msg: string }[] = [];
    const gone = (pod: Pod) => c.cl.isGone(pod);
    const pollMs = Math.max(2, scaled(1000, c.cl.speed));
    await Promise.all(
      toEvict.map(async (pod) => {
        // eviction loop: 429 from a PDB -> retry after 5s (modelled), until the global timeout
        for (;;) {
          if (gone(pod) || pod.terminatingUntil !== null) break;
          stdout += `evicting pod ${podRef(pod)}\n`;
          // the eviction API does not check a PDB for a pod that is not running
          const b = pod.failed ? undefined : c.cl.pdbFor(pod);
          // the pdb-block fault makes every PDB on this node refuse (as a PDB with minAvailable = replicas would)
          const blocked =
            b !== undefined &&
            (c.cl.pdbBlocked(name) || (c.cl.healthy(pod) && c.cl.disruptionsAllowed(b) < 1));
          if (!blocked) {
            c.cl.evict(pod, TIME.podEvictMs);
            break;
          }
          stderr += `error when evicting pods/"${pod.name}" -n "${pod.ns}" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.\n`;
          const wait = scaled(TIME.pdbRetryMs, c.cl.speed);
          if (Date.now() + wait > deadline) {
            await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())));
            errors.push({
              pod,
              msg: `error when evicting pods/"${pod.name}" -n "${pod.ns}": global timeout reached: ${goDuration(timeoutMs)}`,
            });
            return;
          }
          await new Promise((r) => setTimeout(r, wait));
        }
        while (!gone(pod)) {
          if (Date.now() > deadline) {
            errors.push({
              pod,
              msg: `error when waiting for pod "${pod.name}" in namespace "${pod.ns}" to terminate: global timeout reached: ${goDuration(timeoutMs)}`,
            });
            return;
          }
          await new Promise((r) => setTimeout(r, pollMs));
          c.cl.settle();
        }
        stdout += `pod/${pod.name} evicted\n`;
      }),
    );
    if (errors.length) {
      const agg = errors.length === 1 ? errors[0]!.msg : `[${errors.map((e) => e.msg).join(', ')}]`;
      stderr += `There are pending pods in node "${name}" when an error occurred: ${agg}\n`;
      stderr += errors.map((e) => `pod/${e.pod.name}\n`).join('');
      return fail(
        1,
        stderr +
          drainFailure(
            name,
            errors.map((e) => e.msg),
          ),
        stdout,
      );
    }
    stdout += `node/${name} drained\n`;
  }
  return ok(stdout, stderr);
}

export { isEvictable };
