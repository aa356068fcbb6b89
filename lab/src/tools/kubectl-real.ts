/**
 * kubectl in a real-API lab: the real kubectl binary (built from Go modules, lab/k8s) of the
 * release the node's kubectl package holds, against the real kube-apiserver, with the kubeconfig
 * the node has (its admin.conf, or what --kubeconfig/$KUBECONFIG names, read from the node's own
 * files). Its argv, output and exit code are the real ones.
 *
 * The one verb that stays emulated is `exec`: it streams through the kubelet's port 10250, and no
 * kubelet runs in the lab (the etcd image's file set is modelled in pod-exec.ts instead).
 */
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { binary, realReleases } from '../api/binaries';
import { apiDir } from '../api/real-lab';
import { splitCommand, type FlagDef } from './argv';
import type { ExecResult, ToolCall } from './types';
import { kubectl as emulated } from './kubectl';

const GLOBAL_STRING: FlagDef[] = [
  { name: 'namespace', short: 'n', type: 'string' },
  { name: 'kubeconfig', type: 'string' },
  { name: 'context', type: 'string' },
  { name: 'server', short: 's', type: 'string' },
  { name: 'request-timeout', type: 'string' },
  { name: 'v', short: 'v', type: 'string' },
];

/** The real release for a node's kubectl package: the same version, else the same minor, else the nearest. */
export function kubectlRelease(pkgVersion: string, releases = realReleases()): string | null {
  if (!releases.length) return null;
  if (releases.includes(pkgVersion)) return pkgVersion;
  const minor = (v: string) => Number(v.split('.')[1]);
  const same = releases.filter((r) => minor(r) === minor(pkgVersion));
  if (same.length) return same[same.length - 1]!;
  return [...releases].sort(
    (a, b) => Math.abs(minor(a) - minor(pkgVersion)) - Math.abs(minor(b) - minor(pkgVersion)),
  )[0]!;
}

/** The node's kubeconfig content as a file the host process can open (content-addressed). */
function hostCopy(c: ToolCall, content: string): string {
  const d = path.join(apiDir(c.cl.dir), 'kubeconfigs');
  fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  const f = path.join(d, `${crypto.createHash('sha256').update(content).digest('hex').slice(0, 16)}.conf`);
  if (!fs.existsSync(f)) fs.writeFileSync(f, content, { mode: 0o600 });
  return f;
}

export async function kubectlReal(c: ToolCall): Promise<ExecResult> {
  const { words } = splitCommand(c.argv, GLOBAL_STRING, 1);
  if (words[0] === 'exec') return emulated(c);
  const release = kubectlRelease(c.node.packages.kubectl.version);
  if (!release)
    return {
      stdout: '',
      stderr: 'kupgrade-lab: no real kubectl build (run scripts/build-k8s.sh)\n',
      exit: 127,
    };
  const argv = [...c.argv];
  const env: Record<string, string> = { PATH: '/usr/bin:/bin', HOME: path.join(apiDir(c.cl.dir), 'home') };
  // the node's kubeconfig: --kubeconfig, else $KUBECONFIG, else root's ~/.kube/config (= admin.conf)
  let flagAt = -1;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') break;
    if (argv[i] === '--kubeconfig' && i + 1 < argv.length) flagAt = i + 1;
    else if (argv[i]!.startsWith('--kubeconfig=')) flagAt = i;
  }
  const nodeFile = (p: string) => c.ctx.files[p];
  if (flagAt >= 0) {
    const eq = argv[flagAt]!.startsWith('--kubeconfig=');
    const p = eq ? argv[flagAt]!.slice('--kubeconfig='.length) : argv[flagAt]!;
    const content = nodeFile(p);
    if (typeof content === 'string')
      argv[flagAt] = eq ? `--kubeconfig=${hostCopy(c, content)}` : hostCopy(c, content);
  } else {
    const p = c.ctx.env.KUBECONFIG ?? '/etc/kubernetes/admin.conf';
    const content = nodeFile(p);
    if (typeof content === 'string') env.KUBECONFIG = hostCopy(c, content);
  }
  fs.mkdirSync(env.HOME!, { recursive: true });
  return new Promise<ExecResult>((resolve) => {
    const child = spawn(binary(release, 'kubectl'), argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const kill = () => child.kill('SIGKILL');
    c.killed?.addEventListener('abort', kill, { once: true });
    child.on('error', (e) => resolve({ stdout: '', stderr: `kubectl: ${e.message}\n`, exit: 127 }));
    child.on('close', (code, signal) => {
      c.killed?.removeEventListener('abort', kill);
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        exit: code ?? (signal === 'SIGKILL' ? 137 : 143),
      });
    });
  });
}
