/**
 * The lab's real-SSH layer (lab/src/sshd), as the user running the tests (root on the CI
 * machine: nodes at 127.0.0.x:22 when that is free). Every command goes over ssh2 with strict
 * host-key checking against the lab's known_hosts; node shell and shims run from dist/.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'ssh2';
import { startExecPort, type ExecPort } from '../../lab/src/shim/exec-port';
import { LabSshConnectError, knownHostKeys, labExec, type LabExecOptions } from '../../lab/src/sshd/client';
import {
  LAB_TOOLS,
  ensureSshKeys,
  liveSessions,
  planAddressesDetailed,
  setNodeDown,
  sshdStatus,
  startSshd,
  stopSshd,
  type LabSshNode,
} from '../../lab/src/sshd/index';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-ssh-nodes-'));
const events: { type: string; node: string; cmd: string; exit: number }[] = [];
let controller: ExecPort;
let nodes: LabSshNode[] = [];
const marker = `kupgrade-ssh-test-${process.pid}-${Date.now()}`;

function node(name: string): LabSshNode {
  const n = nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
}

function run(name: string, cmd: string | null, opts: Omit<LabExecOptions, 'dir'> = {}) {
  return labExec(node(name), cmd, { dir, ...opts });
}

function writeLabJson(controllerPort: number): void {
  const roles = ['control-plane', 'worker', 'worker'];
  fs.writeFileSync(
    path.join(dir, 'lab.json'),
    JSON.stringify({
      name: 'ssh-test',
      nodes: nodes.map((n, i) => ({ ...n, role: roles[i] })),
      controller: { host: '127.0.0.1', port: controllerPort },
    }),
  );
  // the node shell reports to the controller's exec port
  fs.writeFileSync(path.join(dir, 'controller.addr'), `127.0.0.1 ${controllerPort}\n`);
}

beforeAll(async () => {
  // a stand-in controller: it records the node shell's ssh events (the shims here are fakes)
  controller = await startExecPort(
    dir,
    { event: (node, type, cmd, exit) => events.push({ type, node, cmd, exit }) },
    () => Promise.resolve({ stdout: '', stderr: 'no tools here\n', exit: 1 }),
  );

  const plan = planAddressesDetailed(3);
  console.log(
    `[ssh-nodes] address mode ${plan.mode}: ${plan.addresses.map((a) => `${a.address}:${a.port}`).join(' ')}`,
  );
  nodes = ['cp-1', 'w-1', 'w-2'].map((name, i) => ({ name, ...plan.addresses[i] }));
  writeLabJson(controller.port);

  // fake shims: they print a marker, so a test sees which binary ran
  fs.mkdirSync(path.join(dir, 'bin'));
  for (const tool of LAB_TOOLS) {
    fs.writeFileSync(
      path.join(dir, 'bin', tool),
      `#!/bin/sh\necho "LAB-SHIM ${tool} node=$KUPGRADE_LAB_NODE args=$*"\n`,
      { mode: 0o755 },
    );
  }
  for (const n of nodes) {
    const k = path.join(dir, 'nodes', n.name, 'etc', 'kubernetes');
    fs.mkdirSync(k, { recursive: true });
    fs.writeFileSync(path.join(k, 'admin.conf'), `# admin.conf of ${n.name}\n`);
  }
  const t0 = Date.now();
  await startSshd(dir, nodes);
  console.log(`[ssh-nodes] startSshd(3 nodes) took ${Date.now() - t0} ms`);
});

afterAll(async () => {
  await stopSshd(dir);
  await controller.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('keys and known_hosts', () => {
  test('client key is 0600, known_hosts pins the lab host key for every node, not the host key', async () => {
    const keys = await ensureSshKeys(dir);
    expect(fs.statSync(keys.clientKeyPath).mode & 0o777).toBe(0o600);
    const kh = fs.readFileSync(keys.knownHostsPath, 'utf8').trim().split('\n');
    expect(kh).toHaveLength(3);
    const labKey = fs.readFileSync(path.join(dir, 'ssh', 'ssh_host_ed25519_key.pub'), 'utf8').split(' ')[1];
    for (const n of nodes) {
      const host = n.port === 22 ? n.address : `[${n.address}]:${n.port}`;
      expect(kh).toContain(`${host} ssh-ed25519 ${labKey}`);
    }
    if (fs.existsSync('/etc/ssh/ssh_host_ed25519_key.pub')) {
      expect(fs.readFileSync('/etc/ssh/ssh_host_ed25519_key.pub', 'utf8')).not.toContain(labKey);
    }
    // idempotent: the same keys on a second call
    await ensureSshKeys(dir);
    expect(fs.readFileSync(path.join(dir, 'ssh', 'ssh_host_ed25519_key.pub'), 'utf8')).toContain(labKey);
  });
});

describe('node identity and files', () => {
  test('each node knows its name, its lab dir and its sshd session; PATH starts with DIR/bin', async () => {
    for (const n of nodes) {
      const r = await run(
        n.name,
        'echo "$KUPGRADE_LAB_NODE|$KUPGRADE_LAB_DIR|$PATH"; cat /proc/$KUPGRADE_LAB_SESSION_PID/comm',
      );
      expect(r.code).toBe(0);
      const [line, comm] = r.stdout.trim().split('\n');
      expect(line).toBe(`${n.name}|${dir}|${dir}/bin:/usr/local/bin:/usr/bin:/bin`);
      expect(comm).toMatch(/^sshd/);
    }
  });

  test('a node sees its own /etc/kubernetes', async () => {
    expect((await run('cp-1', 'cat /etc/kubernetes/admin.conf')).stdout).toBe('# admin.conf of cp-1\n');
    expect((await run('w-1', 'cat /etc/kubernetes/admin.conf')).stdout).toBe('# admin.conf of w-1\n');
  });

  test('a file written under /etc lands in DIR/nodes/NAME/etc, not on the host nor on another node', async () => {
    const r = await run(
      'w-1',
      `mkdir -p /etc/${marker}.d && echo written-on-w-1 > /etc/${marker}.d/f && cat /etc/${marker}.d/f`,
    );
    expect(r).toMatchObject({ code: 0, stdout: 'written-on-w-1\n' });
    expect(fs.readFileSync(path.join(dir, 'nodes', 'w-1', 'etc', `${marker}.d`, 'f'), 'utf8')).toBe(
      'written-on-w-1\n',
    );
    expect(fs.existsSync(`/etc/${marker}.d`)).toBe(false);
    const other = await run('w-2', `test -e /etc/${marker}.d && echo present || echo absent`);
    expect(other.stdout).toBe('absent\n');
  });

  test('sed on a host /etc file changes the node copy only', async () => {
    const file = 'debian_version';
    const host = fs.readFileSync(`/etc/${file}`, 'utf8');
    const r = await run('cp-1', `sed -i 's/^/node-/' /etc/${file}; cat /etc/${file}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`node-${host}`);
    expect(fs.readFileSync(path.join(dir, 'nodes', 'cp-1', 'etc', file), 'utf8')).toBe(`node-${host}`);
    expect(fs.readFileSync(`/etc/${file}`, 'utf8')).toBe(host);
    expect((await run('w-2', `cat /etc/${file}`)).stdout).toBe(host);
  });

  test('/var/lib/kubelet and /var/lib/etcd are the node folders; /tmp and /var writes stay under DIR', async () => {
    const r = await run(
      'w-2',
      `echo k > /var/lib/kubelet/config.yaml && echo e > /var/lib/etcd/member && echo t > /tmp/${marker} && mkdir -p /var/${marker} && ls /var/lib/kubelet`,
    );
    expect(r).toMatchObject({ code: 0, stdout: 'config.yaml\n' });
    expect(
      fs.readFileSync(path.join(dir, 'nodes', 'w-2', 'var', 'lib', 'kubelet', 'config.yaml'), 'utf8'),
    ).toBe('k\n');
    expect(fs.readFileSync(path.join(dir, 'nodes', 'w-2', 'var', 'lib', 'etcd', 'member'), 'utf8')).toBe(
      'e\n',
    );
    expect(fs.existsSync(`/tmp/${marker}`)).toBe(false);
    expect(fs.existsSync(`/var/${marker}`)).toBe(false);
    expect(fs.existsSync('/var/lib/kubelet/config.yaml')).toBe(false);
    // another node does not see it
    expect((await run('cp-1', 'ls /var/lib/kubelet')).stdout).toBe('');
  });

  test('parallel sessions on one node share its files and its one mount namespace', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        run('w-2', `echo ${i} > /etc/par-${i}; sleep 0.3; cat /etc/par-${i}`),
      ),
    );
    results.forEach((r, i) => expect(r).toMatchObject({ code: 0, stdout: `${i}\n` }));
    const seen = await run('w-2', 'cat /etc/par-*');
    expect(seen.stdout.trim().split('\n').sort()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    // every session ran in the node's namespace, made once: one holder, one set of work dirs
    const mnt = await Promise.all(Array.from({ length: 4 }, () => run('w-2', 'readlink /proc/self/ns/mnt')));
    expect(new Set(mnt.map((r) => r.stdout)).size).toBe(1);
    expect(mnt[0].stdout).not.toBe(fs.readlinkSync('/proc/self/ns/mnt') + '\n');
    expect(
      fs.readdirSync(path.join(dir, 'nodes', 'w-2', '.work')).filter((s) => s.startsWith('ns')),
    ).toHaveLength(1);
    expect(fs.readdirSync(path.join(dir, 'ssh', 'sessions', 'w-2'))).toEqual([]);
  });

  test('the lab dir itself stays writable from a session (shims may write there)', async () => {
    const r = await run('cp-1', `echo from-node > "$KUPGRADE_LAB_DIR/${marker}.txt"`);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, `${marker}.txt`), 'utf8')).toBe('from-node\n');
  });
});

describe('the lab tools shadow the host tools', () => {
  test('command -v finds the shims first', async () => {
    const r = await run('cp-1', 'command -v apt-get systemctl swapon kubeadm etcdctl');
    expect(r.stdout.trim().split('\n')).toEqual(
      ['apt-get', 'systemctl', 'swapon', 'kubeadm', 'etcdctl'].map((t) => `${dir}/bin/${t}`),
    );
  });

  test('absolute paths of the host tools run the shims', async () => {
    const paths = [
      '/usr/bin/systemctl',
      '/bin/systemctl',
      '/usr/sbin/swapon',
      '/sbin/swapon',
      '/usr/bin/apt-get',
      '/bin/apt-get',
    ];
    const existing = paths.filter((p) => fs.existsSync(p));
    expect(existing.length).toBeGreaterThan(0);
    const r = await run('w-1', existing.map((p) => `${p} --show`).join('; '));
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(existing.length);
    for (const l of lines) expect(l).toMatch(/^LAB-SHIM (systemctl|swapon|apt-get) node=w-1 args=--show$/);
  });

  test('neither env -i, a changed PATH nor sudo-like wrappers reach the host tools', async () => {
    const r = await run(
      'w-2',
      [
        'env -i /usr/bin/systemctl is-active kubelet',
        'PATH=/usr/sbin:/usr/bin:/sbin:/bin systemctl restart kubelet',
        'PATH=/usr/sbin:/usr/bin:/sbin:/bin swapon --show',
        'sh -c "exec /usr/bin/apt-get update"',
        // a PATH without DIR/bin (sudo's secure_path, a clean environment) finds the lab's kubeadm
        "env -i /bin/sh -c 'kubeadm version'",
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin etcdctl version',
      ].join('; '),
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(6);
    for (const l of lines) expect(l).toMatch(/^LAB-SHIM /);
  });

  test('a host tool that the lab does not provide is unreachable (command not found, 127)', async () => {
    fs.renameSync(path.join(dir, 'bin', 'systemctl'), path.join(dir, 'bin', 'systemctl.off'));
    try {
      const r = await run('w-2', '/usr/bin/systemctl --version');
      expect(r.code).toBe(127);
      expect(r.stderr).toContain('not provided by this kupgrade lab');
      expect(r.stdout).not.toContain('systemd');
    } finally {
      fs.renameSync(path.join(dir, 'bin', 'systemctl.off'), path.join(dir, 'bin', 'systemctl'));
    }
  });
});

describe('commands and events', () => {
  test('stdin, stdout, stderr and the exit code pass through; the controller gets an ssh event', async () => {
    const cmd = `read x; echo "got $x"; echo err >&2; exit 7 # ${marker}`;
    const r = await run('w-1', cmd, { stdin: 'hello\n' });
    expect(r).toMatchObject({ code: 7, stdout: 'got hello\n', stderr: 'err\n' });
    expect(events).toContainEqual({ type: 'ssh', node: 'w-1', cmd, exit: 7 });
  });

  test('an unreachable controller: the event goes to DIR/events.ssh-fallback.jsonl and the command still succeeds', async () => {
    const port = controller.port;
    const free = http.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const deadPort = (free.address() as AddressInfo).port;
    await new Promise((r) => free.close(r));
    writeLabJson(deadPort);
    try {
      const cmd = `echo fallback # ${marker}`;
      const r = await run('cp-1', cmd);
      expect(r).toMatchObject({ code: 0, stdout: 'fallback\n' });
      const lines = fs
        .readFileSync(path.join(dir, 'events.ssh-fallback.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toContainEqual(
        expect.objectContaining({ type: 'ssh', node: 'cp-1', cmd, exit: 0, ts: expect.any(String) }),
      );
    } finally {
      writeLabJson(port);
    }
  });

  test('a session without a command and without a pty is refused', async () => {
    const r = await run('cp-1', null);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no command given');
  });

  test('a session with a pty and no command gets an interactive shell on the node', async () => {
    const r = await run('w-1', null, { pty: true, stdin: 'echo I-AM-$KUPGRADE_LAB_NODE\nexit 4\n' });
    expect(r.code).toBe(4);
    expect(r.stdout).toContain('I-AM-w-1');
    expect(r.stdout).toContain('[w-1] ');
  });

  test('killing KUPGRADE_LAB_SESSION_PID drops the connection', async () => {
    const r = await run('w-2', 'echo before; kill -9 $KUPGRADE_LAB_SESSION_PID; sleep 3; echo after').catch(
      (e: LabSshConnectError) => e,
    );
    if (r instanceof Error) expect(r).toBeInstanceOf(LabSshConnectError);
    else {
      expect(r.code).toBeNull();
      expect(r.stdout).not.toContain('after');
    }
  });
});

describe('authentication', () => {
  test('a key the lab did not issue is refused', async () => {
    const other = path.join(dir, 'other_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    await expect(run('cp-1', 'true', { privateKey: fs.readFileSync(other) })).rejects.toMatchObject({
      level: 'client-authentication',
    });
  });

  test('password authentication is refused', async () => {
    await expect(run('cp-1', 'true', { password: 'root' })).rejects.toMatchObject({
      level: 'client-authentication',
    });
  });

  test('a known_hosts entry with another key makes the client refuse the server', async () => {
    const fake = path.join(dir, 'fake_host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', fake]);
    const blob = fs.readFileSync(`${fake}.pub`, 'utf8').split(' ')[1];
    const n = node('cp-1');
    const kh = path.join(dir, 'wrong_known_hosts');
    fs.writeFileSync(kh, `${n.port === 22 ? n.address : `[${n.address}]:${n.port}`} ssh-ed25519 ${blob}\n`);
    const e = (await run('cp-1', 'true', { knownHostsPath: kh }).catch(
      (x: unknown) => x,
    )) as LabSshConnectError;
    expect(e).toBeInstanceOf(LabSshConnectError);
    expect(e.message).toMatch(/verification failed/i);
  });
});

describe('the node shell', () => {
  test('the login bash runs it itself (no second bash per session), recognisable by its path', async () => {
    // the command's parent is the node shell; the node shell's parent is sshd's session process
    const r = await run(
      'cp-1',
      'p=$PPID; tr "\\0" "\\n" </proc/$p/cmdline; read -r _ _ _ pp _ </proc/$p/stat; echo "parent=$(cat /proc/$pp/comm)"',
    );
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const parent = lines.pop();
    // a bash started with -c by sshd, its ForceCommand ending with the node shell's path
    expect(path.basename(lines[0] ?? '')).toBe('bash');
    expect(lines[1]).toBe('-c');
    expect(lines[lines.length - 1]).toMatch(/\/ssh\/node-shell\.sh$/);
    expect(parent).toMatch(/^parent=sshd/);
  });

  test('a live session is listed with its whole command, however long; nothing is left when it ends', async () => {
    // the record itself keeps the first 200 characters; the tail must still be found (the
    // transaction tests look for `kubeadm upgrade apply` deep inside kupgrade's wrapped commands)
    const cmd = `: ${'x'.repeat(5000)} "quoted" \\ 'single'
: tail-marker; sleep 1`;
    const running = run('w-2', cmd);
    let seen: { cmd: string; pid: number } | undefined;
    for (let i = 0; i < 400 && seen === undefined; i++) {
      seen = liveSessions(dir, 'w-2').find((s) => s.cmd.includes('tail-marker'));
      if (seen === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    expect(seen?.cmd).toBe(cmd);
    expect((await running).code).toBe(0);
    // (an earlier test's session may still be winding down on w-2)
    expect(liveSessions(dir, 'w-2').filter((s) => s.cmd.includes('tail-marker'))).toEqual([]);
    const files = fs.readdirSync(path.join(dir, 'ssh', 'sessions', 'w-2'));
    expect(files.filter((f) => f.startsWith(`${seen?.pid}.`))).toEqual([]);
  });
});

describe('node down', () => {
  test('a down node refuses connections and loses its sessions; the others keep working; back up it works', async () => {
    // a session on a node served by the same sshd, running across the restart
    const survivor = run('cp-1', 'sleep 2; echo survived');
    const victim = run('w-1', 'sleep 30; echo not-killed').catch((e: unknown) => e);
    // an idle pooled connection to the node (no command running) must die too
    const idle = new Client();
    const idleClosed = new Promise<void>((resolve) => idle.on('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      idle.on('ready', () => resolve()).on('error', reject);
      idle.connect({
        host: node('w-1').address,
        port: node('w-1').port,
        username: os.userInfo().username,
        privateKey: fs.readFileSync(path.join(dir, 'ssh', 'id_ed25519')),
        hostVerifier: (key: Buffer) =>
          knownHostKeys(path.join(dir, 'ssh', 'known_hosts'), node('w-1').address, node('w-1').port).includes(
            key.toString('base64'),
          ),
      });
    });
    idle.on('error', () => undefined);
    // wait until the victim's session runs (its node shell records it)
    const sessions = path.join(dir, 'ssh', 'sessions', 'w-1');
    for (let i = 0; i < 600 && fs.readdirSync(sessions).length === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(fs.readdirSync(sessions).length).toBeGreaterThan(0);

    await setNodeDown(dir, 'w-1', true);
    const v = await victim;
    if (v instanceof Error) expect(v).toBeInstanceOf(LabSshConnectError);
    else expect((v as { stdout: string }).stdout).not.toContain('not-killed');
    await expect(run('w-1', 'true')).rejects.toThrow(/ECONNREFUSED/);
    await idleClosed;
    expect(sshdStatus(dir).find((s) => s.node === 'w-1')).toMatchObject({ down: true, pid: null });

    expect((await run('w-2', 'echo $KUPGRADE_LAB_NODE')).stdout).toBe('w-2\n');
    expect((await run('cp-1', 'echo $KUPGRADE_LAB_NODE')).stdout).toBe('cp-1\n');
    expect(await survivor).toMatchObject({ code: 0, stdout: 'survived\n' });

    await setNodeDown(dir, 'w-1', false);
    expect((await run('w-1', 'echo $KUPGRADE_LAB_NODE')).stdout).toBe('w-1\n');
    expect(sshdStatus(dir).every((s) => !s.down && s.pid !== null)).toBe(true);
  });

  test('stopSshd stops everything and is idempotent', async () => {
    await stopSshd(dir);
    await stopSshd(dir);
    for (const n of nodes) await expect(run(n.name, 'true')).rejects.toThrow(/ECONNREFUSED/);
    expect(sshdStatus(dir).every((s) => s.pid === null)).toBe(true);
    // the processes that held the nodes' mount namespaces are gone too
    const real = fs.realpathSync(dir);
    const holders = fs
      .readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith(`kupgrade-lab-ns ${real} `);
        } catch {
          return false;
        }
      });
    expect(holders).toEqual([]);
  });
});
