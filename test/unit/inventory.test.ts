import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  checkKeyFiles,
  InventoryError,
  isAddress,
  isImageRepository,
  isUrlTemplate,
  loadInventory,
  parseInventory,
  parseTargetVersion,
  resolveMaxUnavailable,
  type Inventory,
} from '../../src/inventory';
import { validateInventory } from '../../src/inventory/schema';

const MINIMAL = `apiVersion: kupgrade/v1
kind: Cluster
metadata: {name: prod-bj}
packages: {manager: apt}
nodes:
  - {name: cp-1, address: 192.0.2.11, role: control-plane}
  - {name: w-1, address: 192.0.2.21, role: worker}
`;

function issuesOf(fn: () => unknown): InventoryError['issues'] {
  try {
    fn();
  } catch (e) {
    if (e instanceof InventoryError) return e.issues;
    throw e;
  }
  throw new Error('expected an InventoryError');
}

describe('parseInventory', () => {
  const opts = { baseDir: '/srv/clusters/prod', homeDir: '/home/ops' };

  test('fills every default and resolves key paths', () => {
    const inv = parseInventory(MINIMAL, opts);
    expect(inv.ssh).toEqual({
      user: 'root',
      port: 22,
      privateKeyPath: '/home/ops/.ssh/id_ed25519',
      knownHostsPath: '/home/ops/.ssh/known_hosts',
      hostKeyPolicy: 'strict',
      hostKeyFingerprints: {},
      sudo: false,
      connectTimeoutSeconds: 10,
      commandTimeoutSeconds: 600,
    });
    expect(inv.packages).toEqual({
      manager: 'apt',
      repository: { mode: 'pkgs.k8s.io', urlTemplate: 'https://pkgs.k8s.io/core:/stable:/v{minor}/deb/' },
    });
    expect(inv.kubeadm).toEqual({
      certificateRenewal: true,
      etcdUpgrade: true,
      etcdBackup: true,
      prePullImages: true,
    });
    expect(inv.drain).toEqual({
      timeoutSeconds: 300,
      ignoreDaemonSets: true,
      deleteEmptyDirData: true,
      force: false,
    });
    expect(inv.rollout).toEqual({ maxUnavailable: 1, gates: ['preflight', 'control-plane', 'workers'] });
    expect(inv.nodes).toEqual([
      { name: 'cp-1', address: '192.0.2.11', port: 22, role: 'control-plane' },
      { name: 'w-1', address: '192.0.2.21', port: 22, role: 'worker' },
    ]);
  });

  test('the result is plain JSON (a valid workflow input)', () => {
    const inv = parseInventory(MINIMAL, opts);
    expect(JSON.parse(JSON.stringify(inv))).toEqual(inv);
  });

  test('the full PRODUCT.md example with every option', () => {
    const text = `apiVersion: kupgrade/v1
kind: Cluster
metadata: {name: prod-bj}
ssh:
  user: ops
  port: 2222
  privateKeyPath: keys/../keys/id_ed25519
  knownHostsPath: /etc/kupgrade/known_hosts
  hostKeyPolicy: accept-new
  hostKeyFingerprints: {cp-1: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}
  sudo: true
  jumpHost: {address: bastion.example.com, user: jump}
  connectTimeout: 1m30s
  commandTimeout: 1h
packages:
  manager: dnf
  repository: {mode: mirror, urlTemplate: "https://mirrors.aliyun.com/kubernetes-new/core/stable/v{minor}/rpm/"}
kubeadm: {imageRepository: registry.cn-hangzhou.aliyuncs.com/google_containers, certificateRenewal: false, etcdBackup: false}
drain: {timeout: 90s, ignoreDaemonSets: true, deleteEmptyDirData: false, force: true, gracePeriod: 30s}
rollout: {maxUnavailable: "25%", gates: [preflight, control-plane, cni, workers, canary, workers], cni: {command: "kubectl apply -f /root/calico.yaml"}}
nodes:
  - {name: cp-1, address: 192.0.2.11, role: control-plane}
  - {name: cp-2, address: "2001:db8::12", port: 22, role: control-plane}
  - {name: w-1.example.com, address: w-1.example.com, role: worker}
`;
    const inv = parseInventory(text, opts);
    expect(inv.ssh.privateKeyPath).toBe('/srv/clusters/prod/keys/id_ed25519');
    expect(inv.ssh.knownHostsPath).toBe('/etc/kupgrade/known_hosts');
    expect(inv.ssh.hostKeyFingerprints).toEqual({
      'cp-1': 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU',
    });
    expect(inv.ssh.jumpHost).toEqual({ address: 'bastion.example.com', port: 22, user: 'jump' });
    expect(inv.ssh.connectTimeoutSeconds).toBe(90);
    expect(inv.ssh.commandTimeoutSeconds).toBe(3600);
    expect(inv.packages.repository.urlTemplate).toContain('{minor}');
    expect(inv.kubeadm.imageRepository).toBe('registry.cn-hangzhou.aliyuncs.com/google_containers');
    expect(inv.kubeadm.certificateRenewal).toBe(false);
    expect(inv.drain).toEqual({
      timeoutSeconds: 90,
      ignoreDaemonSets: true,
      deleteEmptyDirData: false,
      force: true,
      gracePeriodSeconds: 30,
    });
    expect(inv.rollout.gates).toEqual(['preflight', 'control-plane', 'cni', 'workers', 'canary']);
    expect(inv.rollout.cni).toEqual({ command: 'kubectl apply -f /root/calico.yaml' });
    expect(inv.nodes.map((n) => n.port)).toEqual([2222, 22, 2222]);
  });

  test('unmanaged repository has no URL; maxUnavailable given as a quoted count', () => {
    const inv = parseInventory(
      MINIMAL.replace('{manager: apt}', '{manager: yum, repository: {mode: unmanaged}}') +
        'rollout: {maxUnavailable: "3"}\n',
      opts,
    );
    expect(inv.packages.repository).toEqual({ mode: 'unmanaged' });
    expect(inv.rollout.maxUnavailable).toBe(3);
  });

  test('nodes may share an address on different ports (the lab does this)', () => {
    const inv = parseInventory(
      MINIMAL.replace('address: 192.0.2.21, role', 'address: 192.0.2.11, port: 2201, role'),
      opts,
    );
    expect(inv.nodes[1]).toMatchObject({ address: '192.0.2.11', port: 2201 });
  });

  test('reports every problem at once, each with field and fix', () => {
    const bad = MINIMAL.replace('manager: apt', 'manager: pacman')
      .replace('name: w-1', 'name: cp-1')
      .replace('192.0.2.21', '"192.0.2.21 && reboot"');
    const issues = issuesOf(() => parseInventory(bad, opts));
    expect(issues.map((i) => i.field).sort()).toEqual([
      'nodes[1].address',
      'nodes[1].name',
      'packages.manager',
    ]);
    for (const i of issues) expect(i.fix.length).toBeGreaterThan(10);
  });

  test('kubeadm.configFile and kubeadm.patchesDir: absolute node paths, kept; bad ones named with a fix', () => {
    const ok = parseInventory(
      MINIMAL + 'kubeadm: {configFile: /root/kubeadm-upgrade.yaml, patchesDir: /etc/kubernetes/patches-v2}\n',
      opts,
    );
    expect(ok.kubeadm.configFile).toBe('/root/kubeadm-upgrade.yaml');
    expect(ok.kubeadm.patchesDir).toBe('/etc/kubernetes/patches-v2');
    expect(parseInventory(MINIMAL, opts).kubeadm.configFile).toBeUndefined();
    const issues = issuesOf(() =>
      parseInventory(
        MINIMAL + 'kubeadm: {configFile: "kubeadm.yaml; reboot", patchesDir: /etc/../root}\n',
        opts,
      ),
    );
    expect(issues.map((i) => i.field).sort()).toEqual(['kubeadm.configFile', 'kubeadm.patchesDir']);
    expect(issues.find((i) => i.field === 'kubeadm.configFile')?.fix).toContain('absolute path');
  });

  test('the error message lists fields and fixes on separate lines', () => {
    try {
      parseInventory(MINIMAL.replace('role: worker', 'role: master'), opts);
      throw new Error('not thrown');
    } catch (e) {
      expect(e).toBeInstanceOf(InventoryError);
      expect((e as Error).message).toMatch(
        /nodes\[1\]\.role: "master" is not one of: control-plane, worker\n\s+fix: use control-plane or worker/,
      );
    }
  });

  test('"did you mean" for misspelt fields at any depth', () => {
    const issues = issuesOf(() =>
      parseInventory(MINIMAL.replace('packages: {manager: apt}', 'packages: {manger: apt}'), opts),
    );
    expect(issues).toContainEqual(
      expect.objectContaining({
        field: 'packages.manger',
        message: 'unknown field "manger"; did you mean "manager"?',
      }),
    );
  });

  test('YAML errors carry the line', () => {
    const issues = issuesOf(() => parseInventory('apiVersion: kupgrade/v1\nkind: [Cluster\n', opts));
    expect(issues[0]?.field).toBe('(document)');
    expect(issues[0]?.message).toMatch(/line \d+/);
  });

  test('validateInventory is usable without node:fs (pure core)', () => {
    const inv: Inventory = validateInventory(
      {
        apiVersion: 'kupgrade/v1',
        kind: 'Cluster',
        metadata: { name: 'x' },
        packages: { manager: 'yum' },
        nodes: [{ name: 'a', address: 'a.example', role: 'control-plane' }],
      },
      { baseDir: '/b', homeDir: '/h' },
    );
    expect(inv.ssh.privateKeyPath).toBe('/h/.ssh/id_ed25519');
  });
});

describe('addresses', () => {
  test.each([
    '192.0.2.1',
    '10.0.0.255',
    '::1',
    '2001:db8::1',
    '::ffff:192.0.2.1',
    'fe80:0:0:0:0:0:0:1',
    'node-1',
    'cp-1.k8s.example.com',
    'A.EXAMPLE',
  ])('accepts %s', (a) => expect(isAddress(a)).toBe(true));
  test.each([
    '',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3',
    '10.0.0.300',
    '-oProxyCommand=x',
    'a b',
    'a;b',
    '$(id)',
    '`id`',
    "a'b",
    'a\nb',
    'host_name',
    '2001:db8::1::2',
    'fe80::1%eth0',
    '1:2:3:4:5:6:7:8:9',
    'x'.repeat(254),
  ])('rejects %j', (a) => expect(isAddress(a)).toBe(false));
});

describe('parseTargetVersion', () => {
  test.each([
    ['1.30', { major: 1, minor: 30, patch: null, text: '1.30' }],
    ['v1.30', { major: 1, minor: 30, patch: null, text: '1.30' }],
    ['1.30.4', { major: 1, minor: 30, patch: 4, text: '1.30.4' }],
    ['v1.30.4', { major: 1, minor: 30, patch: 4, text: '1.30.4' }],
    ['1.9.0', { major: 1, minor: 9, patch: 0, text: '1.9.0' }],
  ])('%s', (s, want) => expect(parseTargetVersion(s)).toEqual(want));
  test.each([
    '1',
    '1.30.',
    '1.030',
    'V1.30',
    '1.30.4.1',
    '2.0',
    '1.30.4-rc.1',
    '1.30.x',
    ' ',
    '1.30;id',
    'v1.30\n',
  ])('rejects %j', (s) => {
    const issues = issuesOf(() => parseTargetVersion(s));
    expect(issues[0]?.field).toBe('version');
  });
});

describe('resolveMaxUnavailable', () => {
  test.each([
    [1, 10, 1],
    [3, 10, 3],
    [50, 10, 10],
    ['25%', 10, 2],
    ['10%', 5, 1],
    ['100%', 7, 7],
    ['1%', 1000, 10],
    ['50%', 0, 1],
    [2, 0, 1],
  ] as const)('%j of %d workers → %d', (spec, workers, want) => {
    expect(resolveMaxUnavailable(spec, workers)).toBe(want);
  });
});

describe('key files', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-inv-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function write(mode: number, knownHosts = true): Inventory {
    fs.writeFileSync(path.join(dir, 'id'), 'not really a key', { mode });
    fs.chmodSync(path.join(dir, 'id'), mode);
    if (knownHosts) fs.writeFileSync(path.join(dir, 'kh'), '');
    fs.writeFileSync(
      path.join(dir, 'cluster.yaml'),
      MINIMAL.replace('packages:', 'ssh: {privateKeyPath: id, knownHostsPath: ./kh}\npackages:'),
    );
    return loadInventory(path.join(dir, 'cluster.yaml'));
  }

  test('0600 key passes; paths resolved against the file folder', () => {
    const inv = write(0o600);
    expect(inv.ssh.privateKeyPath).toBe(path.join(dir, 'id'));
    expect(() => checkKeyFiles(inv)).not.toThrow();
  });

  test.each([0o644, 0o640, 0o604, 0o660])('mode %o is refused with chmod 600', (mode) => {
    const issues = issuesOf(() => checkKeyFiles(write(mode)));
    expect(issues[0]).toMatchObject({
      field: 'ssh.privateKeyPath',
      fix: `chmod 600 ${path.join(dir, 'id')}`,
    });
  });

  test('missing known_hosts under strict is reported; accept-new makes it optional', () => {
    const inv = write(0o600, false);
    expect(issuesOf(() => checkKeyFiles(inv))[0]?.field).toBe('ssh.knownHostsPath');
    expect(() => checkKeyFiles({ ...inv, ssh: { ...inv.ssh, hostKeyPolicy: 'accept-new' } })).not.toThrow();
  });

  test('a missing inventory file names the file', () => {
    const issues = issuesOf(() => loadInventory(path.join(dir, 'nope.yaml')));
    expect(issues[0]?.field).toBe('(file)');
  });
});

describe('validated values cannot carry shell syntax (property-style, seeded)', () => {
  let seed = 1234;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = 'ab1-.:/_{}%$;&|`\'" \n\t()<>*?!#~\\=,@+[]';
  const samples = Array.from({ length: 5000 }, () =>
    Array.from(
      { length: 1 + Math.floor(rnd() * 14) },
      () => alphabet[Math.floor(rnd() * alphabet.length)],
    ).join(''),
  );
  // `~` is left out: it only expands at the start of a word, and URLs (which may contain it) start with http.
  const SHELL = /[$;&|`'"\s()<>*?!#\\[\]]/;

  test('addresses', () => {
    for (const s of samples)
      if (isAddress(s)) expect([s, SHELL.test(s) || s.startsWith('-')]).toEqual([s, false]);
  });

  test('URL templates and image repositories', () => {
    for (const s of samples) {
      const url = `https://m.example/${s}/v{minor}/`;
      if (isUrlTemplate(url)) expect([url, SHELL.test(url)]).toEqual([url, false]);
      if (isImageRepository(s)) expect([s, SHELL.test(s) || s.startsWith('-')]).toEqual([s, false]);
    }
  });

  test('target versions', () => {
    for (const s of samples) {
      let ok = true;
      try {
        parseTargetVersion(s);
      } catch {
        ok = false;
      }
      if (ok) expect(s).toMatch(/^v?\d+\.\d+(\.\d+)?$/);
    }
  });
});
