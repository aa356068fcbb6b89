/**
 * The lab controller's HTTP/JSON API on 127.0.0.1 (see cluster.ts for why a controller):
 *   POST /exec   {node, tool, argv, ctx} -> {stdout, stderr, exit, drop?, effects?}; the response
 *                is held for the modelled duration, faults apply, an `exec` event is written
 *   POST /event  {type:'ssh', node, cmd, exit}
 * and, for the bash shims and the node shell, the plain TCP exec port (lab/src/shim/exec-port.ts)
 * whose address it writes to DIR/controller.addr.
 *   GET  /status, GET /state, GET /faults, POST /fault, POST /faults/clear {id?},
 *   POST /cordon {node, cordon} (an operator's cordon/uncordon, recorded as an `operator` event),
 *   POST /node   {node, down}
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { Cluster } from './cluster';
import type { ClusterState, FaultSpec, LabSpec } from '../model/state';
import { buildInitialState } from '../model/state';
import { shellJoin } from '../model/format';
import type { ExecRequest, ExecResult, Tool } from '../tools/types';
import { kubeadm } from '../tools/kubeadm';
import { kubectl } from '../tools/kubectl';
import { kubectlReal } from '../tools/kubectl-real';
import { yum, aptGet, aptCache, aptMark, rpm, dpkgQuery, dpkg } from '../tools/packages';
import { zypper } from '../tools/zypper';
import { systemctl, swapon, etcdctl } from '../tools/system';
import { curl, gpg } from '../tools/keys';
import { TIME } from '../model/time-model';
import { startExecPort } from '../shim/exec-port';
import { startRealApi, type RealApi } from '../api/real-lab';

const TOOLS: Record<string, Tool> = {
  kubeadm,
  kubectl,
  yum,
  dnf: yum,
  'apt-get': aptGet,
  'apt-cache': aptCache,
  'apt-mark': aptMark,
  systemctl,
  swapon,
  etcdctl,
  rpm,
  'dpkg-query': dpkgQuery,
  curl,
  gpg,
  dpkg,
  zypper,
};

/** What a command prints when a `fail` fault hits it and no message was given: a realistic one. */
export function defaultFailure(tool: string, argv: string[]): { stderr: string; exit: number } {
  switch (tool) {
    case 'kubeadm':
      return {
        stderr:
          `[upgrade/health] FATAL: [preflight] Some fatal errors occurred:\n\t[ERROR CreateJob]: Job "upgrade-health-check-${Date.now()}" in the namespace "kube-system" did not complete in 15s: no condition of type Complete\n` +
          '[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\nTo see the stack trace of this error execute with --v=5 or higher\n',
        exit: 1,
      };
    case 'kubectl':
      return { stderr: 'Unable to connect to the server: net/http: TLS handshake timeout\n', exit: 1 };
    case 'yum':
    case 'dnf':
      return {
        stderr:
          "Error: Failed to download metadata for repo 'kubernetes': Cannot download repomd.xml: Curl error (28): Timeout was reached for https://pkgs.k8s.io/core:/stable:/v1/rpm/repodata/repomd.xml [Operation timed out after 30000 milliseconds with 0 out of 0 bytes received]\n",
        exit: 1,
      };
    case 'apt-get':
      return {
        stderr:
          "E: Failed to fetch https://pkgs.k8s.io/core:/stable:/v1/deb/InRelease  Temporary failure resolving 'pkgs.k8s.io'\nE: Some index files failed to download. They have been ignored, or old ones used instead.\n",
        exit: 100,
      };
    case 'apt-cache':
    case 'apt-mark':
      return {
        stderr:
          'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (unattended-upgr)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\n',
        exit: 100,
      };
    case 'systemctl':
      return {
        stderr: `Job for ${argv[1] ?? 'kubelet'}.service failed because the control process exited with error code.\nSee "systemctl status ${argv[1] ?? 'kubelet'}.service" and "journalctl -xeu ${argv[1] ?? 'kubelet'}.service" for details.\n`,
        exit: 1,
      };
    case 'etcdctl':
      return { stderr: 'Error: context deadline exceeded\n', exit: 1 };
    default:
      return { stderr: `${tool}: Input/output error\n`, exit: 1 };
  }
}

function readBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(s ? JSON.parse(s) : {});
      } catch (e) {
        reject(e as Error);
      }
    });
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, code: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

export function loadState(dir: string, spec: LabSpec): { state: ClusterState; fresh: boolean } {
  const file = path.join(dir, 'state.json');
  if (fs.existsSync(file)) {
    const state = JSON.parse(fs.readFileSync(file, 'utf8')) as ClusterState;
    // JSON has no Infinity: a pending pod's readyAt comes back as null
    for (const p of state.pods) if (p.readyAt === null) p.readyAt = Infinity;
    return { state, fresh: false };
  }
  return { state: buildInitialState(spec, Date.now()), fresh: true };
}

export interface Controller {
  port: number;
  cluster: Cluster;
  close(): Promise<void>;
}

export async function execute(cl: Cluster, req: ExecRequest): Promise<ExecResult | null> {
  const node = cl.node(req.node);
  const cmdline = shellJoin([req.tool, ...req.argv]);
  if (!node)
    return { stdout: '', stderr: `kupgrade-lab: unknown node ${JSON.stringify(req.node)}\n`, exit: 1 };
  const tool = req.tool === 'kubectl' && cl.api ? kubectlReal : TOOLS[req.tool];
  if (!tool) return { stdout: '', stderr: `kupgrade-lab: ${req.tool}: not a lab command\n`, exit: 127 };
  const fault = cl.takeCommandFault(node.name, cmdline);
  const started = Date.now();
  let result: ExecResult;
  if (fault?.kind === 'hang' && fault.forMs === undefined) return null;
  if (fault?.kind === 'hang' && fault.forMs !== undefined) await cl.sleep(fault.forMs);
  if (fault?.kind === 'fail') {
    await cl.sleep(TIME.trivialMs);
    const d = defaultFailure(req.tool, req.argv);
    const msg =
      fault.message === undefined
        ? d.stderr
        : fault.message.endsWith('\n')
          ? fault.message
          : fault.message + '\n';
    result = { stdout: '', stderr: msg, exit: fault.exit ?? d.exit };
  } else if (fault?.kind === 'drop' && fault.when === 'before') {
    result = { stdout: '', stderr: '', exit: 255, drop: true };
  } else {
    try {
      result = await tool({
        cl,
        node,
        argv: req.argv,
        ctx: req.ctx ?? { files: {}, env: {}, localTime: '' },
        cmdline,
        ...(req.killed ? { killed: req.killed } : {}),
      });
    } catch (e) {
      result = {
        stdout: '',
        stderr: `kupgrade-lab: internal error in ${req.tool}: ${(e as Error).stack ?? String(e)}\n`,
        exit: 70,
      };
    }
    if (fault?.kind === 'drop') result = { ...result, drop: true };
    // a real-API lab: what the command changed in the model is in the API before it returns
    // (kubeadm apply returns once the new kube-apiserver answers, as the real one waits for it)
    if (cl.api && req.tool !== 'kubectl') await cl.api.sync();
  }
  // ms: how long the tool held the command (its modelled time, PDB waits included), so that a
  // benchmark can tell the orchestrator's own time from the cluster's
  if (req.killed?.aborted) {
    // the command's process died mid-way (its SSH session was killed): what it had done stays
    cl.event(node.name, 'exec', cmdline, 137, Date.now() - started, true);
    return result;
  }
  cl.event(node.name, 'exec', cmdline, result.exit, Date.now() - started);
  return result;
}

export async function startController(dir: string, opts: { port?: number } = {}): Promise<Controller> {
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'lab.json'), 'utf8')) as LabSpec;
  const { state, fresh } = loadState(dir, spec);
  const cl = new Cluster(dir, spec, state, { fresh });
  const real: RealApi | null = spec.options.api === 'real' ? await startRealApi(dir, cl, fresh) : null;
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    void (async () => {
      try {
        const url = req.url ?? '/';
        if (req.method === 'POST' && url === '/exec') {
          const body = (await readBody(req)) as ExecRequest;
          const r = await execute(cl, body);
          if (r === null) {
            // hang fault: never answer; the connection stays open until the client goes away
            hanging.add(res);
            res.on('close', () => hanging.delete(res));
            return;
          }
          return send(res, 200, r);
        }
        if (req.method === 'POST' && url === '/event') {
          const b = (await readBody(req)) as { type?: string; node?: string; cmd?: string; exit?: number };
          if (b.type !== 'ssh' || typeof b.node !== 'string' || typeof b.cmd !== 'string')
            return send(res, 400, { error: 'want {type:"ssh", node, cmd, exit}' });
          cl.event(b.node, 'ssh', b.cmd, typeof b.exit === 'number' ? b.exit : -1);
          return send(res, 200, { ok: true });
        }
        if (req.method === 'GET' && url === '/status') return send(res, 200, status(cl));
        if (req.method === 'GET' && url === '/state') {
          cl.settle();
          return send(res, 200, cl.state);
        }
        if (req.method === 'GET' && url === '/faults') return send(res, 200, cl.state.faults);
        if (req.method === 'POST' && url === '/fault') {
          const spec = (await readBody(req)) as FaultSpec;
          const err = validateFault(cl, spec);
          if (err) return send(res, 400, { error: err });
          return send(res, 200, cl.addFault(spec));
        }
        if (req.method === 'POST' && url === '/faults/clear') {
          const b = (await readBody(req)) as { id?: number };
          return send(res, 200, { removed: cl.clearFaults(b.id) });
        }
        if (req.method === 'POST' && url === '/cordon') {
          const b = (await readBody(req)) as { node: string; cordon: boolean };
          if (!cl.node(b.node)) return send(res, 404, { error: `no node ${b.node}` });
          cl.operatorCordon(b.node, !!b.cordon);
          return send(res, 200, { ok: true });
        }
        if (req.method === 'POST' && url === '/node') {
          const b = (await readBody(req)) as { node: string; down: boolean };
          if (!cl.node(b.node)) return send(res, 404, { error: `no node ${b.node}` });
          cl.setDown(b.node, !!b.down);
          return send(res, 200, { ok: true });
        }
        send(res, 404, { error: `no route ${req.method} ${url}` });
      } catch (e) {
        send(res, 500, { error: (e as Error).message });
      }
    })();
  });
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 100_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: opts.port ?? 0, backlog: 4096 }, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const execPort = await startExecPort(dir, cl, (req) => execute(cl, req));
  fs.writeFileSync(path.join(dir, 'controller.addr'), `127.0.0.1 ${execPort.port}\n`);
  let closed = false;
  const ctl: Controller = {
    port,
    cluster: cl,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const r of hanging) r.destroy();
      await execPort.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await real?.close();
      cl.close();
    },
  };
  return ctl;
}

function validateFault(cl: Cluster, f: FaultSpec): string | null {
  const kinds = [
    'fail',
    'hang',
    'drop',
    'pdb-block',
    'kubelet-not-ready',
    'package-missing',
    'swap',
    'dpkg-interrupt',
    'pod-slow-ready',
    'manifest-rollback',
  ];
  if (!f || !kinds.includes(f.kind)) return `kind must be one of ${kinds.join(', ')}`;
  if ('node' in f && f.node !== undefined && !cl.node(f.node)) return `no node ${f.node}`;
  if ((f.kind === 'fail' || f.kind === 'hang' || f.kind === 'drop') && !f.match)
    return `${f.kind} needs match`;
  if (
    (f.kind === 'kubelet-not-ready' ||
      f.kind === 'package-missing' ||
      f.kind === 'swap' ||
      f.kind === 'dpkg-interrupt' ||
      f.kind === 'pod-slow-ready' ||
      f.kind === 'manifest-rollback') &&
    !f.node
  )
    return `${f.kind} needs node`;
  if (f.kind === 'manifest-rollback' && !cl.node(f.node)?.cp) return `${f.node} is not a control plane`;
  if (f.kind === 'pod-slow-ready' && !(f.forMs > 0)) return 'pod-slow-ready needs forMs > 0';
  if (f.kind === 'package-missing' && !f.version) return 'package-missing needs version';
  return null;
}

export interface NodeStatus {
  name: string;
  role: string;
  address: string;
  ready: boolean;
  unschedulable: boolean;
  down: boolean;
  kubelet: string;
  kubeadm: string;
  apiserver: string | null;
  pods: number;
}

export function status(cl: Cluster): {
  name: string;
  kubernetesVersion: string;
  coredns: string;
  kubeProxy: string;
  nodes: NodeStatus[];
  faults: number;
} {
  cl.settle();
  return {
    name: cl.state.name,
    kubernetesVersion: cl.state.kubernetesVersion,
    coredns: cl.state.coredns,
    kubeProxy: cl.state.kubeProxy,
    nodes: cl.nodes().map((n) => ({
      name: n.name,
      role: n.role,
      address: n.address,
      down: n.down,
      ...cl.fields(n.name),
    })),
    faults: cl.state.faults.length,
  };
}
