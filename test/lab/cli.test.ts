/**
 * The kupgrade-lab CLI (bin/kupgrade-lab -> dist): up with a detached controller (no sshd here),
 * status, fault, check exit codes (0 pass, 1 violation, 2 usage), down.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

jest.setTimeout(120_000);

const CLI = path.resolve(__dirname, '../../bin/kupgrade-lab');

function lab(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(CLI, args, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-lab-cli-'));
});
afterAll(async () => {
  await lab('down', '--dir', dir);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('usage errors exit 2', async () => {
  expect((await lab()).code).toBe(2);
  const r = await lab('up', '--dir', dir, '--control-planes', '1');
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^kupgrade-lab: --packages is required\nusage:/);
  expect((await lab('check', '--dir', dir)).stderr).toMatch(/^kupgrade-lab: --target is required/);
  expect((await lab('frobnicate')).code).toBe(2);
});

test('up, status, fault, check, down', async () => {
  const up = await lab(
    'up',
    '--dir',
    dir,
    '--control-planes',
    '1',
    '--workers',
    '2',
    '--version',
    '1.31.2',
    '--packages',
    'dnf',
    '--speed',
    '500',
    '--no-ssh',
    '--cordoned',
    'w-2',
  );
  expect(up.code).toBe(0);
  expect(up.stdout).toMatch(
    /^lab "kupgrade-lab-cli-\w+" is up in [\d.]+s: 1 control plane\(s\), 2 worker\(s\), Kubernetes v1\.31\.2, dnf, speed 500\n/,
  );
  expect(fs.existsSync(path.join(dir, 'cluster.yaml'))).toBe(true);
  // the kupgrade worker config granting the lab's cluster its credentials (issue 13.1)
  expect(fs.readFileSync(path.join(dir, 'worker.yaml'), 'utf8')).toMatch(
    /^kind: WorkerConfig\nclusters:\n {2}kupgrade-lab-cli-\w+:\n {4}ssh:\n/m,
  );
  const again = await lab(
    'up',
    '--dir',
    dir,
    '--control-planes',
    '1',
    '--workers',
    '2',
    '--version',
    '1.31.2',
    '--packages',
    'dnf',
    '--no-ssh',
  );
  expect(again).toMatchObject({ code: 1 });
  expect(again.stderr).toContain('a lab is already up in');

  const st = await lab('status', '--dir', dir);
  expect(st.stdout).toContain('cluster kupgrade-lab-cli-');
  expect(st.stdout).toMatch(
    /\nw-2 +worker +Ready,SchedulingDisabled +v1\.31\.2 +v1\.31\.2 +- +3 +127\.0\.0\.4:22\n/,
  );
  const js = JSON.parse((await lab('status', '--dir', dir, '-o', 'json')).stdout) as {
    nodes: { name: string; apiserver: string | null }[];
  };
  expect(js.nodes.map((n) => [n.name, n.apiserver])).toEqual([
    ['cp-1', 'v1.31.2'],
    ['w-1', null],
    ['w-2', null],
  ]);

  expect(
    (await lab('fault', '--dir', dir, 'fail', '--match', 'kubeadm upgrade apply', '--times', '2')).stdout,
  ).toBe('fault 1: {"kind":"fail","match":"kubeadm upgrade apply","times":2}\n');
  expect((await lab('fault', '--dir', dir, 'swap-on', '--node', 'w-1')).code).toBe(0);
  expect((await lab('fault', '--dir', dir, 'list')).stdout.split('\n').filter(Boolean)).toHaveLength(2);
  expect(await lab('fault', '--dir', dir, 'pdb-block', '--for', 'soon')).toMatchObject({ code: 2 });
  expect((await lab('fault', '--dir', dir, 'kubelet-not-ready', '--node', 'nope')).stderr).toBe(
    'kupgrade-lab: controller: no node nope\n',
  );
  expect((await lab('fault', '--dir', dir, 'clear')).stdout).toBe('cleared 2 fault(s)\n');

  // nothing upgraded: check against another version fails, naming lines; against the current one passes
  const bad = await lab('check', '--dir', dir, '--target', 'v1.32.0');
  expect(bad.code).toBe(1);
  expect(bad.stdout).toMatch(
    /events\.jsonl:1: \[not-at-target\] cp-1 not at v1\.32\.0 at the end: kubelet v1\.31\.2, kubeadm v1\.31\.2, apiserver v1\.31\.2\n/,
  );
  expect(bad.stdout).toMatch(/check: FAIL, 3 violation\(s\) in 3 events over 3 nodes\n$/);
  const good = await lab('check', '--dir', dir, '--target', 'v1.31.2', '--max-unavailable', '25%');
  expect(good).toMatchObject({ code: 0, stdout: 'check: OK, 3 events over 3 nodes, all at v1.31.2\n' });

  const down = await lab('down', '--dir', dir);
  expect(down.code).toBe(0);
  expect(fs.existsSync(path.join(dir, 'controller.json'))).toBe(false);
  expect((await lab('status', '--dir', dir)).code).toBe(1);
});
