/**
 * The lab's node commands on a v1.29 yum cluster (the ≤1.29 plan layout and the ≤1.31 apply
 * output), normal and error cases, compared with shared/reference/{kubeadm,nodes}.md. The shim
 * runs as a child process from dist/ with the node's environment; the controller runs in-process.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { clearFaults, injectFault } from '../../lab/src/lab';
import { downInProcess, type InProcessLab, readEvents, upInProcess } from '../helpers/lab';
import { editNodeFile, nodeFile, run, start, STACK } from './helpers';

jest.setTimeout(60_000);

let lab: InProcessLab;
let dir: string;
const on = (node: string, tool: string, ...args: string[]) => run(dir, node, tool, args);

beforeAll(async () => {
  lab = await upInProcess({ controlPlanes: 2, workers: 2, version: '1.29.6', packages: 'yum', speed: 1000 });
  dir = lab.dir;
});
afterAll(async () => {
  await downInProcess(lab);
});

describe('kubeadm version', () => {
  test('default, short, json, invalid', async () => {
    const d = await on('cp-1', 'kubeadm', 'version');
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(
      /^kubeadm version: &version\.Info\{Major:"1", Minor:"29", GitVersion:"v1\.29\.6", GitCommit:"[0-9a-f]{40}", GitTreeState:"clean", BuildDate:"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", GoVersion:"go1\.22\.5", Compiler:"gc", Platform:"linux\/amd64"\}\n$/,
    );
    expect((await on('cp-1', 'kubeadm', 'version', '-o', 'short')).stdout).toBe('v1.29.6\n');
    const j = await on('cp-1', 'kubeadm', 'version', '-o', 'json');
    expect(
      j.stdout.startsWith(
        '{\n  "clientVersion": {\n    "major": "1",\n    "minor": "29",\n    "gitVersion": "v1.29.6",',
      ),
    ).toBe(true);
    const bad = await on('cp-1', 'kubeadm', 'version', '-o', 'xml');
    expect(bad).toMatchObject({ code: 1, stdout: '', stderr: `invalid output format: xml\n${STACK}` });
  });

  test('unknown flag and command fail like kubeadm', async () => {
    expect(await on('cp-1', 'kubeadm', 'upgrade', 'plan', '--foo')).toMatchObject({
      code: 1,
      stderr: `unknown flag: --foo\n${STACK}`,
    });
    expect(await on('cp-1', 'kubeadm', 'frobnicate')).toMatchObject({
      code: 1,
      stderr: `unknown command "frobnicate" for "kubeadm"\n${STACK}`,
    });
  });
});

describe('kubeadm upgrade plan (≤1.29 layout)', () => {
  test('text', async () => {
    const r = await on('cp-1', 'kubeadm', 'upgrade', 'plan');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "[upgrade/config] Reading configuration from the cluster...\n[upgrade/config] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'\n[preflight] Running pre-flight checks.\n[upgrade] Running cluster health checks\n[upgrade] Fetching available versions to upgrade to\n[upgrade/versions] Cluster version: v1.29.6\n[upgrade/versions] kubeadm version: v1.29.6\n[upgrade/versions] Target version: v1.29.15\n[upgrade/versions] Latest version in the v1.29 series: v1.29.15\n",
    );
    expect(r.stdout).toContain('COMPONENT   CURRENT       TARGET\nkubelet     4 x v1.29.6   v1.29.15\n');
    expect(r.stdout).toContain(
      'Upgrade to the latest version in the v1.29 series:\n\nCOMPONENT                 CURRENT    TARGET\nkube-apiserver            v1.29.6    v1.29.15\n',
    );
    expect(r.stdout).toContain('etcd                      3.5.10-0   3.5.10-0\n');
    expect(r.stdout).toContain(
      '\tkubeadm upgrade apply v1.29.15\n\nNote: Before you can perform this upgrade, you have to update kubeadm to v1.29.15.\n\n' +
        '_'.repeat(69) +
        '\n\n',
    );
    expect(r.stdout).toContain(
      'API GROUP                 CURRENT VERSION   PREFERRED VERSION   MANUAL UPGRADE REQUIRED\nkubeproxy.config.k8s.io   v1alpha1          v1alpha1            no\n',
    );
  });

  test('-o json is output.kubeadm.k8s.io/v1alpha2 after the log lines', async () => {
    const r = await on('cp-1', 'kubeadm', 'upgrade', 'plan', 'v1.29.10', '-o', 'json');
    const obj = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as {
      apiVersion: string;
      components: { name: string; currentVersion: string; newVersion: string }[];
    };
    expect(obj.apiVersion).toBe('output.kubeadm.k8s.io/v1alpha2');
    expect(obj.components[0]).toEqual({
      name: 'kubelet',
      currentVersion: '4 x v1.29.6',
      newVersion: 'v1.29.10',
    });
  });

  test('needs admin.conf: fails on a worker', async () => {
    const r = await on('w-1', 'kubeadm', 'upgrade', 'plan');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `couldn't create a Kubernetes client from file "/etc/kubernetes/admin.conf": failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory\n${STACK}`,
    );
  });
});

describe('yum and the repository minor', () => {
  test('excludes hide the packages unless --disableexcludes=kubernetes', async () => {
    const r = await on('cp-1', 'yum', 'list', '--showduplicates', 'kubeadm');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: No matching Packages to list\n');
    const ok = await on('cp-1', 'yum', 'list', '--showduplicates', 'kubeadm', '--disableexcludes=kubernetes');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^Last metadata expiration check: /);
    expect(ok.stdout).toContain(
      'Installed Packages\nkubeadm.x86_64                           1.29.6-150500.1.1                   @kubernetes\nAvailable Packages\n',
    );
    expect(ok.stdout).toContain(
      'kubeadm.x86_64                           1.29.15-150500.1.1                  kubernetes\n',
    );
    expect(ok.stdout).not.toContain('1.30.');
  });

  test('1.30 cannot be installed while the repo points at v1.29', async () => {
    const r = await on('cp-1', 'yum', 'install', '-y', 'kubeadm-1.30.4-*', '--disableexcludes=kubernetes');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('No match for argument: kubeadm-1.30.4-*\n');
    expect(r.stderr).toBe('Error: Unable to find a match: kubeadm-1.30.4-*\n');
  });

  test('after the repo switch kubeadm 1.30.4 installs', async () => {
    editNodeFile(dir, 'cp-1', 'etc/yum.repos.d/kubernetes.repo', (s) => s.replace(/v1\.29/g, 'v1.30'));
    const r = await on('cp-1', 'yum', 'install', '-y', 'kubeadm-1.30.4-*', '--disableexcludes=kubernetes');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Upgrading:\n kubeadm ');
    expect(r.stdout).toContain('\nUpgraded:\n  kubeadm-1.30.4-150500.1.1.x86_64\n\nComplete!\n');
    expect((await on('cp-1', 'kubeadm', 'version', '-o', 'short')).stdout).toBe('v1.30.4\n');
    const again = await on(
      'cp-1',
      'yum',
      'install',
      '-y',
      'kubeadm-1.30.4-150500.1.1',
      '--disableexcludes=kubernetes',
    );
    expect(again.stdout).toContain('Package kubeadm-1.30.4-150500.1.1.x86_64 is already installed.\n');
  });

  test('unknown yum command', async () => {
    const r = await on('cp-1', 'yum', 'frobnicate');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^No such command: frobnicate\. Please use \/usr\/bin\/yum --help\n/);
  });
});

describe('kubeadm upgrade apply (≤1.31 output) and the version policy', () => {
  test('one minor at a time, kubeadm not older than the target', async () => {
    const r = await on('cp-1', 'kubeadm', 'upgrade', 'apply', 'v1.31.0', '-y');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      '[upgrade/version] FATAL: the --version argument is invalid due to these fatal errors:\n\n' +
        '\t- Specified version to upgrade to "v1.31.0" is too high; kubeadm can upgrade only 1 minor version at a time\n' +
        '\t- Specified version to upgrade to "v1.31.0" is at least one minor release higher than the kubeadm minor release (31 > 30). Such an upgrade is not supported\n' +
        `\nPlease fix the misalignments highlighted above and try upgrading again\n${STACK}`,
    );
    const patch = await on('cp-1', 'kubeadm', 'upgrade', 'apply', 'v1.30.5', '-y');
    expect(patch.stderr).toContain(
      '\t- Specified version to upgrade to "v1.30.5" is higher than the kubeadm version "v1.30.4". Upgrade kubeadm first using the tool you used to install kubeadm\n\nCan be bypassed if you pass the --force flag',
    );
  });

  test('apply only where admin.conf and the manifests are', async () => {
    const r = await on('w-1', 'kubeadm', 'upgrade', 'apply', 'v1.29.6', '-y');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory',
    );
  });

  test('apply v1.30.4 on the first control plane', async () => {
    const r = await on('cp-1', 'kubeadm', 'upgrade', 'apply', 'v1.30.4', '-y');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '[upgrade/version] You have chosen to change the cluster version to "v1.30.4"\n[upgrade/versions] Cluster version: v1.29.6\n[upgrade/versions] kubeadm version: v1.30.4\n',
    );
    expect(r.stdout).toContain(
      '[upgrade/apply] Upgrading your Static Pod-hosted control plane to version "v1.30.4" (timeout: 5m0s)...\n',
    );
    expect(r.stdout).toContain(
      '[upgrade/addons] skip upgrade addons because control plane instances [cp-2] have not been upgraded\n',
    );
    expect(
      r.stdout.endsWith(
        '\n[upgrade/successful] SUCCESS! Your cluster was upgraded to "v1.30.4". Enjoy!\n\n[upgrade/kubelet] Now that your control plane is upgraded, please proceed with upgrading your kubelets if you haven\'t already done so.\n',
      ),
    ).toBe(true);
    const m =
      /backing up old manifest to "(\/etc\/kubernetes\/tmp\/kubeadm-backup-manifests-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)\/kube-apiserver\.yaml"/.exec(
        r.stdout,
      );
    expect(m).not.toBeNull();
    expect(fs.readFileSync(nodeFile(dir, 'cp-1', `${m![1]}/kube-apiserver.yaml`), 'utf8')).toContain(
      'image: registry.k8s.io/kube-apiserver:v1.29.6\n',
    );
    expect(
      fs.readFileSync(nodeFile(dir, 'cp-1', 'etc/kubernetes/manifests/kube-apiserver.yaml'), 'utf8'),
    ).toContain('image: registry.k8s.io/kube-apiserver:v1.30.4\n');
    expect(fs.readFileSync(nodeFile(dir, 'cp-1', 'etc/kubernetes/manifests/etcd.yaml'), 'utf8')).toContain(
      'image: registry.k8s.io/etcd:3.5.12-0\n',
    );
    expect(
      fs.existsSync(nodeFile(dir, 'cp-1', m![1]!.replace('manifests', 'etcd') + '/member/snap/db')),
    ).toBe(true);
    const ev = readEvents<Record<string, unknown>>(dir);
    expect(ev).toContainEqual(
      expect.objectContaining({
        node: 'cp-1',
        type: 'exec',
        cmd: 'kubeadm upgrade apply v1.30.4 -y',
        exit: 0,
      }),
    );
    expect(ev).toContainEqual(
      expect.objectContaining({
        node: 'cp-1',
        type: 'state',
        apiserver: 'v1.30.4',
        kubeadm: 'v1.30.4',
        kubelet: 'v1.29.6',
      }),
    );
  });

  test('re-running apply is idempotent: equal manifests are skipped', async () => {
    const r = await on('cp-1', 'kubeadm', 'upgrade', 'apply', 'v1.30.4', '-y');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '[upgrade/staticpods] Current and new manifests of kube-apiserver are equal, skipping upgrade\n',
    );
  });
});

describe('kubectl', () => {
  test('get nodes, and no kubeconfig on a worker', async () => {
    const r = await on('cp-1', 'kubectl', 'get', 'nodes');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'NAME   STATUS   ROLES           AGE   VERSION\ncp-1   Ready    control-plane   40d   v1.29.6\ncp-2   Ready    control-plane   40d   v1.29.6\nw-1    Ready    <none>          40d   v1.29.6\nw-2    Ready    <none>          40d   v1.29.6\n',
    );
    const j = JSON.parse((await on('cp-1', 'kubectl', 'get', 'nodes', '-o', 'json')).stdout) as {
      kind: string;
      items: {
        metadata: { labels: Record<string, string> };
        status: { nodeInfo: { kubeletVersion: string } };
      }[];
    };
    expect(j.kind).toBe('List');
    expect(j.items[0]!.metadata.labels['node-role.kubernetes.io/control-plane']).toBe('');
    expect(j.items[3]!.status.nodeInfo.kubeletVersion).toBe('v1.29.6');
    expect(await on('w-1', 'kubectl', 'get', 'nodes')).toMatchObject({
      code: 1,
      stderr:
        'The connection to the server localhost:8080 was refused - did you specify the right host or port?\n',
    });
    expect(await on('cp-1', 'kubectl', 'get', 'nodes', '--foo')).toMatchObject({
      code: 1,
      stderr: "error: unknown flag: --foo\nSee 'kubectl get --help' for usage.\n",
    });
  });

  test('kubeadm-config, pdbs, version', async () => {
    const cm = await on('cp-1', 'kubectl', '-n', 'kube-system', 'get', 'cm', 'kubeadm-config', '-o', 'yaml');
    expect(cm.stdout).toContain('  ClusterConfiguration: |\n');
    expect(cm.stdout).toContain('    kubernetesVersion: v1.30.4\n');
    expect(cm.stdout).toContain('    apiVersion: kubeadm.k8s.io/v1beta3\n');
    expect(await on('cp-1', 'kubectl', 'get', 'cm', 'kubeadm-config')).toMatchObject({
      code: 1,
      stderr: 'Error from server (NotFound): configmaps "kubeadm-config" not found\n',
    });
    const pdb = await on('cp-1', 'kubectl', 'get', 'pdb', '-A');
    expect(pdb.stdout).toBe(
      'NAMESPACE   NAME      MIN AVAILABLE   MAX UNAVAILABLE   ALLOWED DISRUPTIONS   AGE\n' +
        'prod        api-pdb   1               N/A               1                     40d\n' +
        'prod        web-pdb   N/A             1                 1                     40d\n',
    );
    const v = await on('cp-1', 'kubectl', 'version');
    expect(v.stdout).toBe(
      'Client Version: v1.29.6\nKustomize Version: v5.0.4-0.20230601165947-6ce0bf390ce3\nServer Version: v1.30.4\n',
    );
    expect(await on('cp-1', 'kubectl', 'version', '--short')).toMatchObject({
      code: 1,
      stderr: "error: unknown flag: --short\nSee 'kubectl version --help' for usage.\n",
    });
  });

  test('drain refuses DaemonSet pods without --ignore-daemonsets; the node stays cordoned', async () => {
    const r = await on('cp-1', 'kubectl', 'drain', 'cp-1');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('node/cp-1 cordoned\n');
    expect(r.stderr).toMatch(
      /^error: unable to drain node "cp-1" due to error: cannot delete DaemonSet-managed Pods \(use --ignore-daemonsets to ignore\): kube-system\/kube-proxy-\w{5}, kube-system\/calico-node-\w{5}, continuing command\.\.\.\nThere are pending nodes to be drained:\n cp-1\ncannot delete DaemonSet-managed Pods \(use --ignore-daemonsets to ignore\): kube-system\/kube-proxy-\w{5}, kube-system\/calico-node-\w{5}\n$/,
    );
    expect((await on('cp-1', 'kubectl', 'get', 'nodes', 'cp-1')).stdout).toContain(
      'cp-1   Ready,SchedulingDisabled   control-plane',
    );
  });

  test('drain --ignore-daemonsets evicts, pods move to other nodes', async () => {
    const r = await on('cp-1', 'kubectl', 'drain', 'cp-1', '--ignore-daemonsets');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^node\/cp-1 already cordoned\n/);
    expect(r.stdout).toMatch(/evicting pod kube-system\/coredns-\w{10}-\w{5}\n/);
    expect(r.stdout).toMatch(/pod\/coredns-\w{10}-\w{5} evicted\n/);
    expect(r.stdout.endsWith('node/cp-1 drained\n')).toBe(true);
    expect(r.stderr).toMatch(
      /^Warning: ignoring DaemonSet-managed Pods: kube-system\/kube-proxy-\w{5}, kube-system\/calico-node-\w{5}\n$/,
    );
    const pods = await on('cp-1', 'kubectl', 'get', 'pods', '-A', '--field-selector', 'spec.nodeName=cp-1');
    expect(pods.stdout).not.toContain('coredns');
    const last = readEvents<Record<string, unknown>>(dir)
      .filter((e) => e.node === 'cp-1' && e.type === 'state')
      .pop();
    expect(last).toMatchObject({ unschedulable: true, pods: 0 });
  });

  test('kubelet: package, restart (daemon-reload warning), Ready after a while; never Ready with the fault', async () => {
    const inst = await on(
      'cp-1',
      'yum',
      'install',
      '-y',
      'kubelet-1.30.4-*',
      'kubectl-1.30.4-*',
      '--disableexcludes=kubernetes',
    );
    expect(inst.code).toBe(0);
    // the package alone does not change the running kubelet
    expect((await on('cp-1', 'kubectl', 'get', 'nodes', 'cp-1')).stdout).toContain('v1.29.6');
    await injectFault(dir, { kind: 'kubelet-not-ready', node: 'cp-1' });
    const rs = await on('cp-1', 'systemctl', 'restart', 'kubelet');
    expect(rs).toMatchObject({
      code: 0,
      stderr:
        "Warning: The unit file, source configuration file or drop-ins of kubelet.service changed on disk. Run 'systemctl daemon-reload' to reload units.\n",
    });
    expect((await on('cp-1', 'kubectl', 'get', 'nodes', 'cp-1')).stdout).toContain(
      'cp-1   NotReady,SchedulingDisabled   control-plane   40d   v1.30.4\n',
    );
    expect(await on('cp-1', 'systemctl', 'is-active', 'kubelet')).toMatchObject({
      code: 3,
      stdout: 'activating\n',
    });
    await clearFaults(dir);
    await new Promise((r) => setTimeout(r, 100));
    expect(await on('cp-1', 'systemctl', 'is-active', 'kubelet')).toMatchObject({
      code: 0,
      stdout: 'active\n',
    });
    expect((await on('cp-1', 'kubectl', 'get', 'nodes', 'cp-1')).stdout).toContain(
      'cp-1   Ready,SchedulingDisabled',
    );
    expect(await on('cp-1', 'kubectl', 'uncordon', 'cp-1')).toMatchObject({
      code: 0,
      stdout: 'node/cp-1 uncordoned\n',
    });
    expect(await on('cp-1', 'kubectl', 'uncordon', 'cp-1')).toMatchObject({
      code: 0,
      stdout: 'node/cp-1 already uncordoned\n',
    });
    expect(await on('cp-1', 'kubectl', 'cordon', 'nope')).toMatchObject({
      code: 1,
      stderr: 'Error from server (NotFound): nodes "nope" not found\n',
    });
  });

  test('a PDB that blocks eviction makes drain retry until --timeout', async () => {
    await injectFault(dir, { kind: 'pdb-block', node: 'w-1' });
    const r = await on('cp-1', 'kubectl', 'drain', 'w-1', '--ignore-daemonsets', '--timeout=30s');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /error when evicting pods\/"web-\w{10}-\w{5}" -n "prod" \(will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget\.\n/,
    );
    expect(r.stderr).toMatch(
      /There are pending pods in node "w-1" when an error occurred: .*error when evicting pods\/"(web|api)-\w{10}-\w{5}" -n "prod": global timeout reached: 30s/,
    );
    expect(r.stderr).toMatch(
      /error: unable to drain node "w-1" due to error:.*, continuing command\.\.\.\nThere are pending nodes to be drained:\n w-1\n/,
    );
    // pods without a PDB were evicted meanwhile
    expect(r.stdout).toMatch(/pod\/worker-\w{10}-\w{5} evicted\n/);
    await clearFaults(dir);
    const ok = await on('cp-1', 'kubectl', 'drain', 'w-1', '--ignore-daemonsets', '--timeout=5m');
    expect(ok.code).toBe(0);
    expect(ok.stdout.endsWith('node/w-1 drained\n')).toBe(true);
    expect((await on('cp-1', 'kubectl', 'uncordon', 'w-1')).stdout).toBe('node/w-1 uncordoned\n');
  });
});

describe('systemctl, swapon, etcdctl', () => {
  test('systemctl errors', async () => {
    expect(await on('w-1', 'systemctl', 'frobnicate')).toMatchObject({
      code: 1,
      stderr: 'Unknown command verb frobnicate.\n',
    });
    expect(await on('w-1', 'systemctl', 'restart', 'nope')).toMatchObject({
      code: 5,
      stderr: 'Failed to restart nope.service: Unit nope.service not found.\n',
    });
    expect(await on('w-1', 'systemctl', 'daemon-reload')).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  test('swapon --show prints nothing when swap is off, a table with the fault', async () => {
    expect(await on('w-2', 'swapon', '--show')).toMatchObject({ code: 0, stdout: '' });
    await injectFault(dir, { kind: 'swap', node: 'w-2' });
    expect((await on('w-2', 'swapon', '--show')).stdout).toBe(
      'NAME      TYPE      SIZE USED PRIO\n/dev/dm-1 partition   4G   0B   -2\n',
    );
    expect((await on('w-1', 'swapon', '--show')).stdout).toBe('');
    await clearFaults(dir);
  });

  test('etcdctl snapshot save writes the file; endpoint health', async () => {
    const tls = [
      '--endpoints=https://127.0.0.1:2379',
      '--cacert=/etc/kubernetes/pki/etcd/ca.crt',
      '--cert=/etc/kubernetes/pki/etcd/server.crt',
      '--key=/etc/kubernetes/pki/etcd/server.key',
    ];
    const r = await on('cp-1', 'etcdctl', ...tls, 'snapshot', 'save', '/var/backups/etcd-snap.db');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Snapshot saved at /var/backups/etcd-snap.db\n');
    expect(r.stderr).toContain('"msg":"created temporary db file","path":"/var/backups/etcd-snap.db.part"');
    expect(fs.readFileSync(nodeFile(dir, 'cp-1', 'var/backups/etcd-snap.db'), 'utf8')).toContain(
      'kupgrade-lab etcd snapshot',
    );
    expect(await on('cp-1', 'etcdctl', ...tls, 'snapshot', 'save')).toMatchObject({
      code: 128,
      stderr: 'Error: snapshot save expects one argument\n',
    });
    expect((await on('cp-1', 'etcdctl', ...tls, 'endpoint', 'health')).stdout).toMatch(
      /^https:\/\/127\.0\.0\.1:2379 is healthy: successfully committed proposal: took = [\d.]+ms\n$/,
    );
    expect(
      await on('cp-1', 'etcdctl', '--cacert=/etc/kubernetes/pki/etcd/nope.crt', 'endpoint', 'health'),
    ).toMatchObject({
      code: 1,
      stderr: 'Error: open /etc/kubernetes/pki/etcd/nope.crt: no such file or directory\n',
    });
  });
});

describe('faults', () => {
  test('a command fails N times with a realistic message, then works', async () => {
    await injectFault(dir, { kind: 'fail', match: 'kubeadm upgrade plan', node: 'cp-1', times: 2 });
    for (let i = 0; i < 2; i++) {
      const r = await on('cp-1', 'kubeadm', 'upgrade', 'plan');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^\[upgrade\/health\] FATAL: \[preflight\] Some fatal errors occurred:\n\t\[ERROR CreateJob\]: Job "upgrade-health-check-\d+" in the namespace "kube-system" did not complete in 15s: no condition of type Complete\n/,
      );
    }
    expect((await on('cp-1', 'kubeadm', 'upgrade', 'plan')).code).toBe(0);
    await clearFaults(dir);
  });

  test('drop: the shim kills the SSH session process and itself', async () => {
    await injectFault(dir, { kind: 'drop', match: 'kubectl get nodes', times: 1 });
    // stands in for the sshd session process of the node shell
    const fake = spawn('sleep', ['30'], { stdio: 'ignore' });
    const gone = new Promise<NodeJS.Signals | null>((r) => fake.once('exit', (_c, s) => r(s)));
    const r = await run(dir, 'cp-1', 'kubectl', ['get', 'nodes'], {
      KUPGRADE_LAB_SESSION_PID: String(fake.pid),
    });
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).toBe('');
    expect(await gone).toBe('SIGKILL');
    const ev = readEvents<Record<string, unknown>>(dir).filter(
      (e) => e.type === 'exec' && e.cmd === 'kubectl get nodes',
    );
    expect(ev.length).toBeGreaterThan(0);
  });

  test('hang: the command does not return', async () => {
    await injectFault(dir, { kind: 'hang', match: 'kubeadm version', times: 1 });
    const p = start(dir, 'cp-2', 'kubeadm', ['version']);
    const exited = await Promise.race([
      new Promise<boolean>((r) => p.once('exit', () => r(true))),
      new Promise<boolean>((r) => setTimeout(() => r(false), 1500)),
    ]);
    expect(exited).toBe(false);
    p.kill('SIGKILL');
    expect((await on('cp-2', 'kubeadm', 'version', '-o', 'short')).stdout).toBe('v1.29.6\n');
    await clearFaults(dir);
  });

  test('a package version missing on one node only', async () => {
    await injectFault(dir, { kind: 'package-missing', node: 'w-2', version: '1.29.15', package: 'kubeadm' });
    const w2 = await on('w-2', 'yum', 'list', '--showduplicates', 'kubeadm', '--disableexcludes=kubernetes');
    const w1 = await on('w-1', 'yum', 'list', '--showduplicates', 'kubeadm', '--disableexcludes=kubernetes');
    expect(w1.stdout).toContain('1.29.15-150500.1.1');
    expect(w2.stdout).not.toContain('1.29.15-150500.1.1');
    expect(w2.stdout).toContain('1.29.14-150500.1.1');
    await clearFaults(dir);
  });
});

describe('kubeadm upgrade diff and config images pull', () => {
  test('diff prints one unified diff per changed manifest and writes nothing', async () => {
    const before = fs.readFileSync(
      nodeFile(dir, 'cp-2', 'etc/kubernetes/manifests/kube-scheduler.yaml'),
      'utf8',
    );
    const r = await on('cp-2', 'kubeadm', 'upgrade', 'diff', 'v1.29.15');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^--- \/etc\/kubernetes\/manifests\/kube-apiserver\.yaml\n\+\+\+ new manifest\n@@ -\d+,7 \+\d+,7 @@\n/,
    );
    expect(r.stdout).toContain(
      '-    image: registry.k8s.io/kube-scheduler:v1.29.6\n+    image: registry.k8s.io/kube-scheduler:v1.29.15\n',
    );
    expect(
      fs.readFileSync(nodeFile(dir, 'cp-2', 'etc/kubernetes/manifests/kube-scheduler.yaml'), 'utf8'),
    ).toBe(before);
    expect((await on('cp-2', 'kubeadm', 'upgrade', 'diff', 'v1.29.6')).stdout).toBe('');
  });

  test('images pull in kubeadm order; a custom repository has no coredns/ path', async () => {
    const r = await on('cp-2', 'kubeadm', 'config', 'images', 'pull', '--kubernetes-version', 'v1.30.4');
    expect(r.stdout).toBe(
      [
        'registry.k8s.io/kube-apiserver:v1.30.4',
        'registry.k8s.io/kube-controller-manager:v1.30.4',
        'registry.k8s.io/kube-scheduler:v1.30.4',
        'registry.k8s.io/kube-proxy:v1.30.4',
        'registry.k8s.io/coredns/coredns:v1.11.1',
        'registry.k8s.io/pause:3.9',
        'registry.k8s.io/etcd:3.5.12-0',
      ]
        .map((i) => `[config/images] Pulled ${i}\n`)
        .join(''),
    );
    const aliyun = 'registry.cn-hangzhou.aliyuncs.com/google_containers';
    const m = await on(
      'cp-2',
      'kubeadm',
      'config',
      'images',
      'pull',
      '--kubernetes-version=v1.30.4',
      '--image-repository',
      aliyun,
    );
    expect(m.stdout).toContain(`[config/images] Pulled ${aliyun}/coredns:v1.11.1\n`);
  });
});

describe("the commands kupgrade's activities use: rpm -q, repo probes", () => {
  test('rpm -q --qf', async () => {
    const r = await on(
      'cp-2',
      'rpm',
      '-q',
      '--qf',
      '%{NAME} %{VERSION}-%{RELEASE}\\n',
      'kubeadm',
      'kubelet',
      'kubectl',
    );
    expect(r).toMatchObject({
      code: 0,
      stdout: 'kubeadm 1.29.6-150500.1.1\nkubelet 1.29.6-150500.1.1\nkubectl 1.29.6-150500.1.1\n',
    });
    expect(await on('cp-2', 'rpm', '-q', 'kubeadm', 'nginx')).toMatchObject({
      code: 1,
      stdout: 'kubeadm-1.29.6-150500.1.1.x86_64\npackage nginx is not installed\n',
    });
  });

  test('yum --setopt=reposdir lists a temporary repo only', async () => {
    fs.mkdirSync(nodeFile(dir, 'cp-2', 'tmp/probe'), { recursive: true });
    fs.writeFileSync(
      nodeFile(dir, 'cp-2', 'tmp/probe/kubernetes.repo'),
      '[kubernetes]\nname=Kubernetes\nbaseurl=https://pkgs.k8s.io/core:/stable:/v1.31/rpm/\nenabled=1\nexclude=kubelet kubeadm kubectl\n',
    );
    const r = await on(
      'cp-2',
      'yum',
      '--setopt=reposdir=/tmp/probe',
      '--setopt=cachedir=/tmp/probe/cache',
      'list',
      '--showduplicates',
      'kubeadm',
      '--disableexcludes=kubernetes',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'kubeadm.x86_64                           1.31.13-150500.1.1                  kubernetes\n',
    );
    expect(r.stdout).not.toMatch(/1\.29\.\d+-150500\.1\.1 {2,}kubernetes\n/);
  });

  test('yum --disablerepo=* --enablerepo=probe', async () => {
    fs.writeFileSync(
      nodeFile(dir, 'cp-2', 'etc/yum.repos.d/kupgrade-probe.repo'),
      '[kupgrade-probe]\nname=kupgrade probe\nbaseurl=https://pkgs.k8s.io/core:/stable:/v1.30/rpm/\nenabled=1\n',
    );
    const r = await on(
      'cp-2',
      'yum',
      'list',
      '--showduplicates',
      'kubeadm',
      'kubelet',
      'kubectl',
      '--disablerepo=*',
      '--enablerepo=kupgrade-probe',
      '--disableexcludes=all',
    );
    fs.rmSync(nodeFile(dir, 'cp-2', 'etc/yum.repos.d/kupgrade-probe.repo'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'kubelet.x86_64                           1.30.14-150500.1.1                  kupgrade-probe\n',
    );
    expect(r.stdout).not.toContain(' kubernetes\n');
  });
});

describe('kubectl as the activities call it', () => {
  test('kube-apiserver pods by label carry the image each node runs', async () => {
    const r = await on(
      'cp-1',
      'kubectl',
      '--kubeconfig=/etc/kubernetes/admin.conf',
      '-n',
      'kube-system',
      'get',
      'pods',
      '-l',
      'component=kube-apiserver',
      '-o',
      'json',
    );
    expect(r.code).toBe(0);
    const items = (
      JSON.parse(r.stdout) as {
        items: {
          metadata: { name: string; labels: Record<string, string> };
          spec: { nodeName: string; containers: { image: string }[] };
        }[];
      }
    ).items;
    expect(items.map((i) => [i.metadata.name, i.spec.nodeName, i.spec.containers[0]!.image])).toEqual([
      ['kube-apiserver-cp-1', 'cp-1', 'registry.k8s.io/kube-apiserver:v1.30.4'],
      ['kube-apiserver-cp-2', 'cp-2', 'registry.k8s.io/kube-apiserver:v1.29.6'],
    ]);
    expect(items[0]!.metadata.labels).toEqual({ component: 'kube-apiserver', tier: 'control-plane' });
    const ds = await on(
      'cp-1',
      'kubectl',
      'get',
      'pods',
      '--all-namespaces',
      '--field-selector',
      'spec.nodeName=w-1',
      '-o',
      'json',
    );
    const pods = (
      JSON.parse(ds.stdout) as { items: { metadata: { ownerReferences?: { kind: string }[] } }[] }
    ).items;
    expect(pods.some((p) => p.metadata.ownerReferences?.[0]?.kind === 'DaemonSet')).toBe(true);
  });
});
