/**
 * A command killed mid-way (its process dies: the SSH session was closed under it) leaves what
 * the real tool leaves: `kubeadm upgrade apply` with some static pod manifests swapped and
 * kubeadm-config still at the old version; apt with dpkg interrupted (the next install refuses);
 * and an exec line with `killed`, which `kupgrade-lab check` reports, with a rerun after it.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { checkEvents } from '../../lab/src/check/replay';
import { clearFaults, injectFault } from '../../lab/src/lab';
import { downInProcess, type InProcessLab, readEvents, upInProcess } from '../helpers/lab';
import { nodeFile, run, start } from './helpers';

jest.setTimeout(120_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function killAfter(dir: string, node: string, tool: string, args: string[], ms: number) {
  const p = start(dir, node, tool, args);
  const exited = new Promise((r) => p.once('exit', r));
  await sleep(ms);
  expect(p.exitCode).toBeNull(); // still running when killed
  p.kill('SIGKILL');
  await exited;
}

/** Waits for the killed command's exec line (written when the modelled command ends). */
async function killedLine(dir: string, re: RegExp): Promise<Record<string, unknown>> {
  for (let i = 0; i < 400; i++) {
    const e = readEvents<Record<string, unknown>>(dir).find(
      (x) => x.type === 'exec' && re.test(String(x.cmd)) && x.killed,
    );
    if (e) return e;
    await sleep(25);
  }
  throw new Error(`no killed exec line for ${re}`);
}

describe('a command killed mid-way (speed 10)', () => {
  let lab: InProcessLab;
  let dir: string;
  beforeAll(async () => {
    lab = await upInProcess({ controlPlanes: 1, workers: 1, version: '1.29.6', packages: 'apt', speed: 10 });
    dir = lab.dir;
  });
  afterAll(async () => {
    await downInProcess(lab);
  });

  test('apt: dpkg is left interrupted and the next install refuses with apt’s text', async () => {
    expect(await run(dir, 'w-1', 'apt-get', ['update'])).toMatchObject({ code: 0 });
    // repo query 0.12 s, download 0.75 s, dpkg 0.75 s: killed in dpkg
    await killAfter(
      dir,
      'w-1',
      'apt-get',
      ['install', '-y', '--allow-change-held-packages', 'kubelet=1.29.15-1.1'],
      1_250,
    );
    expect(await killedLine(dir, /^apt-get install -y --allow-change-held-packages kubelet=/)).toMatchObject({
      exit: 137,
      node: 'w-1',
    });
    const again = await run(dir, 'w-1', 'apt-get', [
      'install',
      '-y',
      '--allow-change-held-packages',
      'kubelet=1.29.15-1.1',
    ]);
    expect(again).toMatchObject({
      code: 100,
      stderr:
        "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem. \n",
    });
    const q = await run(dir, 'w-1', 'dpkg-query', ['-W', '-f=${Package} ${Version} ${Status}\\n', 'kubelet']);
    // kubelet is held (apt-mark hold), so dpkg's want flag reads hold
    expect(q.stdout).toBe('kubelet 1.29.15-1.1 hold ok half-configured\n');
  });

  test('kubeadm upgrade apply: some manifests new, the rest and kubeadm-config old', async () => {
    expect((await run(dir, 'cp-1', 'apt-get', ['update'])).code).toBe(0);
    expect(
      await run(dir, 'cp-1', 'apt-get', [
        'install',
        '-y',
        '--allow-change-held-packages',
        'kubeadm=1.29.15-1.1',
      ]),
    ).toMatchObject({
      code: 0,
    });
    const manifest = (c: string) =>
      fs.readFileSync(nodeFile(dir, 'cp-1', `etc/kubernetes/manifests/${c}.yaml`), 'utf8');
    // preflight 1.5 s, image pull 4 s, then 3 s per static pod: killed during the first swap
    await killAfter(dir, 'cp-1', 'kubeadm', ['upgrade', 'apply', 'v1.29.15', '--yes'], 7_000);
    await killedLine(dir, /^kubeadm upgrade apply v1\.29\.15/);
    expect(manifest('kube-apiserver')).toMatch(/kube-apiserver:v1\.29\.15/);
    expect(manifest('kube-scheduler')).toMatch(/kube-scheduler:v1\.29\.6/);
    const cm = await run(dir, 'cp-1', 'kubectl', [
      '--kubeconfig=/etc/kubernetes/admin.conf',
      '-n',
      'kube-system',
      'get',
      'cm',
      'kubeadm-config',
      '-o',
      'yaml',
    ]);
    expect(cm.stdout).toMatch(/kubernetesVersion: v1\.29\.6/);
  });
});

describe('the drop fault and a command detached from its session', () => {
  let lab: InProcessLab;
  let dir: string;
  beforeAll(async () => {
    lab = await upInProcess({
      controlPlanes: 1,
      workers: 1,
      version: '1.29.6',
      packages: 'yum',
      speed: 1000,
    });
    dir = lab.dir;
  });
  afterAll(async () => {
    await downInProcess(lab);
  });

  test.each(['before', 'after'] as const)(
    'drop %s: the connection goes, the detached command completes',
    async (when) => {
      await injectFault(dir, { kind: 'drop', match: 'kubeadm version', times: 1, when });
      // the session's sshd is gone and its pid taken by another process: it is not killed
      const other = spawn('sleep', ['30'], { stdio: 'ignore' });
      const r = await run(dir, 'cp-1', 'kubeadm', ['version', '-o', 'short'], {
        KUPGRADE_LAB_SESSION_PID: String(other.pid),
        KUPGRADE_LAB_SID: '1', // not the shim's session: it was started with setsid
      });
      expect(r).toMatchObject({ code: 0, stdout: 'v1.29.6\n' });
      expect(other.exitCode).toBeNull();
      expect(other.signalCode).toBeNull();
      other.kill();
      await clearFaults(dir);
    },
  );
});

describe('kupgrade-lab check counts killed transactions and their reruns', () => {
  const state = (node: string, cp: boolean, v: string) =>
    JSON.stringify({
      node,
      type: 'state',
      unschedulable: false,
      ready: true,
      kubelet: v,
      kubeadm: v,
      apiserver: cp ? v : null,
      pods: 0,
    });
  const exec = (node: string, cmd: string, exit: number, killed = false) =>
    JSON.stringify({ node, type: 'exec', cmd, exit, ...(killed ? { killed: true } : {}) });
  const up = [state('cp-1', true, 'v1.29.6')];

  test.each<[string, string[], string[], number, number]>([
    ['a clean apply', [exec('cp-1', 'kubeadm upgrade apply v1.29.15 --yes', 0)], [], 0, 0],
    [
      'an apply killed, then run again',
      [
        exec('cp-1', 'kubeadm upgrade apply v1.29.15 --yes', 137, true),
        exec('cp-1', 'kubeadm upgrade apply v1.29.15 --yes', 0),
      ],
      ['transaction-killed', 'transaction-rerun'],
      1,
      1,
    ],
    [
      'an install killed',
      [exec('cp-1', 'apt-get install -y kubelet=1.29.15-1.1', 137, true)],
      ['transaction-killed'],
      1,
      0,
    ],
    ['a killed read is no transaction', [exec('cp-1', 'kubectl get nodes', 137, true)], [], 0, 0],
  ])('%s', (_name, rows, rules, killed, reruns) => {
    const r = checkEvents([...up, ...rows], { target: 'v1.29.6' });
    expect(r.violations.map((v) => v.rule).filter((x) => x.startsWith('transaction'))).toEqual(rules);
    expect({ killed: r.killed, reruns: r.reruns }).toEqual({ killed, reruns });
  });
});
