/**
 * kubectl activities and the kubelet restart: drain/uncordon check-first, drain failures
 * (PDB timeout, unmanaged pods), waiting for Ready with heartbeats and a deadline that survives
 * retries, cluster state and verification, and the SSH-level error translation.
 */
import { createNodeActivities } from '../../src/activities';
import { HostKeyMismatchError, SshTransportError, SudoPasswordRequiredError } from '../../src/ssh/errors';
import { detail, failureOf, inActivity } from '../helpers/activity';
import { ctxOf, FakeSsh, hop130, nodeOf } from './fake-ssh';
import { buildInventory, type InventoryOverrides } from '../helpers/inventory';
import {
  apiserverPodsJson,
  DRAIN_OK,
  DRAIN_PDB_TIMEOUT,
  DRAIN_UNMANAGED,
  kubeadmConfigJson,
  nodeJson,
  nodeListJson,
  podListJson,
  type NodeSpec,
} from './samples';

const KUBECTL = 'kubectl --kubeconfig=/etc/kubernetes/admin.conf';

function setup(over: InventoryOverrides = {}) {
  const ssh = new FakeSsh();
  const inv = buildInventory({}, over);
  let clock = Date.parse('2026-11-28T09:00:00Z');
  const acts = createNodeActivities({
    ssh,
    pollIntervalMs: 5000,
    now: () => new Date(clock),
    sleep: async (ms) => {
      clock += ms;
    },
  });
  const nodeInput = { cluster: ctxOf(inv), node: nodeOf(inv, 'w-1') };
  return {
    ssh,
    inv,
    acts,
    nodeInput,
    input: { ...nodeInput, hop: hop130() },
    advance: (ms: number) => (clock += ms),
  };
}

/** The API node answers for w-1 from a mutable spec, and pods from a mutable list. */
function cluster(ssh: FakeSsh, w1: NodeSpec, pods: Parameters<typeof podListJson>[0]) {
  ssh.on(/get node w-1 -o json/, () => ({ stdout: nodeJson(w1) }), { node: 'cp-1' });
  ssh.on(
    /get pods --all-namespaces --field-selector spec.nodeName=w-1 -o json/,
    () => ({ stdout: podListJson(pods) }),
    {
      node: 'cp-1',
    },
  );
}

describe('ensureDrained', () => {
  test('drains with the inventory options, then a retry sees cordoned + empty and runs nothing', async () => {
    const { ssh, acts, nodeInput } = setup({
      drain: {
        timeoutSeconds: 120,
        ignoreDaemonSets: true,
        deleteEmptyDirData: true,
        force: true,
        gracePeriodSeconds: 30,
      },
    });
    const w1: NodeSpec = { name: 'w-1' };
    const pods = [
      { ns: 'kube-system', name: 'kube-proxy-x', owner: 'DaemonSet' as const },
      { ns: 'prod', name: 'api-6c47d9f8b4-x9pql', owner: 'ReplicaSet' as const },
    ];
    cluster(ssh, w1, pods);
    ssh.on(/ drain .* -- w-1$/, () => {
      w1.unschedulable = true;
      pods.pop();
      return { stdout: DRAIN_OK };
    });
    const first = await inActivity(() => acts.ensureDrained(nodeInput));
    expect(first.value).toMatchObject({ changed: true, wasCordoned: false });
    expect(ssh.mutating()).toEqual([
      `${KUBECTL} drain --ignore-daemonsets --delete-emptydir-data --force --grace-period=30 --timeout=120s -- w-1`,
    ]);
    expect(ssh.calls.every((c) => c.node === 'cp-1')).toBe(true);
    // a schedulable node: read and drained in one session, and no heartbeat before the drain's
    // first one says what the node was (a retry after a lost worker reads it from there)
    expect(ssh.calls.map((c) => c.parts.length)).toEqual([3]);
    expect(first.heartbeats.length).toBeGreaterThan(0);
    expect(first.heartbeats.every((h) => (h as { wasCordoned?: unknown }).wasCordoned === false)).toBe(true);
    ssh.reset();
    const second = await inActivity(() => acts.ensureDrained(nodeInput));
    expect(second.value).toMatchObject({ changed: false, wasCordoned: true });
    expect(ssh.mutating()).toEqual([]);
  });

  test('a node cordoned by someone else but still holding pods is drained and reported as wasCordoned', async () => {
    const { ssh, acts, nodeInput } = setup();
    cluster(ssh, { name: 'w-1', unschedulable: true }, [{ ns: 'prod', name: 'web-1', owner: 'ReplicaSet' }]);
    ssh.on(/ drain .* -- w-1$/, { stdout: DRAIN_OK });
    const r = await inActivity(() => acts.ensureDrained(nodeInput));
    expect(r.value).toMatchObject({ changed: true, wasCordoned: true });
    // cordoned already: the drain runs only after the pods read said some are left, alone
    expect(ssh.calls.map((c) => c.parts.length)).toEqual([2, 1]);
  });

  test('a retry finding the cordon of its first attempt keeps what the first attempt saw', async () => {
    const { ssh, acts, nodeInput } = setup();
    // the first attempt cordoned it and was lost mid-drain; a pod is still left
    cluster(ssh, { name: 'w-1', unschedulable: true }, [{ ns: 'prod', name: 'web-1', owner: 'ReplicaSet' }]);
    ssh.on(/ drain .* -- w-1$/, { stdout: DRAIN_OK });
    const r = await inActivity(() => acts.ensureDrained(nodeInput), {
      heartbeatDetails: { node: 'w-1', step: 'drain', wasCordoned: false },
    });
    expect(r.value).toMatchObject({ changed: true, wasCordoned: false });
    expect(r.heartbeats.every((h) => (h as { wasCordoned?: unknown }).wasCordoned === false)).toBe(true);
  });

  test('a PDB that never yields: DrainTimeout, non-retryable, blocking pod named, node left cordoned by this call', async () => {
    const { ssh, acts, nodeInput } = setup();
    cluster(ssh, { name: 'w-1' }, [
      { ns: 'payments', name: 'payments-api-7c9d4f6b8-r8pqz', owner: 'ReplicaSet' },
    ]);
    ssh.on(/ drain .* -- w-1$/, { exitCode: 1, stderr: DRAIN_PDB_TIMEOUT });
    const f = await failureOf(() => acts.ensureDrained(nodeInput));
    expect(f.type).toBe('DrainTimeout');
    expect(f.nonRetryable).toBe(true);
    const d = detail(f);
    expect(d.hints.join('\n')).toContain('payments/payments-api-7c9d4f6b8-r8pqz');
    expect(d.cordonedByThisCall).toBe(true);
    expect(d.wasCordoned).toBe(false);
    expect(ssh.commands().filter((c) => / uncordon /.test(c))).toEqual([]);
  });

  test('unmanaged pods without --force: PolicyRefused with the fix', async () => {
    const { ssh, acts, nodeInput } = setup();
    cluster(ssh, { name: 'w-1' }, [{ ns: 'default', name: 'debug-x7k2p', owner: 'none' }]);
    ssh.on(/ drain .* -- w-1$/, { exitCode: 1, stderr: DRAIN_UNMANAGED });
    const f = await failureOf(() => acts.ensureDrained(nodeInput));
    expect(f.type).toBe('PolicyRefused');
    expect(f.nonRetryable).toBe(true);
    expect(detail(f).hints.join('\n')).toContain('drain.force: true');
  });

  test('mirror pods, DaemonSet pods and finished pods do not count as left to drain', async () => {
    const { ssh, acts, nodeInput } = setup();
    cluster(ssh, { name: 'w-1', unschedulable: true }, [
      { ns: 'kube-system', name: 'kube-proxy-x', owner: 'DaemonSet' },
      { ns: 'kube-system', name: 'etcd-w-1', owner: 'Node' },
      { ns: 'batch', name: 'job-1', owner: 'ReplicaSet', phase: 'Succeeded' },
    ]);
    const r = await inActivity(() => acts.ensureDrained(nodeInput));
    expect(r.value.changed).toBe(false);
  });
});

describe('ensureUncordoned', () => {
  test('uncordons a cordoned node once', async () => {
    const { ssh, acts, nodeInput } = setup();
    const w1: NodeSpec = { name: 'w-1', unschedulable: true };
    cluster(ssh, w1, []);
    ssh.on(/ uncordon -- w-1$/, () => {
      w1.unschedulable = false;
      return { stdout: 'node/w-1 uncordoned\n' };
    });
    expect((await inActivity(() => acts.ensureUncordoned(nodeInput))).value.changed).toBe(true);
    expect((await inActivity(() => acts.ensureUncordoned(nodeInput))).value.changed).toBe(false);
    expect(ssh.mutating()).toEqual([`${KUBECTL} uncordon -- w-1`]);
  });
});

describe('waitNodeReady', () => {
  test('waits with kubectl wait, no read and no poll interval slept', async () => {
    const { ssh, acts, input } = setup();
    let restarted = false;
    ssh.on(/get node w-1 -o json/, () => ({
      stdout: nodeJson({ name: 'w-1', version: restarted ? 'v1.30.4' : 'v1.29.6', ready: restarted }),
    }));
    ssh.on(/ wait /, () => {
      restarted = true;
      return { stdout: 'node/w-1 condition met\nnode/w-1 condition met\n' };
    });
    const r = await inActivity(() => acts.waitNodeReady(input));
    expect(r.value).toEqual({ ready: true, kubeletVersion: 'v1.30.4' });
    const cmds = ssh.commands('cp-1');
    expect(cmds).toEqual([
      `${KUBECTL} wait '--for=jsonpath={.status.nodeInfo.kubeletVersion}=v1.30.4' --timeout=60s -- node/w-1 && ` +
        `${KUBECTL} wait --for=condition=Ready --timeout=60s -o json -- node/w-1`,
    ]);
    // the wait carries the deadline's start in its heartbeats, for a retried attempt
    expect(r.heartbeats.some((h) => typeof (h as { startedAt?: unknown }).startedAt === 'number')).toBe(true);
  });

  test('a wait that times out is followed by a read and another wait; one that fails polls', async () => {
    const { ssh, acts, input } = setup();
    let reads = 0;
    ssh.on(/get node w-1 -o json/, () => {
      reads++;
      return { stdout: nodeJson({ name: 'w-1', version: 'v1.30.4', ready: reads >= 3 }) };
    });
    let waits = 0;
    ssh.on(/ wait /, () => {
      waits++;
      return waits === 1
        ? { exitCode: 1, stderr: 'error: timed out waiting for the condition on nodes/w-1\n' }
        : { exitCode: 1, stderr: 'The connection to the server 192.0.2.11:6443 was refused\n' };
    });
    const r = await inActivity(() => acts.waitNodeReady(input));
    expect(r.value.ready).toBe(true);
    // wait (timed out), read, wait (refused), read + poll, wait (refused), read: Ready
    expect(reads).toBe(3);
    expect(waits).toBe(3);
    expect(r.heartbeats.filter((h) => (h as { ready?: unknown }).ready === false)).toHaveLength(2);
  });

  test('a kubectl that cannot wait: polls until Ready at the version, heartbeating, ignoring a brief API outage', async () => {
    const { ssh, acts, input } = setup();
    ssh.on(/ wait /, { exitCode: 1, stderr: 'error: unknown command "wait" for "kubectl"\n' });
    let polls = 0;
    ssh.on(/get node w-1 -o json/, () => {
      polls++;
      if (polls === 2) return new SshTransportError('connection reset', { host: '192.0.2.11' });
      if (polls === 3)
        return {
          exitCode: 1,
          stderr:
            'The connection to the server 192.0.2.11:6443 was refused - did you specify the right host or port?\n',
        };
      return {
        stdout: nodeJson({ name: 'w-1', version: polls < 5 ? 'v1.29.6' : 'v1.30.4', ready: polls >= 4 }),
      };
    });
    const r = await inActivity(() => acts.waitNodeReady(input));
    expect(r.value).toEqual({ ready: true, kubeletVersion: 'v1.30.4' });
    expect(polls).toBe(5);
    // one wait tried (its progress heartbeat), then one heartbeat per poll
    expect(ssh.commands('cp-1').filter((c) => c.includes(' wait '))).toHaveLength(1);
    expect(r.heartbeats.length).toBe(5);
    expect(ssh.mutating()).toEqual([]);
  });

  test('never Ready: NodeNotReady with the last state, the kubelet service state and hints', async () => {
    const { ssh, acts, input } = setup();
    ssh.on(/get node w-1 -o json/, { stdout: nodeJson({ name: 'w-1', version: 'v1.30.4', ready: false }) });
    ssh.on(/^systemctl is-active kubelet$/, { exitCode: 3, stdout: 'activating\n' }, { node: 'w-1' });
    const f = await failureOf(() => acts.waitNodeReady({ ...input, timeoutMs: 60_000 } as typeof input));
    expect(f.type).toBe('NodeNotReady');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('last seen NotReady at v1.30.4');
    expect(f.message).toContain('kubelet service activating');
    expect(detail(f).hints.join('\n')).toContain('journalctl -xeu kubelet');
  });

  test('a retried attempt keeps the first attempt deadline (from the heartbeat details)', async () => {
    const { ssh, acts, input } = setup();
    ssh.on(/^systemctl is-active/, { stdout: 'active\n' });
    const startedAt = Date.parse('2026-11-28T09:00:00Z') - 10 * 60_000; // ten minutes ago
    let polls = 0;
    ssh.on(/get node w-1 -o json/, () => {
      polls++;
      return { stdout: nodeJson({ name: 'w-1', ready: false }) };
    });
    const env = (await import('@temporalio/testing')).MockActivityEnvironment;
    const m = new env({ heartbeatDetails: { startedAt } });
    await expect(m.run(() => acts.waitNodeReady(input))).rejects.toMatchObject({ type: 'NodeNotReady' });
    expect(polls).toBe(1);
  });
});

describe('ensureKubeletRestarted', () => {
  test('restarts once on a cordoned node; a retry before the API server reports the version runs nothing', async () => {
    const { ssh, acts, input } = setup();
    const w1: NodeSpec = { name: 'w-1', unschedulable: true, version: 'v1.29.6' };
    cluster(ssh, w1, []);
    let marker = '';
    ssh.on(/kupgrade\/kubelet-restart \]/, () => ({ stdout: marker }), { node: 'w-1' });
    ssh.on(/^systemctl is-active kubelet$/, { stdout: 'active\n' }, { node: 'w-1' });
    ssh.on(/^systemctl daemon-reload && systemctl restart kubelet/, () => {
      marker = 'v1.30.4\n';
      return {};
    });
    expect((await inActivity(() => acts.ensureKubeletRestarted(input))).value.changed).toBe(true);
    expect(ssh.mutating('w-1')).toHaveLength(1);
    ssh.reset();
    expect((await inActivity(() => acts.ensureKubeletRestarted(input))).value.changed).toBe(false);
    w1.version = 'v1.30.4';
    expect((await inActivity(() => acts.ensureKubeletRestarted(input))).value.changed).toBe(false);
    expect(ssh.mutating()).toEqual([]);
  });

  test('refuses to restart the kubelet of a schedulable node', async () => {
    const { ssh, acts, input } = setup();
    cluster(ssh, { name: 'w-1', version: 'v1.29.6' }, []);
    ssh.on(/kupgrade\/kubelet-restart \]/, { stdout: '' });
    ssh.on(/^systemctl is-active/, { stdout: 'active\n' });
    const f = await failureOf(() => acts.ensureKubeletRestarted(input));
    expect(f.type).toBe('PolicyRefused');
    expect(ssh.mutating()).toEqual([]);
  });
});

describe('cluster state and verification', () => {
  const nodes: NodeSpec[] = [
    { name: 'cp-1', version: 'v1.30.4', controlPlane: true },
    { name: 'w-1', version: 'v1.29.6', unschedulable: true },
  ];

  test('getClusterState: lowest apiserver, kubeadm-config version, node states, one SSH command', async () => {
    const { ssh, acts, inv } = setup();
    ssh.on(/get nodes -o json/, { stdout: nodeListJson(nodes) });
    ssh.on(/component=kube-apiserver/, { stdout: apiserverPodsJson(['v1.30.4', 'v1.29.6']) });
    ssh.on(/get configmap kubeadm-config/, { stdout: kubeadmConfigJson('v1.30.4') });
    ssh.on(/version -o json/, { stdout: '{"serverVersion":{"gitVersion":"v1.30.4"}}' });
    const r = await inActivity(() => acts.getClusterState({ inventory: inv }));
    expect(r.value.apiServerVersion).toBe('v1.29.6');
    expect(r.value.kubeadmConfigVersion).toBe('v1.30.4');
    expect(r.value.nodes).toEqual([
      { name: 'cp-1', kubeletVersion: 'v1.30.4', ready: true, unschedulable: false },
      { name: 'w-1', kubeletVersion: 'v1.29.6', ready: true, unschedulable: true },
    ]);
    expect(ssh.calls).toHaveLength(1);
  });

  test('verifyCluster lists nodes at the wrong version and unhealthy kube-system pods', async () => {
    const { ssh, acts, inv } = setup();
    ssh.on(/get nodes -o json/, { stdout: nodeListJson(nodes) });
    const cpPods = JSON.parse(
      podListJson(
        ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((c) => ({
          ns: 'kube-system',
          name: `${c}-cp-1`,
          owner: 'Node' as const,
          node: 'cp-1',
          labels: { component: c, tier: 'control-plane' },
        })),
      ),
    ) as { items: { metadata: { name: string }; spec: Record<string, unknown> }[] };
    // the mirror pods show the images the kubelet runs: the scheduler is still the old one
    for (const p of cpPods.items)
      p.spec.containers = [
        {
          image: `registry.k8s.io/${p.metadata.name.replace(/-cp-1$/, '')}:${p.metadata.name.startsWith('kube-scheduler') ? 'v1.29.6' : 'v1.30.4'}`,
        },
      ];
    const coredns = JSON.parse(podListJson([{ ns: 'kube-system', name: 'coredns-1', phase: 'Pending' }])) as {
      items: unknown[];
    };
    ssh.on(/-n kube-system get pods -o json/, {
      stdout: JSON.stringify({ kind: 'List', items: [...cpPods.items, ...coredns.items] }),
    });
    const r = await inActivity(() => acts.verifyCluster({ inventory: inv, version: 'v1.30.4', exclude: [] }));
    expect(r.value.ok).toBe(false);
    // what waiting cannot fix first; the pod still settling after it
    expect(r.value.problems).toEqual([
      'w-1 runs kubelet v1.29.6, not v1.30.4',
      'kube-system/kube-scheduler-cp-1 runs registry.k8s.io/kube-scheduler:v1.29.6, not v1.30.4',
      'kube-system/coredns-1 is Pending (containers not ready)',
    ]);
    const skipped = await inActivity(() =>
      acts.verifyCluster({ inventory: inv, version: 'v1.30.4', exclude: ['w-1'] }),
    );
    expect(skipped.value.problems).not.toContain('w-1 runs kubelet v1.29.6, not v1.30.4');
  });
});

describe('SSH errors', () => {
  test('a changed host key is a non-retryable HostKeyMismatch showing the fingerprint', async () => {
    const { ssh, acts, input } = setup();
    ssh.on(
      /./,
      new HostKeyMismatchError('host key of 192.0.2.21:22 changed: presented SHA256:AAAAbbbbCCCC', {
        host: '192.0.2.21',
        port: 22,
        problem: 'changed',
        presentedFingerprint: 'SHA256:AAAAbbbbCCCC',
        keyType: 'ssh-ed25519',
        expectedFingerprints: ['SHA256:zzzz'],
      }),
    );
    const f = await failureOf(() => acts.ensureKubeadmPackage(input));
    expect(f.type).toBe('HostKeyMismatch');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('SHA256:AAAAbbbbCCCC');
  });

  test('sudo wanting a password is non-retryable SudoPasswordRequired', async () => {
    const { ssh, acts, input } = setup();
    ssh.on(/./, new SudoPasswordRequiredError('192.0.2.21', 'ops'));
    const f = await failureOf(() => acts.ensureKubeadmPackage(input));
    expect(f.type).toBe('SudoPasswordRequired');
    expect(f.nonRetryable).toBe(true);
  });

  test('transport errors pass through as they are (retried by Temporal)', async () => {
    const { ssh, acts, input } = setup();
    ssh.on(
      /./,
      new SshTransportError('connect ECONNREFUSED 192.0.2.21:22', {
        host: '192.0.2.21',
        code: 'ECONNREFUSED',
      }),
    );
    const f = await failureOf(() => acts.ensureKubeadmPackage(input));
    expect(f).toBeInstanceOf(SshTransportError);
  });

  test('cancellation signal and heartbeat callback reach the executor for long commands', async () => {
    const { ssh, acts, input } = setup();
    ssh.on(/^kubeadm version/, { stdout: 'v1.30.4\n' });
    ssh.on(/^kubeadm version/, { stdout: 'v1.29.6\n' }, { times: 1 });
    ssh.on(/^yum install/, { stdout: 'Complete!\n' });
    await inActivity(() => acts.ensureKubeadmPackage(input));
    const install = ssh.calls.find((c) => c.command.startsWith('yum install'));
    expect(install?.opts?.signal).toBeInstanceOf(AbortSignal);
    expect(typeof install?.opts?.onProgress).toBe('function');
  });

  test('a silent long command still heartbeats on a timer', async () => {
    const ssh = new FakeSsh();
    const inv = buildInventory();
    const acts = createNodeActivities({ ssh, heartbeatIntervalMs: 20 });
    const input = { cluster: ctxOf(inv), node: nodeOf(inv, 'w-1'), hop: hop130() };
    ssh.on(/kupgrade\/upgrade-node \]/, { stdout: '' });
    ssh.on(/^kubeadm upgrade node/, { stdout: '' }, { delayMs: 150 });
    const r = await inActivity(() => acts.ensureKubeadmUpgradeNode(input));
    expect(r.value.changed).toBe(true);
    // The 20 ms timer expires before the 150 ms reply however loaded the machine is: at least one
    // timer beat, plus the one for the output.
    expect(r.heartbeats.length).toBeGreaterThanOrEqual(2);
    expect(r.heartbeats[0]).toEqual({ node: 'w-1', step: 'upgrade-node' });
  });
});
