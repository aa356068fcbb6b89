/**
 * A zypper cluster (openSUSE/SLES nodes, `kupgrade-lab up --packages zypper`): kupgrade resolves
 * the hop from `zypper search`, switches /etc/zypp/repos.d/kubernetes.repo to the next minor,
 * installs the exact versions with `zypper install --oldpackage name=version` and ends done, judged
 * by `kupgrade-lab check`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadInventory } from '../../src/inventory';
import { setUp, startRun, until, type Setup } from '../helpers/runs';

jest.setTimeout(10 * 60_000);

describe('zypper nodes', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp('it-zypper', { controlPlanes: 1, workers: 1, version: '1.29.6', packages: 'zypper' });
  });
  afterAll(() => s?.stop());

  it('1.29 → 1.30 in one hop: repo file switched, packages installed with zypper', async () => {
    const { lab, cluster } = s;
    const repoFile = (node: string) =>
      readFileSync(path.join(lab.dir, 'nodes', node, 'etc/zypp/repos.d/kubernetes.repo'), 'utf8');
    expect(repoFile('w-1')).toContain('baseurl=https://pkgs.k8s.io/core:/stable:/v1.29/rpm/');
    expect(loadInventory(lab.inventory).packages.manager).toBe('zypper');
    await startRun(lab.inventory, '1.30');
    const done = await until(cluster, (x) => x.phase === 'done' || x.phase === 'failed', 'the run to end');
    expect(done.phase).toBe('done');
    const target = done.hops.at(-1)!.version;
    expect(target).toMatch(/^v1\.30\.\d+$/);
    const check = lab.check(target, 1);
    expect(check.stderr + check.stdout).not.toMatch(/FAIL|violation/i);
    expect(check.status).toBe(0);
    const execs = lab.events().filter((e) => e.type === 'exec' && e.cmd);
    for (const node of ['cp-1', 'w-1']) {
      expect(repoFile(node)).toContain('baseurl=https://pkgs.k8s.io/core:/stable:/v1.30/rpm/');
      expect(repoFile(node)).toContain('type=rpm-md\n');
      const ours = execs.filter((e) => e.node === node).map((e) => e.cmd!);
      expect(ours).toContainEqual(
        expect.stringMatching(
          /^zypper --non-interactive install --oldpackage kubeadm=1\.30\.\d+-150500\.1\.1$/,
        ),
      );
      expect(ours).toContainEqual(
        expect.stringMatching(
          /^zypper --non-interactive install --oldpackage kubelet=1\.30\.\d+-150500\.1\.1 kubectl=1\.30\.\d+-150500\.1\.1$/,
        ),
      );
      expect(ours.some((x) => /^(yum|dnf|apt-get) /.test(x))).toBe(false);
    }
  });
});
