/**
 * `kubectl exec POD -- CMD ARGS`: runs a command in a pod's container with the file set of the
 * container's real image, the way containerd + runc answer.
 *
 * registry.k8s.io/etcd (kubernetes/kubernetes cluster/images/etcd: Dockerfile, Makefile) is
 * gcr.io/distroless/static plus `/bin/sh` (bash-static, for migrate-if-needed.sh) and, in
 * /usr/local/bin, `etcd`, `etcdctl`, `etcd-<v>`, `etcdctl-<v>` for each bundled version (3.4.18
 * and the image's own), `migrate` and `migrate-if-needed.sh`. No coreutils: no `env`, `mv`, `cp`,
 * `ls`; no `etcdutl`. PATH is distroless's /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin.
 * The kubeadm etcd manifest mounts the host's /var/lib/etcd (etcd-data) and /etc/kubernetes/pki/etcd
 * (etcd-certs): a file written there is on the node; anywhere else it stays in the container.
 *
 * A program missing from the image: the exec never starts; containerd's CRI returns the runc error
 * and kubectl prints it as an internal error, exit 1:
 *   error: Internal error occurred: error executing command in container: failed to exec in
 *   container: failed to start exec "<id>": OCI runtime exec failed: exec failed: unable to start
 *   container process: exec: "env": executable file not found in $PATH: unknown
 * (with dockershim/cri-dockerd the same runc text came with `command terminated with exit code 126`).
 * A program that runs and fails: `command terminated with exit code N` on stderr, exit N.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Pod } from '../model/state';
import { parseFlags, str, type FlagDef } from './argv';
import { etcdctl } from './system';
import type { Effect, ExecResult, ToolCall } from './types';
import { fail } from './types';

const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Host directories the kubeadm etcd static pod mounts at the same path. */
export const ETCD_MOUNTS = ['/var/lib/etcd', '/etc/kubernetes/pki/etcd'];

/** The executables in the container of a pod (its image), by absolute path. */
export function containerFiles(pod: Pod, etcdVersion: string): string[] {
  if (pod.owner === 'Node' && pod.app === 'etcd') {
    const v = etcdVersion.replace(/-\d+$/, '');
    const versions = [...new Set(['3.4.18', v])];
    return [
      '/bin/sh',
      '/usr/local/bin/etcd',
      '/usr/local/bin/etcdctl',
      ...versions.flatMap((x) => [`/usr/local/bin/etcd-${x}`, `/usr/local/bin/etcdctl-${x}`]),
      '/usr/local/bin/migrate',
      '/usr/local/bin/migrate-if-needed.sh',
    ];
  }
  if (pod.owner === 'Node') return ['/go-runner', `/usr/local/bin/${pod.app}`];
  return [];
}

/** exec(3)'s lookup: a name with a slash as is, else the first PATH directory that has it. */
export function lookPath(program: string, files: string[]): string | null {
  if (program.includes('/')) return files.includes(path.posix.normalize(program)) ? program : null;
  for (const d of PATH_DIRS) if (files.includes(`${d}/${program}`)) return `${d}/${program}`;
  return null;
}

const EXEC_FLAGS: FlagDef[] = [
  { name: 'namespace', short: 'n', type: 'string' },
  { name: 'kubeconfig', type: 'string' },
  { name: 'context', type: 'string' },
  { name: 'server', short: 's', type: 'string' },
  { name: 'request-timeout', type: 'string' },
  { name: 'v', short: 'v', type: 'string' },
  { name: 'insecure-skip-tls-verify', type: 'bool' },
  { name: 'container', short: 'c', type: 'string' },
  { name: 'stdin', short: 'i', type: 'bool' },
  { name: 'tty', short: 't', type: 'bool' },
  { name: 'quiet', short: 'q', type: 'bool' },
  { name: 'pod-running-timeout', type: 'string' },
];

function oci(program: string, how: string): ExecResult {
  const id = crypto.randomBytes(32).toString('hex');
  return fail(
    1,
    `error: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "${id}": OCI runtime exec failed: exec failed: unable to start container process: exec: "${program}": ${how}: unknown\n`,
  );
}

const underMount = (p: string) => ETCD_MOUNTS.some((m) => p === m || p.startsWith(`${m}/`));

/**
 * `kubectl exec`. `kubeconfigOk` is kubectl's own check of the kubeconfig (null when usable).
 * The etcd container's etcdctl is the lab's etcdctl run against the pod's node, seeing only the
 * mounted host files; what it writes under a mount lands on that node.
 */
export async function podExec(
  c: ToolCall,
  argv: string[],
  kubeconfigOk: (p: ReturnType<typeof parseFlags>) => ExecResult | null,
): Promise<ExecResult> {
  const dash = argv.indexOf('--');
  const p = parseFlags(dash < 0 ? argv : argv.slice(0, dash), EXEC_FLAGS);
  if (p.error) return fail(1, `error: ${p.error}\nSee 'kubectl exec --help' for usage.\n`);
  const command = dash < 0 ? [] : argv.slice(dash + 1);
  if (p.args.length === 0)
    return fail(
      1,
      "error: pod, type/name or --filename must be specified\nSee 'kubectl exec -h' for help and examples\n",
    );
  if (p.args.length > 1 || command.length === 0) {
    return fail(
      1,
      p.args.length > 1
        ? "error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead\nSee 'kubectl exec -h' for help and examples\n"
        : "error: you must specify at least one command for the container\nSee 'kubectl exec -h' for help and examples\n",
    );
  }
  const bad = kubeconfigOk(p);
  if (bad) return bad;
  const ns = str(p, 'namespace') ?? 'default';
  const podName = p.args[0]!.replace(/^pods?\//, '');
  const pod = c.cl.state.pods.find((x) => x.ns === ns && x.name === podName);
  if (!pod) return fail(1, `Error from server (NotFound): pods "${podName}" not found\n`);
  const container = str(p, 'container');
  if (container && container !== pod.app)
    return fail(1, `error: container ${container} not found in pod ${podName}\n`);
  const node = pod.node ? c.cl.node(pod.node) : undefined;
  if (!node)
    return fail(1, `error: cannot exec into a container in a completed pod; current phase is Pending\n`);
  if (node.down)
    return fail(
      1,
      `Error from server: error dialing backend: dial tcp ${node.address}:10250: connect: no route to host\n`,
    );
  const files = containerFiles(pod, node.cp?.etcd ?? '');
  if (files.length === 0)
    return fail(
      1,
      `kupgrade-lab: kubectl exec into ${ns}/${podName} is not simulated (only the static pods)\n`,
    );
  const program = command[0]!;
  const found = lookPath(program, files);
  if (!found) {
    return program.includes('/')
      ? oci(program, `stat ${program}: no such file or directory`)
      : oci(program, 'executable file not found in $PATH');
  }
  const base = path.posix.basename(found);
  let r: ExecResult;
  if (pod.app === 'etcd' && /^etcdctl(-[\d.]+)?$/.test(base)) {
    r = await etcdctlInPod(c, node.name, command.slice(1));
  } else {
    r = fail(126, `kupgrade-lab: ${found} in ${ns}/${podName} is not simulated (etcdctl is)\n`);
  }
  if (r.exit !== 0) return { ...r, stderr: `${r.stderr}command terminated with exit code ${r.exit}\n` };
  return r;
}

async function etcdctlInPod(c: ToolCall, nodeName: string, args: string[]): Promise<ExecResult> {
  const node = c.cl.node(nodeName)!;
  const here = nodeName === c.node.name;
  const hostFile = (p: string): string | null => {
    if (here) return c.ctx.files[p] ?? null;
    try {
      return fs.readFileSync(path.join(c.cl.dir, 'nodes', nodeName, p), 'utf8');
    } catch {
      return null;
    }
  };
  // the container sees the node's files only under the mounts
  const files: Record<string, string | null> = {};
  for (const k of Object.keys(c.ctx.files)) files[k] = underMount(k) ? hostFile(k) : null;
  for (const a of args) {
    const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : a;
    if (v.startsWith('/') && !(v in files)) files[v] = underMount(v) ? hostFile(v) : null;
  }
  const r = await etcdctl({ ...c, node, argv: args, ctx: { ...c.ctx, files, env: {} } });
  const effects: Effect[] = [];
  for (const e of r.effects ?? []) {
    if (e.op !== 'write' || !underMount(e.path)) continue; // the container's own layer
    if (here) effects.push(e);
    else {
      const f = path.join(c.cl.dir, 'nodes', nodeName, e.path);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, e.content, e.mode ? { mode: e.mode } : undefined);
    }
  }
  return { ...r, effects };
}
