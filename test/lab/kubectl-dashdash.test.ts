/**
 * `--` ends kubectl's flags (pflag, as cobra uses it; kubectl drain/cordon/uncordon take the node
 * names from the remaining args, staging/src/k8s.io/kubectl/pkg/cmd/drain/drain.go Complete): the
 * lab's kubectl must accept node names after `--`, and read a name that looks like a flag there
 * as a node name, not as a flag. kupgrade passes node names this way.
 */
import { downInProcess, type InProcessLab, upInProcess } from '../helpers/lab';
import { run } from './helpers';

jest.setTimeout(60_000);

let lab: InProcessLab;
const on = (node: string, tool: string, ...args: string[]) => run(lab.dir, node, tool, args);

beforeAll(async () => {
  lab = await upInProcess({ controlPlanes: 1, workers: 1, version: '1.29.6', packages: 'yum', speed: 1000 });
});
afterAll(async () => {
  await downInProcess(lab);
});

test('drain and uncordon with the node name after --', async () => {
  const d = await on('cp-1', 'kubectl', 'drain', '--ignore-daemonsets', '--timeout=5m', '--', 'w-1');
  expect(d.code).toBe(0);
  expect(d.stdout).toMatch(/^node\/w-1 cordoned\n/);
  expect(d.stdout.endsWith('node/w-1 drained\n')).toBe(true);
  expect(await on('cp-1', 'kubectl', 'uncordon', '--', 'w-1')).toMatchObject({
    code: 0,
    stdout: 'node/w-1 uncordoned\n',
  });
});

test('after --, a flag-like word is a node name', async () => {
  expect(await on('cp-1', 'kubectl', 'uncordon', '--', '--all')).toMatchObject({
    code: 1,
    stderr: 'Error from server (NotFound): nodes "--all" not found\n',
  });
  expect(await on('cp-1', 'kubectl', 'drain', '--ignore-daemonsets', '--', '--dry-run=none')).toMatchObject({
    code: 1,
    stderr: 'Error from server (NotFound): nodes "--dry-run=none" not found\n',
  });
});
