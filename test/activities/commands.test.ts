/**
 * Command construction, run through a real /bin/sh with stub tools on PATH: batching and its
 * parsing, quoting of hostile values, the apt unhold → install → hold order (hold restored on
 * failure, exit code kept), atomic repo-file writes, isolated repository listings, markers.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
  readdirSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cmd } from '../../src/ssh/command';
import { batch, parseBatch } from '../../src/activities/script';
import { writeFileCommand, locateRepoCommand, parseLocatedRepo } from '../../src/activities/repo';
import { K8S_PACKAGES, PACKAGE_MANAGERS } from '../../src/packages';
import { renderYumRepo } from '../../src/packages/yum';
import { withMarker, readMarker } from '../../src/activities/markers';
import { backupCommand } from '../../src/activities/backup';
import { createNodeActivities } from '../../src/activities';
import { buildInventory } from '../helpers/inventory';
import { inActivity } from '../helpers/activity';
import { ctxOf, FakeSsh } from './fake-ssh';
import { nodeJson, podListJson } from './samples';

let dir: string;
let bin: string;
let log: string;

function stub(name: string, body: string): void {
  const p = path.join(bin, name);
  writeFileSync(p, `#!/bin/sh\necho "${name} $*" >> ${JSON.stringify(log)}\n${body}\n`);
  chmodSync(p, 0o755);
}

function sh(command: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('/bin/sh', ['-c', command], {
    env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir },
    encoding: 'utf8',
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function logged(): string[] {
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'kupgrade-act-'));
  bin = path.join(dir, 'bin');
  execFileSync('mkdir', ['-p', bin]);
  log = path.join(dir, 'calls.log');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('batch', () => {
  test('runs every section whatever the others return and parses output and exit codes back', () => {
    const c = batch([
      { name: 'one', command: cmd('printf', '%s\n', 'hello world') },
      { name: 'fails', command: cmd('sh', '-c', 'echo oops >&2; exit 3') },
      { name: 'no-newline', command: cmd('printf', '%s', 'tail') },
      { name: 'empty', command: cmd('true') },
    ]);
    const r = sh(c);
    expect(r.status).toBe(0);
    const s = parseBatch(r.stdout);
    expect(s.get('one')).toEqual({ exitCode: 0, output: 'hello world' });
    expect(s.get('fails')).toEqual({ exitCode: 3, output: 'oops' });
    expect(s.get('no-newline')).toEqual({ exitCode: 0, output: 'tail' });
    expect(s.get('empty')).toEqual({ exitCode: 0, output: '' });
  });

  test('a hostile value stays one argument inside a section', () => {
    const evil = `x'; touch ${dir}/pwned; echo '$(id)\`id\`\nnext`;
    const r = sh(batch([{ name: 'v', command: cmd('printf', '%s', evil) }]));
    expect(parseBatch(r.stdout).get('v')?.output).toBe(evil);
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
  });

  test('refuses section names that could break the marker', () => {
    expect(() => batch([{ name: 'a b', command: cmd('true') }])).toThrow(/bad section name/);
  });
});

describe('apt install with holds', () => {
  test('unhold → install exact versions → hold, in that order', () => {
    stub('apt-mark', 'exit 0');
    stub('apt-get', 'echo "Setting up kubeadm (1.30.4-1.1) ..."; exit 0');
    const r = sh(PACKAGE_MANAGERS.apt.installCommand([{ name: 'kubeadm', full: '1.30.4-1.1' }]));
    expect(r.status).toBe(0);
    expect(logged()).toEqual([
      'apt-mark unhold kubeadm',
      'apt-get install -y kubeadm=1.30.4-1.1',
      'apt-mark hold kubeadm',
    ]);
  });

  test('a failed install still restores the hold and keeps the install exit code', () => {
    stub('apt-mark', 'exit 0');
    stub('apt-get', "echo \"E: Version '1.30.9-1.1' for 'kubelet' was not found\" >&2; exit 100");
    const r = sh(
      PACKAGE_MANAGERS.apt.installCommand([
        { name: 'kubelet', full: '1.30.9-1.1' },
        { name: 'kubectl', full: '1.30.9-1.1' },
      ]),
    );
    expect(r.status).toBe(100);
    expect(r.stderr).toContain('was not found');
    expect(logged()).toEqual([
      'apt-mark unhold kubelet kubectl',
      'apt-get install -y kubelet=1.30.9-1.1 kubectl=1.30.9-1.1',
      'apt-mark hold kubelet kubectl',
    ]);
    // The group ends with the install's status without leaving the shell: a marker may follow.
    const marked = sh(
      `${PACKAGE_MANAGERS.apt.installCommand([{ name: 'kubelet', full: '1.30.9-1.1' }])} && echo marker`,
    );
    expect(marked.status).toBe(100);
    expect(marked.stdout).not.toContain('marker');
    stub('apt-get', 'exit 0');
    expect(
      sh(`${PACKAGE_MANAGERS.apt.installCommand([{ name: 'kubelet', full: '1.30.4-1.1' }])} && echo marker`)
        .stdout,
    ).toContain('marker');
  });

  test('yum/dnf install exact package versions with the excludes lifted', () => {
    expect(PACKAGE_MANAGERS.yum.installCommand([{ name: 'kubeadm', full: '1.30.4-150500.1.1' }])).toBe(
      'yum install -y kubeadm-1.30.4-150500.1.1 --disableexcludes=kubernetes',
    );
    expect(PACKAGE_MANAGERS.dnf.listCommand(K8S_PACKAGES)).toBe(
      'dnf list --showduplicates kubeadm kubelet kubectl --disableexcludes=kubernetes --disableplugin=versionlock',
    );
  });
});

describe('files', () => {
  test('writeFileCommand writes content byte for byte (quotes, $(), backticks, newlines) and leaves no temp file', () => {
    const target = path.join(dir, 'etc', 'yum.repos.d', 'kubernetes.repo');
    const content = renderYumRepo('https://mirror.example/k8s/v1.30/rpm/') + "# it's $(not) `run`\n";
    const r = sh(writeFileCommand(target, content));
    expect(r.status).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe(content);
    expect(readdirSync(path.dirname(target))).toEqual(['kubernetes.repo']);
  });

  test('markers are written only when the step succeeded', () => {
    // The real commands, with the marker folder moved into the test's temp folder.
    const ok = withMarker(cmd('true'), 'upgrade-node', 'v1.30.4').replace(
      /\/etc\/kubernetes\/tmp\/kupgrade/g,
      dir,
    );
    expect(sh(ok).status).toBe(0);
    expect(readFileSync(path.join(dir, 'upgrade-node'), 'utf8')).toBe('v1.30.4\n');
    const bad = withMarker(cmd('false'), 'images', 'v1.30.4').replace(
      /\/etc\/kubernetes\/tmp\/kupgrade/g,
      dir,
    );
    expect(sh(bad).status).toBe(1);
    expect(existsSync(path.join(dir, 'images'))).toBe(false);
    expect(sh(readMarker('cni').replace(/\/etc\/kubernetes\/tmp\/kupgrade/g, dir)).stdout).toBe('');
  });
});

describe('isolated repository listing', () => {
  test('yum reads a temporary repo definition outside /etc and removes it afterwards', () => {
    stub(
      'yum',
      // Print the reposdir's repo file so the test sees what yum was pointed at.
      'for a in "$@"; do case "$a" in --setopt=reposdir=*) d="${a#--setopt=reposdir=}";; esac; done; cat "$d/kubernetes.repo"; echo "DIR=$d"',
    );
    const r = sh(
      PACKAGE_MANAGERS.yum.probeCommand('https://pkgs.k8s.io/core:/stable:/v1.31/rpm/', K8S_PACKAGES),
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('baseurl=https://pkgs.k8s.io/core:/stable:/v1.31/rpm/');
    const call = logged()[0];
    expect(call).toMatch(
      /^yum --setopt=reposdir=\S+ --setopt=cachedir=\S+\/cache list --showduplicates kubeadm kubelet kubectl --disableexcludes=kubernetes --disableplugin=versionlock$/,
    );
    const tmp = /DIR=(\S+)/.exec(r.stdout)?.[1] ?? '';
    expect(tmp.startsWith('/etc')).toBe(false);
    expect(existsSync(tmp)).toBe(false);
  });

  test('apt uses private source list, lists and cache for update and madison', () => {
    stub('apt-get', 'exit 0');
    stub(
      'apt-cache',
      'echo "   kubeadm | 1.31.2-1.1 | https://pkgs.k8s.io/core:/stable:/v1.31/deb  Packages"',
    );
    const r = sh(
      PACKAGE_MANAGERS.apt.probeCommand('https://pkgs.k8s.io/core:/stable:/v1.31/deb/', K8S_PACKAGES),
    );
    expect(r.status).toBe(0);
    const [update, madison] = logged();
    expect(update).toMatch(
      /^apt-get -q -o Dir::Etc::sourcelist=\S+\/sources.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=\S+ -o Dir::Cache=\S+ update$/,
    );
    expect(madison).toMatch(/^apt-cache -o Dir::Etc::sourcelist=\S+ .* madison kubeadm kubelet kubectl$/);
    expect(r.stdout).toContain('1.31.2-1.1');
  });
});

describe('backup script', () => {
  test('snapshots etcd with the kubeadm PKI, copies /etc/kubernetes, then marks completion', () => {
    const c = backupCommand('/var/lib/kupgrade/backups/run 1', 'cp-1', true, '2026-11-28T08:00:00.000Z');
    const tls =
      '--endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key';
    // the host's etcdctl (PATH or a usual place outside sudo's secure_path) ...
    expect(c).toContain('/opt/etcd/bin/etcdctl');
    expect(c).toContain(
      `ETCDCTL_API=3 "$etcdctl" ${tls} snapshot save '/var/lib/kupgrade/backups/run 1/etcd-snapshot.db'`,
    );
    // ... else the distroless etcd pod's etcdctl, no `env`, into the data dir it mounts, moved on the host
    expect(c).toContain(
      `exec etcd-cp-1 -- etcdctl ${tls} snapshot save "$etcd_data/kupgrade-snapshot.db" && mv -f "$etcd_data/kupgrade-snapshot.db" '/var/lib/kupgrade/backups/run 1/etcd-snapshot.db'`,
    );
    expect(c).not.toMatch(/-- env\b/);
    expect(c).toContain("cp -a /etc/kubernetes '/var/lib/kupgrade/backups/run 1/etc-kubernetes'");
    expect(c.indexOf('snapshot save')).toBeLessThan(c.indexOf('cp -a'));
    expect(c.lastIndexOf('.complete')).toBeGreaterThan(c.indexOf('cp -a'));
    expect(backupCommand('/b/x', 'cp-1', false, 'now')).not.toContain('etcdctl');
  });
});

describe('activity command lines with hostile values', () => {
  test('a node name carrying shell syntax reaches kubectl as one argument and runs nothing else', async () => {
    const evil = `w-1; touch ${dir}/pwned; $(touch ${dir}/pwned2) \`touch ${dir}/pwned3\` '"\nnext`;
    const inv = buildInventory();
    const node = { name: evil, address: '192.0.2.21', port: 22, role: 'worker' as const };
    const ssh = new FakeSsh();
    ssh.on(/ get node /, { stdout: nodeJson({ name: 'w-1' }) });
    ssh.on(/ get pods /, { stdout: podListJson([{ ns: 'prod', name: 'api-1', owner: 'ReplicaSet' }]) });
    ssh.on(/ drain /, { stdout: 'node/w-1 drained\n' });
    await inActivity(() => createNodeActivities({ ssh }).ensureDrained({ cluster: ctxOf(inv), node }));
    const drain = ssh.commands().find((c) => / drain /.test(c)) ?? '';
    stub('kubectl', 'for a in "$@"; do printf "<%s>\\n" "$a"; done');
    const r = sh(drain);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).slice(0, 2)).toEqual([
      '<--kubeconfig=/etc/kubernetes/admin.conf>',
      '<drain>',
    ]);
    // one argument, the last one, after the `--` that ends kubectl's flags
    expect(r.stdout.endsWith(`<-->\n<${evil}>\n`)).toBe(true);
    for (const f of ['pwned', 'pwned2', 'pwned3']) expect(existsSync(path.join(dir, f))).toBe(false);
  });
});

describe('locating the kubernetes repository file', () => {
  const run = (manager: 'yum' | 'apt', d: string) =>
    parseLocatedRepo(
      manager,
      sh(locateRepoCommand(manager).replace(/\/etc\/(yum\.repos\.d|apt\/sources\.list\.d)/g, d)).stdout,
    );

  test('the standard file, else the file defining [kubernetes], else the standard path (absent)', () => {
    const d = path.join(dir, 'repos');
    execFileSync('mkdir', ['-p', d]);
    expect(run('yum', d)).toEqual({ path: `${d}/kubernetes.repo`, content: null });
    writeFileSync(path.join(d, 'base.repo'), '[base]\nbaseurl=http://x/\n');
    writeFileSync(path.join(d, 'k8s.repo'), renderYumRepo('https://pkgs.k8s.io/core:/stable:/v1.29/rpm/'));
    expect(run('yum', d)).toEqual({
      path: `${d}/k8s.repo`,
      content: renderYumRepo('https://pkgs.k8s.io/core:/stable:/v1.29/rpm/'),
    });
    writeFileSync(path.join(d, 'kubernetes.repo'), '[kubernetes]\n');
    expect(run('yum', d).path).toBe(`${d}/kubernetes.repo`);
  });

  test('apt: a list naming pkgs.k8s.io under another name', () => {
    const d = path.join(dir, 'lists');
    execFileSync('mkdir', ['-p', d]);
    writeFileSync(path.join(d, 'k8s.list'), 'deb https://pkgs.k8s.io/core:/stable:/v1.29/deb/ /\n');
    expect(run('apt', d).path).toBe(`${d}/k8s.list`);
  });

  test('files that also define other repositories are recognised', () => {
    expect(PACKAGE_MANAGERS.yum.otherRepositories('[base]\nbaseurl=x\n[kubernetes]\nbaseurl=y\n')).toEqual([
      'base',
    ]);
    expect(PACKAGE_MANAGERS.yum.otherRepositories(renderYumRepo('https://x/v1.30/rpm/'))).toEqual([]);
    expect(
      PACKAGE_MANAGERS.apt.otherRepositories(
        'deb http://deb.debian.org/debian bookworm main\ndeb https://pkgs.k8s.io/x/ /\n',
      ),
    ).toEqual(['deb http://deb.debian.org/debian bookworm main']);
  });
});
