/**
 * The lab's SSH layer in its other address modes: one high port on the extra loopback addresses
 * (what a non-root lab uses), 127.0.0.1 with one port per node (where extra loopback addresses
 * are not usable), and a real non-root user (a throwaway account when the tests run as root):
 * sshd, node shell and mount namespace (`unshare -r -m`) all without root.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { labExec } from '../../lab/src/sshd/client';
import {
  LAB_TOOLS,
  loopbackAddress,
  planAddressesDetailed,
  releaseReservations,
  setNodeDown,
  startSshd,
  stopSshd,
  type LabSshNode,
} from '../../lab/src/sshd/index';

const ROOT = path.resolve(__dirname, '../..');
const SSHD_DIST = path.join(ROOT, 'dist/lab/src/sshd/index.js');
const isRoot = process.getuid?.() === 0;
const dirs: string[] = [];

function labDir(tag: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `kupgrade-ssh-${tag}-`));
  dirs.push(d);
  fs.mkdirSync(path.join(d, 'bin'));
  for (const tool of LAB_TOOLS) {
    fs.writeFileSync(path.join(d, 'bin', tool), `#!/bin/sh\necho "LAB-SHIM ${tool} $*"\n`, { mode: 0o755 });
  }
  return d;
}

afterAll(async () => {
  for (const d of dirs) await stopSshd(d);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('127.0.0.1 with one port per node (extra loopback addresses not usable)', () => {
  let dir: string;
  let nodes: LabSshNode[];

  beforeAll(async () => {
    dir = labDir('single');
    const plan = planAddressesDetailed(4, { singleAddress: true, basePort: 24100 });
    expect(plan.mode).toBe('single');
    nodes = plan.addresses.map((a, i) => ({ name: `n${i}`, ...a }));
    // no lab.json: the node shell finds its node in the sshd module's own state
    await startSshd(dir, nodes);
  });

  test('every node on 127.0.0.1, its own port, pinned as [127.0.0.1]:port', () => {
    expect(new Set(nodes.map((n) => n.address))).toEqual(new Set(['127.0.0.1']));
    expect(new Set(nodes.map((n) => n.port)).size).toBe(4);
    const kh = fs.readFileSync(path.join(dir, 'ssh', 'known_hosts'), 'utf8');
    for (const n of nodes) expect(kh).toContain(`[127.0.0.1]:${n.port} ssh-ed25519 `);
  });

  test('the port tells the nodes apart', async () => {
    for (const n of nodes) {
      const r = await labExec(
        n,
        'echo $KUPGRADE_LAB_NODE; echo mine > /etc/whoami-${KUPGRADE_LAB_NODE}; ls /etc | grep whoami-',
        { dir },
      );
      expect(r).toMatchObject({ code: 0, stdout: `${n.name}\nwhoami-${n.name}\n` });
    }
  });

  test('a node down refuses its port only', async () => {
    await setNodeDown(dir, 'n2', true);
    await expect(labExec(nodes[2], 'true', { dir })).rejects.toThrow(/ECONNREFUSED/);
    expect((await labExec(nodes[3], 'echo $KUPGRADE_LAB_NODE', { dir })).stdout).toBe('n3\n');
    await setNodeDown(dir, 'n2', false);
    expect((await labExec(nodes[2], 'echo $KUPGRADE_LAB_NODE', { dir })).stdout).toBe('n2\n');
  });
});

describe('planning', () => {
  test('two labs planning at the same moment get different addresses (reservations)', () => {
    const a = planAddressesDetailed(5, { nonRoot: true, basePort: 24400 });
    const b = planAddressesDetailed(5, { nonRoot: true, basePort: 24400 });
    try {
      const ea = new Set(a.addresses.map((x) => `${x.address}:${x.port}`));
      expect(ea.size).toBe(5);
      for (const x of b.addresses) expect(ea.has(`${x.address}:${x.port}`)).toBe(false);
    } finally {
      releaseReservations([...a.addresses, ...b.addresses]);
    }
    // released: planned again, the same addresses come back first
    const c = planAddressesDetailed(5, { nonRoot: true, basePort: 24400 });
    releaseReservations(c.addresses);
    expect(c.addresses).toEqual(a.addresses);
  });

  test("a lab's addresses stay reserved while one of its nodes is down, and come free with the lab", async () => {
    const dir = labDir('hold');
    const a = planAddressesDetailed(2, { nonRoot: true, basePort: 24500 });
    const nodes = a.addresses.map((x, i) => ({ name: `r${i}`, ...x }));
    await startSshd(dir, nodes);
    // while r1 is down nothing listens on its address: a lab planning now must still not take it
    await setNodeDown(dir, 'r1', true);
    const b = planAddressesDetailed(2, { nonRoot: true, basePort: 24500 });
    releaseReservations(b.addresses);
    const ea = new Set(a.addresses.map((x) => `${x.address}:${x.port}`));
    for (const x of b.addresses) expect(ea.has(`${x.address}:${x.port}`)).toBe(false);
    await setNodeDown(dir, 'r1', false);
    await stopSshd(dir);
    const c = planAddressesDetailed(2, { nonRoot: true, basePort: 24500 });
    releaseReservations(c.addresses);
    expect(c.addresses).toEqual(a.addresses);
  });

  test('a reservation whose lab directory is gone is free at once', () => {
    const owner = fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-ssh-owner-'));
    const a = planAddressesDetailed(3, { nonRoot: true, basePort: 24600, owner });
    const b = planAddressesDetailed(3, { nonRoot: true, basePort: 24600 });
    releaseReservations(b.addresses);
    expect(b.addresses).not.toEqual(a.addresses);
    fs.rmSync(owner, { recursive: true, force: true });
    const c = planAddressesDetailed(3, { nonRoot: true, basePort: 24600 });
    releaseReservations(c.addresses);
    expect(c.addresses).toEqual(a.addresses);
  });

  test('loopback addresses spill over 127.0.0.254 into 127.0.1.x', () => {
    expect([0, 252, 253, 254, 506].map(loopbackAddress)).toEqual([
      '127.0.0.2',
      '127.0.0.254',
      '127.0.1.1',
      '127.0.1.2',
      '127.0.1.254',
    ]);
  });
});

describe('one high port on the extra loopback addresses', () => {
  test('nodes at 127.0.0.x on one port other than 22', async () => {
    const dir = labDir('high');
    const plan = planAddressesDetailed(3, { nonRoot: true, basePort: 24200 });
    expect(plan.mode).toBe('loopback-high');
    const ports = new Set(plan.addresses.map((a) => a.port));
    expect(ports.size).toBe(1);
    expect([...ports][0]).toBeGreaterThanOrEqual(24200);
    expect(new Set(plan.addresses.map((a) => a.address)).size).toBe(3);
    const nodes = plan.addresses.map((a, i) => ({ name: `h${i}`, ...a }));
    await startSshd(dir, nodes);
    for (const n of nodes) {
      expect(
        (await labExec(n, 'echo $KUPGRADE_LAB_NODE; /usr/bin/systemctl is-active kubelet', { dir })).stdout,
      ).toBe(`${n.name}\nLAB-SHIM systemctl is-active kubelet\n`);
    }
    await stopSshd(dir);
  });
});

describe('as a non-root user', () => {
  // the tests run as root on CI: a throwaway account proves the non-root path end to end
  const user = isRoot ? `kulab${process.pid % 100000}` : os.userInfo().username;
  let dir: string;
  let nodes: LabSshNode[];

  /** Runs a function of the built sshd module as `user`. */
  function asUser(fn: string, ...args: unknown[]): unknown {
    const code = `const m = require(${JSON.stringify(SSHD_DIST)}); Promise.resolve(m.${fn}(...JSON.parse(process.argv[1])))
      .then((r) => process.stdout.write(JSON.stringify(r ?? null)), (e) => { console.error(e); process.exit(1); });`;
    const argv = [process.execPath, '-e', code, JSON.stringify(args)];
    const out = isRoot
      ? execFileSync('runuser', ['-u', user, '--', ...argv], { encoding: 'utf8' })
      : execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' });
    return JSON.parse(out) as unknown;
  }

  beforeAll(() => {
    if (isRoot) {
      execFileSync('useradd', ['-m', '-s', '/bin/bash', user]);
      // a login profile that tries everything to put the host's tools first
      const home = path.join('/home', user);
      fs.mkdirSync(path.join(home, 'evil'));
      fs.writeFileSync(path.join(home, 'evil', 'systemctl'), '#!/bin/sh\necho HOST-TOOL-REACHED\n', {
        mode: 0o755,
      });
      const profile = [
        'export PATH=$HOME/evil:/usr/sbin:$PATH',
        'systemctl() { echo HOST-FUNCTION; }; export -f systemctl',
        'export BASH_ENV=$HOME/.evil-env',
        'echo PROFILE-RAN >&2',
        '',
      ].join('\n');
      fs.writeFileSync(path.join(home, '.bashrc'), profile);
      fs.writeFileSync(path.join(home, '.profile'), profile);
      fs.writeFileSync(path.join(home, '.evil-env'), 'swapon() { echo HOST-BASH-ENV; }\n');
      execFileSync('chown', ['-R', `${user}:`, home]);
    }
    dir = labDir('nonroot');
    fs.mkdirSync(path.join(dir, 'nodes', 'u0', 'etc', 'kubernetes'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'nodes', 'u0', 'etc', 'kubernetes', 'admin.conf'), 'admin of u0\n');
    if (isRoot) execFileSync('chown', ['-R', `${user}:`, dir]);
    const plan = asUser('planAddressesDetailed', 2, { basePort: 24300 }) as {
      mode: string;
      addresses: { address: string; port: number }[];
    };
    console.log(`[ssh-modes] non-root user ${user}: mode ${plan.mode}, ${JSON.stringify(plan.addresses)}`);
    expect(plan.mode).not.toBe('loopback-22');
    nodes = plan.addresses.map((a, i) => ({ name: `u${i}`, ...a }));
    asUser('startSshd', dir, nodes);
  });

  afterAll(async () => {
    asUser('stopSshd', dir);
    await stopSshd(dir);
    if (isRoot) execFileSync('userdel', ['-r', '-f', user], { stdio: 'ignore' });
  });

  test('sshd and the sessions run as the user, on high ports', async () => {
    const r = await labExec(
      { ...nodes[0], user },
      'echo $KUPGRADE_LAB_NODE; ps -o user= -p $KUPGRADE_LAB_SESSION_PID',
      { dir },
    );
    expect(r.code).toBe(0);
    const [name] = r.stdout.trim().split('\n');
    expect(name).toBe('u0');
    expect(nodes.every((n) => n.port !== 22)).toBe(true);
    const listeners = JSON.parse(fs.readFileSync(path.join(dir, 'ssh', 'sshd.json'), 'utf8')) as {
      groups: { pid: number }[];
    };
    const owner = fs.statSync(`/proc/${listeners.groups[0].pid}`).uid;
    expect(owner).toBe(Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim()));
  });

  test('the node files: its /etc/kubernetes, writes under /etc land in DIR only', async () => {
    const r = await labExec(
      { ...nodes[0], user },
      'cat /etc/kubernetes/admin.conf; echo deb > /etc/apt/sources.list.d/kubernetes.list; echo x > /etc/kupgrade-nonroot; echo k > /var/lib/kubelet/f',
      { dir },
    );
    expect(r).toMatchObject({ code: 0, stdout: 'admin of u0\n' });
    expect(
      fs.readFileSync(
        path.join(dir, 'nodes', 'u0', 'etc', 'apt', 'sources.list.d', 'kubernetes.list'),
        'utf8',
      ),
    ).toBe('deb\n');
    expect(fs.readFileSync(path.join(dir, 'nodes', 'u0', 'etc', 'kupgrade-nonroot'), 'utf8')).toBe('x\n');
    expect(fs.readFileSync(path.join(dir, 'nodes', 'u0', 'var', 'lib', 'kubelet', 'f'), 'utf8')).toBe('k\n');
    expect(fs.existsSync('/etc/kupgrade-nonroot')).toBe(false);
    expect(fs.existsSync('/etc/apt/sources.list.d/kubernetes.list')).toBe(false);
  });

  test("the lab's tools come first whatever the login profile does", async () => {
    const r = await labExec(
      { ...nodes[1], user },
      'command -v systemctl swapon apt-get; systemctl is-active kubelet; swapon --show; /usr/bin/systemctl restart kubelet; /usr/sbin/swapon --show',
      { dir },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/HOST-/);
    expect(r.stderr).not.toContain('PROFILE-RAN');
    expect(r.stdout.trim().split('\n')).toEqual([
      `${dir}/bin/systemctl`,
      `${dir}/bin/swapon`,
      `${dir}/bin/apt-get`,
      'LAB-SHIM systemctl is-active kubelet',
      'LAB-SHIM swapon --show',
      'LAB-SHIM systemctl restart kubelet',
      'LAB-SHIM swapon --show',
    ]);
  });

  test('a command in the user namespace can still drop its own connection (KUPGRADE_LAB_SESSION_PID)', async () => {
    const r = await labExec(
      { ...nodes[0], user },
      'echo before; kill -9 $KUPGRADE_LAB_SESSION_PID || echo kill-failed; sleep 3; echo after',
      { dir },
    ).catch((e: unknown) => e);
    if (r instanceof Error) expect(r.name).toBe('LabSshConnectError');
    else expect(r).toMatchObject({ code: null, stdout: expect.not.stringContaining('after') as unknown });
  });

  test('a node down and back up, driven by the user', async () => {
    asUser('setNodeDown', dir, 'u1', true);
    await expect(labExec({ ...nodes[1], user }, 'true', { dir })).rejects.toThrow(/ECONNREFUSED/);
    expect((await labExec({ ...nodes[0], user }, 'echo $KUPGRADE_LAB_NODE', { dir })).stdout).toBe('u0\n');
    asUser('setNodeDown', dir, 'u1', false);
    expect((await labExec({ ...nodes[1], user }, 'echo $KUPGRADE_LAB_NODE', { dir })).stdout).toBe('u1\n');
  });
});
