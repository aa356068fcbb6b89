/**
 * `kubectl exec` into the etcd static pod with the file set of registry.k8s.io/etcd (distroless
 * static + /bin/sh + etcd/etcdctl): a missing program fails like containerd/runc, etcdctl runs
 * with the host's /var/lib/etcd and /etc/kubernetes/pki/etcd mounted, and a file written
 * elsewhere stays in the container.
 */
import * as fs from 'node:fs';
import { containerFiles, lookPath } from '../../lab/src/tools/pod-exec';
import { downInProcess, type InProcessLab, upInProcess } from '../helpers/lab';
import { nodeFile, run } from './helpers';

jest.setTimeout(60_000);

let lab: InProcessLab;
let dir: string;
const on = (node: string, tool: string, ...args: string[]) => run(dir, node, tool, args);
const TLS = [
  '--endpoints=https://127.0.0.1:2379',
  '--cacert=/etc/kubernetes/pki/etcd/ca.crt',
  '--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt',
  '--key=/etc/kubernetes/pki/etcd/healthcheck-client.key',
];

beforeAll(async () => {
  lab = await upInProcess({ controlPlanes: 2, workers: 1, version: '1.29.6', packages: 'yum', speed: 1000 });
  dir = lab.dir;
});
afterAll(async () => {
  await downInProcess(lab);
});

test('the etcd image file set and exec(3) lookup', () => {
  const pod = { owner: 'Node', app: 'etcd' } as Parameters<typeof containerFiles>[0];
  const files = containerFiles(pod, '3.5.10-0');
  expect(files).toContain('/usr/local/bin/etcdctl');
  expect(files).toContain('/usr/local/bin/etcdctl-3.4.18');
  expect(files).toContain('/bin/sh');
  expect(lookPath('etcdctl', files)).toBe('/usr/local/bin/etcdctl');
  for (const p of ['env', 'mv', 'cp', 'etcdutl', 'ls']) expect(lookPath(p, files)).toBeNull();
});

test('a program the distroless image lacks: the runc error, exit 1', async () => {
  const r = await on(
    'cp-1',
    'kubectl',
    '-n',
    'kube-system',
    'exec',
    'etcd-cp-1',
    '--',
    'env',
    'ETCDCTL_API=3',
    'etcdctl',
    'version',
  );
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(
    /^error: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "[0-9a-f]{64}": OCI runtime exec failed: exec failed: unable to start container process: exec: "env": executable file not found in \$PATH: unknown\n$/,
  );
  const abs = await on(
    'cp-1',
    'kubectl',
    '-n',
    'kube-system',
    'exec',
    'etcd-cp-1',
    '--',
    '/bin/mv',
    'a',
    'b',
  );
  expect(abs.stderr).toContain('exec: "/bin/mv": stat /bin/mv: no such file or directory: unknown');
});

test('etcdctl in the pod: the snapshot under /var/lib/etcd is on the node, elsewhere it is not', async () => {
  const r = await on(
    'cp-1',
    'kubectl',
    '-n',
    'kube-system',
    'exec',
    'etcd-cp-1',
    '--',
    'etcdctl',
    ...TLS,
    'snapshot',
    'save',
    '/var/lib/etcd/s.db',
  );
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('Snapshot saved at /var/lib/etcd/s.db\n');
  expect(fs.readFileSync(nodeFile(dir, 'cp-1', 'var/lib/etcd/s.db'), 'utf8')).toContain('node=cp-1');
  const tmp = await on(
    'cp-1',
    'kubectl',
    '-n',
    'kube-system',
    'exec',
    'etcd-cp-1',
    '--',
    'etcdctl',
    ...TLS,
    'snapshot',
    'save',
    '/tmp/s.db',
  );
  expect(tmp.code).toBe(0);
  expect(fs.existsSync(nodeFile(dir, 'cp-1', 'tmp/s.db'))).toBe(false);
  // another control plane's pod: its own node's mount
  const other = await on(
    'cp-1',
    'kubectl',
    '-n',
    'kube-system',
    'exec',
    'etcd-cp-2',
    '--',
    'etcdctl',
    ...TLS,
    'snapshot',
    'save',
    '/var/lib/etcd/o.db',
  );
  expect(other.code).toBe(0);
  expect(fs.readFileSync(nodeFile(dir, 'cp-2', 'var/lib/etcd/o.db'), 'utf8')).toContain('node=cp-2');
  const h = await on(
    'cp-1',
    'kubectl',
    '-n',
    'kube-system',
    'exec',
    'etcd-cp-1',
    '--',
    'etcdctl',
    ...TLS,
    'endpoint',
    'health',
  );
  expect(h.stdout).toMatch(/^https:\/\/127\.0\.0\.1:2379 is healthy/);
});

test('a failing etcdctl: its error and `command terminated with exit code`; kubectl usage errors', async () => {
  const bad = await on(
    'cp-1',
    'kubectl',
    '-n',
    'kube-system',
    'exec',
    'etcd-cp-1',
    '--',
    'etcdctl',
    '--cacert=/root/ca.crt',
    'endpoint',
    'health',
  );
  expect(bad).toMatchObject({
    code: 1,
    stderr: 'Error: open /root/ca.crt: no such file or directory\ncommand terminated with exit code 1\n',
  });
  expect(
    (await on('cp-1', 'kubectl', '-n', 'kube-system', 'exec', 'etcd-cp-9', '--', 'etcdctl')).stderr,
  ).toBe('Error from server (NotFound): pods "etcd-cp-9" not found\n');
  expect((await on('cp-1', 'kubectl', '-n', 'kube-system', 'exec', 'etcd-cp-1', 'etcdctl')).stderr).toMatch(
    /^error: exec \[POD\] \[COMMAND\] is not supported anymore/,
  );
});
