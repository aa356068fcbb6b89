/**
 * End to end over real OpenSSH: the seed's runbook as a plain shell script (lab/runbook/upgrade.sh,
 * no kupgrade code) upgrades a 2-control-plane/3-worker yum lab and a 1-control-plane/2-worker apt
 * lab by one minor and `kupgrade-lab check` passes; with the worker order broken (kubelet restarted
 * before drain) `check` fails. Needs dist/ (npm run build) and the lab's sshd.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkLab } from '../../lab/src/api';
import { Lab } from '../helpers/lab';

jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '../..');
const SCRIPT = path.join(ROOT, 'lab/runbook/upgrade.sh');
const CLI = path.join(ROOT, 'bin/kupgrade-lab');

function sh(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const labs: Lab[] = [];
function lab(
  controlPlanes: number,
  workers: number,
  version: string,
  packages: 'yum' | 'apt',
  api?: 'real',
): string {
  const l = Lab.up({
    controlPlanes,
    workers,
    version,
    packages,
    speed: 1000,
    extra: api ? ['--api', api] : [],
  });
  labs.push(l);
  return l.dir;
}

afterAll(() => {
  for (const l of labs) {
    l.down();
    fs.rmSync(l.dir, { recursive: true, force: true });
  }
});

test('yum, 2 control planes + 3 workers, 1.29 -> 1.30: the runbook upgrades and check passes', async () => {
  const dir = lab(2, 3, '1.29.6', 'yum');
  const r = await sh(SCRIPT, ['--dir', dir, '--to', '1.30']);
  expect(r.code).toBe(0);
  // drain's warnings and PDB retries go to stderr; nothing failed
  expect(r.stderr).toContain('Warning: ignoring DaemonSet-managed Pods: ');
  expect(r.stderr).not.toMatch(/^(error|E):/m);
  expect(r.stdout).toContain('target v1.30.14');
  expect(r.stdout).toMatch(
    /=== verify\nNAME {3}STATUS {3}ROLES {11}AGE {3}VERSION\ncp-1 {3}Ready {4}control-plane {3}40d {3}v1\.30\.14\n/,
  );
  expect(checkLab(dir, { target: 'v1.30.14', maxUnavailable: 1 }).violations).toEqual([]);
  const cli = await sh(CLI, ['check', '--dir', dir, '--target', 'v1.30.14']);
  expect(cli.code).toBe(0);
  expect(cli.stdout).toMatch(/^check: OK, \d+ events over 5 nodes, all at v1\.30\.14\n$/);
  // ssh events: every command the nodes received over SSH is in the ground truth
  const ev = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8');
  expect(ev).toContain('"type":"ssh","cmd":"kubeadm upgrade apply v1.30.14 -y","exit":0');
});

test('apt, 1 control plane + 2 workers, 1.32 -> 1.33: the runbook upgrades and check passes', async () => {
  const dir = lab(1, 2, '1.32.4', 'apt');
  const r = await sh(SCRIPT, ['--dir', dir, '--to', '1.33']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(
    '[upgrade] SUCCESS! A control plane node of your cluster was upgraded to "v1.33.13".',
  );
  expect(checkLab(dir, { target: 'v1.33.13' }).violations).toEqual([]);
});

test('the runbook on the real Kubernetes API (--api real), 2 control planes + 2 workers, 1.33 -> 1.34', async () => {
  const dir = lab(2, 2, '1.33.13', 'apt', 'real');
  const r = await sh(SCRIPT, ['--dir', dir, '--to', '1.34']);
  expect(r.code).toBe(0);
  // real kubectl's own words (the eviction API, the DaemonSet filter) and the new server version
  expect(r.stdout).toMatch(/^node\/w-1 drained$/m);
  expect(r.stderr).toContain('Warning: ignoring DaemonSet-managed Pods: ');
  expect(r.stdout).toMatch(
    /=== verify\nNAME +STATUS +ROLES +AGE +VERSION\ncp-1 +Ready +control-plane +\S+ +v1\.34\.4\n/,
  );
  const log = fs.readFileSync(path.join(dir, 'api/logs/kube-apiserver.log'), 'utf8');
  expect([...log.matchAll(/^--- \S+ start \S+\/(v[\d.]+)\/kube-apiserver /gm)].map((m) => m[1])).toEqual([
    'v1.33.13',
    'v1.34.4',
  ]);
  expect(checkLab(dir, { target: 'v1.34.4', maxUnavailable: 1 }).violations).toEqual([]);
});

test('yum with the worker order broken (kubelet before drain): check fails naming the lines', async () => {
  const dir = lab(1, 2, '1.29.6', 'yum');
  const r = await sh(SCRIPT, ['--dir', dir, '--to', '1.30', '--break-order']);
  expect(r.code).toBe(0);
  const v = checkLab(dir, { target: 'v1.30.14' }).violations;
  expect(v.map((x) => x.rule)).toContain('kubelet-changed-undrained');
  expect(v.find((x) => x.rule === 'kubelet-changed-undrained')!.message).toBe(
    'kubelet of w-1 changed v1.29.6 -> v1.30.14 while schedulable',
  );
  const cli = await sh(CLI, ['check', '--dir', dir, '--target', 'v1.30.14']);
  expect(cli.code).toBe(1);
  expect(cli.stdout).toMatch(
    /events\.jsonl:\d+: \[kubelet-changed-undrained\] kubelet of w-1 changed v1\.29\.6 -> v1\.30\.14 while schedulable\n/,
  );
});
