/**
 * Legacy repositories and package trust (issue 12 items 1-2, issue 13 item 7): the pure parts —
 * legacy detection, `gpg --with-colons` fingerprints, the preflight `repository` check, the key
 * command, and the inventory fields (http:// refused unless allowInsecureRepo, fingerprint pin).
 */
import { validateInventory } from '../../src/inventory/schema';
import { InventoryError } from '../../src/inventory';
import { isLegacyRepoUrl, parseFingerprints, repoKeyCommand, repoKeyUrl } from '../../src/activities/repo';
import { repositoryChecks } from '../../src/activities/preflight-repository';
import { K8S_PACKAGES, PACKAGE_MANAGERS } from '../../src/packages';
import { cmd } from '../../src/ssh/command';
import type { ResolvedHop } from '../../src/shared/activities';

const opts = { baseDir: '/inv', homeDir: '/home/ops' };
const doc = (packages: Record<string, unknown>) => ({
  apiVersion: 'kupgrade/v1',
  kind: 'Cluster',
  metadata: { name: 'prod-bj' },
  ssh: { user: 'root', privateKeyPath: './id', knownHostsPath: './kh' },
  packages,
  nodes: [
    { name: 'cp-1', address: '192.0.2.11', role: 'control-plane' },
    { name: 'w-1', address: '192.0.2.21', role: 'worker' },
  ],
});
const issuesOf = (raw: unknown) => {
  try {
    validateInventory(raw, opts);
    return [];
  } catch (e) {
    if (e instanceof InventoryError) return e.issues;
    throw e;
  }
};

describe('isLegacyRepoUrl', () => {
  test.each([
    ['http://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64', true],
    ['https://packages.cloud.google.com/yum/repos/kubernetes-el7-x86_64', true],
    ['https://apt.kubernetes.io/', true],
    ['https://mirrors.aliyun.com/kubernetes/apt/', true],
    ['https://pkgs.k8s.io/core:/stable:/v1.30/rpm/', false],
    ['https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.30/rpm/', false],
    ['https://repo.example.com/k8s/', false],
  ])('%s → %s', (url, legacy) => expect(isLegacyRepoUrl(url)).toBe(legacy));
});

test('parseFingerprints reads the fpr records of gpg --with-colons', () => {
  const out =
    'pub:-:2048:1:234654DA9A296436:1691542316:1817686316::-:::scSC::::::23::0:\n' +
    'fpr:::::::::de15b14486cd377b9e876e1a234654da9a296436:\n' +
    'uid:-::::1691542316::X::isv\\x3akubernetes OBS Project::::::::::0:\n';
  expect(parseFingerprints(out)).toEqual(['DE15B14486CD377B9E876E1A234654DA9A296436']);
  expect(parseFingerprints('gpg: no valid OpenPGP data found.\n')).toEqual([]);
});

describe('repoKeyCommand', () => {
  const pin = 'DE15B14486CD377B9E876E1A234654DA9A296436';
  const inv = (repository: Record<string, unknown>) => ({
    packages: { manager: 'apt' as const, repository: { mode: 'pkgs.k8s.io' as const, ...repository } },
  });
  test('curl | gpg --dearmor, the pinned fingerprint checked before the keyring is replaced', () => {
    const url = 'https://pkgs.k8s.io/core:/stable:/v1.30/deb/';
    const c = repoKeyCommand(inv({ keyFingerprint: pin }), 'apt', url, '/etc/apt/keyrings/k.gpg');
    expect(c).toContain(`curl -fsSL ${repoKeyUrl('apt', url)} | gpg --dearmor --batch --yes -o "$d/k.gpg"`);
    expect(c.indexOf(`^fpr:::::::::${pin}:`)).toBeGreaterThan(0);
    expect(c.indexOf(`^fpr:::::::::${pin}:`)).toBeLessThan(c.indexOf('mv -f'));
    expect(c).toContain('exit 87');
  });
  test('an inline key is printed, never fetched; without a keyring nothing is installed', () => {
    const key = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n';
    const c = repoKeyCommand(inv({ key }), 'apt', 'https://mirror.example/v1.30/deb/');
    expect(c).not.toContain('curl');
    expect(c).toContain("printf '%s' '-----BEGIN PGP PUBLIC KEY BLOCK-----");
    expect(c).not.toContain('mv -f');
  });
  test('rpm keys are repodata/repomd.xml.key', () =>
    expect(repoKeyUrl('yum', 'https://pkgs.k8s.io/core:/stable:/v1.30/rpm')).toBe(
      'https://pkgs.k8s.io/core:/stable:/v1.30/rpm/repodata/repomd.xml.key',
    ));
});

test('apt probes trust the minor key in a keyring of their own, never the node keyring', () => {
  const url = 'https://pkgs.k8s.io/core:/stable:/v1.31/deb/';
  const key = cmd('curl', '-fsSL', `${url}Release.key`);
  for (const c of [
    PACKAGE_MANAGERS.apt.probeCommand(url, K8S_PACKAGES, key),
    PACKAGE_MANAGERS.apt.probeFileCommand(url, key),
  ]) {
    expect(c).toContain(`curl -fsSL ${url}Release.key | gpg --dearmor --batch --yes -o "$d/k.gpg"`);
    expect(c).toContain(`printf 'deb [signed-by=%s/k.gpg] %s /\\n' "$d" ${url}`);
    expect(c).not.toContain('/etc/apt/keyrings');
  }
});

describe('repositoryChecks (preflight)', () => {
  const hop = (version: string): ResolvedHop => ({
    index: 0,
    from: 'v1.28.2',
    minor: version.slice(1).split('.').slice(0, 2).join('.'),
    version,
    packages: { kubeadm: '', kubelet: '', kubectl: '' },
  });
  const LEGACY =
    '[kubernetes]\nname=Kubernetes\nbaseurl=http://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64\nenabled=1\ngpgcheck=0\n';
  const mirror = validateInventory(
    doc({
      manager: 'yum',
      repository: {
        mode: 'mirror',
        urlTemplate: 'https://mirrors.aliyun.com/kubernetes-new/core/stable/v{minor}/rpm/',
      },
    }),
    opts,
  );
  const unmanaged = (allowInsecureRepo?: boolean) =>
    validateInventory(
      doc({
        manager: 'yum',
        repository: { mode: 'unmanaged' },
        ...(allowInsecureRepo ? { allowInsecureRepo } : {}),
      }),
      opts,
    );
  const repos = [
    { node: 'cp-1', content: LEGACY },
    { node: 'w-1', content: LEGACY },
  ];

  test('managed: one warning for all nodes, naming the repository the versions come from', () => {
    const c = repositoryChecks(mirror, [hop('v1.29.15')], repos);
    expect(c).toHaveLength(1);
    expect(c[0]).toMatchObject({ name: 'repository', status: 'warn' });
    expect(c[0].message).toContain(
      'legacy repository http://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64 on 2 nodes: cp-1, w-1',
    );
    expect(c[0].message).toContain(
      'resolved from https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.29/rpm/',
    );
    expect(c[0].message).toContain('repodata/repomd.xml.key');
  });
  test('unmanaged http:// is refused unless packages.allowInsecureRepo', () => {
    const [c] = repositoryChecks(unmanaged(), [hop('v1.28.2')], repos);
    expect(c.status).toBe('fail');
    expect(c.message).toContain('packages.allowInsecureRepo: true');
    expect(repositoryChecks(unmanaged(true), [hop('v1.28.2')], repos)[0].status).toBe('warn');
  });
  test('unmanaged legacy cannot serve a minor after 1.28', () => {
    const [c] = repositoryChecks(unmanaged(true), [hop('v1.29.15')], repos);
    expect(c.status).toBe('fail');
    expect(c.message).toContain('cannot serve v1.29.15');
  });
  test('a per-minor https repository passes', () => {
    const c = repositoryChecks(
      mirror,
      [hop('v1.29.15')],
      [{ node: 'cp-1', content: '[kubernetes]\nbaseurl=https://pkgs.k8s.io/core:/stable:/v1.28/rpm/\n' }],
    );
    expect(c).toEqual([{ name: 'repository', status: 'pass', message: 'ok on 1 check' }]);
  });
});

describe('inventory: package trust fields', () => {
  const tmpl = 'http://mirrors.aliyun.com/kubernetes-new/core/stable/v{minor}/rpm/';
  test('an http:// mirror is refused with the field and the fix', () => {
    const issues = issuesOf(doc({ manager: 'yum', repository: { mode: 'mirror', urlTemplate: tmpl } }));
    expect(issues).toHaveLength(1);
    expect(issues[0].field).toBe('packages.repository.urlTemplate');
    expect(issues[0].message).toContain('plain http://');
    expect(issues[0].fix).toContain('packages.allowInsecureRepo: true');
  });
  test('allowInsecureRepo: true accepts it knowingly', () => {
    const inv = validateInventory(
      doc({ manager: 'yum', allowInsecureRepo: true, repository: { mode: 'mirror', urlTemplate: tmpl } }),
      opts,
    );
    expect(inv.packages.allowInsecureRepo).toBe(true);
    expect(inv.packages.repository.urlTemplate).toBe(tmpl);
  });
  test('a fingerprint is normalized (spaces out, upper case); a short one is refused', () => {
    const inv = validateInventory(
      doc({
        manager: 'apt',
        repository: {
          mode: 'pkgs.k8s.io',
          keyFingerprint: 'de15 b144 86cd 377b 9e87  6e1a 2346 54da 9a29 6436',
        },
      }),
      opts,
    );
    expect(inv.packages.repository.keyFingerprint).toBe('DE15B14486CD377B9E876E1A234654DA9A296436');
    expect(inv.packages.allowInsecureRepo).toBeUndefined();
    const issues = issuesOf(doc({ manager: 'apt', repository: { keyFingerprint: '9A296436' } }));
    expect(issues.map((i) => i.field)).toEqual(['packages.repository.keyFingerprint']);
  });
  test('an inline key must be an armored public key', () => {
    const issues = issuesOf(doc({ manager: 'apt', repository: { key: 'ssh-ed25519 AAAA' } }));
    expect(issues.map((i) => i.field)).toEqual(['packages.repository.key']);
  });
});
