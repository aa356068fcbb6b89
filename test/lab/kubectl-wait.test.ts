/**
 * The lab's `kubectl wait` for nodes behaves as kubectl's (staging/src/k8s.io/kubectl/pkg/cmd/wait):
 * it holds until the condition is met (a restarted kubelet's node turning Ready) and prints
 * `node/NAME condition met`; it prints kubectl's timeout error with exit 1 when `--timeout` runs out
 * (0 = check once); jsonpath conditions compare the value at the path; unknown nodes are NotFound.
 */
import { downInProcess, type InProcessLab, upInProcess } from '../helpers/lab';
import { run } from './helpers';

jest.setTimeout(60_000);

let lab: InProcessLab;
const on = (node: string, tool: string, ...args: string[]) => run(lab.dir, node, tool, args);
const KCFG = '--kubeconfig=/etc/kubernetes/admin.conf';

beforeAll(async () => {
  // speed 5: a restarted kubelet's node is Ready 15 s (modelled) = 3 s later
  lab = await upInProcess({ controlPlanes: 1, workers: 1, version: '1.29.6', packages: 'yum', speed: 5 });
});
afterAll(async () => {
  await downInProcess(lab);
});

async function ready(node: string): Promise<string | undefined> {
  const g = await on('cp-1', 'kubectl', KCFG, 'get', 'node', node, '-o', 'json');
  const obj = JSON.parse(g.stdout) as { status: { conditions: { type: string; status: string }[] } };
  return obj.status.conditions.find((c) => c.type === 'Ready')?.status;
}

test('waits for a restarted kubelet’s node to be Ready, and times out as kubectl does', async () => {
  expect(await on('cp-1', 'kubectl', KCFG, 'wait', '--for=condition=Ready', 'node/w-1')).toMatchObject({
    code: 0,
    stdout: 'node/w-1 condition met\n',
  });
  expect((await on('w-1', 'systemctl', 'restart', 'kubelet')).code).toBe(0);
  expect(await ready('w-1')).toBe('False');
  expect(
    await on('cp-1', 'kubectl', KCFG, 'wait', '--for=condition=Ready', '--timeout=0s', 'node/w-1'),
  ).toMatchObject({
    code: 1,
    stdout: '',
    stderr: 'error: timed out waiting for the condition on nodes/w-1\n',
  });
  expect(
    await on('cp-1', 'kubectl', KCFG, 'wait', '--for=condition=Ready=False', '--timeout=0s', 'node', 'w-1'),
  ).toMatchObject({ code: 0, stdout: 'node/w-1 condition met\n' });
  const w = await on('cp-1', 'kubectl', KCFG, 'wait', '--for=condition=Ready', '--timeout=5m', 'node/w-1');
  expect(w).toMatchObject({ code: 0, stdout: 'node/w-1 condition met\n', stderr: '' });
  // it returned because the node is Ready, not because it gave up
  expect(await ready('w-1')).toBe('True');
});

test('jsonpath conditions compare the value at the path', async () => {
  const path = (v: string) => `--for=jsonpath={.status.nodeInfo.kubeletVersion}=${v}`;
  expect(await on('cp-1', 'kubectl', KCFG, 'wait', path('v1.29.6'), 'node/w-1')).toMatchObject({
    code: 0,
    stdout: 'node/w-1 condition met\n',
  });
  expect(
    await on('cp-1', 'kubectl', KCFG, 'wait', path("'v1.30.14'"), '--timeout=1s', 'node/w-1'),
  ).toMatchObject({ code: 1, stderr: 'error: timed out waiting for the condition on nodes/w-1\n' });
  expect(
    await on('cp-1', 'kubectl', KCFG, 'wait', '--for=jsonpath={.status.nodeInfo.kubeletVersion}', 'node/w-1'),
  ).toMatchObject({ code: 1, stderr: expect.stringContaining('jsonpath wait format must be') });
});

test('unknown nodes, conditions and a missing --for are errors', async () => {
  expect(await on('cp-1', 'kubectl', KCFG, 'wait', '--for=condition=Ready', 'node/nope')).toMatchObject({
    code: 1,
    stderr: 'Error from server (NotFound): nodes "nope" not found\n',
  });
  expect(await on('cp-1', 'kubectl', KCFG, 'wait', '--for=ready', 'node/w-1')).toMatchObject({
    code: 1,
    stderr: 'error: unrecognized condition: "ready"\n',
  });
  expect((await on('cp-1', 'kubectl', KCFG, 'wait', 'node/w-1')).code).toBe(1);
});

test('-o json prints the node as it met the condition (kubectl hands the final object to its printer)', async () => {
  const w = await on('cp-1', 'kubectl', KCFG, 'wait', '--for=condition=Ready', '-o', 'json', 'node/w-1');
  expect(w.code).toBe(0);
  const obj = JSON.parse(w.stdout) as {
    kind: string;
    metadata: { name: string };
    spec?: { unschedulable?: boolean };
    status: { nodeInfo: { kubeletVersion: string } };
  };
  expect([obj.kind, obj.metadata.name, obj.status.nodeInfo.kubeletVersion]).toEqual([
    'Node',
    'w-1',
    'v1.29.6',
  ]);
  // the same object `kubectl get -o json` prints, with its 4-space indent
  const g = await on('cp-1', 'kubectl', KCFG, 'get', 'node', 'w-1', '-o', 'json');
  expect(w.stdout.split('\n')[1]).toMatch(/^ {4}"/);
  expect(JSON.parse(g.stdout)).toEqual(obj);
  expect(
    await on('cp-1', 'kubectl', KCFG, 'wait', '--for=condition=Ready', '-o', 'name', 'node/w-1'),
  ).toMatchObject({
    code: 0,
    stdout: 'node/w-1\n',
  });
  expect(
    await on('cp-1', 'kubectl', KCFG, 'wait', '--for=condition=Ready', '-o', 'wide', 'node/w-1'),
  ).toMatchObject({
    code: 1,
    stderr: expect.stringContaining('unable to match a printer suitable for the output format "wide"'),
  });
});
