/**
 * runPackageInstall's decisions without a lab (the lab scenarios are in package-managers.test.ts):
 * what is classified as usual, when the kubernetes-only retry and dpkg --configure -a run, and
 * that nothing else runs on a clean install.
 */
import { createNodeActivities } from '../../src/activities';
import { detail, failureOf, inActivity } from '../helpers/activity';
import { ctxOf, FakeSsh, hop130, nodeOf } from './fake-ssh';
import { buildInventory } from '../helpers/inventory';

function setup(manager: 'yum' | 'dnf' | 'apt') {
  const ssh = new FakeSsh();
  const inv = buildInventory({ manager });
  const acts = createNodeActivities({ ssh, pollIntervalMs: 1, sleep: async () => undefined });
  const input = { cluster: ctxOf(inv), node: nodeOf(inv, 'w-1'), hop: hop130(manager) };
  // later rules win: the first `kubeadm version` says 1.29.6, the check after the install 1.30.4
  ssh.on(/^kubeadm version/, { stdout: 'v1.30.4\n' });
  ssh.on(/^kubeadm version/, { stdout: 'v1.29.6\n' }, { times: 1 });
  return { ssh, acts, input };
}

const DEAD_KUBERNETES =
  "Errors during downloading metadata for repository 'kubernetes':\n  - Curl error (6): Couldn't resolve host name\nError: Failed to download metadata for repo 'kubernetes': Cannot download repomd.xml: Curl error (6)\n";
const DEAD_EPEL =
  "Errors during downloading metadata for repository 'epel':\n  - Curl error (6): Couldn't resolve host name\nError: Failed to download metadata for repo 'epel': Cannot download repomd.xml: Curl error (6)\n";

describe('runPackageInstall through ensureKubeadmPackage', () => {
  test('yum 3 "No package ... available" without any lock is VersionNotFound (the lock lists were read)', async () => {
    const { ssh, acts, input } = setup('yum');
    ssh.on(/^yum install/, {
      exitCode: 1,
      stdout: 'Loaded plugins: fastestmirror\nNo package kubeadm-1.30.4-150500.1.1 available.\n',
      stderr: 'Error: Nothing to do\n',
    });
    ssh.on(/versionlock\.list/, { stdout: '3:docker-ce-24.0.4-1.el7.*\n' });
    const f = await failureOf(() => acts.ensureKubeadmPackage(input));
    expect(f.type).toBe('VersionNotFound');
    expect(ssh.commands().filter((c) => /versionlock\.list/.test(c))).toHaveLength(1);
  });

  test('a dead kubernetes repository is not worked around: Transient, one install only', async () => {
    const { ssh, acts, input } = setup('dnf');
    ssh.on(/^dnf /, { exitCode: 1, stderr: DEAD_KUBERNETES });
    const f = await failureOf(() => acts.ensureKubeadmPackage(input));
    expect(f.type).toBe('Transient');
    expect(ssh.commands().filter((c) => c.startsWith('dnf '))).toHaveLength(1);
  });

  test('a dead third-party repository, then a failure with only the kubernetes repository: PackageFailed with the repository named', async () => {
    const { ssh, acts, input } = setup('dnf');
    ssh.on(/^dnf install/, { exitCode: 1, stderr: DEAD_EPEL });
    ssh.on(/^dnf '--disablerepo=\*' --enablerepo=kubernetes install/, {
      exitCode: 1,
      stderr:
        'Error: \n Problem: conflicting requests\n  - nothing provides conntrack needed by kubelet-1.30.4-150500.1.1.x86_64\n',
    });
    const f = await failureOf(() => acts.ensureKubeadmPackage(input));
    expect(f.type).toBe('PackageFailed');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('epel cannot be reached');
    expect(detail(f).hints[0]).toContain('dnf config-manager --set-disabled epel');
  });

  test('a clean install runs the install alone', async () => {
    const { ssh, acts, input } = setup('apt');
    ssh.on(/apt-get update/, { stdout: 'Setting up kubeadm (1.30.4-1.1) ...\n' });
    const r = await inActivity(() => acts.ensureKubeadmPackage(input));
    expect(r.value.changed).toBe(true);
    expect(ssh.commands().filter((c) => /dpkg|apt-get/.test(c))).toHaveLength(1);
  });

  test('dpkg --configure -a that fails is PackageFailed with the commands to run', async () => {
    const { ssh, acts, input } = setup('apt');
    ssh.on(/apt-get update/, {
      exitCode: 100,
      stderr:
        "E: dpkg was interrupted, you must manually run 'sudo dpkg --configure -a' to correct the problem. \n",
    });
    ssh.on(/^dpkg --configure -a$/, {
      exitCode: 1,
      stderr:
        'dpkg: error processing package foo (--configure):\n installed foo package post-installation script subprocess returned error exit status 1\n',
    });
    const f = await failureOf(() => acts.ensureKubeadmPackage(input));
    expect(f.type).toBe('PackageFailed');
    expect(detail(f).hints.join('\n')).toContain('dpkg --audit');
  });
});
