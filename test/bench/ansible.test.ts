/**
 * The bench's Ansible peer over real OpenSSH: the playbook (bench/ansible/upgrade.yml) refuses a
 * lab whose host keys do not match the known_hosts it is given, and upgrades a 1-control-plane /
 * 2-worker yum lab by one minor. The end state is read from the lab's model (state.json) and its
 * events, not from the playbook's output. Needs dist/ (npm run build), the lab's sshd and
 * Debian's ansible.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkLab, readSpec } from '../../lab/src/api';
import { inventoryOf } from '../../bench/ansible/inventory';
import { runPlaybook } from '../../bench/peers/ansible';
import { Lab } from '../helpers/lab';

jest.setTimeout(300_000);

const TARGET = '1.30.14'; // the newest 1.30 patch of the lab's repository
let lab: Lab;
let dir: string;

beforeAll(() => {
  lab = Lab.up({ controlPlanes: 1, workers: 2, version: '1.29.6', packages: 'yum', speed: 200 });
  dir = lab.dir;
});

afterAll(() => {
  lab?.down();
  fs.rmSync(dir, { recursive: true, force: true });
});

const state = () => lab.state();

/** `ssh HOST true` as Ansible's ssh connection would run it from the inventory; its stderr. */
function sshWithInventoryArgs(host: string): string {
  const vars = inventoryOf(readSpec(dir)).all.vars;
  const node = readSpec(dir).nodes.find((n) => n.name === host);
  if (!node) throw new Error(`no node ${host} in lab.json`);
  const r = spawnSync(
    'ssh',
    [
      ...vars.ansible_ssh_common_args.split(' ').map((a) => a.replace(/^'(.*)'$/, '$1')),
      '-i',
      vars.ansible_ssh_private_key_file,
      '-p',
      String(node.port),
      `${vars.ansible_user}@${node.address}`,
      'true',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 },
  );
  return `exit ${r.status}: ${r.stderr}`;
}
const execs = () => lab.events().filter((e) => e.type === 'exec');

test('host keys other than the known_hosts names: no node is touched', async () => {
  const knownHosts = path.join(dir, 'ssh/known_hosts');
  const real = fs.readFileSync(knownHosts, 'utf8');
  const other = path.join(dir, 'other-host-key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
  const otherKey = fs.readFileSync(`${other}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  // the same hosts, another key
  fs.writeFileSync(
    knownHosts,
    real
      .split('\n')
      .filter(Boolean)
      .map((l) => `${l.split(' ')[0]} ${otherKey}\n`)
      .join(''),
  );
  try {
    const r = await runPlaybook(dir, { minor: '1.30', serial: '10%', readyPollSeconds: 0.025 });
    expect(r.code).not.toBe(0);
    // With pipelining, ssh may exit on the host key before Ansible has written the module to its
    // stdin; Ansible then reports the broken pipe as UNREACHABLE without ssh's own message.
    expect(fs.readFileSync(r.log, 'utf8')).toMatch(
      /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|UNREACHABLE!/,
    );
    // so the cause is read from ssh itself, with the inventory's own connection settings
    expect(sshWithInventoryArgs('cp-1')).toMatch(/Host key verification failed/);
  } finally {
    fs.writeFileSync(knownHosts, real);
  }
  expect(execs()).toEqual([]);
  for (const n of Object.values(state().nodes)) expect(n.packages.kubeadm.version).toBe('1.29.6');
});

test('serial 10%: every node ends at the target, its kubelet restarted after its drain, uncordoned', async () => {
  const r = await runPlaybook(dir, { minor: '1.30', serial: '10%', readyPollSeconds: 0.025 });
  expect({ code: r.code, log: r.code === 0 ? '' : fs.readFileSync(r.log, 'utf8') }).toEqual({
    code: 0,
    log: '',
  });

  const nodes = Object.values(state().nodes);
  expect(nodes.map((n) => n.name).sort()).toEqual(['cp-1', 'w-1', 'w-2']);
  for (const n of nodes) {
    expect({
      node: n.name,
      running: n.kubelet,
      packages: [n.packages.kubeadm.version, n.packages.kubelet.version, n.packages.kubectl.version],
      kubelet: n.kubeletActive,
      ready: n.ready,
      unschedulable: n.unschedulable,
      needsDaemonReload: n.needsDaemonReload,
    }).toEqual({
      node: n.name,
      running: TARGET,
      packages: [TARGET, TARGET, TARGET],
      kubelet: 'active',
      ready: true,
      unschedulable: false,
      needsDaemonReload: false,
    });
  }
  expect(state().nodes['cp-1'].cp?.apiserver).toBe(TARGET);

  // the lab's replay: kubelets restarted only drained, one worker at a time, none left cordoned
  expect(checkLab(dir, { target: `v${TARGET}`, maxUnavailable: 1 }).violations).toEqual([]);
  const ran = execs();
  for (const node of ['cp-1', 'w-1', 'w-2']) {
    const restart = ran.findIndex((e) => e.node === node && e.cmd === 'systemctl restart kubelet');
    const drain = ran.findIndex((e) => e.cmd === `kubectl drain ${node} --ignore-daemonsets`);
    const uncordon = ran.findIndex((e) => e.cmd === `kubectl uncordon ${node}`);
    expect({ node, drained: drain >= 0, restarted: restart >= 0, uncordoned: uncordon >= 0 }).toEqual({
      node,
      drained: true,
      restarted: true,
      uncordoned: true,
    });
    expect(drain).toBeLessThan(restart);
    expect(restart).toBeLessThan(uncordon);
    expect(ran[restart].exit).toBe(0);
  }
  expect(
    ran.filter((e) => /^kubeadm upgrade apply v1\.30\.14 -y$/.test(e.cmd ?? '')).map((e) => e.node),
  ).toEqual(['cp-1']);
  expect(
    ran
      .filter((e) => e.cmd === 'kubeadm upgrade node')
      .map((e) => e.node)
      .sort(),
  ).toEqual(['w-1', 'w-2']);
});
